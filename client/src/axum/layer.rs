//! The tower layer: load once, let the handler run, save what changed.

use super::extractor::CurrentSession;
use crate::cookies;
use crate::error::Error;
use crate::store::{PostgresStore, SessionStore};
use axum::extract::ConnectInfo;
use axum::http::header::{COOKIE, SET_COOKIE, USER_AGENT};
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Longest user agent kept for "your devices" lists.
const MAX_USER_AGENT: usize = 256;

/// Adds sessions to every route below it (see the [module docs](super)).
#[derive(Clone)]
pub struct SessionLayer {
    store: PostgresStore,
}

impl SessionLayer {
    /// A layer keeping sessions in `store`, with the store's [`Config`](crate::Config).
    pub fn new(store: PostgresStore) -> SessionLayer {
        SessionLayer { store }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> SessionService<S> {
        SessionService {
            inner,
            store: self.store.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around a route.
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    store: PostgresStore,
}

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let store = self.store.clone();
        Box::pin(async move {
            let config = store.config();
            let token = cookies::token_from_cookie_headers(
                config,
                request
                    .headers()
                    .get_all(COOKIE)
                    .iter()
                    .map(HeaderValue::as_bytes),
            );
            let https = is_https(&request, config.trust_proxy);
            let loaded = match &token {
                Some(token) => match store.load(token).await {
                    Ok(session) => session,
                    Err(error) => return Ok(store_failure(error)),
                },
                None => None,
            };
            let current = CurrentSession::new(loaded);
            let (ip, agent) = client_info(&request, config.trust_proxy);
            current.state().session.record_client(ip, agent);
            request.extensions_mut().insert(current.clone());

            let mut response = inner.call(request).await?;
            match finish(&store, &current, https).await {
                Ok(Some(set_cookie)) => {
                    if let Ok(value) = HeaderValue::from_str(&set_cookie) {
                        response.headers_mut().append(SET_COOKIE, value);
                    }
                }
                Ok(None) => {}
                Err(error) => return Ok(store_failure(error)),
            }
            Ok(response)
        })
    }
}

/// Applies what the handler asked for; returns the `Set-Cookie` value to send, if any.
async fn finish(
    store: &PostgresStore,
    current: &CurrentSession,
    https: bool,
) -> Result<Option<String>, Error> {
    let config = store.config();
    let (mut session, loaded, log_in, log_out, regenerate, destroy) = {
        let state = current.state();
        (
            state.session.clone(),
            state.loaded,
            state.log_in,
            state.log_out,
            state.regenerate,
            state.destroy,
        )
    };
    let nothing_to_write =
        !destroy && !session.is_modified() && log_in.is_none() && !log_out && !regenerate;
    if nothing_to_write {
        // The one write a read-only request may cause happened in session_load: follow it.
        let refreshed = loaded && config.rolling && session.was_refreshed();
        return Ok(refreshed
            .then(|| cookie_for(store, &session, https))
            .flatten());
    }

    let client = store.pool().get().await?;
    if destroy {
        if let Some(id) = session.id() {
            store.delete_on(&client, id).await?;
        }
        return Ok(loaded.then(|| cookies::removal_cookie(config, https)));
    }
    if !loaded {
        if log_out {
            return Ok(None);
        }
        store.create_on(&client, &mut session, log_in).await?;
        return Ok(cookie_for(store, &session, https));
    }
    let written: Result<bool, Error> = async {
        if session.is_modified() {
            store.save_on(&client, &mut session).await?;
        }
        if let Some(user_id) = log_in {
            store.set_user_on(&client, &mut session, user_id).await?;
        } else if log_out {
            store.clear_user_on(&client, &mut session).await?;
        } else if regenerate {
            store.regenerate_id_on(&client, &mut session).await?;
        } else {
            return Ok(false);
        }
        Ok(true)
    }
    .await;
    match written {
        Ok(true) => Ok(cookie_for(store, &session, https)),
        Ok(false) => {
            let refreshed = config.rolling && session.was_refreshed();
            Ok(refreshed
                .then(|| cookie_for(store, &session, https))
                .flatten())
        }
        // Destroyed or revoked by another request meanwhile: tell the browser.
        Err(Error::NoSession) => Ok(Some(cookies::removal_cookie(config, https))),
        Err(error) => Err(error),
    }
}

fn cookie_for(store: &PostgresStore, session: &crate::Session, https: bool) -> Option<String> {
    let config = store.config();
    let ttl = session.time_to_live().unwrap_or(config.max_age);
    session
        .id()
        .map(|id| cookies::session_cookie(config, id, ttl, https))
}

fn is_https<B>(request: &Request<B>, trust_proxy: bool) -> bool {
    request.uri().scheme_str() == Some("https")
        || (trust_proxy
            && request
                .headers()
                .get("x-forwarded-proto")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https")))
}

fn client_info<B>(request: &Request<B>, trust_proxy: bool) -> (Option<IpAddr>, Option<String>) {
    let forwarded = trust_proxy
        .then(|| request.headers().get("x-forwarded-for"))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|first| first.trim().parse::<IpAddr>().ok());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let agent = request
        .headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_USER_AGENT).collect());
    (forwarded.or(peer), agent)
}

fn store_failure(error: Error) -> Response {
    tracing::error!(%error, "session store failure");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "session store unavailable",
    )
        .into_response()
}
