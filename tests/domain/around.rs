//! Typing and presence: ephemeral, told only to the people concerned, bounded, and hidden on
//! request.

use std::time::Duration;

use natter::protocol::limits::{OFFLINE_AFTER, TYPING_EVERY};
use natter::protocol::{ClientCommand, ConversationId, ErrorCode, ServerEvent, Settings};
use natter::store::Engine;
use natter::{ChatError, NewGroup};
use tokio::time::timeout;

use crate::commands::{join, rejoin};
use crate::support::{Fixture, next, next_not_presence, quiet};

fn typing(conv: ConversationId, typing: bool) -> ClientCommand {
    ClientCommand::Typing {
        conv_id: conv,
        typing,
    }
}

async fn typing_reaches_the_other_members_in_the_room_once_a_second_and_ends_with_a_send(
    engine: Engine,
) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    for conn in [&mut alice_conn, &mut bob_conn] {
        let joined = conn.handle(join(conv), None).await.unwrap();
        assert!(matches!(
            joined.event,
            ServerEvent::JoinedConversation { .. }
        ));
    }
    assert_eq!(
        alice_conn.handle(typing(conv, true), None).await,
        None,
        "never answered"
    );
    assert_eq!(
        next_not_presence(&mut bob_conn).await.event,
        ServerEvent::Typing {
            conv_id: conv,
            user_id: alice.id(),
            username: "alice".into(),
            typing: true
        }
    );
    // Renewals within the second are ignored, silently.
    for _ in 0..5 {
        assert_eq!(alice_conn.handle(typing(conv, true), None).await, None);
    }
    assert!(quiet(&mut bob_conn, Duration::from_millis(300)).await);
    assert!(
        quiet(&mut alice_conn, Duration::from_millis(50)).await,
        "the typist is not told of their own typing"
    );
    tokio::time::sleep(TYPING_EVERY).await; // the schedule under test: a renewal a second later
    alice_conn.handle(typing(conv, true), None).await;
    assert!(matches!(
        next_not_presence(&mut bob_conn).await.event,
        ServerEvent::Typing { typing: true, .. }
    ));
    // Sending ends it: the others get the message, then `typing: false`.
    f.chat.send(&alice, conv, "hello", None).await.unwrap();
    assert!(matches!(
        next_not_presence(&mut bob_conn).await.event,
        ServerEvent::NewMessage { .. }
    ));
    assert!(matches!(
        next_not_presence(&mut bob_conn).await.event,
        ServerEvent::Typing { typing: false, .. }
    ));
    // A stranger may not type into the conversation.
    let eve = f.user("eve").await;
    let mut eve_conn = f.chat.connect(eve).await.unwrap();
    let refused = eve_conn.handle(typing(conv, true), None).await.unwrap();
    assert!(
        matches!(&refused.event, ServerEvent::Error(e) if e.code == ErrorCode::NotMember),
        "{refused:?}"
    );
}

async fn typing_that_alternates_with_stops_is_still_forwarded_once_a_second(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    for conn in [&mut alice_conn, &mut bob_conn] {
        conn.handle(join(conv), None).await.unwrap();
    }
    // true, false, true, false… every few ms for 1.5 s: one start and its stop go out in the
    // first second, one more pair in the half after it.
    let started = tokio::time::Instant::now();
    let mut notices = 0;
    while started.elapsed() < Duration::from_millis(1_500) {
        assert_eq!(
            alice_conn
                .handle(typing(conv, notices % 2 == 0), None)
                .await,
            None
        );
        notices += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut told = Vec::new();
    while let Ok(frame) = timeout(Duration::from_millis(300), bob_conn.next_frame()).await {
        if let ServerEvent::Typing { typing, .. } = frame.event {
            told.push(typing);
        }
    }
    assert!(notices > 100, "the client sent {notices}");
    assert!(
        (2..=4).contains(&told.len())
            && told
                .iter()
                .zip([true, false, true, false])
                .all(|(a, b)| *a == b),
        "{notices} notices sent, {told:?} forwarded"
    );
}

async fn typing_is_never_stored_and_never_reaches_a_non_member(engine: Engine) {
    let f = Fixture::new(engine).await;
    let [alice, bob, carol, eve] = [
        f.user("alice").await,
        f.user("bob").await,
        f.user("carol").await,
        f.user("eve").await,
    ];
    let group = NewGroup {
        title: "Launch".into(),
        member_ids: vec![bob.id(), carol.id()],
        usernames: Vec::new(),
    };
    let conv = f
        .chat
        .create_group(&alice, group)
        .await
        .unwrap()
        .conversation
        .id;
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let mut carol_conn = f.chat.connect(carol.clone()).await.unwrap();
    let mut eve_conn = f.chat.connect(eve.clone()).await.unwrap();
    for conn in [&mut alice_conn, &mut bob_conn, &mut carol_conn] {
        conn.handle(join(conv), None).await.unwrap();
    }
    let refused = eve_conn.handle(join(conv), None).await.unwrap().event;
    assert!(matches!(&refused, ServerEvent::Error(e) if e.code == ErrorCode::NotMember));
    f.chat
        .remove_member(&alice, conv, carol.id())
        .await
        .unwrap();
    assert!(matches!(
        next_not_presence(&mut carol_conn).await.event,
        ServerEvent::RemovedFromConversation { .. }
    ));
    for conn in [&mut alice_conn, &mut bob_conn] {
        let removed = next_not_presence(conn).await.event;
        assert!(
            matches!(removed, ServerEvent::NewMessage { .. }),
            "{removed:?}"
        );
    }
    let newest = f.stored(&alice, conv).await.last().unwrap().seq;

    // bob starts and stops: alice hears both, the removed member and the stranger nothing.
    for typing_now in [true, false] {
        bob_conn.handle(typing(conv, typing_now), None).await;
        assert!(matches!(
            next_not_presence(&mut alice_conn).await.event,
            ServerEvent::Typing { user_id, typing, .. } if user_id == bob.id() && typing == typing_now
        ));
    }
    assert!(quiet(&mut carol_conn, Duration::from_millis(300)).await);
    assert!(quiet(&mut eve_conn, Duration::from_millis(50)).await);
    // The removed member may not type into it either.
    let refused = carol_conn
        .handle(typing(conv, true), None)
        .await
        .unwrap()
        .event;
    assert!(matches!(&refused, ServerEvent::Error(e) if e.code == ErrorCode::NotMember));
    assert!(quiet(&mut alice_conn, Duration::from_millis(300)).await);

    // Nothing was stored: no new seq, nothing missed, nothing replayed on a rejoin.
    assert_eq!(f.stored(&alice, conv).await.last().unwrap().seq, newest);
    assert!(
        f.chat
            .missed(&alice, conv, newest)
            .await
            .unwrap()
            .is_empty()
    );
    let mut back = f.chat.connect(alice.clone()).await.unwrap();
    let joined = back.handle(rejoin(conv, newest), None).await.unwrap().event;
    assert!(
        matches!(joined, ServerEvent::JoinedConversation { .. }),
        "{joined:?}"
    );
    assert!(quiet(&mut back, Duration::from_millis(200)).await);
}

async fn typing_is_not_sent_by_a_user_who_turned_it_off(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    f.chat
        .set_settings(
            &alice,
            Settings {
                share_presence: true,
                share_typing: false,
            },
        )
        .await
        .unwrap();
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let joined = bob_conn.handle(join(conv), None).await.unwrap();
    assert!(matches!(
        joined.event,
        ServerEvent::JoinedConversation { .. }
    ));
    alice_conn.handle(typing(conv, true), None).await;
    assert!(quiet(&mut bob_conn, Duration::from_millis(300)).await);
}

async fn presence_goes_to_people_who_share_a_conversation_and_offline_waits(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let carol = f.user("carol").await;
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let mut carol_conn = f.chat.connect(carol.clone()).await.unwrap();
    let alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let online = next(&mut bob_conn).await.event;
    let ServerEvent::Presence(view) = online else {
        panic!("expected presence, got {online:?}")
    };
    assert_eq!((view.user_id, view.online), (alice.id(), true));
    // The list carries it too.
    let listed = f.chat.conversation(&bob, conv).await.unwrap();
    assert_eq!(listed.presence.len(), 1);
    assert!(listed.presence[0].online && listed.presence[0].user_id == alice.id());
    // Carol shares no conversation with alice: she hears nothing of her.
    assert!(
        timeout(Duration::from_millis(300), carol_conn.next_frame())
            .await
            .is_err()
    );

    // A reload (closed and opened again within the grace period) is not told at all.
    drop(alice_conn);
    tokio::time::sleep(Duration::from_millis(1_500)).await; // a reload's gap, well within OFFLINE_AFTER
    let alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    assert!(
        timeout(Duration::from_secs(2), bob_conn.next_frame())
            .await
            .is_err()
    );

    // Gone for good: told after the grace period, with a last-seen time to the minute.
    drop(alice_conn);
    let started = tokio::time::Instant::now();
    let offline = timeout(
        OFFLINE_AFTER + Duration::from_secs(5),
        bob_conn.next_frame(),
    )
    .await
    .expect("offline within the grace period and a few seconds")
    .event;
    let waited = started.elapsed();
    let ServerEvent::Presence(view) = offline else {
        panic!("expected presence, got {offline:?}")
    };
    assert!(!view.online && view.user_id == alice.id());
    assert!(
        waited >= OFFLINE_AFTER - Duration::from_secs(1),
        "told after {waited:?}"
    );
    let seen = view.last_seen_at.expect("a last-seen time");
    assert_eq!((seen.second(), seen.nanosecond()), (0, 0), "to the minute");
    let listed = f.chat.conversation(&bob, conv).await.unwrap();
    assert!(!listed.presence[0].online);
    assert_eq!(listed.presence[0].last_seen_at, Some(seen));
}

async fn hidden_presence_is_never_told_and_hides_everyone_elses(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let hide = Settings {
        share_presence: false,
        share_typing: true,
    };
    f.chat.set_settings(&alice, hide).await.unwrap();
    let told = next(&mut bob_conn).await.event;
    assert!(
        matches!(&told, ServerEvent::Presence(v) if !v.online && v.last_seen_at.is_none()),
        "hiding is told as nothing known: {told:?}"
    );
    let alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    assert!(
        timeout(Duration::from_secs(2), bob_conn.next_frame())
            .await
            .is_err(),
        "a hidden user's coming online is not told"
    );
    assert!(
        f.chat
            .conversation(&bob, conv)
            .await
            .unwrap()
            .presence
            .is_empty()
    );
    assert!(
        f.chat
            .conversation(&alice, conv)
            .await
            .unwrap()
            .presence
            .is_empty(),
        "who hides sees nobody's"
    );
    // Sharing again tells the others at once.
    f.chat
        .set_settings(&alice, Settings::default())
        .await
        .unwrap();
    let told = next(&mut bob_conn).await.event;
    assert!(
        matches!(&told, ServerEvent::Presence(v) if v.online && v.user_id == alice.id()),
        "{told:?}"
    );
    // Hiding it tells them it is gone.
    f.chat.set_settings(&alice, hide).await.unwrap();
    let told = next(&mut bob_conn).await.event;
    assert!(
        matches!(&told, ServerEvent::Presence(v) if !v.online && v.last_seen_at.is_none()),
        "{told:?}"
    );
    drop(alice_conn);
    assert!(matches!(
        f.chat.typing(&f.user("eve").await, conv, true).await,
        Err(ChatError::NotMember(_))
    ));
}

natter::on_both_engines!(
    typing_reaches_the_other_members_in_the_room_once_a_second_and_ends_with_a_send,
    typing_that_alternates_with_stops_is_still_forwarded_once_a_second,
    typing_is_never_stored_and_never_reaches_a_non_member,
    typing_is_not_sent_by_a_user_who_turned_it_off,
    presence_goes_to_people_who_share_a_conversation_and_offline_waits,
    hidden_presence_is_never_told_and_hides_everyone_elses,
);
