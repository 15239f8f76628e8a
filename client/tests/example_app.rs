//! The example app's routes, served on a real socket and driven over HTTP.

mod common;

#[path = "../examples/app.rs"]
#[allow(dead_code)]
mod example;

use serde_json::Value;
use std::net::SocketAddr;

struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

impl Browser {
    /// Sends a request carrying the cookie jar's session cookie, and keeps what the server sets.
    async fn call(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        request = request.header("user-agent", "example-test/1.0");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        for set_cookie in response.headers().get_all("set-cookie") {
            let pair = set_cookie
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned();
            self.cookie = pair
                .split_once('=')
                .filter(|(_, v)| !v.is_empty())
                .map(|_| pair.clone());
        }
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn the_example_app_over_http() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = example::router(common::store());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let user = common::unique_user_id();
    let http = reqwest::Client::new();
    let mut phone = Browser {
        http: http.clone(),
        base: base.clone(),
        cookie: None,
    };
    let mut laptop = Browser {
        http,
        base,
        cookie: None,
    };
    use reqwest::Method;

    let (status, body) = phone.call(Method::GET, "/me", None).await;
    assert_eq!(status, 401, "{body}");
    assert!(phone.cookie.is_none(), "a 401 creates no session");

    let (status, body) = phone
        .call(
            Method::POST,
            "/login",
            Some(serde_json::json!({"user_id": user})),
        )
        .await;
    assert_eq!((status, body["user_id"].as_i64()), (200, Some(user)));
    let first_cookie = phone.cookie.clone().expect("the login sets the cookie");

    for n in 1..=3 {
        let (status, body) = phone.call(Method::GET, "/me", None).await;
        assert_eq!(status, 200);
        assert_eq!(body["user_id"].as_i64(), Some(user));
        assert_eq!(body["visits"].as_u64(), Some(n));
        // The log-in's flash message shows on the first page only.
        let expected = if n == 1 {
            vec![format!("welcome, user {user}")]
        } else {
            vec![]
        };
        assert_eq!(body["messages"], serde_json::json!(expected));
    }
    assert_eq!(
        phone.cookie.as_ref(),
        Some(&first_cookie),
        "visits do not rotate the token"
    );

    // 64 concurrent requests of one browser: exactly 64 more visits (the counter is one
    // atomic update on the server, not a get, +1, set in the app).
    let requests = (0..64).map(|_| {
        let (http, base, cookie) = (phone.http.clone(), phone.base.clone(), first_cookie.clone());
        async move {
            let response = http
                .get(format!("{base}/me"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
        }
    });
    futures::future::join_all(requests).await;
    let (_, body) = phone.call(Method::GET, "/me", None).await;
    assert_eq!(
        body["visits"].as_u64(),
        Some(3 + 64 + 1),
        "visits were lost"
    );

    // "Remember me" on the laptop.
    laptop
        .call(
            Method::POST,
            "/login",
            Some(serde_json::json!({"user_id": user, "remember": true})),
        )
        .await;
    let (status, sessions) = phone.call(Method::GET, "/sessions", None).await;
    assert_eq!(status, 200);
    let sessions = sessions.as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(sessions
        .iter()
        .all(|s| s["ip"] == "127.0.0.1" && s["user_agent"] == "example-test/1.0"));
    assert!(sessions
        .iter()
        .all(|s| s["handle"].as_str().unwrap().len() == 16));
    assert!(
        sessions
            .iter()
            .all(|s| s["last_seen_at"].as_i64().is_some()),
        "every device shows when it was last seen"
    );

    // Logging out one device leaves the other logged in.
    let (status, _) = laptop.call(Method::POST, "/logout", None).await;
    assert_eq!(status, 204);
    assert!(laptop.cookie.is_none(), "the cookie was cleared");
    assert_eq!(laptop.call(Method::GET, "/me", None).await.0, 401);
    assert_eq!(phone.call(Method::GET, "/me", None).await.0, 200);

    // Logging out everywhere ends this session too.
    // "Remember me" on the laptop.
    laptop
        .call(
            Method::POST,
            "/login",
            Some(serde_json::json!({"user_id": user, "remember": true})),
        )
        .await;
    let (status, body) = phone.call(Method::POST, "/logout-all", None).await;
    assert_eq!((status, body["ended"].as_u64()), (200, Some(2)));
    assert_eq!(phone.call(Method::GET, "/me", None).await.0, 401);
    assert_eq!(laptop.call(Method::GET, "/me", None).await.0, 401);
}
