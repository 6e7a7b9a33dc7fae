//! Web Push: subscriptions stored per user, and pushes that reach a push service the test
//! runs on loopback — signed with the server's VAPID key (checked against `/api/push/key`),
//! encrypted per RFC 8291 to a key pair and auth secret the test made (decrypted here).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64ct::{Base64UrlUnpadded, Encoding};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use natter::protocol::UserId;
use natter::store::Engine;
use p256::SecretKey;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand_core::{OsRng, RngCore};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::api::Account;
use crate::support::app::TestApp;
use crate::support::until;

const CONTACT: &str = "mailto:ops@example.com";
const WAIT: Duration = Duration::from_secs(10);

/// A post the test push service received, for the subscription named in its path.
struct Received {
    name: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// A push service on 127.0.0.1: `POST /push/{name}` is recorded and answered with the status
/// set for that name (201 by default).
struct PushService {
    origin: String,
    statuses: Arc<Mutex<HashMap<String, u16>>>,
    received: mpsc::UnboundedReceiver<Received>,
}

type ServiceState = (
    Arc<Mutex<HashMap<String, u16>>>,
    mpsc::UnboundedSender<Received>,
);

impl PushService {
    async fn start() -> Self {
        async fn accept(
            State((statuses, sink)): State<ServiceState>,
            Path(name): Path<String>,
            headers: HeaderMap,
            body: axum::body::Bytes,
        ) -> StatusCode {
            let status = statuses.lock().unwrap().get(&name).copied().unwrap_or(201);
            let _ = sink.send(Received {
                name,
                headers,
                body: body.to_vec(),
            });
            StatusCode::from_u16(status).unwrap()
        }
        let statuses = Arc::new(Mutex::new(HashMap::new()));
        let (sink, received) = mpsc::unbounded_channel();
        let router = axum::Router::new()
            .route("/push/{name}", axum::routing::post(accept))
            .with_state((Arc::clone(&statuses), sink));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self {
            origin,
            statuses,
            received,
        }
    }

    fn endpoint(&self, name: &str) -> String {
        format!("{}/push/{name}", self.origin)
    }

    fn answer(&self, name: &str, status: u16) {
        self.statuses
            .lock()
            .unwrap()
            .insert(name.to_owned(), status);
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(WAIT, self.received.recv())
            .await
            .expect("a push within the wait")
            .expect("the push service runs")
    }
}

/// A browser's side of a subscription: its key pair and auth secret, made here.
struct Browser {
    secret: SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let secret = SecretKey::random(&mut OsRng);
        let mut auth = [0; 16];
        OsRng.fill_bytes(&mut auth);
        Self { secret, auth }
    }

    /// `PushSubscription.toJSON()` for `endpoint`.
    fn subscription(&self, endpoint: &str) -> Value {
        let public = self.secret.public_key().to_encoded_point(false);
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": Base64UrlUnpadded::encode_string(public.as_bytes()),
                "auth": Base64UrlUnpadded::encode_string(&self.auth),
            },
        })
    }

    fn decrypt(&self, body: &[u8]) -> Value {
        let auth = web_push_native::Auth::clone_from_slice(&self.auth);
        let plain = web_push_native::decrypt(body.to_vec(), &self.secret, &auth)
            .expect("the push decrypts with the browser's keys");
        serde_json::from_slice(&plain).expect("the payload is JSON")
    }
}

async fn spawn_with_push(engine: Engine) -> TestApp {
    TestApp::spawn_with(engine, |config| {
        config.web_push = true;
        config.vapid_contact = Some(CONTACT.into());
        config.web_push_loopback_endpoints = true;
    })
    .await
}

async fn subscribe(app: &TestApp, account: &Account, body: Value) -> (u16, Value) {
    app.call(
        Method::PUT,
        "/api/push/subscription",
        Some(account),
        Some(body),
    )
    .await
}

async fn post(app: &TestApp, from: &Account, conversation: i64, text: &str) {
    let path = format!("/api/conversations/{conversation}/messages");
    let (status, body) = app
        .call(
            Method::POST,
            &path,
            Some(from),
            Some(json!({"message": text})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

fn stats(app: &TestApp) -> &server::push::Stats {
    app.push.as_ref().expect("push is on").stats()
}

/// Waits until the delivery task has decided about `messages` messages and finished every
/// post it started.
async fn settled(app: &TestApp, messages: u64) {
    until(WAIT, || async {
        let stats = stats(app);
        let ended =
            stats.sent.load(Relaxed) + stats.failed.load(Relaxed) + stats.gone.load(Relaxed);
        stats.considered.load(Relaxed) >= messages && ended == stats.posted.load(Relaxed)
    })
    .await;
}

async fn endpoints_of(app: &TestApp, user: UserId) -> Vec<String> {
    let stored = app.chat.store().push_subscriptions_of(user).await.unwrap();
    stored.into_iter().map(|s| s.endpoint).collect()
}

async fn a_push_reaches_an_offline_member_signed_and_encrypted(engine: Engine) {
    let mut service = PushService::start().await;
    let app = spawn_with_push(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conversation = app.conversation(&alice, &bob).await.id.0;
    let (status, key) = app.call(Method::GET, "/api/push/key", None, None).await;
    assert_eq!(status, 200, "{key}");
    let public_key = key["publicKey"].as_str().unwrap().to_owned();

    let browser = Browser::new();
    let endpoint = service.endpoint("bob");
    let (status, body) = subscribe(&app, &bob, browser.subscription(&endpoint)).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(endpoints_of(&app, bob.id).await, [endpoint]);

    post(&app, &alice, conversation, "hello  bob,\nsee you at 5").await;
    let push = service.next().await;
    assert_eq!(push.name, "bob");
    assert_eq!(push.headers["content-encoding"], "aes128gcm");
    let ttl: u64 = push.headers["ttl"].to_str().unwrap().parse().unwrap();
    assert!(ttl >= 3600, "TTL {ttl}");
    assert_eq!(push.headers["urgency"], "high");

    // VAPID (RFC 8292): `t` a JWT for this origin signed by the key `/api/push/key` gives.
    let authorization = push.headers["authorization"].to_str().unwrap();
    let rest = authorization.strip_prefix("vapid ").expect(authorization);
    let fields: HashMap<&str, &str> = rest
        .split(", ")
        .map(|field| field.split_once('=').unwrap())
        .collect();
    assert_eq!(fields["k"], public_key);
    let point = Base64UrlUnpadded::decode_vec(&public_key).unwrap();
    assert_eq!(
        (point.len(), point[0]),
        (65, 4),
        "an uncompressed P-256 point"
    );
    let (x, y) = point[1..].split_at(32);
    let verifier = DecodingKey::from_ec_components(
        &Base64UrlUnpadded::encode_string(x),
        &Base64UrlUnpadded::encode_string(y),
    )
    .unwrap();
    let header = jsonwebtoken::decode_header(fields["t"]).unwrap();
    assert_eq!(
        (header.typ.as_deref(), header.alg),
        (Some("JWT"), Algorithm::ES256)
    );
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[&service.origin]);
    validation.set_required_spec_claims(&["aud", "exp", "sub"]);
    validation.sub = Some(CONTACT.into());
    let claims = jsonwebtoken::decode::<Value>(fields["t"], &verifier, &validation)
        .expect("the token verifies for the endpoint's origin")
        .claims;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = claims["exp"].as_u64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp}, now {now}");

    let payload = browser.decrypt(&push.body);
    assert_eq!(
        payload,
        json!({"conversationId": conversation, "seq": 1, "sender": "alice",
               "preview": "hello bob, see you at 5"})
    );
    // The sender's own subscription is not pushed to.
    let alice_browser = Browser::new();
    let (status, _) = subscribe(
        &app,
        &alice,
        alice_browser.subscription(&service.endpoint("alice")),
    )
    .await;
    assert_eq!(status, 204);
    post(&app, &alice, conversation, "second").await;
    let push = service.next().await;
    assert_eq!(push.name, "bob");
    assert_eq!(browser.decrypt(&push.body)["preview"], "second");
    settled(&app, 2).await;
    assert!(service.received.try_recv().is_err(), "a push to the sender");
    assert_eq!(stats(&app).sent.load(Relaxed), 2);
}

async fn no_push_while_connected_or_muted_and_a_gone_subscription_is_forgotten(engine: Engine) {
    let mut service = PushService::start().await;
    let app = spawn_with_push(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conversation = app.conversation(&alice, &bob).await.id.0;
    let browser = Browser::new();
    let (status, _) = subscribe(&app, &bob, browser.subscription(&service.endpoint("bob"))).await;
    assert_eq!(status, 204);

    // Connected: the open tab shows the message; nothing is pushed.
    let socket = app.ws(&bob).await;
    until(WAIT, || async { app.chat.is_connected(bob.id) }).await;
    post(&app, &alice, conversation, "while connected").await;
    settled(&app, 1).await;
    drop(socket);
    until(WAIT, || async { !app.chat.is_connected(bob.id) }).await;

    // Muted in that browser: nothing is pushed either.
    let mut muted = browser.subscription(&service.endpoint("bob"));
    muted["muted"] = json!([conversation]);
    assert_eq!(subscribe(&app, &bob, muted).await.0, 204);
    post(&app, &alice, conversation, "while muted").await;
    settled(&app, 2).await;
    let unmuted = browser.subscription(&service.endpoint("bob"));
    assert_eq!(subscribe(&app, &bob, unmuted).await.0, 204);

    // The first push the service ever gets is the message sent after both.
    assert_eq!(stats(&app).posted.load(Relaxed), 0);
    post(&app, &alice, conversation, "while away").await;
    let push = service.next().await;
    assert_eq!(browser.decrypt(&push.body)["preview"], "while away");

    // The push service says the subscription is gone: the server forgets it.
    service.answer("bob", 410);
    post(&app, &alice, conversation, "after unsubscribing").await;
    assert_eq!(service.next().await.name, "bob");
    until(WAIT, || async {
        endpoints_of(&app, bob.id).await.is_empty()
    })
    .await;
}

async fn subscriptions_are_checked_bounded_and_end_with_the_session(engine: Engine) {
    let app = spawn_with_push(engine).await;
    let bob = app.register("bob").await;
    let browser = Browser::new();
    let good = browser.subscription("https://push.example.com/send/abc");

    let (status, body) = app
        .call(
            Method::PUT,
            "/api/push/subscription",
            None,
            Some(good.clone()),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );

    // (field set, as a JSON pointer, to value; what the refusal says)
    let cases = [
        (
            "/endpoint",
            json!("http://push.example.com/x"),
            "must be an https:// URL",
        ),
        ("/endpoint", json!("https://10.1.2.3/x"), "not an address"),
        ("/endpoint", json!("not a url"), "endpoint: not a URL"),
        (
            "/endpoint",
            json!(format!("https://push.example.com/{}", "a".repeat(2000))),
            "at most 1024 bytes",
        ),
        (
            "/keys/p256dh",
            json!("AAAA"),
            "keys.p256dh: 65 bytes expected",
        ),
        (
            "/keys/p256dh",
            json!(Base64UrlUnpadded::encode_string(&[4; 65])),
            "keys.p256dh: not a P-256 public key",
        ),
        ("/keys/auth", json!("%%%"), "keys.auth: not base64url"),
        ("/keys", Value::Null, "invalid type: null"),
        ("/userId", json!(1), "unknown field `userId`"),
        ("/muted", json!([0]), "muted: 0 is not a conversation id"),
        ("/muted", json!(vec![1; 1001]), "muted: at most 1000"),
    ];
    for (pointer, value, why) in cases {
        let mut body = good.clone();
        let (parent, field) = pointer.rsplit_once('/').unwrap();
        body.pointer_mut(parent).unwrap()[field] = value;
        let (status, answer) = subscribe(&app, &bob, body).await;
        assert_eq!(status, 422, "{why}: {answer}");
        assert_eq!(answer["code"], "invalidPayload", "{why}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(why), "{why} not in {message:?}");
    }
    assert!(endpoints_of(&app, bob.id).await.is_empty());

    // Per user, the 10 most recent are kept.
    for n in 0..12 {
        let endpoint = format!("https://push.example.com/send/{n}");
        assert_eq!(
            subscribe(&app, &bob, browser.subscription(&endpoint))
                .await
                .0,
            204
        );
    }
    let kept = endpoints_of(&app, bob.id).await;
    let newest: Vec<String> = (2..12)
        .rev()
        .map(|n| format!("https://push.example.com/send/{n}"))
        .collect();
    assert_eq!(kept, newest);

    let (status, _) = app
        .call(
            Method::DELETE,
            "/api/push/subscription",
            Some(&bob),
            Some(json!({"endpoint": "https://push.example.com/send/11"})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(endpoints_of(&app, bob.id).await.len(), 9);
    // Signing out ends the sign-in's subscriptions.
    app.logout(&bob).await;
    assert!(endpoints_of(&app, bob.id).await.is_empty());
}

async fn with_push_off_the_routes_say_so(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let bob = app.register("bob").await;
    let (status, body) = app.call(Method::GET, "/api/push/key", None, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("notFound")));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Web Push is off"),
        "{body}"
    );
    let subscription = Browser::new().subscription("https://push.example.com/send/1");
    let (status, body) = subscribe(&app, &bob, subscription).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("notFound")));
}

natter::on_both_engines!(
    a_push_reaches_an_offline_member_signed_and_encrypted,
    no_push_while_connected_or_muted_and_a_gone_subscription_is_forgotten,
    subscriptions_are_checked_bounded_and_end_with_the_session,
    with_push_off_the_routes_say_so,
);
