//! What every domain test starts from: a chat core on a database of its own, signed-up users,
//! and the next frame of a connection.

use std::time::Duration;

use natter::auth::{ClientAddr, Issued};
use natter::clock::ManualClock;
use natter::protocol::{ConversationId, MessageView, ServerFrame};
use natter::store::Engine;
use natter::testdb::TestDb;
use natter::{AuthUser, Chat, ChatConfig, Store, Target};
use tokio::time::timeout;

/// No send quota, no limit on new conversations or sign-ups: these tests act faster than any
/// person, all from one address. The limits have tests of their own.
pub fn unlimited() -> ChatConfig {
    let mut config = ChatConfig {
        send_per_second: 0,
        conversations_per_hour: 0,
        ..ChatConfig::default()
    };
    config.auth.throttle.signup_per_hour = 0;
    config.auth.throttle.signup_total_per_hour = 0;
    config
}

pub struct Fixture {
    pub chat: Chat,
    _db: TestDb,
}

impl Fixture {
    /// A chat without a send quota: these tests send faster than any person.
    pub async fn new(engine: Engine) -> Self {
        Self::with_config(engine, unlimited()).await
    }

    pub async fn with_config(engine: Engine, config: ChatConfig) -> Self {
        Self::with_clock(engine, config, ManualClock::new()).await
    }

    /// A chat whose tokens and sessions expire by `clock`, which the test moves.
    pub async fn with_clock(engine: Engine, config: ChatConfig, clock: ManualClock) -> Self {
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

    /// Signs `name` up; its token and user.
    pub async fn register(&self, name: &str) -> Issued {
        self.chat
            .auth()
            .register(ClientAddr::LOCAL, name, "correct horse battery")
            .await
            .unwrap()
    }

    /// Signs `name` up and authenticates its token.
    pub async fn user(&self, name: &str) -> AuthUser {
        let issued = self.register(name).await;
        self.chat.auth().authenticate(&issued.token).await.unwrap()
    }

    /// Every message of `conv` as `user` reads it, oldest first (one page: the tests stay small).
    pub async fn stored(&self, user: &AuthUser, conv: ConversationId) -> Vec<MessageView> {
        self.chat
            .history(user, conv, None, None)
            .await
            .unwrap()
            .messages
    }

    pub async fn pair(&self) -> (AuthUser, AuthUser, ConversationId) {
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

pub async fn next(connection: &mut natter::Connection) -> ServerFrame {
    timeout(Duration::from_secs(5), connection.next_frame())
        .await
        .expect("a frame within 5 s")
}

/// The next frame that is not a `presence` event (which may come at any time: a user sharing a
/// conversation with the connection's user came online).
pub async fn next_not_presence(connection: &mut natter::Connection) -> ServerFrame {
    loop {
        let frame = next(connection).await;
        if !matches!(frame.event, natter::protocol::ServerEvent::Presence(_)) {
            return frame;
        }
    }
}

/// Whether nothing but `presence` events arrives on `connection` for `wait`.
pub async fn quiet(connection: &mut natter::Connection, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, connection.next_frame()).await {
            Err(_) => return true,
            Ok(frame) if matches!(frame.event, natter::protocol::ServerEvent::Presence(_)) => {}
            Ok(_) => return false,
        }
    }
}
