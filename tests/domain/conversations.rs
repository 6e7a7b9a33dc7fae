//! Opening conversations, who hears of them, and what only members may do.

use std::time::Duration;

use natter::protocol::{
    ClientCommand, ConversationId, CreateConvDto, ErrorCode, ServerEvent, UserId,
};
use natter::store::Engine;
use natter::{ChatError, Target};

use crate::commands::{create, join};
use crate::support::{Fixture, next_not_presence, quiet};

async fn opening_a_conversation_twice_returns_the_same_one(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conv) = f.pair().await;
    let again = f
        .chat
        .open_conversation(&bob, Target::Name("ALICE".into()))
        .await
        .unwrap();
    assert!(!again.fresh);
    assert_eq!(again.conversation.id, conv);
    assert_eq!(again.conversation.room, format!("conversation_{}", conv.0));
    let names: Vec<_> = again
        .conversation
        .members
        .iter()
        .map(|m| m.username.as_str())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(matches!(
        f.chat
            .open_conversation(&alice, Target::Id(alice.id()))
            .await,
        Err(ChatError::CannotMessageSelf)
    ));
    assert!(matches!(
        f.chat
            .open_conversation(&alice, Target::Name("nobody".into()))
            .await,
        Err(ChatError::UserNotFound(_))
    ));
    assert!(matches!(
        f.chat
            .open_conversation(&alice, Target::Id(UserId(999_999)))
            .await,
        Err(ChatError::UserNotFound(_))
    ));
}

async fn both_members_hear_of_a_new_conversation_and_the_creator_once(engine: Engine) {
    let f = Fixture::new(engine).await;
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let command = ClientCommand::CreateConversation {
        create_conv_dto: Some(CreateConvDto {
            user2_id: Some(bob.id()),
            username: None,
            ..CreateConvDto::default()
        }),
        username: None,
        title: None,
        member_ids: None,
        usernames: None,
        user_id: Some(alice.id()),
    };
    assert!(
        alice_conn
            .handle(command.clone(), Some("r1".into()))
            .await
            .is_none()
    );
    let reply = next_not_presence(&mut alice_conn).await;
    assert_eq!(reply.reference.as_deref(), Some("r1"));
    let ServerEvent::ConversationCreated { conversation } = reply.event else {
        panic!()
    };
    let heard = next_not_presence(&mut bob_conn).await;
    assert_eq!(heard.reference, None);
    assert!(
        matches!(heard.event, ServerEvent::ConversationCreated { conversation: ref c } if c.id == conversation.id)
    );
    // Creating it again answers at once with the existing conversation.
    let again = alice_conn.handle(command, Some("r2".into())).await.unwrap();
    assert_eq!(again.reference.as_deref(), Some("r2"));
    assert!(
        matches!(again.event, ServerEvent::ConversationCreated { conversation: ref c } if c.id == conversation.id)
    );
    assert!(
        quiet(&mut alice_conn, Duration::from_millis(200)).await,
        "nothing more for alice"
    );
}

/// The seed's flow: create, then send, never `joinConversation` — the creator hears the
/// replies, as the NestJS gateway's `client.join` on create made it.
async fn the_creating_connection_is_in_the_room(engine: Engine) {
    let f = Fixture::new(engine).await;
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let command = create(bob.id());
    assert!(alice_conn.handle(command, None).await.is_none());
    let ServerEvent::ConversationCreated { conversation } =
        next_not_presence(&mut alice_conn).await.event
    else {
        panic!()
    };
    f.chat
        .send(&bob, conversation.id, "welcome", None)
        .await
        .unwrap();
    assert!(
        matches!(next_not_presence(&mut alice_conn).await.event, ServerEvent::NewMessage { ref message } if message.message == "welcome")
    );
    // A client that joins anyway (most do) is answered, not refused, and asked-for history
    // is replayed…
    let answer = alice_conn
        .handle(
            ClientCommand::JoinConversation {
                conv_id: conversation.id,
                user_id: None,
                last_seq: Some(natter::protocol::Seq::ZERO),
            },
            Some("j".into()),
        )
        .await
        .unwrap();
    assert!(
        matches!(answer.event, ServerEvent::JoinedConversation { .. }),
        "{answer:?}"
    );
    assert!(
        matches!(next_not_presence(&mut alice_conn).await.event, ServerEvent::NewMessage { ref message } if message.message == "welcome")
    );
    // …but a second join is the usual mistake.
    let ServerEvent::Error(error) = alice_conn
        .handle(join(conversation.id), None)
        .await
        .unwrap()
        .event
    else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::AlreadyJoined);
}

async fn a_stranger_can_neither_join_read_nor_post(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (_alice, _bob, conv) = f.pair().await;
    let eve = f.user("eve").await;
    assert!(matches!(
        f.chat.send(&eve, conv, "hi", None).await,
        Err(ChatError::NotMember(_))
    ));
    assert!(matches!(
        f.chat.history(&eve, conv, None, None).await,
        Err(ChatError::NotMember(_))
    ));
    assert!(matches!(
        f.chat.conversation(&eve, conv).await,
        Err(ChatError::NotMember(_))
    ));
    let mut connection = f.chat.connect(eve.clone()).await.unwrap();
    let ServerEvent::Error(error) = connection.handle(join(conv), None).await.unwrap().event else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::NotMember);
    let missing = ConversationId(424_242);
    assert!(matches!(
        f.chat.send(&eve, missing, "hi", None).await,
        Err(ChatError::ConversationNotFound(_))
    ));
}

natter::on_both_engines!(
    opening_a_conversation_twice_returns_the_same_one,
    both_members_hear_of_a_new_conversation_and_the_creator_once,
    the_creating_connection_is_in_the_room,
    a_stranger_can_neither_join_read_nor_post,
);
