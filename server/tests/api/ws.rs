//! The native WebSocket: every event and every error path, over real sockets.

use std::time::Duration;

use natter::protocol::{ClientCommand, ConversationId, ErrorCode, Seq, ServerEvent};
use natter::store::Engine;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::api::Account;
use crate::support::app::TestApp;
use crate::support::commands::{create, create_group, join, send};
use crate::support::until;
use crate::support::ws::WsClient;

fn error_code(event: ServerEvent) -> ErrorCode {
    match event {
        ServerEvent::Error(e) => e.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

async fn the_seed_flow_works_end_to_end(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let (mut a, mut b) = (app.ws(&alice).await, app.ws(&bob).await);
    // conversationCreated reaches both members, joined to a room or not.
    let ServerEvent::ConversationCreated { conversation } = a.request(create(bob.id), "c1").await
    else {
        panic!()
    };
    assert_eq!(
        conversation.room,
        format!("conversation_{}", conversation.id.0)
    );
    let ServerEvent::ConversationCreated {
        conversation: heard,
    } = b.next_event().await
    else {
        panic!()
    };
    assert_eq!(heard.id, conversation.id);
    let conv = conversation.id;
    for client in [&mut a, &mut b] {
        let joined = client.request(join(conv), "j").await;
        assert_eq!(
            joined,
            ServerEvent::JoinedConversation {
                conv_id: conv,
                room: conv.room()
            }
        );
    }
    // Seed-style send (no ref): newMessage to everyone in the room, the sender included.
    a.send(send(conv, "Hello!", None), None).await;
    for client in [&mut a, &mut b] {
        let frame = client.next().await;
        assert_eq!(frame.reference, None);
        let ServerEvent::NewMessage { message } = frame.event else {
            panic!()
        };
        assert_eq!(
            (message.message.as_str(), message.seq, message.sender_id),
            ("Hello!", Seq(1), alice.id)
        );
        assert_eq!(message.sender_name, "alice");
    }
    // With a ref: the sender gets messageSent (and no echo), the room gets newMessage.
    let ServerEvent::MessageSent { message } =
        b.request(send(conv, "hi alice", Some("m-1")), "s1").await
    else {
        panic!()
    };
    assert_eq!(
        (message.seq, message.client_id.as_deref()),
        (Seq(2), Some("m-1"))
    );
    assert!(
        matches!(a.next_event().await, ServerEvent::NewMessage { message } if message.seq == Seq(2))
    );
    b.expect_silence().await;
    // Leaving stops delivery.
    let left = a
        .request(
            ClientCommand::LeaveConversation {
                conv_id: conv,
                user_id: None,
            },
            "l",
        )
        .await;
    assert_eq!(
        left,
        ServerEvent::LeftConversation {
            conv_id: conv,
            room: conv.room()
        }
    );
    b.request(send(conv, "anyone?", None), "s2").await;
    a.expect_silence().await;
}

async fn every_bad_frame_gets_an_error_and_the_socket_stays_usable(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.max_message_chars = 20).await;
    let (alice, bob, eve) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("eve").await,
    );
    let conv = app.conversation(&alice, &bob).await.id;
    let mut a = app.ws(&alice).await;
    let cases: Vec<(String, ErrorCode)> = vec![
        ("{not json".into(), ErrorCode::MalformedFrame),
        ("42".into(), ErrorCode::MalformedFrame),
        (json!({"event": "shout", "data": {}, "ref": "r"}).to_string(), ErrorCode::UnknownEvent),
        (json!({"event": "joinConversation", "data": {}}).to_string(), ErrorCode::InvalidPayload),
        (json!({"event": "joinConversation", "data": {"convId": "seven"}}).to_string(), ErrorCode::InvalidPayload),
        (json!({"event": "sendMessage", "data": {"convId": conv, "message": "flat"}}).to_string(), ErrorCode::InvalidPayload),
        (json!({"event": "sendMessage", "data": {"convId": conv, "message": {"message": "   "}}}).to_string(), ErrorCode::EmptyMessage),
        (json!({"event": "sendMessage", "data": {"convId": conv, "message": {"message": "x".repeat(21)}}}).to_string(), ErrorCode::MessageTooLong),
        (json!({"event": "sendMessage", "data": {"convId": 999999, "message": {"message": "hi"}}}).to_string(), ErrorCode::ConversationNotFound),
        (json!({"event": "sendMessage", "data": {"convId": conv, "message": {"message": "hi"}, "userId": bob.id}}).to_string(), ErrorCode::SpoofedUser),
        (json!({"event": "sendMessage", "data": {"convId": conv, "message": {"message": "hi"}, "clientId": "no spaces"}}).to_string(), ErrorCode::InvalidClientId),
        (json!({"event": "createConversation", "data": {"createConvDto": {"user2_id": alice.id}}}).to_string(), ErrorCode::CannotMessageSelf),
        (json!({"event": "createConversation", "data": {"createConvDto": {"user2_id": 424242}}}).to_string(), ErrorCode::UserNotFound),
        (json!({"event": "createConversation", "data": {"username": "nobody"}}).to_string(), ErrorCode::UserNotFound),
        (json!({"event": "createConversation", "data": {}}).to_string(), ErrorCode::InvalidPayload),
        (json!({"event": "leaveConversation", "data": {"convId": conv}}).to_string(), ErrorCode::NotJoined),
    ];
    for (text, code) in cases {
        a.send_text(&text).await;
        let frame = a.next().await;
        assert_eq!(error_code(frame.event.clone()), code, "for {text}");
    }
    // The ref of a frame whose event is unknown is still echoed.
    a.send_text(&json!({"event": "fly", "ref": "keep-me"}).to_string())
        .await;
    assert_eq!(a.next().await.reference.as_deref(), Some("keep-me"));
    // Binary frames are refused, the socket lives on.
    futures_util::SinkExt::send(
        &mut a.socket,
        tokio_tungstenite::tungstenite::Message::binary(vec![1, 2, 3]),
    )
    .await
    .unwrap();
    assert_eq!(error_code(a.next_event().await), ErrorCode::BinaryFrame);
    // Duplicate join.
    a.request(join(conv), "j1").await;
    assert_eq!(
        error_code(a.request(join(conv), "j2").await),
        ErrorCode::AlreadyJoined
    );
    // A stranger cannot join, and nothing above was stored.
    let mut e = app.ws(&eve).await;
    assert_eq!(
        error_code(e.request(join(conv), "x").await),
        ErrorCode::NotMember
    );
    assert_eq!(
        error_code(e.request(send(conv, "let me in", None), "y").await),
        ErrorCode::NotMember
    );
    let (status, page) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/conversations/{}/messages", conv.0),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["messages"].as_array().unwrap().len(), 0);
    // And after all that, the socket still works.
    assert!(matches!(
        a.request(send(conv, "still here", None), "ok").await,
        ServerEvent::MessageSent { .. }
    ));
}

async fn an_oversize_frame_closes_the_socket_with_1009(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| c.max_frame_bytes = 1024).await;
    let alice = app.register("alice").await;
    let mut a = app.ws(&alice).await;
    a.send_text(
        &json!({"event": "joinConversation", "data": {"convId": 1}, "ref": "x".repeat(2000)})
            .to_string(),
    )
    .await;
    assert_eq!(a.closed_with().await, 1009);
}

/// The server reads 1 KiB at a time (an idle socket holds that much); a longer frame is read
/// in several goes and arrives whole, as do the frames sent right behind it.
async fn a_frame_many_times_the_read_buffer_arrives_whole(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut a, mut b) = (app.ws(&alice).await, app.ws(&bob).await);
    b.request(join(conv), "j").await;
    // 4,000 characters of three bytes each: a frame of about 12 KB.
    let long = "€".repeat(natter::protocol::limits::DEFAULT_MESSAGE_MAX_CHARS);
    for (text, reference) in [("before", "1"), (long.as_str(), "2"), ("after", "3")] {
        a.send(send(conv, text, None), Some(reference)).await;
    }
    for text in ["before", long.as_str(), "after"] {
        let ServerEvent::NewMessage { message } = b.next_event().await else {
            panic!("expected newMessage")
        };
        assert_eq!(message.message, text);
    }
}

async fn upgrades_need_a_valid_token_and_an_allowed_origin(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    let url = format!("ws://{}/ws", app.addr);
    let status_of = |result: Result<WsClient, tokio_tungstenite::tungstenite::Error>| match result {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("unexpected {e}"),
    };
    assert_eq!(
        status_of(
            app.ws_request(url.clone().into_client_request().unwrap())
                .await
        ),
        401
    );
    let bad = format!("{url}?token=not-a-token")
        .into_client_request()
        .unwrap();
    assert_eq!(status_of(app.ws_request(bad).await), 401);
    let by_query = format!("{url}?token={}", alice.token)
        .into_client_request()
        .unwrap();
    assert_eq!(status_of(app.ws_request(by_query).await), 101);
    let mut by_cookie = url.clone().into_client_request().unwrap();
    by_cookie.headers_mut().insert(
        "cookie",
        format!("natter_session={}", alice.token).parse().unwrap(),
    );
    assert_eq!(status_of(app.ws_request(by_cookie).await), 101);
    for (origin, expected) in [
        ("https://evil.example".to_owned(), 403),
        ("https://chat.example.com".to_owned(), 101),
        (format!("http://{}", app.addr), 101),
    ] {
        let mut request = format!("{url}?token={}", alice.token)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        assert_eq!(
            status_of(app.ws_request(request).await),
            expected,
            "origin {origin}"
        );
    }
    // A logged-out token no longer opens sockets.
    app.logout(&alice).await;
    let after = format!("{url}?token={}", alice.token)
        .into_client_request()
        .unwrap();
    assert_eq!(status_of(app.ws_request(after).await), 401);
}

async fn a_rest_posted_message_arrives_on_the_socket(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let mut b = app.ws(&bob).await;
    b.request(join(conv), "j").await;
    let path = format!("/api/conversations/{}/messages", conv.0);
    let (status, posted) = app
        .call(
            reqwest::Method::POST,
            &path,
            Some(&alice),
            Some(json!({"message": "over REST", "clientId": "r-1"})),
        )
        .await;
    assert_eq!(status, 201);
    let ServerEvent::NewMessage { message } = b.next_event().await else {
        panic!()
    };
    assert_eq!(message.message, "over REST");
    assert_eq!(serde_json::to_value(&message).unwrap(), posted);
    // The retry is answered with the original and not broadcast again.
    let (status, again) = app
        .call(
            reqwest::Method::POST,
            &path,
            Some(&alice),
            Some(json!({"message": "over REST", "clientId": "r-1"})),
        )
        .await;
    assert_eq!((status, again), (200, posted));
    b.expect_silence().await;
}

async fn a_retried_socket_send_is_stored_and_broadcast_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut a, mut b) = (app.ws(&alice).await, app.ws(&bob).await);
    b.request(join(conv), "j").await;
    let ServerEvent::MessageSent { message: first } =
        a.request(send(conv, "once", Some("cid-7")), "1").await
    else {
        panic!()
    };
    let ServerEvent::MessageSent { message: retry } =
        a.request(send(conv, "once", Some("cid-7")), "2").await
    else {
        panic!()
    };
    assert_eq!(first, retry);
    assert!(
        matches!(b.next_event().await, ServerEvent::NewMessage { message } if message.id == first.id)
    );
    b.expect_silence().await;
    let (_, page) = app
        .call(
            reqwest::Method::GET,
            &format!("/api/conversations/{}/messages", conv.0),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
}

async fn shutdown_closes_sockets_with_1001_and_frees_their_rooms(engine: Engine) {
    let mut app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let mut a = app.ws(&alice).await;
    a.request(join(conv), "j").await;
    let b = app.ws(&bob).await;
    drop(b);
    // bob's dropped socket leaves its feed; alice holds her feed and the room.
    until(Duration::from_secs(2), || async {
        app.chat.live_topics() == 2
    })
    .await;
    app.shutdown().await;
    assert_eq!(a.closed_with().await, 1001);
    assert_eq!(app.chat.live_topics(), 0);
}

async fn logging_out_closes_that_sessions_sockets_and_only_those(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    // A second login of alice: another session.
    let (status, other) = app
        .call(
            reqwest::Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "alice", "password": crate::support::api::PASSWORD})),
        )
        .await;
    assert_eq!(status, 200);
    let other = crate::support::api::Account {
        id: alice.id,
        token: other["token"].as_str().unwrap().to_owned(),
    };
    let (mut first, mut second) = (app.ws(&alice).await, app.ws(&other).await);
    app.logout(&alice).await;
    assert_eq!(
        error_code(first.next_event().await),
        ErrorCode::InvalidToken
    );
    assert_eq!(first.closed_with().await, 1008);
    // The other session lives on.
    assert_eq!(
        second.request(ClientCommand::Ping {}, "p").await,
        ServerEvent::Pong {}
    );
}

/// The seed's flow: create, then send, never `joinConversation`. The creating socket is in the
/// room: a direct conversation, a group, and a direct one created again from a fresh socket of
/// the other member (found, not new).
async fn a_creating_socket_hears_its_room_without_joining(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob, carol) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("carol").await,
    );
    let mut a = app.ws(&alice).await;
    let ServerEvent::ConversationCreated { conversation } = a.request(create(bob.id), "c1").await
    else {
        panic!()
    };
    let direct = conversation.id;
    hears_its_room(&app, &mut a, direct, &alice, &bob).await;
    let group = create_group("Launch", vec![bob.id, carol.id]);
    let ServerEvent::ConversationCreated { conversation } = a.request(group, "c2").await else {
        panic!()
    };
    hears_its_room(&app, &mut a, conversation.id, &alice, &carol).await;
    let mut b = app.ws(&bob).await;
    let ServerEvent::ConversationCreated { conversation } = b.request(create(alice.id), "c3").await
    else {
        panic!()
    };
    assert_eq!(conversation.id, direct, "the existing conversation");
    hears_its_room(&app, &mut b, direct, &bob, &alice).await;
}

/// `socket`, signed in as `me`, gets its own seed-style send (no ref) back as `newMessage`, then
/// `other`'s message to `conv`, posted over REST.
async fn hears_its_room(
    app: &TestApp,
    socket: &mut WsClient,
    conv: ConversationId,
    me: &Account,
    other: &Account,
) {
    socket.send(send(conv, "mine", None), None).await;
    let ServerEvent::NewMessage { message } = socket.next_event().await else {
        panic!("expected my newMessage")
    };
    assert_eq!(
        (message.message.as_str(), message.sender_id),
        ("mine", me.id)
    );
    let path = format!("/api/conversations/{}/messages", conv.0);
    let body = json!({"message": "theirs"});
    let (status, _) = app
        .call(reqwest::Method::POST, &path, Some(other), Some(body))
        .await;
    assert_eq!(status, 201);
    let ServerEvent::NewMessage { message } = socket.next_event().await else {
        panic!("expected their newMessage")
    };
    assert_eq!(
        (message.message.as_str(), message.sender_id),
        ("theirs", other.id)
    );
}

async fn ping_is_answered_with_pong(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    let mut a = app.ws(&alice).await;
    a.send_text(r#"{"event":"ping","ref":"1"}"#).await;
    let frame = a.next().await;
    assert_eq!(
        (frame.event, frame.reference.as_deref()),
        (ServerEvent::Pong {}, Some("1"))
    );
}

natter::on_both_engines!(
    the_seed_flow_works_end_to_end,
    every_bad_frame_gets_an_error_and_the_socket_stays_usable,
    an_oversize_frame_closes_the_socket_with_1009,
    a_frame_many_times_the_read_buffer_arrives_whole,
    upgrades_need_a_valid_token_and_an_allowed_origin,
    a_rest_posted_message_arrives_on_the_socket,
    a_retried_socket_send_is_stored_and_broadcast_once,
    shutdown_closes_sockets_with_1001_and_frees_their_rooms,
    logging_out_closes_that_sessions_sockets_and_only_those,
    ping_is_answered_with_pong,
    a_creating_socket_hears_its_room_without_joining,
);
