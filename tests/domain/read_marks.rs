//! Read marks: forward only, capped, and told to the other member.

use std::time::Duration;

use natter::protocol::{ClientCommand, Seq, ServerEvent};
use natter::store::Engine;
use natter::{AuthUser, ChatError};

use crate::support::{Fixture, next_not_presence, quiet};

async fn read_marks_move_forward_and_reach_the_other_member(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    for i in 1..=4 {
        f.chat
            .send(&alice, conv, &format!("m{i}"), None)
            .await
            .unwrap();
    }
    let unread = |user: AuthUser| {
        let chat = f.chat.clone();
        async move { chat.conversations(&user).await.unwrap()[0].unread }
    };
    assert_eq!(
        (unread(alice.clone()).await, unread(bob.clone()).await),
        (0, 4),
        "the sender has read up to its own message"
    );
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let mark = |seq| ClientCommand::MarkRead {
        conv_id: conv,
        seq,
        user_id: None,
    };
    let answer = bob_conn
        .handle(mark(Seq(3)), Some("m".into()))
        .await
        .unwrap();
    assert_eq!(
        answer.event,
        ServerEvent::ConversationRead {
            conv_id: conv,
            user_id: bob.id(),
            last_read_seq: Seq(3)
        }
    );
    // (bob's coming online may reach alice first.)
    assert_eq!(
        next_not_presence(&mut alice_conn).await.event,
        ServerEvent::ConversationRead {
            conv_id: conv,
            user_id: bob.id(),
            last_read_seq: Seq(3)
        }
    );
    assert!(
        quiet(&mut bob_conn, Duration::from_millis(200)).await,
        "no echo of its own mark"
    );
    assert_eq!(unread(bob.clone()).await, 1);
    // Never back; capped at the newest message.
    let back = bob_conn.handle(mark(Seq(1)), None).await.unwrap();
    assert!(matches!(
        back.event,
        ServerEvent::ConversationRead {
            last_read_seq: Seq(3),
            ..
        }
    ));
    let capped = bob_conn.handle(mark(Seq(99)), None).await.unwrap();
    assert!(matches!(
        capped.event,
        ServerEvent::ConversationRead {
            last_read_seq: Seq(4),
            ..
        }
    ));
    assert_eq!(unread(bob.clone()).await, 0);
    let view = f.chat.conversation(&alice, conv).await.unwrap();
    assert!(view.read_up_to.contains(&natter::protocol::ReadMark {
        user_id: bob.id(),
        seq: Seq(4)
    }));
    let eve = f.user("eve").await;
    assert!(matches!(
        f.chat.mark_read(&eve, conv, Seq(1)).await,
        Err(ChatError::NotMember(_))
    ));
}

/// A retried send stores nothing and so reads nothing: the sender's mark stays where their
/// message is, and what the other member writes next is unread.
async fn a_retried_send_leaves_the_read_mark(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let unread = |user: AuthUser| {
        let chat = f.chat.clone();
        async move { chat.conversations(&user).await.unwrap()[0].unread }
    };
    f.chat
        .send(&alice, conv, "mine", Some("c-1"))
        .await
        .unwrap();
    f.chat.send(&bob, conv, "theirs", None).await.unwrap();
    assert_eq!(unread(alice.clone()).await, 1);
    let retried = f
        .chat
        .send(&alice, conv, "mine", Some("c-1"))
        .await
        .unwrap();
    assert_eq!(
        retried.message.seq,
        Seq(1),
        "the retry is the stored message"
    );
    assert_eq!(unread(alice.clone()).await, 1, "the retry read nothing");
    f.chat.send(&bob, conv, "next", None).await.unwrap();
    assert_eq!(unread(alice.clone()).await, 2);
    let view = f.chat.conversation(&bob, conv).await.unwrap();
    assert!(view.read_up_to.contains(&natter::protocol::ReadMark {
        user_id: alice.id(),
        seq: Seq(1)
    }));
}

natter::on_both_engines!(
    read_marks_move_forward_and_reach_the_other_member,
    a_retried_send_leaves_the_read_mark,
);
