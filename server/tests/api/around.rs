//! Typing, presence and the settings that hide them, over real sockets: a native `/ws` client
//! and a Socket.IO one in the same conversation, and the REST settings.

use natter::protocol::{ClientCommand, ConversationView, ServerEvent, Settings};
use natter::store::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::app::TestApp;
use crate::support::commands::join;
use crate::support::socketio::{Packet, SocketIoClient};

async fn typing_and_presence_cross_transports(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let conv = app.conversation(&alice, &bob).await.id;
    let (mut sio, answer) = SocketIoClient::connect(&app, json!({ "token": bob.token })).await;
    assert_eq!(answer, Packet::Connect);
    let joined = sio
        .request("joinConversation", json!({"convId": conv}), 1)
        .await;
    assert_eq!(joined["room"], conv.room(), "{joined}");

    // alice's first connection: bob is told she is online.
    let mut native = app.ws(&alice).await;
    let Packet::Event(name, data) = sio.next_any().await else {
        panic!("expected an event")
    };
    assert_eq!(name, "presence");
    assert_eq!(data["userId"], alice.id.0);
    assert_eq!(data["online"], true);
    // …and sees bob online in her list.
    let listed: Vec<ConversationView> = app.get("/api/conversations", &alice).await;
    assert!(
        listed[0]
            .presence
            .iter()
            .any(|p| p.user_id == bob.id && p.online),
        "{:?}",
        listed[0].presence
    );

    assert!(matches!(
        native.request(join(conv), "j").await,
        ServerEvent::JoinedConversation { .. }
    ));
    native
        .send(
            ClientCommand::Typing {
                conv_id: conv,
                typing: true,
            },
            None,
        )
        .await;
    let (name, data) = sio.next_event().await;
    assert_eq!(name, "typing");
    assert_eq!(
        data,
        json!({"convId": conv, "userId": alice.id, "username": "alice", "typing": true})
    );
    sio.emit("typing", json!({"convId": conv, "typing": true}), None)
        .await;
    assert_eq!(
        native.next_event().await,
        ServerEvent::Typing {
            conv_id: conv,
            user_id: bob.id,
            username: "bob".into(),
            typing: true
        }
    );
    // A malformed notice is refused with the reason.
    sio.emit("typing", json!({"convId": conv, "typing": "yes"}), None)
        .await;
    let (name, data) = sio.next_event().await;
    assert_eq!(
        (name.as_str(), &data["code"]),
        ("error", &json!("invalidPayload")),
        "{data}"
    );
}

async fn settings_are_read_changed_and_checked(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    let defaults: Settings = app.get("/api/me/settings", &alice).await;
    assert_eq!(defaults, Settings::default());
    let hide = json!({"sharePresence": false, "shareTyping": true});
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/me/settings",
            Some(&alice),
            Some(hide.clone()),
        )
        .await;
    assert_eq!((status, &body), (200, &hide));
    let stored: Settings = app.get("/api/me/settings", &alice).await;
    assert!(!stored.share_presence && stored.share_typing);
    for bad in [
        json!({"sharePresence": false}),
        json!({"sharePresence": "no", "shareTyping": true}),
        json!({"sharePresence": true, "shareTyping": true, "extra": 1}),
    ] {
        let (status, body) = app
            .call(
                Method::PUT,
                "/api/me/settings",
                Some(&alice),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(status, 422, "{bad} → {body}");
        assert_eq!(body["code"], "invalidPayload", "{body}");
    }
    let (status, _) = app.call(Method::GET, "/api/me/settings", None, None).await;
    assert_eq!(status, 401);
    let _: Value = app.get("/api/me/settings", &alice).await;
}

natter::on_both_engines!(
    typing_and_presence_cross_transports,
    settings_are_read_changed_and_checked,
);
