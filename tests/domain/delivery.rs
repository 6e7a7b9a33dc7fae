//! Live delivery to connections: ack order, rooms joined and left, every tab of a member, and
//! connections that fall behind.

use std::time::Duration;

use natter::hub::{HubEvent, Received};
use natter::protocol::{ClientCommand, ErrorCode, Seq, ServerEvent, ServerFrame};
use natter::store::Engine;
use natter::{ChatConfig, Ending, Target};
use tokio::time::{Instant, timeout_at};

use crate::commands::{join, send};
use crate::support::{Fixture, next, unlimited};

async fn acks_come_in_room_order_and_replace_the_echo(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    alice_conn.handle(join(conv), None).await.unwrap();
    f.chat
        .send(&bob, conv, "from bob first", None)
        .await
        .unwrap();
    // Alice's send is acked after bob's earlier message, and she gets no newMessage echo.
    assert!(
        alice_conn
            .handle(send(conv, "from alice", None), Some("a1".into()))
            .await
            .is_none()
    );
    let first = next(&mut alice_conn).await;
    assert!(
        matches!(first.event, ServerEvent::NewMessage { ref message } if message.seq == Seq(1))
    );
    let second = next(&mut alice_conn).await;
    assert_eq!(second.reference.as_deref(), Some("a1"));
    assert!(
        matches!(second.event, ServerEvent::MessageSent { ref message } if message.seq == Seq(2))
    );
    // Without a ref the sender in the room gets the seed's newMessage.
    assert!(
        alice_conn
            .handle(send(conv, "no ref", None), None)
            .await
            .is_none()
    );
    assert!(
        matches!(next(&mut alice_conn).await.event, ServerEvent::NewMessage { ref message } if message.seq == Seq(3))
    );
}

async fn join_and_leave_are_tracked_per_connection(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, _bob, conv) = f.pair().await;
    let mut connection = f.chat.connect(alice.clone()).await.unwrap();
    let code = |frame: ServerFrame| match frame.event {
        ServerEvent::Error(e) => Some(e.code),
        _ => None,
    };
    assert_eq!(
        code(connection.handle(join(conv), None).await.unwrap()),
        None
    );
    assert_eq!(
        code(connection.handle(join(conv), None).await.unwrap()),
        Some(ErrorCode::AlreadyJoined)
    );
    let leave = ClientCommand::LeaveConversation {
        conv_id: conv,
        user_id: None,
    };
    let left = connection
        .handle(leave.clone(), Some("l".into()))
        .await
        .unwrap();
    assert!(
        matches!(left.event, ServerEvent::LeftConversation { conv_id, ref room } if conv_id == conv && room == &conv.room())
    );
    assert_eq!(
        code(connection.handle(leave, None).await.unwrap()),
        Some(ErrorCode::NotJoined)
    );
    drop(connection);
    assert_eq!(
        f.chat.live_topics(),
        0,
        "a dropped connection frees its rooms and feed"
    );
}

async fn every_connection_of_a_member_hears_room_messages(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut tabs = vec![
        f.chat.connect(bob.clone()).await.unwrap(),
        f.chat.connect(bob.clone()).await.unwrap(),
    ];
    for tab in &mut tabs {
        tab.handle(join(conv), None).await.unwrap();
    }
    f.chat
        .send(&alice, conv, "to every tab", None)
        .await
        .unwrap();
    for tab in &mut tabs {
        assert!(
            matches!(next(tab).await.event, ServerEvent::NewMessage { ref message } if message.message == "to every tab")
        );
    }
    // Nothing of the room on alice's personal feed. Bob's coming online may be (the presence
    // task tells it a moment after his connect, so it can come after this subscription).
    let (feed, _subscription) = f.chat.subscribe_user(&alice);
    let deadline = Instant::now() + Duration::from_millis(100);
    while let Ok(received) = timeout_at(deadline, feed.recv()).await {
        assert!(
            matches!(&received, Received::Event(_, HubEvent::Ephemeral(e)) if matches!(e.event, ServerEvent::Presence(_))),
            "{received:?}"
        );
    }
}

async fn a_lagging_connection_catches_up_from_storage_in_order(engine: Engine) {
    let config = ChatConfig {
        room_buffer: 4,
        ..unlimited()
    };
    let f = Fixture::with_config(engine, config).await;
    let (alice, bob, conv) = f.pair().await;
    let mut slow = f.chat.connect(bob.clone()).await.unwrap();
    slow.handle(join(conv), None).await.unwrap();
    for i in 1..=30 {
        f.chat
            .send(&alice, conv, &format!("m{i}"), None)
            .await
            .unwrap();
    }
    let mut seqs = Vec::new();
    while seqs.len() < 30 {
        if let ServerEvent::NewMessage { message } = next(&mut slow).await.event {
            seqs.push(message.seq);
        }
    }
    assert_eq!(seqs, (1..=30).map(Seq).collect::<Vec<_>>());
}

async fn a_connection_behind_on_its_personal_feed_catches_up_from_storage(engine: Engine) {
    let config = ChatConfig {
        room_buffer: 4,
        ..unlimited()
    };
    let f = Fixture::with_config(engine, config).await;
    let bob = f.user("bob").await;
    let mut slow = f.chat.connect(bob.clone()).await.unwrap();
    // Six people start a conversation with bob while his connection reads nothing: more
    // announcements than his feed holds. They are read from his stored feed, in order.
    let mut expected = Vec::new();
    for i in 0..6 {
        let someone = f.user(&format!("user{i}")).await;
        let opened = f
            .chat
            .open_conversation(&someone, Target::Id(bob.id()))
            .await
            .unwrap();
        expected.push(opened.conversation.id);
    }
    let mut announced = Vec::new();
    while announced.len() < 6 {
        match next(&mut slow).await.event {
            ServerEvent::ConversationCreated { conversation } => announced.push(conversation.id),
            other => panic!("expected conversationCreated, got {other:?}"),
        }
    }
    assert_eq!(announced, expected);
    assert_eq!(slow.ending(), None);
}

async fn a_connection_behind_events_no_longer_kept_is_told_to_resync_and_ends(engine: Engine) {
    let config = ChatConfig {
        room_buffer: 4,
        ..unlimited()
    };
    let f = Fixture::with_config(engine, config).await;
    let bob = f.user("bob").await;
    let mut slow = f.chat.connect(bob.clone()).await.unwrap();
    for i in 0..6 {
        let someone = f.user(&format!("user{i}")).await;
        f.chat
            .open_conversation(&someone, Target::Id(bob.id()))
            .await
            .unwrap();
    }
    // The stored feed is purged before the connection reads it.
    f.chat
        .store()
        .purge_events_before(natter::clock::UnixMillis(i64::MAX))
        .await
        .unwrap();
    let mut frame = next(&mut slow).await;
    // What the hub still held arrives first; then the gap cannot be filled.
    while let ServerEvent::ConversationCreated { .. } = frame.event {
        frame = next(&mut slow).await;
    }
    let ServerEvent::Error(error) = frame.event else {
        panic!("expected resyncRequired, got {frame:?}");
    };
    assert_eq!(error.code, ErrorCode::ResyncRequired);
    assert_eq!(slow.ending(), Some(Ending::FellBehind));
    // What resume gives the next connection: all six, nothing lost.
    assert_eq!(f.chat.conversations(&bob).await.unwrap().len(), 6);
}

natter::on_both_engines!(
    acks_come_in_room_order_and_replace_the_echo,
    join_and_leave_are_tracked_per_connection,
    every_connection_of_a_member_hears_room_messages,
    a_lagging_connection_catches_up_from_storage_in_order,
    a_connection_behind_on_its_personal_feed_catches_up_from_storage,
    a_connection_behind_events_no_longer_kept_is_told_to_resync_and_ends,
);
