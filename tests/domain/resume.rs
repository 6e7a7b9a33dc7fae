//! Catching up after a disconnect: joining with a `last_seq`, and `resume` over every
//! conversation.

use std::time::Duration;

use natter::Target;
use natter::protocol::{ClientCommand, ConversationId, Seq, ServerEvent};
use natter::store::Engine;

use crate::commands::rejoin;
use crate::support::{Fixture, next_not_presence, quiet};

async fn joining_with_a_last_seq_replays_then_goes_live_without_gaps_or_duplicates(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    for i in 1..=230 {
        f.chat
            .send(&alice, conv, &format!("m{i}"), None)
            .await
            .unwrap();
    }
    // Alice keeps sending while bob resumes from seq 3.
    let chat = f.chat.clone();
    let sender = tokio::spawn(async move {
        for i in 231..=300 {
            chat.send(&alice, conv, &format!("m{i}"), None)
                .await
                .unwrap();
        }
    });
    let mut connection = f.chat.connect(bob.clone()).await.unwrap();
    let resume = rejoin(conv, Seq(3));
    let joined = connection.handle(resume, Some("j".into())).await.unwrap();
    assert!(matches!(
        joined.event,
        ServerEvent::JoinedConversation { .. }
    ));
    let mut seqs = Vec::new();
    while seqs.len() < 297 {
        if let ServerEvent::NewMessage { message } = next_not_presence(&mut connection).await.event
        {
            seqs.push(message.seq);
        }
    }
    sender.await.unwrap();
    assert_eq!(seqs, (4..=300).map(Seq).collect::<Vec<_>>());
    assert!(quiet(&mut connection, Duration::from_millis(200)).await);
}

async fn resume_replays_every_conversation_after_its_cursor_then_goes_live(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, first) = f.pair().await;
    let carol = f.user("carol").await;
    let second = f
        .chat
        .open_conversation(&carol, Target::Id(bob.id()))
        .await
        .unwrap()
        .conversation
        .id;
    for i in 1..=5 {
        f.chat
            .send(&alice, first, &format!("a{i}"), None)
            .await
            .unwrap();
    }
    for i in 1..=3 {
        f.chat
            .send(&carol, second, &format!("c{i}"), None)
            .await
            .unwrap();
    }
    // Bob has the first conversation up to seq 2 and does not know the second one yet.
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let resume = ClientCommand::Resume {
        conversations: vec![natter::protocol::Cursor {
            conv_id: first,
            last_seq: Seq(2),
        }],
    };
    let answer = bob_conn.handle(resume, Some("r".into())).await.unwrap();
    assert_eq!(answer.reference.as_deref(), Some("r"));
    let ServerEvent::Resumed { conversations } = answer.event else {
        panic!("{answer:?}")
    };
    let unread: Vec<_> = conversations.iter().map(|c| (c.id, c.unread)).collect();
    assert_eq!(unread.len(), 2);
    assert!(unread.contains(&(first, 5)) && unread.contains(&(second, 3)));
    f.chat.send(&alice, first, "live", None).await.unwrap();
    let mut got: Vec<(ConversationId, i64)> = Vec::new();
    while got.len() < 7 {
        if let ServerEvent::NewMessage { message } = next_not_presence(&mut bob_conn).await.event {
            got.push((message.conv_id, message.seq.0));
        }
    }
    let of = |conv| {
        got.iter()
            .filter(|(c, _)| *c == conv)
            .map(|(_, s)| *s)
            .collect::<Vec<_>>()
    };
    assert_eq!(of(first), [3, 4, 5, 6]);
    assert_eq!(of(second), [1, 2, 3]);
    assert!(quiet(&mut bob_conn, Duration::from_millis(200)).await);
}

natter::on_both_engines!(
    joining_with_a_last_seq_replays_then_goes_live_without_gaps_or_duplicates,
    resume_replays_every_conversation_after_its_cursor_then_goes_live,
);
