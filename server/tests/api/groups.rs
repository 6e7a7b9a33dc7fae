//! Group conversations over the REST API and a live `/ws` socket: statuses and error codes of
//! every group route, and a removed member's socket leaving the room at once.

use std::time::Duration;

use natter::protocol::{ConversationId, ErrorCode, ServerEvent, ServerFrame};
use natter::store::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::Account;
use crate::support::app::TestApp;
use crate::support::commands::{create_group, join, send};
use crate::support::socketio::{Packet, SocketIoClient};
use crate::support::ws::WsClient;

/// The next frame that is not a `presence` event (which may come at any time).
async fn next_frame(ws: &mut WsClient) -> ServerFrame {
    loop {
        let frame = ws.next().await;
        if !matches!(frame.event, ServerEvent::Presence(_)) {
            return frame;
        }
    }
}

/// Nothing but `presence` events for a while.
async fn quiet(ws: &mut WsClient) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(400);
    while let Ok(frame) = tokio::time::timeout_at(deadline, ws.next()).await {
        assert!(
            matches!(frame.event, ServerEvent::Presence(_)),
            "expected nothing, got {frame:?}"
        );
    }
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

async fn every_group_route_answers_with_its_status(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let carol = app.register("carol").await;
    let dave = app.register("dave").await;
    let eve = app.register("eve").await;
    let call = |method: Method, path: String, who: &Account, body: Option<Value>| {
        let (app, who) = (&app, who.clone());
        async move { app.call(method, &path, Some(&who), body).await }
    };

    // Create.
    let (status, group) = call(
        Method::POST,
        "/api/conversations".into(),
        &alice,
        Some(json!({"title": " Launch ", "memberIds": [bob.id, carol.id]})),
    )
    .await;
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["kind"], "group");
    assert_eq!(group["title"], "Launch");
    assert_eq!(group["admins"], json!([alice.id]));
    assert_eq!(group["members"].as_array().unwrap().len(), 3);
    let id = group["id"].as_i64().unwrap();
    let (status, by_name) = call(
        Method::POST,
        "/api/conversations".into(),
        &alice,
        Some(json!({"title": "Names", "usernames": ["bob", "DAVE"]})),
    )
    .await;
    assert_eq!((status, by_name["kind"].as_str()), (201, Some("group")));
    for (body, expected_status, expected) in [
        (
            json!({"title": "", "memberIds": [bob.id]}),
            422,
            "invalidTitle",
        ),
        (
            json!({"title": "x".repeat(101), "memberIds": [bob.id]}),
            422,
            "invalidTitle",
        ),
        (
            json!({"title": "Alone", "memberIds": []}),
            422,
            "invalidPayload",
        ),
        (
            json!({"title": "Alone", "memberIds": [alice.id]}),
            422,
            "invalidPayload",
        ),
        (
            json!({"title": "Ghost", "memberIds": [999_999]}),
            404,
            "userNotFound",
        ),
        (
            json!({"title": "Ghost", "usernames": ["nobody"]}),
            404,
            "userNotFound",
        ),
        (
            json!({"title": "Mixed", "user2_id": bob.id}),
            422,
            "invalidPayload",
        ),
        (json!({"memberIds": [bob.id]}), 422, "invalidTitle"),
    ] {
        let (status, answer) = call(
            Method::POST,
            "/api/conversations".into(),
            &alice,
            Some(body.clone()),
        )
        .await;
        assert_eq!(
            (status, code(&answer)),
            (expected_status, expected),
            "{body}"
        );
    }
    // The seed's one-to-one create is unchanged.
    let (status, direct) = call(
        Method::POST,
        "/api/conversations".into(),
        &alice,
        Some(json!({"user2_id": bob.id})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(direct["kind"], "direct");
    assert_eq!(direct["title"], Value::Null);
    let direct_id = direct["id"].as_i64().unwrap();

    // Rename.
    let path = format!("/api/conversations/{id}");
    let (status, answer) = call(
        Method::PATCH,
        path.clone(),
        &bob,
        Some(json!({"title": "Mine"})),
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "notAdmin"));
    let (status, answer) = call(
        Method::PATCH,
        path.clone(),
        &eve,
        Some(json!({"title": "Mine"})),
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "notMember"));
    let (status, answer) = call(
        Method::PATCH,
        path.clone(),
        &alice,
        Some(json!({"title": " \t"})),
    )
    .await;
    assert_eq!((status, code(&answer)), (422, "invalidTitle"));
    let (status, answer) = call(
        Method::PATCH,
        format!("/api/conversations/{direct_id}"),
        &alice,
        Some(json!({"title": "Us"})),
    )
    .await;
    assert_eq!((status, code(&answer)), (409, "notGroup"));
    let (status, answer) = call(
        Method::PATCH,
        "/api/conversations/424242".into(),
        &alice,
        Some(json!({"title": "Us"})),
    )
    .await;
    assert_eq!((status, code(&answer)), (404, "conversationNotFound"));
    let (status, renamed) = call(
        Method::PATCH,
        path.clone(),
        &alice,
        Some(json!({"title": "Launch week"})),
    )
    .await;
    assert_eq!(
        (status, renamed["title"].as_str()),
        (200, Some("Launch week"))
    );

    // Add.
    let members = format!("/api/conversations/{id}/members");
    let (status, answer) = call(
        Method::POST,
        members.clone(),
        &bob,
        Some(json!({"userId": dave.id})),
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "notAdmin"));
    let (status, answer) = call(Method::POST, members.clone(), &alice, Some(json!({}))).await;
    assert_eq!((status, code(&answer)), (422, "invalidPayload"));
    let (status, answer) = call(
        Method::POST,
        members.clone(),
        &alice,
        Some(json!({"userId": 999_999})),
    )
    .await;
    assert_eq!((status, code(&answer)), (404, "userNotFound"));
    let (status, added) = call(
        Method::POST,
        members.clone(),
        &alice,
        Some(json!({"username": "dave"})),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["members"].as_array().unwrap().len(), 4);
    let (status, answer) = call(
        Method::POST,
        members.clone(),
        &alice,
        Some(json!({"userId": dave.id})),
    )
    .await;
    assert_eq!((status, code(&answer)), (409, "alreadyMember"));

    // Make admin.
    let admins = format!("/api/conversations/{id}/admins");
    let (status, answer) = call(
        Method::POST,
        admins.clone(),
        &bob,
        Some(json!({"userId": bob.id})),
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "notAdmin"));
    let (status, answer) = call(
        Method::POST,
        admins.clone(),
        &alice,
        Some(json!({"userId": eve.id})),
    )
    .await;
    assert_eq!((status, code(&answer)), (404, "memberNotFound"));
    let (status, promoted) = call(
        Method::POST,
        admins.clone(),
        &alice,
        Some(json!({"userId": bob.id})),
    )
    .await;
    assert_eq!(
        (status, &promoted["admins"]),
        (200, &json!([alice.id, bob.id]))
    );

    // A stranger, a removed member and an admin who left: every admin route is `notMember`.
    let refused_everything = async |who: &Account| {
        for (method, route, body) in [
            (Method::PATCH, path.clone(), Some(json!({"title": "Mine"}))),
            (
                Method::POST,
                members.clone(),
                Some(json!({"userId": who.id})),
            ),
            (Method::DELETE, format!("{members}/{}", dave.id), None),
            (
                Method::POST,
                admins.clone(),
                Some(json!({"userId": who.id})),
            ),
        ] {
            let (status, answer) = call(method.clone(), route.clone(), who, body).await;
            assert_eq!(
                (status, code(&answer)),
                (403, "notMember"),
                "{method} {route}"
            );
        }
    };
    refused_everything(&eve).await;

    // Remove.
    let carol_path = format!("{members}/{}", carol.id);
    let (status, answer) = call(Method::DELETE, carol_path.clone(), &dave, None).await;
    assert_eq!((status, code(&answer)), (403, "notAdmin"));
    let (status, _) = call(Method::DELETE, carol_path.clone(), &bob, None).await;
    assert_eq!(status, 204);
    let (status, answer) = call(Method::DELETE, carol_path.clone(), &bob, None).await;
    assert_eq!((status, code(&answer)), (404, "memberNotFound"));
    let (status, answer) = call(Method::GET, path.clone(), &carol, None).await;
    assert_eq!((status, code(&answer)), (403, "notMember"));
    let (status, answer) = call(Method::GET, format!("{path}/messages"), &carol, None).await;
    assert_eq!((status, code(&answer)), (403, "notMember"));
    let (status, answer) = call(
        Method::POST,
        format!("{path}/messages"),
        &carol,
        Some(json!({"message": "still here?"})),
    )
    .await;
    assert_eq!((status, code(&answer)), (403, "notMember"));
    let (status, list) = call(Method::GET, "/api/conversations".into(), &carol, None).await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != json!(id))
    );
    refused_everything(&carol).await;

    // Leave.
    let me = format!("{members}/me");
    let (status, answer) = call(Method::DELETE, me.clone(), &eve, None).await;
    assert_eq!((status, code(&answer)), (403, "notMember"));
    let (status, answer) = call(
        Method::DELETE,
        format!("/api/conversations/{direct_id}/members/me"),
        &bob,
        None,
    )
    .await;
    assert_eq!((status, code(&answer)), (409, "notGroup"));
    let (status, _) = call(Method::DELETE, me.clone(), &alice, None).await;
    assert_eq!(status, 204);
    refused_everything(&alice).await;
    let (status, _) = call(Method::DELETE, me.clone(), &bob, None).await;
    assert_eq!(status, 204);
    // bob was the last admin: dave, the only one left, is one now.
    let (status, view) = call(Method::GET, path.clone(), &dave, None).await;
    assert_eq!((status, &view["admins"]), (200, &json!([dave.id])));

    // The timeline: every change at its seq, in order, with its shape.
    let (status, page) = call(Method::GET, format!("{path}/messages"), &dave, None).await;
    assert_eq!(status, 200);
    let entries: Vec<(i64, &str, &str)> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["seq"].as_i64().unwrap(),
                m["kind"].as_str().unwrap(),
                m["event"]["change"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (1, "event", "created"),
            (2, "event", "renamed"),
            (3, "event", "added"),
            (4, "event", "madeAdmin"),
            (5, "event", "removed"),
            (6, "event", "left"),
            (7, "event", "left"),
            (8, "event", "promoted"),
        ]
    );
    let removed = &page["messages"][4];
    assert_eq!(removed["message"], "bob removed carol");
    assert_eq!(removed["senderId"], json!(bob.id));
    assert_eq!(removed["event"]["actor"]["id"], json!(bob.id));
    assert_eq!(removed["event"]["subject"]["username"], "carol");
}

async fn a_removed_member_socket_leaves_the_room_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let mut alice_ws = app.ws(&alice).await;
    let mut bob_ws = app.ws(&bob).await;
    alice_ws
        .send(create_group("Launch", vec![bob.id]), Some("c"))
        .await;
    let answer = next_frame(&mut alice_ws).await;
    assert_eq!(answer.reference.as_deref(), Some("c"));
    let ServerEvent::ConversationCreated { conversation } = answer.event else {
        panic!("{answer:?}")
    };
    let conv: ConversationId = conversation.id;
    let ServerEvent::ConversationCreated { conversation } = next_frame(&mut bob_ws).await.event
    else {
        panic!()
    };
    assert_eq!(conversation.title.as_deref(), Some("Launch"));
    bob_ws.send(join(conv), Some("j")).await;
    assert!(matches!(
        next_frame(&mut bob_ws).await.event,
        ServerEvent::JoinedConversation { .. }
    ));
    alice_ws.send(send(conv, "hello", None), None).await;
    let ServerEvent::NewMessage { message } = next_frame(&mut bob_ws).await.event else {
        panic!()
    };
    assert_eq!(message.message, "hello");

    let (status, _) = app
        .call(
            Method::DELETE,
            &format!("/api/conversations/{}/members/{}", conv.0, bob.id),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let frame = next_frame(&mut bob_ws).await;
    assert!(
        matches!(frame.event, ServerEvent::RemovedFromConversation { conv_id } if conv_id == conv),
        "{frame:?}"
    );
    // Nothing of the room reaches bob after, and he may not send to it or join it again.
    alice_ws.send(send(conv, "without bob", None), None).await;
    quiet(&mut bob_ws).await;
    bob_ws.send(send(conv, "wait", None), Some("s")).await;
    let ServerEvent::Error(error) = next_frame(&mut bob_ws).await.event else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::NotMember);
    bob_ws.send(join(conv), Some("j2")).await;
    let ServerEvent::Error(error) = next_frame(&mut bob_ws).await.event else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::NotMember);
}

/// Emits `event` with ack `id`; the acknowledgement, and the names of the events that came
/// before it (the room's timeline entries may).
async fn ask(sio: &mut SocketIoClient, event: &str, data: Value, id: u64) -> (Value, Vec<String>) {
    sio.emit(event, data, Some(id)).await;
    let mut before = Vec::new();
    loop {
        match sio.next().await {
            Packet::Ack(answered, data) if answered == id => return (data, before),
            Packet::Event(name, _) => before.push(name),
            other => panic!("expected ack {id}, got {other:?}"),
        }
    }
}

async fn the_group_commands_work_over_socketio(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.register("carol").await;
    let (mut sio, answer) = SocketIoClient::connect(&app, json!({"token": alice.token})).await;
    assert_eq!(answer, Packet::Connect);
    let (created, _) = ask(
        &mut sio,
        "createConversation",
        json!({"title": "Launch", "memberIds": [bob.id]}),
        1,
    )
    .await;
    assert_eq!(created["conversation"]["kind"], "group");
    let conv = created["conversation"]["id"].clone();
    let (renamed, _) = ask(
        &mut sio,
        "renameConversation",
        json!({"convId": conv, "title": "Launch week"}),
        2,
    )
    .await;
    assert_eq!(renamed["conversation"]["title"], "Launch week");
    let (added, _) = ask(
        &mut sio,
        "addMember",
        json!({"convId": conv, "username": "carol"}),
        3,
    )
    .await;
    assert_eq!(
        added["conversation"]["members"].as_array().unwrap().len(),
        3
    );
    let (refused, _) = ask(
        &mut sio,
        "makeAdmin",
        json!({"convId": conv, "memberId": 999}),
        4,
    )
    .await;
    assert_eq!(refused["code"], "memberNotFound");
    let (left, _) = ask(&mut sio, "leaveGroup", json!({"convId": conv}), 5).await;
    assert_eq!(left, json!({"convId": conv}));
    // bob, the longest-standing member left, is the admin now.
    let (status, view) = app
        .call(
            Method::GET,
            &format!("/api/conversations/{conv}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!((status, &view["admins"]), (200, &json!([bob.id])));
}

natter::on_both_engines!(
    every_group_route_answers_with_its_status,
    a_removed_member_socket_leaves_the_room_at_once,
    the_group_commands_work_over_socketio,
);
