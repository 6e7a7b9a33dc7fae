//! Socket.IO at `/socket.io/`, namespace `/chat`, spoken at the packet level over Engine.IO v4
//! long-polling: authentication, one chat with the native socket, and the connection lifecycle.
//! (The real `socket.io-client` runs against it in `end2end/tests/socketio.spec.ts`.)

use std::collections::VecDeque;
use std::time::Duration;

use natter::protocol::ServerEvent;
use natter::store::Engine;
use serde_json::{Value, json};

use crate::support::api::Account;
use crate::support::app::TestApp;
use crate::support::commands::{join, send};
use crate::support::until;

/// One Socket.IO packet of namespace `/chat`, as the server sent it.
#[derive(Debug, PartialEq)]
enum Packet {
    Connect,
    ConnectError(String),
    Event(String, Value),
    Ack(u64, Value),
    Disconnect,
}

/// A Socket.IO client on the long-polling transport, written against the protocol documents.
struct PollingClient {
    http: reqwest::Client,
    url: String,
    received: VecDeque<Packet>,
}

impl PollingClient {
    /// Opens an Engine.IO session and asks to join `/chat` with `auth`; returns the client and
    /// the server's answer (`Connect` or `ConnectError`).
    async fn connect(app: &TestApp, auth: Value) -> (Self, Packet) {
        Self::connect_from(app, auth, None).await
    }

    /// `connect` from a browser page at `origin`.
    async fn connect_from(app: &TestApp, auth: Value, origin: Option<&str>) -> (Self, Packet) {
        let http = reqwest::Client::new();
        let base = app.url("/socket.io/?EIO=4&transport=polling");
        let mut handshake = http.get(&base);
        if let Some(origin) = origin {
            handshake = handshake.header("origin", origin);
        }
        let open = handshake.send().await.unwrap().text().await.unwrap();
        let handshake: Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
        let sid = handshake["sid"].as_str().unwrap();
        let mut client = Self {
            http,
            url: format!("{base}&sid={sid}"),
            received: VecDeque::new(),
        };
        client.post(&format!("40/chat,{auth}")).await;
        let answer = client.next().await;
        (client, answer)
    }

    async fn post(&self, payload: &str) {
        let response = self
            .http
            .post(&self.url)
            .body(payload.to_owned())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "POST {payload}");
    }

    /// Emits `event` with `data`, asking for an acknowledgement when `ack` is given.
    async fn emit(&self, event: &str, data: Value, ack: Option<u64>) {
        let id = ack.map(|id| id.to_string()).unwrap_or_default();
        self.post(&format!("42/chat,{id}{}", json!([event, data])))
            .await;
    }

    /// The next `/chat` packet, within 5 s; answers Engine.IO pings on the way.
    async fn next(&mut self) -> Packet {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(packet) = self.received.pop_front() {
                    return packet;
                }
                self.poll().await;
            }
        })
        .await
        .expect("a Socket.IO packet within 5 s")
    }

    /// One long-poll; `false` once the server has closed the session.
    async fn poll(&mut self) -> bool {
        let Ok(response) = self.http.get(&self.url).send().await else {
            return false;
        };
        if !response.status().is_success() {
            return false;
        }
        let Ok(body) = response.text().await else {
            return false;
        };
        let mut open = true;
        for packet in body.split('\u{1e}') {
            match packet.as_bytes().first() {
                Some(b'2') => self.post("3").await,
                Some(b'1') => open = false,
                Some(b'4') => self.received.push_back(parse(&packet[1..])),
                _ => {}
            }
        }
        open
    }

    async fn next_event(&mut self) -> (String, Value) {
        match self.next().await {
            Packet::Event(name, data) => (name, data),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Emits with acknowledgement id `id` and returns what the server acknowledged with.
    async fn request(&mut self, event: &str, data: Value, id: u64) -> Value {
        self.emit(event, data, Some(id)).await;
        match self.next().await {
            Packet::Ack(answered, data) if answered == id => data,
            other => panic!("expected ack {id}, got {other:?}"),
        }
    }

    /// Polls until the server closes the Engine.IO session.
    async fn closed(&mut self) {
        tokio::time::timeout(Duration::from_secs(5), async { while self.poll().await {} })
            .await
            .expect("the session closed within 5 s");
    }
}

/// Parses a Socket.IO packet (the Engine.IO `4` stripped) of namespace `/chat`.
fn parse(text: &str) -> Packet {
    let (kind, rest) = text.split_at(1);
    let rest = rest.strip_prefix("/chat,").expect("a /chat packet");
    let json_at = rest.find(['[', '{']).unwrap_or(rest.len());
    let (id, body) = rest.split_at(json_at);
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    match kind {
        "0" => Packet::Connect,
        "1" => Packet::Disconnect,
        "2" => {
            let [name, data] = <[Value; 2]>::try_from(body.as_array().unwrap().clone()).unwrap();
            Packet::Event(name.as_str().unwrap().to_owned(), data)
        }
        "3" => Packet::Ack(id.parse().unwrap(), body[0].clone()),
        "4" => Packet::ConnectError(body["message"].as_str().unwrap().to_owned()),
        other => panic!("unexpected packet type {other}"),
    }
}

fn token(user: &Account) -> Value {
    json!({ "token": user.token })
}

async fn a_handshake_without_valid_credentials_or_from_a_foreign_origin_is_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, answer) = PollingClient::connect(&app, json!({})).await;
    let Packet::ConnectError(message) = answer else {
        panic!("expected connect_error, got {answer:?}")
    };
    assert!(message.starts_with("unauthenticated: "), "{message}");
    let (_, answer) = PollingClient::connect(&app, json!({"token": "forged"})).await;
    assert!(
        matches!(&answer, Packet::ConnectError(m) if m.starts_with("invalidToken: ")),
        "{answer:?}"
    );
    // A browser page elsewhere cannot ride on a user's credentials; a configured origin can.
    let alice = app.register("alice").await;
    let (_, answer) =
        PollingClient::connect_from(&app, token(&alice), Some("https://evil.example")).await;
    assert!(
        matches!(&answer, Packet::ConnectError(m) if m.starts_with("foreignOrigin: ")),
        "{answer:?}"
    );
    assert_eq!(
        app.chat.live_topics(),
        0,
        "a refused socket subscribes to nothing"
    );
    let (_, answer) =
        PollingClient::connect_from(&app, token(&alice), Some("https://chat.example.com")).await;
    assert_eq!(answer, Packet::Connect);
}

async fn a_socketio_message_reaches_a_native_socket_and_back(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, answer) = PollingClient::connect(&app, token(&alice)).await;
    assert_eq!(answer, Packet::Connect);
    let mut native = app.ws(&bob).await;
    let joined = sio
        .request("joinConversation", json!({"convId": conv}), 1)
        .await;
    assert_eq!(
        joined,
        json!({"convId": conv, "room": format!("conversation_{}", conv.0)})
    );
    native.request(join(conv), "j").await;

    let sent = sio
        .request(
            "sendMessage",
            json!({"convId": conv, "message": {"message": "hi bob"}, "userId": alice.id}),
            2,
        )
        .await;
    assert_eq!(sent["message"]["message"], "hi bob");
    let ServerEvent::NewMessage { message } = native.next_event().await else {
        panic!("expected newMessage")
    };
    assert_eq!(
        (message.message.as_str(), message.sender_id),
        ("hi bob", alice.id)
    );

    native.send(send(conv, "hi alice", None), None).await;
    let (event, data) = sio.next_event().await;
    assert_eq!(event, "newMessage");
    assert_eq!(data["message"]["message"], "hi alice");
    assert_eq!(data["message"]["senderId"], json!(bob.id));
}

async fn commands_are_answered_in_the_order_they_were_sent(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, _) = PollingClient::connect(&app, token(&alice)).await;
    // One request body, several packets: join, then a bad one, then sends.
    let packets = [
        format!("42/chat,{}", json!(["joinConversation", {"convId": conv}])),
        format!("42/chat,{}", json!(["joinConversation", {"convId": "x"}])),
        format!("42/chat,{}", json!(["fly", {}])),
        format!(
            "42/chat,{}",
            json!(["sendMessage", {"convId": conv, "message": {"message": "1"}}])
        ),
        format!(
            "42/chat,{}",
            json!(["sendMessage", {"convId": conv, "message": {"message": "2"}}])
        ),
    ];
    sio.post(&packets.join("\u{1e}")).await;
    let mut seen = Vec::new();
    for _ in 0..packets.len() {
        let (event, data) = sio.next_event().await;
        seen.push(match event.as_str() {
            "error" => data["code"].as_str().unwrap().to_owned(),
            "newMessage" => data["message"]["message"].as_str().unwrap().to_owned(),
            _ => event,
        });
    }
    assert_eq!(
        seen,
        [
            "joinedConversation",
            "invalidPayload",
            "unknownEvent",
            "1",
            "2"
        ]
    );
}

async fn a_disconnect_frees_the_connection(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, _) = PollingClient::connect(&app, token(&alice)).await;
    sio.request("joinConversation", json!({"convId": conv}), 1)
        .await;
    // Alice's feed and the room.
    assert_eq!(app.chat.live_topics(), 2);
    sio.post("41/chat,").await;
    until(Duration::from_secs(2), || async {
        app.chat.live_topics() == 0
    })
    .await;
}

/// Socket.IO and `/ws` count against one cap per user; past it the handshake is refused with a
/// `connect_error` naming the code, and a disconnect frees the seat.
#[tokio::test]
async fn one_user_cannot_hold_more_socketio_sockets_than_the_cap() {
    let app = TestApp::spawn_with(Engine::Sqlite, |config| config.max_user_connections = 2).await;
    let alice = app.register("alice").await;
    let _native = app.ws(&alice).await;
    let (first, answer) = PollingClient::connect(&app, token(&alice)).await;
    assert!(matches!(answer, Packet::Connect), "{answer:?}");
    let (_, answer) = PollingClient::connect(&app, token(&alice)).await;
    assert!(
        matches!(&answer, Packet::ConnectError(m) if m.starts_with("tooManyConnections: ")),
        "{answer:?}"
    );
    // A disconnect frees the seat.
    first.post("41/chat,").await;
    until(Duration::from_secs(3), || async {
        let (_, answer) = PollingClient::connect(&app, token(&alice)).await;
        matches!(answer, Packet::Connect)
    })
    .await;
}

async fn shutdown_closes_socketio_sessions_and_frees_their_rooms(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, _) = PollingClient::connect(&app, token(&alice)).await;
    sio.request("joinConversation", json!({"convId": conv}), 1)
        .await;
    // A long-poll waiting for news must not hold the shutdown up.
    let waiting = tokio::spawn(async move { sio.closed().await });
    tokio::time::timeout(Duration::from_secs(5), app.shutdown())
        .await
        .expect("shutdown within 5 s");
    waiting.await.unwrap();
    assert_eq!(app.chat.live_topics(), 0);
}

natter::on_both_engines!(
    a_handshake_without_valid_credentials_or_from_a_foreign_origin_is_refused,
    a_socketio_message_reaches_a_native_socket_and_back,
    commands_are_answered_in_the_order_they_were_sent,
    a_disconnect_frees_the_connection,
    shutdown_closes_socketio_sessions_and_frees_their_rooms,
);
