//! Sending: gapless `seq`s, history pages, retries by client id, validation, spoofing and
//! the send quota.

use std::time::Duration;

use natter::message::{ClientMessageId, MessageBody};
use natter::protocol::{ClientCommand, ConversationId, ErrorCode, NewMessage, Seq, ServerEvent};
use natter::store::{Engine, NewSend};
use natter::{ChatConfig, ChatError, Target};

use crate::commands::join;
use crate::support::{Fixture, next, unlimited};

async fn messages_get_gapless_increasing_seqs_and_history_pages(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    for i in 1..=5 {
        let who = if i % 2 == 0 { &bob } else { &alice };
        let posted = f
            .chat
            .send(who, conv, &format!("  message {i}  "), None)
            .await
            .unwrap();
        assert_eq!(posted.message.seq, Seq(i));
        assert_eq!(posted.message.message, format!("message {i}"));
    }
    let page = f.chat.history(&alice, conv, None, Some(2)).await.unwrap();
    assert_eq!(
        page.messages.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        [4, 5]
    );
    assert!(page.has_more);
    let older = f
        .chat
        .history(&alice, conv, Some(Seq(4)), Some(10))
        .await
        .unwrap();
    assert_eq!(
        older.messages.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(!older.has_more);
    let list = f.chat.conversations(&bob).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].last_message.as_ref().unwrap().message, "message 5");
}

async fn concurrent_sends_to_one_conversation_keep_seq_gapless(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let chat = f.chat.clone();
        let who = if i % 2 == 0 {
            alice.clone()
        } else {
            bob.clone()
        };
        tasks.push(tokio::spawn(async move {
            chat.send(&who, conv, &format!("m{i}"), None).await
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap().unwrap().message.seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=40).map(Seq).collect::<Vec<_>>());
}

async fn a_retried_send_is_stored_and_broadcast_once(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut listener = f.chat.connect(bob.clone()).await.unwrap();
    assert!(matches!(
        listener.handle(join(conv), None).await.unwrap().event,
        ServerEvent::JoinedConversation { .. }
    ));
    let first = f
        .chat
        .send(&alice, conv, "hello", Some("c-1"))
        .await
        .unwrap();
    let retry = f
        .chat
        .send(&alice, conv, "hello", Some("c-1"))
        .await
        .unwrap();
    assert!(first.fresh && !retry.fresh);
    assert_eq!(first.message, retry.message);
    assert_eq!(first.message.client_id.as_deref(), Some("c-1"));
    assert!(matches!(
        f.chat
            .send(&alice, conv, "something else", Some("c-1"))
            .await,
        Err(ChatError::ClientIdReused(_))
    ));
    f.chat.send(&alice, conv, "after", None).await.unwrap();
    let ServerEvent::NewMessage { message } = next(&mut listener).await.event else {
        panic!()
    };
    assert_eq!(message.message, "hello");
    let ServerEvent::NewMessage { message } = next(&mut listener).await.event else {
        panic!()
    };
    assert_eq!(message.message, "after", "the retry must not be broadcast");
    assert_eq!(
        message.seq,
        Seq(2),
        "a refused retry must leave no gap in seq"
    );
    let page = f.chat.history(&bob, conv, None, None).await.unwrap();
    assert_eq!(page.messages.len(), 2);
}

/// One batch of the writer as `Store::insert_batch` gets it. A plain batch over several
/// conversations is written at once; a batch holding a retry, a client id used twice, a
/// stranger's send and a conversation that does not exist is written send by send: each is
/// answered on its own, the others are stored, and no seq is skipped.
async fn a_batch_answers_each_send_and_leaves_no_gap(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, ab) = f.pair().await;
    let carol = f.user("carol").await;
    let ac = f
        .chat
        .open_conversation(&alice, Target::Id(carol.id()))
        .await
        .unwrap()
        .conversation
        .id;
    let sendable = |who: &natter::AuthUser, conv, text: &str, client_id: Option<&str>| NewSend {
        conversation: conv,
        sender: who.user.clone(),
        body: MessageBody::parse(text, 4_000).unwrap(),
        client_id: client_id.map(|id| ClientMessageId::parse(id).unwrap()),
    };
    let store = f.chat.store();
    let plain = store
        .insert_batch(&[
            sendable(&alice, ab, "a1", Some("x-1")),
            sendable(&alice, ac, "c1", None),
            sendable(&bob, ab, "b1", None),
            sendable(&alice, ab, "a2", Some("x-2")),
        ])
        .await
        .unwrap();
    let seqs: Vec<(ConversationId, i64)> = plain
        .iter()
        .map(|a| {
            let a = a.as_ref().unwrap();
            assert!(a.fresh);
            (a.message.conversation, a.message.seq.0)
        })
        .collect();
    assert_eq!(seqs, [(ab, 1), (ac, 1), (ab, 2), (ab, 3)]);

    let mixed = store
        .insert_batch(&[
            sendable(&alice, ab, "a3", None),
            sendable(&alice, ab, "a1", Some("x-1")),
            sendable(&alice, ab, "a1 again", Some("x-1")),
            sendable(&carol, ab, "not hers", None),
            sendable(&alice, ConversationId(9_999), "nowhere", None),
            sendable(&alice, ac, "c2", Some("x-3")),
            sendable(&alice, ac, "c2", Some("x-3")),
        ])
        .await
        .unwrap();
    let a3 = mixed[0].as_ref().unwrap();
    assert!(a3.fresh && a3.message.seq == Seq(4));
    let retry = mixed[1].as_ref().unwrap();
    assert!(!retry.fresh);
    assert_eq!(retry.message, plain[0].as_ref().unwrap().message);
    assert!(matches!(mixed[2], Err(ChatError::ClientIdReused(_))));
    assert!(matches!(mixed[3], Err(ChatError::NotMember(_))));
    assert!(matches!(mixed[4], Err(ChatError::ConversationNotFound(_))));
    let (c2, twice) = (mixed[5].as_ref().unwrap(), mixed[6].as_ref().unwrap());
    assert!(c2.fresh && !twice.fresh && c2.message == twice.message);
    assert_eq!(c2.message.seq, Seq(2));

    for (conv, expected) in [
        (ab, vec![(1, "a1"), (2, "b1"), (3, "a2"), (4, "a3")]),
        (ac, vec![(1, "c1"), (2, "c2")]),
    ] {
        let stored = f.stored(&alice, conv).await;
        let got: Vec<(i64, &str)> = stored
            .iter()
            .map(|m| (m.seq.0, m.message.as_str()))
            .collect();
        assert_eq!(got, expected);
    }
}

async fn concurrent_retries_with_one_client_id_store_one_message(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, _bob, conv) = f.pair().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let chat = f.chat.clone();
        let me = alice.clone();
        tasks.push(tokio::spawn(async move {
            chat.send(&me, conv, "once", Some("same-id")).await
        }));
    }
    let mut fresh = 0;
    let mut ids = Vec::new();
    for task in tasks {
        let posted = task.await.unwrap().unwrap();
        fresh += usize::from(posted.fresh);
        ids.push(posted.message.id);
    }
    assert_eq!(fresh, 1);
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(f.stored(&alice, conv).await.len(), 1);
}

async fn message_bodies_are_validated(engine: Engine) {
    let config = ChatConfig {
        max_message_chars: 10,
        ..unlimited()
    };
    let f = Fixture::with_config(engine, config).await;
    let (alice, _bob, conv) = f.pair().await;
    assert!(matches!(
        f.chat.send(&alice, conv, "   ", None).await,
        Err(ChatError::EmptyMessage)
    ));
    assert!(matches!(
        f.chat.send(&alice, conv, "eleven chars", None).await,
        Err(ChatError::MessageTooLong { max: 10, .. })
    ));
    assert!(matches!(
        f.chat.send(&alice, conv, "ok", Some("bad id!")).await,
        Err(ChatError::InvalidClientId)
    ));
    assert!(f.stored(&alice, conv).await.is_empty());
}

async fn a_spoofed_user_id_is_refused_and_not_acted_on(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let mut connection = f.chat.connect(alice.clone()).await.unwrap();
    let spoofed = ClientCommand::SendMessage {
        conv_id: conv,
        message: NewMessage {
            message: "as bob".into(),
        },
        client_id: None,
        user_id: Some(bob.id()),
    };
    let frame = connection.handle(spoofed, Some("s".into())).await.unwrap();
    assert!(matches!(frame.event, ServerEvent::Error(ref e) if e.code == ErrorCode::SpoofedUser));
    assert!(f.stored(&alice, conv).await.is_empty());
}

async fn a_user_sending_too_fast_is_told_to_slow_down(engine: Engine) {
    let config = ChatConfig {
        send_per_second: 1,
        send_burst: 3,
        ..ChatConfig::default()
    };
    let f = Fixture::with_config(engine, config).await;
    let (alice, bob, conv) = f.pair().await;
    for i in 0..3 {
        f.chat
            .send(&alice, conv, &format!("m{i}"), None)
            .await
            .unwrap();
    }
    let Err(ChatError::RateLimited { retry_after_ms }) =
        f.chat.send(&alice, conv, "one too many", None).await
    else {
        panic!("the fourth send in a burst of three must be refused");
    };
    assert!((1..=1000).contains(&retry_after_ms), "{retry_after_ms}");
    // The quota is per user: bob is not slowed by alice.
    f.chat.send(&bob, conv, "hi", None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(retry_after_ms + 20)).await;
    f.chat
        .send(&alice, conv, "after waiting", None)
        .await
        .unwrap();
    assert_eq!(f.stored(&alice, conv).await.len(), 5);
}

natter::on_both_engines!(
    a_batch_answers_each_send_and_leaves_no_gap,
    messages_get_gapless_increasing_seqs_and_history_pages,
    concurrent_sends_to_one_conversation_keep_seq_gapless,
    a_retried_send_is_stored_and_broadcast_once,
    concurrent_retries_with_one_client_id_store_one_message,
    message_bodies_are_validated,
    a_spoofed_user_id_is_refused_and_not_acted_on,
    a_user_sending_too_fast_is_told_to_slow_down,
);
