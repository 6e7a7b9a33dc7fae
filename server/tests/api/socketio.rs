//! Socket.IO at `/socket.io/`, namespace `/chat`, spoken at the packet level over Engine.IO v4
//! long-polling: authentication, one chat with the native socket, and the connection lifecycle.
//! (The real `socket.io-client` runs against it in `end2end/tests/socketio.spec.ts`.)

use std::time::Duration;

use natter::protocol::ServerEvent;
use natter::store::Engine;
use serde_json::{Value, json};

use crate::support::api::Account;
use crate::support::app::TestApp;
use crate::support::commands::{join, send};
use crate::support::socketio::{Packet, SocketIoClient};
use crate::support::until;

fn token(user: &Account) -> Value {
    json!({ "token": user.token })
}

async fn a_handshake_without_valid_credentials_or_from_a_foreign_origin_is_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (_, answer) = SocketIoClient::connect(&app, json!({})).await;
    let Packet::ConnectError(message) = answer else {
        panic!("expected connect_error, got {answer:?}")
    };
    assert!(message.starts_with("unauthenticated: "), "{message}");
    let (_, answer) = SocketIoClient::connect(&app, json!({"token": "forged"})).await;
    assert!(
        matches!(&answer, Packet::ConnectError(m) if m.starts_with("invalidToken: ")),
        "{answer:?}"
    );
    // A browser page elsewhere cannot ride on a user's credentials; a configured origin can.
    let alice = app.register("alice").await;
    let (_, answer) =
        SocketIoClient::connect_from(&app, token(&alice), Some("https://evil.example")).await;
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
        SocketIoClient::connect_from(&app, token(&alice), Some("https://chat.example.com")).await;
    assert_eq!(answer, Packet::Connect);
}

async fn a_socketio_message_reaches_a_native_socket_and_back(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, answer) = SocketIoClient::connect(&app, token(&alice)).await;
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
    let (mut sio, _) = SocketIoClient::connect(&app, token(&alice)).await;
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

/// The seed's flow, no acknowledgements: emit `createConversation`, read `conversationCreated`,
/// emit `sendMessage`, never `joinConversation`. The creating socket is in the room: a direct
/// conversation, a group, and a direct one created again from a fresh socket of the other
/// member (found, not new).
async fn a_creating_socket_hears_its_room_without_joining(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob, carol) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let (mut a, _) = SocketIoClient::connect(&app, token(&alice)).await;
    let direct = created(&mut a, json!({"user2_id": bob.id})).await;
    hears_its_room(&app, &mut a, &direct, &alice, &bob).await;
    let group = created(
        &mut a,
        json!({"title": "Launch", "memberIds": [bob.id, carol.id]}),
    )
    .await;
    hears_its_room(&app, &mut a, &group, &alice, &carol).await;
    let (mut b, _) = SocketIoClient::connect(&app, token(&bob)).await;
    let found = created(&mut b, json!({"user2_id": alice.id})).await;
    assert_eq!(found, direct, "the existing conversation");
    hears_its_room(&app, &mut b, &found, &bob, &alice).await;
}

/// Emits `createConversation` with `dto` as the seed does (no ack); the conversation's id.
async fn created(sio: &mut SocketIoClient, dto: Value) -> Value {
    sio.emit("createConversation", json!({ "createConvDto": dto }), None)
        .await;
    let (event, data) = sio.next_event().await;
    assert_eq!(event, "conversationCreated", "{data}");
    data["conversation"]["id"].clone()
}

/// `sio`, signed in as `me`, gets its own send back as `newMessage`, then `other`'s message to
/// `conv`, posted over REST.
async fn hears_its_room(
    app: &TestApp,
    sio: &mut SocketIoClient,
    conv: &Value,
    me: &Account,
    other: &Account,
) {
    let mine = json!({"convId": conv, "message": {"message": "mine"}});
    sio.emit("sendMessage", mine, None).await;
    let (event, data) = sio.next_event().await;
    assert_eq!(event, "newMessage", "{data}");
    assert_eq!(
        (&data["message"]["message"], &data["message"]["senderId"]),
        (&json!("mine"), &json!(me.id))
    );
    let path = format!("/api/conversations/{conv}/messages");
    let body = json!({"message": "theirs"});
    let (status, _) = app
        .call(reqwest::Method::POST, &path, Some(other), Some(body))
        .await;
    assert_eq!(status, 201);
    let (event, data) = sio.next_event().await;
    assert_eq!(event, "newMessage", "{data}");
    assert_eq!(
        (&data["message"]["message"], &data["message"]["senderId"]),
        (&json!("theirs"), &json!(other.id))
    );
}

async fn a_disconnect_frees_the_connection(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, _) = SocketIoClient::connect(&app, token(&alice)).await;
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
    let (first, answer) = SocketIoClient::connect(&app, token(&alice)).await;
    assert!(matches!(answer, Packet::Connect), "{answer:?}");
    let (_, answer) = SocketIoClient::connect(&app, token(&alice)).await;
    assert!(
        matches!(&answer, Packet::ConnectError(m) if m.starts_with("tooManyConnections: ")),
        "{answer:?}"
    );
    // A disconnect frees the seat.
    first.post("41/chat,").await;
    until(Duration::from_secs(3), || async {
        let (_, answer) = SocketIoClient::connect(&app, token(&alice)).await;
        matches!(answer, Packet::Connect)
    })
    .await;
}

async fn shutdown_closes_socketio_sessions_and_frees_their_rooms(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, _) = SocketIoClient::connect(&app, token(&alice)).await;
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
    a_creating_socket_hears_its_room_without_joining,
    commands_are_answered_in_the_order_they_were_sent,
    a_disconnect_frees_the_connection,
    shutdown_closes_socketio_sessions_and_frees_their_rooms,
);
