//! The chat core's rules and storage, called directly (no sockets), on SQLite and PostgreSQL.
//! Every test runs once per engine, against a database of its own.

use std::time::Duration;

use futures_util::StreamExt;
use natter::auth::ClientAddr;
use natter::clock::ManualClock;
use natter::protocol::{
    ClientCommand, ConversationId, CreateConvDto, ErrorCode, NewMessage, Seq, ServerEvent,
    ServerFrame, UserId,
};
use natter::store::Engine;
use natter::testdb::TestDb;
use natter::{AuthUser, Chat, ChatConfig, ChatError, Ending, Store, Target};
use tokio::time::timeout;

/// No send quota, no limit on new conversations or sign-ups: these tests act faster than any
/// person, all from one address. The limits have tests of their own.
fn unlimited() -> ChatConfig {
    let mut config = ChatConfig {
        send_per_second: 0,
        conversations_per_hour: 0,
        ..ChatConfig::default()
    };
    config.auth.throttle.signup_per_hour = 0;
    config.auth.throttle.signup_total_per_hour = 0;
    config
}

struct Fixture {
    chat: Chat,
    _db: TestDb,
}

impl Fixture {
    /// A chat without a send quota: these tests send faster than any person.
    async fn new(engine: Engine) -> Self {
        Self::with_config(engine, unlimited()).await
    }

    async fn with_config(engine: Engine, config: ChatConfig) -> Self {
        Self::with_clock(engine, config, ManualClock::new()).await
    }

    /// A chat whose tokens and sessions expire by `clock`, which the test moves.
    async fn with_clock(engine: Engine, config: ChatConfig, clock: ManualClock) -> Self {
        let db = TestDb::new(engine).await;
        let store = Store::connect(&db.url, 5)
            .await
            .expect("open the test database");
        let chat = Chat::with_clock(
            store,
            b"a test secret that is long enough!!",
            config,
            std::sync::Arc::new(clock),
        );
        Self { chat, _db: db }
    }

    async fn user(&self, name: &str) -> AuthUser {
        let issued = self
            .chat
            .auth()
            .register(ClientAddr::LOCAL, name, "correct horse battery")
            .await
            .unwrap();
        self.chat.auth().authenticate(&issued.token).await.unwrap()
    }

    async fn pair(&self) -> (AuthUser, AuthUser, ConversationId) {
        let alice = self.user("alice").await;
        let bob = self.user("bob").await;
        let opened = self
            .chat
            .open_conversation(&alice, Target::Id(bob.id()))
            .await
            .unwrap();
        (alice, bob, opened.conversation.id)
    }
}

async fn next(connection: &mut natter::Connection) -> ServerFrame {
    timeout(Duration::from_secs(5), connection.next_frame())
        .await
        .expect("a frame within 5 s")
}

fn join(conv: ConversationId) -> ClientCommand {
    ClientCommand::JoinConversation {
        conv_id: conv,
        last_seq: None,
        user_id: None,
    }
}

fn send(conv: ConversationId, text: &str) -> ClientCommand {
    ClientCommand::SendMessage {
        conv_id: conv,
        message: NewMessage {
            message: text.into(),
        },
        client_id: None,
        user_id: None,
    }
}

async fn registering_and_logging_in_checks_names_and_passwords(engine: Engine) {
    let f = Fixture::new(engine).await;
    let auth = f.chat.auth();
    let alice = auth
        .register(ClientAddr::LOCAL, "Alice", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(alice.user.username, "Alice");
    assert!(matches!(
        auth.register(ClientAddr::LOCAL, "alice", "another password")
            .await,
        Err(ChatError::UsernameTaken(_))
    ));
    assert!(matches!(
        auth.register(ClientAddr::LOCAL, "a", "long enough pw")
            .await,
        Err(ChatError::InvalidUsername(_))
    ));
    assert!(matches!(
        auth.register(ClientAddr::LOCAL, "carol", "short").await,
        Err(ChatError::InvalidPassword(_))
    ));
    let again = auth
        .login(ClientAddr::LOCAL, "ALICE", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(again.user.id, alice.user.id);
    assert!(matches!(
        auth.login(ClientAddr::LOCAL, "alice", "wrong password")
            .await,
        Err(ChatError::WrongCredentials)
    ));
    assert!(matches!(
        auth.login(ClientAddr::LOCAL, "nobody", "whatever pw").await,
        Err(ChatError::WrongCredentials)
    ));
}

async fn sign_in_attempts_on_one_name_are_limited(engine: Engine) {
    let mut config = unlimited();
    config.auth.throttle.login_per_minute = 3;
    let f = Fixture::with_config(engine, config).await;
    let auth = f.chat.auth();
    auth.register(ClientAddr::LOCAL, "alice", "correct horse battery")
        .await
        .unwrap();
    auth.register(ClientAddr::LOCAL, "bob", "correct horse battery")
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            auth.login(ClientAddr::LOCAL, "alice", "a guess").await,
            Err(ChatError::WrongCredentials)
        ));
    }
    // The right password does not get through once the allowance is spent, in any letter case.
    let Err(ChatError::RateLimited { retry_after_ms }) = auth
        .login(ClientAddr::LOCAL, " ALICE", "correct horse battery")
        .await
    else {
        panic!("a fourth attempt within the minute must be refused");
    };
    assert!((1..=20_000).contains(&retry_after_ms), "{retry_after_ms}");
    // Names that do not exist are limited alike, so the limit reveals nothing; other names
    // are not slowed by alice's.
    for _ in 0..3 {
        assert!(
            auth.login(ClientAddr::LOCAL, "nobody", "a guess")
                .await
                .is_err()
        );
    }
    assert!(matches!(
        auth.login(ClientAddr::LOCAL, "nobody", "a guess").await,
        Err(ChatError::RateLimited { .. })
    ));
    auth.login(ClientAddr::LOCAL, "bob", "correct horse battery")
        .await
        .unwrap();
}

async fn a_token_stops_working_after_logout(engine: Engine) {
    let f = Fixture::new(engine).await;
    let issued = f
        .chat
        .auth()
        .register(ClientAddr::LOCAL, "alice", "correct horse battery")
        .await
        .unwrap();
    let me = f.chat.auth().authenticate(&issued.token).await.unwrap();
    f.chat.auth().logout(&me).await.unwrap();
    assert!(matches!(
        f.chat.auth().authenticate(&issued.token).await,
        Err(ChatError::InvalidToken)
    ));
    assert!(matches!(
        f.chat.auth().authenticate("garbage").await,
        Err(ChatError::InvalidToken)
    ));
}

async fn an_expired_token_is_refused_as_expired(engine: Engine) {
    let mut config = unlimited();
    config.auth.token_ttl = Duration::from_secs(60);
    let clock = ManualClock::new();
    let f = Fixture::with_clock(engine, config, clock.clone()).await;
    let issued = f
        .chat
        .auth()
        .register(ClientAddr::LOCAL, "alice", "correct horse battery")
        .await
        .unwrap();
    let me = f.chat.auth().authenticate(&issued.token).await.unwrap();
    clock.advance(Duration::from_secs(59));
    assert!(f.chat.auth().authenticate(&issued.token).await.is_ok());
    assert!(f.chat.auth().time_left(&me) <= Duration::from_secs(1));
    clock.advance(Duration::from_secs(2));
    assert!(matches!(
        f.chat.auth().authenticate(&issued.token).await,
        Err(ChatError::TokenExpired)
    ));
    // Once expired, the session is purged; the token is then unknown.
    assert_eq!(f.chat.purge_expired_sessions().await.unwrap(), 1);
    assert_eq!(f.chat.purge_expired_sessions().await.unwrap(), 0);
}

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
    assert_eq!(
        f.chat
            .history(&alice, conv, None, None)
            .await
            .unwrap()
            .messages
            .len(),
        1
    );
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
    assert!(
        f.chat
            .history(&alice, conv, None, None)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
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
        }),
        username: None,
        user_id: Some(alice.id()),
    };
    assert!(
        alice_conn
            .handle(command.clone(), Some("r1".into()))
            .await
            .is_none()
    );
    let reply = next(&mut alice_conn).await;
    assert_eq!(reply.reference.as_deref(), Some("r1"));
    let ServerEvent::ConversationCreated { conversation } = reply.event else {
        panic!()
    };
    let heard = next(&mut bob_conn).await;
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
        timeout(Duration::from_millis(200), alice_conn.next_frame())
            .await
            .is_err(),
        "nothing more for alice"
    );
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
    assert!(
        f.chat
            .history(&alice, conv, None, None)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
}

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
            .handle(send(conv, "from alice"), Some("a1".into()))
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
            .handle(send(conv, "no ref"), None)
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
    let resume = ClientCommand::JoinConversation {
        conv_id: conv,
        last_seq: Some(Seq(3)),
        user_id: None,
    };
    let joined = connection.handle(resume, Some("j".into())).await.unwrap();
    assert!(matches!(
        joined.event,
        ServerEvent::JoinedConversation { .. }
    ));
    let mut seqs = Vec::new();
    while seqs.len() < 297 {
        if let ServerEvent::NewMessage { message } = next(&mut connection).await.event {
            seqs.push(message.seq);
        }
    }
    sender.await.unwrap();
    assert_eq!(seqs, (4..=300).map(Seq).collect::<Vec<_>>());
    assert!(
        timeout(Duration::from_millis(200), connection.next_frame())
            .await
            .is_err()
    );
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
    assert_eq!(
        f.chat
            .history(&alice, conv, None, None)
            .await
            .unwrap()
            .messages
            .len(),
        5
    );
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
        if let ServerEvent::NewMessage { message } = next(&mut bob_conn).await.event {
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
    assert!(
        timeout(Duration::from_millis(200), bob_conn.next_frame())
            .await
            .is_err()
    );
}

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
    assert_eq!(
        next(&mut alice_conn).await.event,
        ServerEvent::ConversationRead {
            conv_id: conv,
            user_id: bob.id(),
            last_read_seq: Seq(3)
        }
    );
    assert!(
        timeout(Duration::from_millis(200), bob_conn.next_frame())
            .await
            .is_err(),
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

async fn user_search_finds_names_by_prefix(engine: Engine) {
    let f = Fixture::new(engine).await;
    let alice = f.user("alice").await;
    f.user("albert").await;
    f.user("al_x").await;
    f.user("bob").await;
    let names = |users: Vec<natter::protocol::UserView>| {
        users.into_iter().map(|u| u.username).collect::<Vec<_>>()
    };
    assert_eq!(
        names(f.chat.search_users(&alice, "AL", 10).await.unwrap()),
        ["al_x", "albert"]
    );
    // `_` is a literal, not a LIKE wildcard.
    assert_eq!(
        names(f.chat.search_users(&alice, "al_", 10).await.unwrap()),
        ["al_x"]
    );
    assert!(f.chat.search_users(&alice, "", 10).await.is_err());
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
    let mut feed = f.chat.subscribe_user(&alice);
    assert!(
        timeout(Duration::from_millis(100), feed.next())
            .await
            .is_err()
    );
}

natter::on_both_engines!(
    registering_and_logging_in_checks_names_and_passwords,
    sign_in_attempts_on_one_name_are_limited,
    a_token_stops_working_after_logout,
    an_expired_token_is_refused_as_expired,
    opening_a_conversation_twice_returns_the_same_one,
    messages_get_gapless_increasing_seqs_and_history_pages,
    concurrent_sends_to_one_conversation_keep_seq_gapless,
    a_retried_send_is_stored_and_broadcast_once,
    concurrent_retries_with_one_client_id_store_one_message,
    a_stranger_can_neither_join_read_nor_post,
    message_bodies_are_validated,
    both_members_hear_of_a_new_conversation_and_the_creator_once,
    a_spoofed_user_id_is_refused_and_not_acted_on,
    acks_come_in_room_order_and_replace_the_echo,
    join_and_leave_are_tracked_per_connection,
    a_lagging_connection_catches_up_from_storage_in_order,
    a_connection_behind_on_its_personal_feed_catches_up_from_storage,
    a_connection_behind_events_no_longer_kept_is_told_to_resync_and_ends,
    user_search_finds_names_by_prefix,
    a_user_sending_too_fast_is_told_to_slow_down,
    resume_replays_every_conversation_after_its_cursor_then_goes_live,
    read_marks_move_forward_and_reach_the_other_member,
    joining_with_a_last_seq_replays_then_goes_live_without_gaps_or_duplicates,
    every_connection_of_a_member_hears_room_messages,
);
