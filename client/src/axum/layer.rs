//! The tower layer: let the handler run (it loads the session on first use), then save what
//! changed and tell the client about its token.

use super::action::PendingAction;
use super::erased::ErasedStore;
use super::extractor::{CurrentSession, FLASH_KEY, MAX_FLASHES};
use super::transport::{self, TokenUpdate};
use crate::error::Error;
use crate::postgres::PostgresStore;
use crate::same_key;
use crate::store::{IdpLogin, SessionStore};
use axum::extract::ConnectInfo;
use axum::http::header::USER_AGENT;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Longest user agent kept for "your devices" lists.
const MAX_USER_AGENT: usize = 256;

/// Adds sessions to every route below it (see the [module docs](super)), over any
/// [`SessionStore`]: [`PostgresStore`] in production, [`MemoryStore`](crate::MemoryStore) in
/// tests.
#[derive(Clone)]
pub struct SessionLayer<S = PostgresStore> {
    store: S,
}

impl<S: SessionStore> SessionLayer<S> {
    /// A layer keeping sessions in `store`, with the store's [`Config`](crate::Config).
    pub fn new(store: S) -> SessionLayer<S> {
        SessionLayer { store }
    }
}

// `'static`: the services it makes hand the store to handlers as an `Arc<dyn ErasedStore>`, a
// `'static` trait object (a store borrowing a connection could not outlive the request anyway).
impl<I, S: SessionStore + 'static> Layer<I> for SessionLayer<S> {
    type Service = SessionService<I, S>;

    fn layer(&self, inner: I) -> SessionService<I, S> {
        SessionService {
            inner,
            store: self.store.clone(),
            erased: Arc::new(self.store.clone()),
        }
    }
}

/// The service [`SessionLayer`] wraps around a route.
#[derive(Clone)]
pub struct SessionService<I, S = PostgresStore> {
    inner: I,
    store: S,
    /// The same store as handlers' `CurrentSession` sees it, made once, not per request.
    erased: Arc<dyn ErasedStore>,
}

impl<I, S, B> Service<Request<B>> for SessionService<I, S>
where
    I: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    I::Future: Send + 'static,
    I::Error: Send,
    // The response future is boxed as `'static` and owns a clone of the store.
    S: SessionStore + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = I::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, I::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (store, erased) = (self.store.clone(), self.erased.clone());
        Box::pin(async move {
            let config = store.config();
            // Nothing is loaded here: the first extraction of CurrentSession loads the session,
            // so a request whose handler never uses it makes no database call.
            let token = transport::token_from_request(config, request.headers());
            let https = is_https(&request, config.trust_proxy);
            let client = client_info(&request, config.trust_proxy);
            let current = CurrentSession::new(erased, token, client);
            request.extensions_mut().insert(current.clone());

            let mut response = inner.call(request).await?;
            let failed = response.status().is_server_error();
            if !current.was_used() || (failed && !config.save_on_server_error) {
                return Ok(response);
            }
            match finish(&store, &current).await {
                Ok(Some(update)) => {
                    transport::write_update(config, https, update, response.headers_mut())
                }
                Ok(None) => {}
                Err(error) => return Ok(store_failure(error)),
            }
            Ok(response)
        })
    }
}

/// Applies what the handler asked for; returns what to tell the client about its token.
async fn finish<S: SessionStore>(
    store: &S,
    current: &CurrentSession,
) -> Result<Option<TokenUpdate>, Error> {
    let (mut session, loaded, action, flashes, idp) = {
        let state = current.state();
        (
            state.session.clone(),
            state.loaded,
            state.action.clone(),
            state.flashes.clone(),
            state.idp.clone(),
        )
    };
    if action == PendingAction::Destroy {
        if let Some(id) = session.id() {
            store.delete(id).await?;
        }
        return Ok(loaded.then_some(TokenUpdate::Remove));
    }
    if !loaded {
        let log_in = match &action {
            PendingAction::LogIn {
                user_id,
                max_age,
                auth,
            } => Some((*user_id, *max_age, auth)),
            _ => None,
        };
        if log_in.is_none() && !session.is_modified() && flashes.is_empty() {
            // A log-out or regenerate of no session, or nothing at all: nothing to create.
            return Ok(None);
        }
        // A new session has no concurrent writers: its flash messages go in with its data.
        if !flashes.is_empty() {
            let mut items = flashes;
            same_key::keep_newest(&mut items, Some(MAX_FLASHES));
            session.set(FLASH_KEY, items);
        }
        match log_in {
            Some((user_id, max_age, auth)) => {
                store
                    .set_user_with_context(&mut session, user_id, max_age, auth)
                    .await?;
                record_idp(store, &session, idp.as_ref()).await;
            }
            None => store.save(&mut session).await?,
        }
        return Ok(issue(store, &session));
    }
    let written: Result<bool, Error> = async {
        if session.is_modified() {
            store.save(&mut session).await?;
        }
        // Appended before any rotation, which keeps the data: a failure here fails the request
        // with the client's token still valid, where after a rotation it would strand the
        // client with the dead old token.
        if let Some(id) = session.id() {
            for message in &flashes {
                store
                    .push(id, FLASH_KEY, message, Some(MAX_FLASHES))
                    .await?
                    .ok_or(Error::NoSession)?;
            }
        }
        let rotated = match action {
            PendingAction::LogIn {
                user_id,
                max_age,
                auth,
            } => {
                store
                    .set_user_with_context(&mut session, user_id, max_age, &auth)
                    .await?;
                record_idp(store, &session, idp.as_ref()).await;
                true
            }
            PendingAction::Reauthenticate(auth) => {
                store.reauthenticate(&mut session, &auth).await?;
                true
            }
            PendingAction::LogOut => {
                store.clear_user(&mut session).await?;
                true
            }
            PendingAction::Regenerate => {
                store.regenerate_id(&mut session).await?;
                true
            }
            PendingAction::Keep | PendingAction::Destroy => false,
        };
        Ok(rotated)
    }
    .await;
    match written {
        Ok(true) => Ok(issue(store, &session)),
        Ok(false) => {
            let refreshed = store.config().rolling && session.was_refreshed();
            Ok(refreshed.then(|| issue(store, &session)).flatten())
        }
        // The session ended meanwhile, or another request of this client rotated its token (a
        // log-in in another tab): say nothing. A removal cookie would delete the cookie that
        // request just set; a dead token is simply no session on the next request.
        Err(Error::NoSession) => Ok(None),
        Err(error) => Err(error),
    }
}

/// After a log-in through an identity provider, its record under the session's new token. It
/// comes after the rotation, so a failure here must not fail the request: the client would
/// keep its old token, dead since the rotation. The log-in stands and the failure is logged (a
/// back-channel logout then does not end this session). A session ended meanwhile records
/// nothing.
async fn record_idp<S: SessionStore>(store: &S, session: &crate::Session, idp: Option<&IdpLogin>) {
    if let (Some(login), Some(id)) = (idp, session.id()) {
        if let Err(error) = store.set_idp(id, login).await {
            tracing::error!(%error, "the identity provider's log-in was not recorded");
        }
    }
}

/// The token update for `session`: its token, with a persistent cookie lifetime (the time left
/// on the server) unless the configuration asks for browser-session cookies and the session has
/// no longer lifetime of its own than the configured one (remember me).
fn issue<S: SessionStore>(store: &S, session: &crate::Session) -> Option<TokenUpdate> {
    let config = store.config();
    let ttl = session.time_to_live().unwrap_or(config.max_age);
    let remembered =
        session.max_age().is_some_and(|own| own > config.max_age) || ttl > config.max_age;
    let max_age = (!config.browser_session || remembered).then_some(ttl);
    session.id().map(|token| TokenUpdate::Issue {
        token: token.to_owned(),
        max_age,
    })
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
