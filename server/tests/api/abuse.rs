//! Abuse resistance (issue 9), each row of the attack table against the real server over real
//! sockets: sign-in and sign-up limits, bounded hashing, HTTP timeouts and body limits,
//! connection caps, cross-site writes, security headers, hostile text, tokens in URLs, and the
//! session purge. Storage-dependent rows run on both engines; the rest on SQLite.

use std::time::{Duration, Instant};

use natter::clock::UnixMillis;
use natter::protocol::{ClientCommand, ErrorCode, NewMessage, ServerEvent};
use natter::store::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::api::{Account, PASSWORD};
use crate::support::app::TestApp;
use crate::support::until;

/// A server that takes `X-Forwarded-For` from loopback, so that tests can speak as several
/// client addresses.
async fn behind_proxy(configure: impl FnOnce(&mut server::config::Config)) -> TestApp {
    TestApp::spawn_with(Engine::Sqlite, |config| {
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        configure(config);
    })
    .await
}

/// `POST path` with a JSON body as the client at `address`; status, `Retry-After` and body.
async fn post_as(
    app: &TestApp,
    address: &str,
    path: &str,
    body: Value,
) -> (u16, Option<u64>, Value) {
    let response = app
        .http
        .post(app.url(path))
        .header("x-forwarded-for", address)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

async fn login_as(
    app: &TestApp,
    address: &str,
    name: &str,
    password: &str,
) -> (u16, Option<u64>, Value) {
    post_as(
        app,
        address,
        "/api/auth/login",
        json!({"username": name, "password": password}),
    )
    .await
}

#[tokio::test]
async fn a_guesser_is_held_off_but_the_owner_gets_in_from_another_client() {
    let app = behind_proxy(|_| {}).await;
    app.register("alice").await;
    for _ in 0..10 {
        let (status, _, _) = login_as(&app, "203.0.113.1", "alice", "a wrong guess").await;
        assert_eq!(status, 401);
    }
    // The guesser's eleventh try is refused even with the right password…
    let (status, retry, body) = login_as(&app, "203.0.113.1", "alice", PASSWORD).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rateLimited")));
    assert!(retry.is_some_and(|s| (1..=60).contains(&s)), "{retry:?}");
    // …while the owner, on a client that has not been failing, signs in.
    let (status, _, _) = login_as(&app, "198.51.100.7", "alice", PASSWORD).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn spraying_guesses_over_many_accounts_from_one_client_is_limited() {
    let app = behind_proxy(|_| {}).await;
    let started = Instant::now();
    for n in 0..30 {
        let (status, _, _) = login_as(&app, "203.0.113.2", &format!("user{n}"), "password1").await;
        assert_eq!(status, 401, "attempt {n}");
    }
    // The limit is 30 a minute: on a busy machine the 30 hashes take long enough for a try or
    // two to be earned back, and no more.
    let earned = started.elapsed().as_secs() / 2 + 1;
    let mut refused = None;
    for n in 30..=30 + earned {
        let (status, retry, body) =
            login_as(&app, "203.0.113.2", &format!("user{n}"), "password1").await;
        if status != 401 {
            refused = Some((status, body["code"].as_str().map(str::to_owned), retry));
            break;
        }
    }
    let (status, code, retry) = refused.expect("the spraying client is refused");
    assert_eq!((status, code.as_deref()), (429, Some("rateLimited")));
    assert!(retry.is_some());
    // Another client is not slowed by it.
    let (status, _, _) = login_as(&app, "203.0.113.3", "user30", "password1").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_account_guessed_from_many_clients_holds_them_off_but_not_a_clean_one() {
    let app = behind_proxy(|config| config.login_name_failures = 3).await;
    app.register("alice").await;
    for attacker in ["203.0.113.10", "203.0.113.11", "203.0.113.12"] {
        let (status, _, _) = login_as(&app, attacker, "alice", "a wrong guess").await;
        assert_eq!(status, 401);
    }
    let (status, _, _) = login_as(&app, "203.0.113.11", "alice", PASSWORD).await;
    assert_eq!(
        status, 429,
        "a client that failed on the account is held off"
    );
    let (status, _, _) = login_as(&app, "198.51.100.8", "alice", PASSWORD).await;
    assert_eq!(status, 200, "the owner's clean client gets in");
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_and_in_total() {
    let app = behind_proxy(|config| {
        config.signup_rate = 10;
        config.signup_total_rate = 15;
    })
    .await;
    let sign_up = |address: &'static str, name: String| {
        let app = &app;
        async move {
            post_as(
                app,
                address,
                "/api/auth/register",
                json!({"username": name, "password": PASSWORD}),
            )
            .await
        }
    };
    let mut created = 0;
    for n in 0..30 {
        let (status, retry, body) = sign_up("203.0.113.20", format!("bulk{n}")).await;
        match status {
            201 => created += 1,
            429 => {
                assert_eq!(body["code"], "rateLimited");
                assert!(retry.is_some());
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 10, "ten accounts per client per hour");
    // A refused password does not use up the allowance.
    let (status, _, body) = sign_up("203.0.113.21", "weakling".into()).await;
    assert_eq!(status, 201, "{body}");
    for n in 0..4 {
        let (status, _, _) = sign_up("203.0.113.22", format!("other{n}")).await;
        assert_eq!(status, 201);
    }
    // The total (15 an hour) is reached whatever the addresses.
    let (status, _, _) = sign_up("203.0.113.23", "onetoomany".into()).await;
    assert_eq!(status, 429);
}

async fn weak_passwords_and_the_username_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    for (name, password) in [
        ("carol", "password"),
        ("carol", "12345678"),
        ("carol", "        "),
        ("carol", "qwertyuiop"),
        ("carol_smith", "Carol_Smith"),
    ] {
        let (status, body) = app
            .call(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"username": name, "password": password})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalidPassword")),
            "{password:?}"
        );
        assert!(!body["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn beyond_the_hashing_slots_and_queue_sign_ins_get_503_with_retry_after() {
    let app = TestApp::spawn_with(Engine::Sqlite, |config| {
        config.hash_concurrency = Some(1);
        config.hash_queue = 2;
        config.login_rate = 0;
        config.login_address_rate = 0;
    })
    .await;
    let attempts = (0..24).map(|n| {
        let http = app.http.clone();
        let url = app.url("/api/auth/login");
        async move {
            let response = http
                .post(url)
                .json(&json!({"username": format!("nobody{n}"), "password": "a guess at it"}))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.headers().contains_key("retry-after"),
            )
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let busy = results.iter().filter(|(status, _)| *status == 503).count();
    assert!(busy > 0, "some attempts must be turned away: {results:?}");
    assert!(results.iter().all(|(status, retry)| match status {
        401 => true,
        503 => *retry,
        _ => false,
    }));
}

#[tokio::test]
async fn headers_that_trickle_and_idle_keep_alive_connections_are_closed() {
    let app = TestApp::spawn_with(Engine::Sqlite, |config| config.header_timeout_secs = 1).await;
    let started = Instant::now();
    let mut trickle = TcpStream::connect(app.addr).await.unwrap();
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    for stream in [&mut trickle, &mut idle] {
        let mut all = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut all)).await;
        assert!(read.is_ok(), "the server must close the connection");
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let mut all = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut all)).await;
    assert!(read.is_ok(), "a connection that never speaks is closed too");
}

#[tokio::test]
async fn a_declared_body_over_the_limit_is_refused_before_it_is_sent() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    for path in ["/api/auth/login", "/_sf/sign_in", "/api/conversations"] {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buffer = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buffer))
            .await
            .expect("an answer without the body")
            .unwrap();
        let answer = String::from_utf8_lossy(&buffer[..n]);
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("payloadTooLarge"), "{path}: {answer}");
    }
}

#[tokio::test]
async fn a_body_that_trickles_is_cut_off_with_408() {
    let app = TestApp::spawn_with(Engine::Sqlite, |config| config.request_timeout_secs = 1).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(4), stream.read(&mut buffer))
        .await
        .expect("an answer within the request timeout")
        .unwrap();
    let answer = String::from_utf8_lossy(&buffer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("requestTimeout"), "{answer}");
}

#[tokio::test]
async fn an_oversized_server_function_body_gets_413() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let big = "x".repeat(16 * 1024 * 1024);
    // Declared…
    let response = app
        .http
        .post(app.url("/_sf/sign_in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=alice&password={big}"))
        .send()
        .await;
    if let Ok(response) = response {
        assert_eq!(response.status(), 413);
    }
    // …and streamed without a length: refused once it passes the limit.
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"POST /_sf/sign_in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let sender = tokio::spawn(async move {
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
        for _ in 0..64 {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&buffer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payloadTooLarge"), "{answer}");
    sender.abort();
}

#[tokio::test]
async fn one_user_cannot_hold_more_sockets_than_the_cap() {
    let app = TestApp::spawn_with(Engine::Sqlite, |config| config.max_user_connections = 3).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(app.ws(&alice).await);
    }
    let request = |user: &Account| {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        format!("ws://{}/ws?token={}", app.addr, user.token)
            .into_client_request()
            .unwrap()
    };
    match app.ws_request(request(&alice)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["code"], "tooManyConnections");
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    // Another user is not affected, and closing one frees a seat.
    app.ws(&bob).await;
    drop(open.pop());
    until(Duration::from_secs(5), || async {
        app.ws_request(request(&alice)).await.is_ok()
    })
    .await;
}

#[tokio::test]
async fn connections_over_the_total_cap_get_503_and_the_server_carries_on() {
    let app = TestApp::spawn_with(Engine::Sqlite, |config| config.max_connections = Some(4)).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let mut extra = TcpStream::connect(app.addr).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(2), extra.read_to_string(&mut answer))
        .await
        .expect("refused at once")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("serverBusy"), "{answer}");
    drop(held);
    until(Duration::from_secs(5), || async {
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
}

/// A browser on another site, with the victim's session cookie.
async fn cross_site(
    app: &TestApp,
    path: &str,
    cookie: &str,
    origin: Option<&str>,
    fetch_site: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url(path))
        .header("cookie", format!("natter_session={cookie}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=mallory&password=mallorys%20own%20password");
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(site) = fetch_site {
        request = request.header("sec-fetch-site", site);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn cross_site_writes_with_the_cookie_are_refused() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let alice = app.register("alice").await;
    app.register("mallory").await;
    for path in [
        "/api/auth/logout",
        "/_sf/sign_out",
        "/_sf/start",
        "/_sf/sign_in",
    ] {
        for (origin, site) in [
            (Some("https://evil.example"), None),
            (Some("null"), None),
            (Some("http://127.0.0.1:1"), None),
            (None, Some("cross-site")),
            (None, Some("same-site")),
        ] {
            let response = cross_site(&app, path, &alice.token, origin, site).await;
            assert_eq!(response.status(), 403, "{path} from {origin:?} / {site:?}");
            assert!(
                response.headers().get("set-cookie").is_none(),
                "no cookie may be planted"
            );
            let body = response.text().await.unwrap();
            assert!(body.contains("foreignOrigin"), "{path}: {body}");
        }
    }
    // Alice's session survived all of that.
    let (status, _) = app.call(Method::GET, "/api/me", Some(&alice), None).await;
    assert_eq!(status, 200);
    // The site's own pages, configured origins and bearer clients still act.
    let own = format!("http://{}", app.addr);
    let response = cross_site(
        &app,
        "/_sf/sign_out",
        &alice.token,
        Some(&own),
        Some("same-origin"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let bob = app.register("bob").await;
    let response = app
        .http
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&bob.token)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        204,
        "a bearer token is not a CSRF vector"
    );
    let carol = app.register("carol").await;
    let response = cross_site(
        &app,
        "/api/auth/logout",
        &carol.token,
        Some("https://chat.example.com"),
        None,
    )
    .await;
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn pages_carry_a_content_security_policy_and_every_response_the_safety_headers() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let page = app.http.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in script-src");
    for directive in [
        "script-src 'self' 'nonce-",
        "'wasm-unsafe-eval'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(
        !csp.contains("'unsafe-eval'") && !csp.contains("'unsafe-inline'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the page's scripts carry the nonce"
    );
    let again = app.http.get(app.url("/")).send().await.unwrap();
    assert_ne!(
        again.headers()["content-security-policy"],
        headers["content-security-policy"],
        "a fresh nonce per response"
    );
    for response in [
        headers,
        app.http
            .get(app.url("/api/me"))
            .send()
            .await
            .unwrap()
            .headers()
            .clone(),
        app.http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .headers()
            .clone(),
    ] {
        assert_eq!(response["x-content-type-options"], "nosniff");
        assert_eq!(response["x-frame-options"], "DENY");
        assert_eq!(response["referrer-policy"], "same-origin");
        assert!(response.contains_key("content-security-policy"));
    }
}

async fn control_characters_are_refused_on_every_transport(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let conv = app.conversation(&alice, &bob).await;
    let path = format!("/api/conversations/{}/messages", conv.id);
    for text in ["nul \u{0} inside", "escape \u{1b}[2J"] {
        let (status, body) = app
            .call(
                Method::POST,
                &path,
                Some(&alice),
                Some(json!({"message": text})),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (422, Some("invalidMessage")),
            "{text:?}"
        );
    }
    let (status, body) = app
        .call(Method::GET, "/api/users?q=al%00ice", Some(&alice), None)
        .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalidQuery")));
    let mut socket = app.ws(&alice).await;
    let answer = socket
        .request(
            ClientCommand::SendMessage {
                conv_id: conv.id,
                message: NewMessage {
                    message: "a \u{0} b".into(),
                },
                client_id: None,
                user_id: None,
            },
            "nul",
        )
        .await;
    assert!(
        matches!(answer, ServerEvent::Error(ref e) if e.code == ErrorCode::InvalidMessage),
        "{answer:?}"
    );
    // A line break and a tab are text, and CR LF is stored as LF, on both engines.
    let (status, body) = app
        .call(
            Method::POST,
            &path,
            Some(&alice),
            Some(json!({"message": "line one\r\n\tline two"})),
        )
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (201, Some("line one\n\tline two"))
    );
    // A search counts characters, not bytes: 17 accented letters are within the 32.
    let (status, _) = app
        .call(
            Method::GET,
            &format!("/api/users?q={}", "é".repeat(17)),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_rest_api_does_not_take_a_token_from_the_url() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let alice = app.register("alice").await;
    let (status, body) = app
        .call(
            Method::GET,
            &format!("/api/me?token={}", alice.token),
            None,
            None,
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
}

#[tokio::test]
async fn opening_conversations_with_many_strangers_is_limited() {
    let app = TestApp::spawn_with(Engine::Sqlite, |config| {
        config.conversation_rate = 60;
        config.conversation_burst = 10;
    })
    .await;
    let alice = app.register("alice").await;
    let mut strangers = Vec::new();
    for n in 0..12 {
        strangers.push(app.register(&format!("stranger{n}")).await);
    }
    let open = |to: &Account| {
        let body = json!({"user2_id": to.id});
        let (app, alice) = (&app, &alice);
        async move {
            app.call(Method::POST, "/api/conversations", Some(alice), Some(body))
                .await
        }
    };
    for stranger in &strangers[..10] {
        assert_eq!(open(stranger).await.0, 201);
    }
    let (status, body) = open(&strangers[10]).await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rateLimited")));
    // Reopening a conversation that exists is free.
    assert_eq!(open(&strangers[0]).await.0, 200);
}

async fn expired_sessions_are_purged(engine: Engine) {
    let app = TestApp::spawn_with(engine, |config| config.session_purge_secs = 1).await;
    let alice = app.register("alice").await;
    let store = app.chat.store();
    store
        .create_session("expired-session", alice.id, UnixMillis(1))
        .await
        .unwrap();
    assert!(store.session("expired-session").await.unwrap().is_some());
    until(Duration::from_secs(5), || async {
        store.session("expired-session").await.unwrap().is_none()
    })
    .await;
    // A live session stays.
    let (status, _) = app.call(Method::GET, "/api/me", Some(&alice), None).await;
    assert_eq!(status, 200);
}

natter::on_both_engines!(
    weak_passwords_and_the_username_are_refused,
    control_characters_are_refused_on_every_transport,
    expired_sessions_are_purged,
);
