//! The `Chat` handle: the one entry point every transport (native WebSocket, Socket.IO, REST,
//! server functions) calls. It checks every rule — identity, membership, message limits — once,
//! here, then stores, then fans out. No axum or leptos in this module.

mod groups;

pub use groups::{NewGroup, Opening};

use std::num::NonZeroU32;
use std::sync::Arc;

use crate::auth::{Auth, AuthConfig};
use crate::clock::{Clock, SystemClock};
use crate::connection::Connection;
use crate::error::ChatError;
use crate::hub::{Ephemeral, Fanned, Hub, HubEvent, Inbox, PersonalEvent, Subscription, Topic};
use crate::message::Message;
use crate::message::{ClientMessageId, MessageBody};
use crate::presence::{self, Presence, Seat};
use crate::protocol::limits;
use crate::protocol::{
    ConversationId, ConversationView, FeedPos, MessagePage, MessageView, PresenceView, ReadMark,
    Seq, ServerEvent, Settings, UserId, UserView,
};
use crate::quota::{Quota, SharedLimiter, SharedSlot};
use crate::relay::Relay;
use crate::store::{
    Access, ConversationRecord, Created, Inserted, MarkMoved, NewSend, Page, Store,
};
use crate::typing::TypingGate;
use crate::user::AuthUser;
use crate::writer::Writer;

/// Limits and sizes of the chat core. Each default is a `DEFAULT_*` constant here (or on the
/// type that owns the setting), which the server's flags take as their defaults too.
#[derive(Clone, Debug)]
pub struct ChatConfig {
    /// Longest message body, in characters after trimming.
    pub max_message_chars: usize,
    /// Events buffered per room or user feed before a slow client lags and catches up from storage.
    pub room_buffer: usize,
    /// Largest page of history a client may ask for.
    pub max_page: i64,
    /// Messages a user may send per second, sustained, across all transports (0: no limit).
    pub send_per_second: u32,
    /// Messages a user may send in a burst above the sustained rate.
    pub send_burst: u32,
    /// Live connections one user may hold at once, over every transport (0: no limit).
    pub max_connections_per_user: usize,
    /// New conversations a user may start per hour (0: no limit); opening an existing one is
    /// free.
    pub conversations_per_hour: u32,
    /// New conversations a user may start in a burst.
    pub conversation_burst: u32,
    /// How long personal-feed events are kept for connections (and nodes) that missed them.
    pub feed_retention: std::time::Duration,
    /// The most members a group may have, its creator included.
    pub max_group_members: usize,
    /// Accounts, sessions, and how often they may be tried.
    pub auth: AuthConfig,
}

impl ChatConfig {
    pub const DEFAULT_ROOM_BUFFER: usize = 256;
    pub const DEFAULT_MAX_PAGE: i64 = limits::MAX_PAGE;
    pub const DEFAULT_SEND_PER_SECOND: u32 = 10;
    pub const DEFAULT_SEND_BURST: u32 = 30;
    pub const DEFAULT_MAX_CONNECTIONS_PER_USER: usize = 20;
    pub const DEFAULT_CONVERSATIONS_PER_HOUR: u32 = 60;
    pub const DEFAULT_CONVERSATION_BURST: u32 = 10;
    pub const DEFAULT_MAX_GROUP_MEMBERS: usize = limits::DEFAULT_MAX_GROUP_MEMBERS;
    pub const DEFAULT_FEED_RETENTION: std::time::Duration =
        std::time::Duration::from_secs(7 * 24 * 3600);
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_message_chars: MessageBody::DEFAULT_MAX_CHARS,
            room_buffer: Self::DEFAULT_ROOM_BUFFER,
            max_page: Self::DEFAULT_MAX_PAGE,
            send_per_second: Self::DEFAULT_SEND_PER_SECOND,
            send_burst: Self::DEFAULT_SEND_BURST,
            max_connections_per_user: Self::DEFAULT_MAX_CONNECTIONS_PER_USER,
            conversations_per_hour: Self::DEFAULT_CONVERSATIONS_PER_HOUR,
            conversation_burst: Self::DEFAULT_CONVERSATION_BURST,
            feed_retention: Self::DEFAULT_FEED_RETENTION,
            max_group_members: Self::DEFAULT_MAX_GROUP_MEMBERS,
            auth: AuthConfig::default(),
        }
    }
}

/// Who a new conversation is with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Id(UserId),
    Name(String),
}

impl Target {
    /// Exactly one of an id and a name.
    pub fn from_parts(id: Option<UserId>, name: Option<String>) -> Result<Self, ChatError> {
        match (id, name) {
            (Some(id), None) => Ok(Self::Id(id)),
            (None, Some(name)) => Ok(Self::Name(name)),
            (None, None) => Err(ChatError::InvalidPayload(
                "name the other member: `user2_id` or `username`".into(),
            )),
            (Some(_), Some(_)) => Err(ChatError::InvalidPayload(
                "give either `user2_id` or `username`, not both".into(),
            )),
        }
    }
}

/// A message send's result: the stored message and whether this call stored it (`false` for
/// a retry answered with the original).
#[derive(Clone, Debug)]
pub struct Posted {
    pub message: MessageView,
    pub fresh: bool,
}

/// A conversation lookup's result, with whether this call created it.
#[derive(Clone, Debug)]
pub struct Opened {
    pub conversation: ConversationView,
    pub fresh: bool,
}

/// Entry point to the chat domain. Cloning is cheap; all clones share one pool and one hub.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    auth: Auth,
    pub(crate) hub: Hub,
    config: ChatConfig,
    /// Per-user send quota.
    send_limit: Quota<UserId>,
    /// Per-user quota of new conversations.
    new_conversations: Quota<UserId>,
    /// Open connections per user, and who is online on every node.
    pub(crate) presence: Presence,
    /// The presence task, started with the first connection.
    presence_task: std::sync::OnceLock<()>,
    /// Which typing notices go out.
    typing: TypingGate,
    /// Stores sends in group-committed batches and fans them out in order.
    writer: std::sync::OnceLock<Writer>,
    /// The relay to the other nodes, when there are several.
    pub(crate) relay: std::sync::OnceLock<Relay>,
    /// Where every limit is counted for all nodes, when there are several.
    shared: SharedSlot,
    /// Told of every timeline entry this node commits (Web Push, when the server turns it on).
    observer: std::sync::OnceLock<MessageObserver>,
}

/// Told of each timeline entry as this node commits it (once per entry, on the node that
/// stored it; never for a retry), before its fan-out. Runs on the writer's task: it must hand
/// the entry on and return, never wait.
pub type MessageObserver = Arc<dyn Fn(&MessageView) + Send + Sync>;

/// Topics a position check reads from the database in one query.
const REPAIR_BATCH: usize = 500;

/// What a position check delivered from storage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Repaired {
    pub messages: usize,
    pub events: usize,
}

impl Chat {
    pub fn new(store: Store, secret: &[u8], config: ChatConfig) -> Self {
        Self::with_clock(store, secret, config, Arc::new(SystemClock))
    }

    /// A chat whose tokens and sessions expire by `clock` (tests move a `ManualClock`).
    pub fn with_clock(
        store: Store,
        secret: &[u8],
        config: ChatConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let shared = SharedSlot::default();
        let auth = Auth::new(store.clone(), secret, &config.auth, clock, shared.clone());
        let send_limit = Quota::new(
            "send",
            NonZeroU32::new(config.send_per_second).map(|rate| {
                let burst = NonZeroU32::new(config.send_burst).unwrap_or(rate);
                governor::Quota::per_second(rate).allow_burst(burst)
            }),
            shared.clone(),
        );
        let new_conversations = Quota::new(
            "conversations",
            NonZeroU32::new(config.conversations_per_hour).map(|rate| {
                let burst = NonZeroU32::new(config.conversation_burst).unwrap_or(rate);
                governor::Quota::per_hour(rate).allow_burst(burst)
            }),
            shared.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                send_limit,
                new_conversations,
                presence: Presence::new(config.max_connections_per_user),
                presence_task: std::sync::OnceLock::new(),
                typing: TypingGate::default(),
                hub: Hub::new(config.room_buffer),
                auth,
                store,
                config,
                writer: std::sync::OnceLock::new(),
                relay: std::sync::OnceLock::new(),
                shared,
                observer: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &ChatConfig {
        &self.inner.config
    }

    /// Ends the session behind `me`'s credential: its token stops working everywhere and its
    /// open connections are closed.
    pub async fn logout(&self, me: &AuthUser) -> Result<(), ChatError> {
        if let Some(pos) = self.inner.auth.logout(me).await? {
            let event = PersonalEvent::SessionEnded {
                session: me.session_id.clone(),
            };
            self.publish_personal(me.id(), pos, event);
        }
        Ok(())
    }

    /// Opens a live connection for `user`: personal events from now on, rooms as it joins
    /// them. Refused with `TooManyConnections` when the user already holds the most
    /// connections one person may (all transports together); the seat is freed when the
    /// connection is dropped.
    pub async fn connect(&self, user: AuthUser) -> Result<Connection, ChatError> {
        self.inner
            .presence_task
            .get_or_init(|| drop(tokio::spawn(presence::run(Arc::downgrade(&self.inner)))));
        let seat: Seat = self.inner.presence.seats().take(user.id())?;
        // Subscribe before reading the feed's position: nothing committed in between is missed.
        let personal = self.subscribe_user(&user);
        let pos = self
            .inner
            .store
            .feed_positions(&[user.id()])
            .await?
            .first()
            .map_or(FeedPos::ZERO, |(_, pos)| *pos);
        self.inner.hub.seen(Topic::User(user.id()), pos.0);
        Ok(Connection::new(self.clone(), user, seat, personal, pos))
    }

    /// Relays this node's events to the other nodes over `bus` and theirs to this node's
    /// connections, until `shutdown`; returns the tasks to spawn. At most once per `Chat`.
    pub fn attach_relay(
        &self,
        bus: std::sync::Arc<dyn crate::relay::Bus>,
        config: crate::relay::RelayConfig,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Result<crate::relay::RelayTasks, ChatError> {
        let (relay, tasks) = Relay::new(self, bus, config, shutdown);
        self.inner
            .relay
            .set(relay)
            .map_err(|_| ChatError::internal("attaching the relay", "it is attached already"))?;
        Ok(tasks)
    }

    /// Counts every limit (sends, new conversations, sign-ins, sign-ups) for all nodes at once
    /// through `limiter`, falling back to this node's own count while it is out of reach. At
    /// most once per `Chat`.
    pub fn share_limits(
        &self,
        limiter: std::sync::Arc<dyn SharedLimiter>,
    ) -> Result<(), ChatError> {
        self.inner
            .shared
            .set(limiter)
            .map_err(|_| ChatError::internal("sharing the limits", "they are shared already"))
    }

    /// The relay to the other nodes, if this node has one.
    pub fn relay(&self) -> Option<&Relay> {
        self.inner.relay.get()
    }

    /// Tells `observer` of every timeline entry this node commits from now on. One observer per
    /// chat; a second is refused.
    pub fn observe_messages(&self, observer: MessageObserver) -> Result<(), ChatError> {
        self.inner.observer.set(observer).map_err(|_| {
            ChatError::internal("observing messages", "a message observer is already set")
        })
    }

    /// Whether `user` holds a live connection (WebSocket or Socket.IO) on any node now: this
    /// node's count, and the lists the other nodes relay. Unlike the presence others are
    /// shown, no grace period after the last one closes.
    pub fn is_connected(&self, user: UserId) -> bool {
        self.inner.presence.is_connected(user)
    }

    /// Fans out, on this node only, an event committed elsewhere (the relay's subscriber).
    pub(crate) fn inject(&self, topic: Topic, event: HubEvent) {
        self.inner.hub.publish(topic, event);
    }

    /// Another node's presence change (the relay's subscriber).
    pub(crate) fn presence_heard(&self, node: &str, online: &[UserId], offline: &[UserId]) {
        self.inner.presence.remote_change(node, online, offline);
    }

    /// Another node's list of users online (the relay's subscriber).
    pub(crate) fn roster_heard(&self, node: &str, online: Vec<UserId>) {
        self.inner.presence.remote_roster(node, online);
    }

    /// The position check: for every room and feed this node's connections listen to,
    /// compares the newest place fanned out here with the database, and fans out from storage
    /// what this node missed (a page per topic per check). Connections drop what they already
    /// have, so a repair can only add.
    pub async fn repair(&self) -> Result<Repaired, ChatError> {
        let mut rooms = Vec::new();
        let mut users = Vec::new();
        for (topic, newest) in self.inner.hub.positions() {
            match topic {
                Topic::Room(id) => rooms.push((id, Seq(newest))),
                Topic::User(id) => users.push((id, FeedPos(newest))),
            }
        }
        let mut repaired = Repaired::default();
        for chunk in rooms.chunks(REPAIR_BATCH) {
            let ids: Vec<ConversationId> = chunk.iter().map(|(id, _)| *id).collect();
            for (id, stored) in self.inner.store.room_positions(&ids).await? {
                let Some(&(_, known)) = chunk.iter().find(|(c, _)| *c == id) else {
                    continue;
                };
                if stored <= known {
                    continue;
                }
                for message in self.missed_unchecked(id, known).await? {
                    repaired.messages += 1;
                    self.inner
                        .hub
                        .publish(Topic::Room(id), HubEvent::Message(Fanned::new(message)));
                }
            }
        }
        for chunk in users.chunks(REPAIR_BATCH) {
            let ids: Vec<UserId> = chunk.iter().map(|(id, _)| *id).collect();
            for (id, stored) in self.inner.store.feed_positions(&ids).await? {
                let Some(&(_, known)) = chunk.iter().find(|(u, _)| *u == id) else {
                    continue;
                };
                if stored <= known {
                    continue;
                }
                let events = self
                    .inner
                    .store
                    .events_after(id, known, self.inner.config.max_page)
                    .await?;
                for (pos, event) in events {
                    repaired.events += 1;
                    let event = HubEvent::Personal {
                        pos,
                        event: Arc::new(event),
                    };
                    self.inner.hub.publish(Topic::User(id), event);
                }
            }
        }
        if repaired != Repaired::default() {
            tracing::info!(?repaired, "position check delivered what the relay missed");
        }
        Ok(repaired)
    }

    /// Up to a page of `user`'s personal events after `after`, oldest first; `None` when some
    /// of them are no longer kept (the connection must resync).
    pub(crate) async fn feed_after(
        &self,
        user: UserId,
        after: FeedPos,
    ) -> Result<Option<Vec<(FeedPos, PersonalEvent)>>, ChatError> {
        let events = self
            .inner
            .store
            .events_after(user, after, self.inner.config.max_page)
            .await?;
        let complete = match events.first() {
            Some((first, _)) => *first == after.next(),
            // Nothing kept after `after`: complete only if nothing was ever written after it.
            None => self
                .inner
                .store
                .feed_positions(&[user])
                .await?
                .first()
                .is_none_or(|(_, newest)| *newest <= after),
        };
        Ok(complete.then_some(events))
    }

    /// Forgets sessions that have expired; returns how many.
    pub async fn purge_expired_sessions(&self) -> Result<u64, ChatError> {
        self.inner.auth.purge_expired_sessions().await
    }

    /// Forgets personal-feed events older than the retention period (a connection that was
    /// behind them resyncs instead); returns how many.
    pub async fn purge_old_events(&self) -> Result<u64, ChatError> {
        let before = crate::clock::system_now().minus(self.inner.config.feed_retention);
        self.inner.store.purge_events_before(before).await
    }

    /// Users whose name starts with `query`, not counting the caller.
    pub async fn search_users(
        &self,
        me: &AuthUser,
        query: &str,
        limit: i64,
    ) -> Result<Vec<UserView>, ChatError> {
        let query = query.trim();
        let chars = query.chars().count();
        if chars == 0 || chars > limits::USERNAME_MAX_CHARS {
            return Err(ChatError::InvalidQuery(format!(
                "q must be 1 to {} characters",
                limits::USERNAME_MAX_CHARS
            )));
        }
        if query.chars().any(char::is_control) {
            return Err(ChatError::InvalidQuery(
                "q cannot contain control characters".into(),
            ));
        }
        let limit = self.page_limit(Some(limit))?;
        let users = self.inner.store.search_users(query, limit + 1).await?;
        Ok(users
            .iter()
            .filter(|u| u.id != me.id())
            .take(limit as usize)
            .map(UserView::from)
            .collect())
    }

    /// The one-to-one conversation of the caller and `target`, created (and announced to both
    /// members) if it does not exist yet. Creating one counts against the caller's quota of
    /// new conversations (so nobody can open conversations with every stranger at once);
    /// finding an existing one does not.
    pub async fn open_conversation(
        &self,
        me: &AuthUser,
        target: Target,
    ) -> Result<Opened, ChatError> {
        let other = self.find_user(target).await?;
        if other.id == me.id() {
            return Err(ChatError::CannotMessageSelf);
        }
        if let Some(id) = self.inner.store.direct_between(me.id(), other.id).await? {
            return Ok(Opened {
                conversation: self.load(id, me.id()).await?,
                fresh: false,
            });
        }
        self.inner.new_conversations.check(&me.id()).await?;
        let Created {
            id,
            fresh,
            announced,
        } = self
            .inner
            .store
            .find_or_create_direct(me.id(), other.id)
            .await?;
        for (member, pos) in announced {
            let event = PersonalEvent::ConversationCreated { conversation: id };
            self.publish_personal(member, pos, event);
        }
        let conversation = self.load(id, me.id()).await?;
        Ok(Opened {
            conversation,
            fresh,
        })
    }

    /// One conversation the caller belongs to.
    pub async fn conversation(
        &self,
        me: &AuthUser,
        id: ConversationId,
    ) -> Result<ConversationView, ChatError> {
        self.check_member(me, id).await?;
        self.load(id, me.id()).await
    }

    /// Every conversation of the caller, most recently active first.
    pub async fn conversations(&self, me: &AuthUser) -> Result<Vec<ConversationView>, ChatError> {
        let records = self.inner.store.conversations_of(me.id()).await?;
        Ok(records.iter().map(|r| self.view(r, me.id())).collect())
    }

    /// Moves the caller's read mark forward to `seq` (capped at the newest message, never
    /// back) and tells every member's connections. Returns the caller's mark afterwards.
    pub async fn mark_read(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        seq: Seq,
    ) -> Result<ReadMark, ChatError> {
        if seq < Seq::ZERO {
            return Err(ChatError::InvalidPayload("seq must be 0 or more".into()));
        }
        self.check_member(me, conversation).await?;
        let MarkMoved { mark, announced } = self
            .inner
            .store
            .mark_read(conversation, me.id(), seq)
            .await?;
        for (member, pos) in announced {
            let event = PersonalEvent::Read {
                conversation,
                user: me.id(),
                seq: mark,
            };
            self.publish_personal(member, pos, event);
        }
        Ok(ReadMark {
            user_id: me.id(),
            seq: mark,
        })
    }

    /// Stores a message from the caller and, once committed, broadcasts it to the room.
    /// A retry with the same `client_id` gets the original message and broadcasts nothing.
    pub async fn send(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Posted, ChatError> {
        let body = MessageBody::parse(text, self.inner.config.max_message_chars)?;
        let client_id = client_id.map(ClientMessageId::parse).transpose()?;
        self.check_send_quota(me).await?;
        let writer = self
            .inner
            .writer
            .get_or_init(|| Writer::start(Arc::downgrade(&self.inner)));
        // Membership is checked in the writer's transaction, with the write.
        let Inserted { message, fresh } = writer
            .write(NewSend {
                conversation,
                sender: me.user.clone(),
                body,
                client_id,
            })
            .await?;
        if self.inner.typing.end(me.id(), conversation) {
            self.publish_typing(me, conversation, false);
        }
        Ok(Posted {
            message: MessageView::from(&message),
            fresh,
        })
    }

    /// The caller started or stopped typing in `conversation`: the other members' connections
    /// in its room are told, unless the caller does not share their typing or the gate holds
    /// it back (both ignored without an error; the gate is asked first, before any query). A
    /// non-member is refused.
    pub async fn typing(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        typing: bool,
    ) -> Result<(), ChatError> {
        let gate = &self.inner.typing;
        if !gate.admits(me.id(), conversation, typing) {
            return Ok(());
        }
        self.check_member(me, conversation).await?;
        if !self.inner.store.settings(me.id()).await?.share_typing {
            return Ok(());
        }
        if typing {
            gate.stood(me.id(), conversation);
        }
        self.publish_typing(me, conversation, typing);
        Ok(())
    }

    fn publish_typing(&self, me: &AuthUser, conversation: ConversationId, typing: bool) {
        let event = ServerEvent::Typing {
            conv_id: conversation,
            user_id: me.id(),
            username: me.user.username.clone(),
            typing,
        };
        self.inner.publish(
            Topic::Room(conversation),
            HubEvent::Ephemeral(Ephemeral::new(me.id(), event)),
        );
    }

    /// What the caller shares with others.
    pub async fn settings(&self, me: &AuthUser) -> Result<Settings, ChatError> {
        self.inner.store.settings(me.id()).await
    }

    /// Changes what the caller shares. Hiding presence tells the people they talk to at once
    /// (they stop showing it); sharing it again tells them the current state.
    pub async fn set_settings(
        &self,
        me: &AuthUser,
        settings: Settings,
    ) -> Result<Settings, ChatError> {
        let before = self.inner.store.settings(me.id()).await?;
        self.inner.store.set_settings(me.id(), settings).await?;
        if before.share_presence && !settings.share_presence {
            let audience = self.inner.store.presence_audience(me.id()).await?;
            let hidden = PresenceView {
                user_id: me.id(),
                online: false,
                last_seen_at: None,
            };
            presence::tell(&self.inner, hidden, &audience.audience);
        } else if !before.share_presence && settings.share_presence {
            let online = self.inner.presence.is_online(me.id());
            presence::announce(&self.inner, me.id(), online).await?;
        }
        Ok(settings)
    }

    /// A page of history, oldest first: up to `limit` messages with `seq < before`.
    pub async fn history(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        before: Option<Seq>,
        limit: Option<i64>,
    ) -> Result<MessagePage, ChatError> {
        self.check_member(me, conversation).await?;
        let limit = self.page_limit(limit)?;
        if before.is_some_and(|b| b < Seq(1)) {
            return Err(ChatError::InvalidQuery(
                "before must be a seq of 1 or more".into(),
            ));
        }
        let Page { messages, has_more } = self
            .inner
            .store
            .messages_before(conversation, before, limit)
            .await?;
        Ok(MessagePage {
            messages: messages.iter().map(MessageView::from).collect(),
            has_more,
        })
    }

    /// Messages after `seq`, oldest first (at most one page): what a client missed.
    pub async fn missed(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        after: Seq,
    ) -> Result<Vec<MessageView>, ChatError> {
        self.check_member(me, conversation).await?;
        self.missed_unchecked(conversation, after).await
    }

    pub(crate) async fn missed_unchecked(
        &self,
        conversation: ConversationId,
        after: Seq,
    ) -> Result<Vec<MessageView>, ChatError> {
        let messages = self
            .inner
            .store
            .messages_after(conversation, after, self.inner.config.max_page)
            .await?;
        Ok(messages.iter().map(MessageView::from).collect())
    }

    /// Subscribes to a conversation's room; only members may. Returns the subscription and the
    /// conversation's newest `seq` at the moment of subscribing (events after it will arrive).
    pub async fn subscribe_room(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        inbox: &Inbox,
    ) -> Result<(Subscription, Seq), ChatError> {
        self.check_member(me, conversation).await?;
        // Subscribe before reading the newest seq: nothing committed in between is missed.
        let subscription = self.inner.hub.subscribe(Topic::Room(conversation), inbox);
        let newest = self
            .inner
            .store
            .conversation(conversation)
            .await?
            .map_or(Seq::ZERO, |c| c.last_seq);
        self.inner.hub.seen(Topic::Room(conversation), newest.0);
        Ok((subscription, newest))
    }

    /// The caller's personal feed (conversations started with them, read marks, sign-outs),
    /// into a new inbox.
    pub fn subscribe_user(&self, me: &AuthUser) -> (Inbox, Subscription) {
        let inbox = self.inner.hub.inbox();
        let subscription = self.inner.hub.subscribe(Topic::User(me.id()), &inbox);
        (inbox, subscription)
    }

    /// How many hub topics have subscribers (rooms and user feeds).
    pub fn live_topics(&self) -> usize {
        self.inner.hub.topic_count()
    }

    fn publish_personal(&self, user: UserId, pos: FeedPos, event: PersonalEvent) {
        let event = HubEvent::Personal {
            pos,
            event: Arc::new(event),
        };
        self.inner.publish(Topic::User(user), event);
    }

    /// Counts one send against the caller's quota. Retries of a stored message count too: a
    /// client hammering retries is slowed like any other.
    async fn check_send_quota(&self, me: &AuthUser) -> Result<(), ChatError> {
        self.inner.send_limit.check(&me.id()).await
    }

    async fn check_member(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
    ) -> Result<(), ChatError> {
        match self.inner.store.access(conversation, me.id()).await? {
            Access::Member => Ok(()),
            Access::Stranger => Err(ChatError::NotMember(conversation)),
            Access::Missing => Err(ChatError::ConversationNotFound(conversation)),
        }
    }

    async fn load(
        &self,
        id: ConversationId,
        viewer: UserId,
    ) -> Result<ConversationView, ChatError> {
        let record = self
            .inner
            .store
            .conversation(id)
            .await?
            .ok_or(ChatError::ConversationNotFound(id))?;
        Ok(self.view(&record, viewer))
    }

    /// A conversation as `viewer` sees it, with the other members' presence.
    fn view(&self, record: &ConversationRecord, viewer: UserId) -> ConversationView {
        let mut view = record.view_for(viewer);
        view.presence = self.inner.presence.views(&record.seen, viewer);
        view
    }

    fn page_limit(&self, limit: Option<i64>) -> Result<i64, ChatError> {
        let max = self.inner.config.max_page;
        match limit {
            None => Ok(limits::DEFAULT_PAGE.min(max)),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(_) => Err(ChatError::InvalidQuery(format!("limit must be 1 to {max}"))),
        }
    }
}

impl Inner {
    /// Fans a committed event out to this node's connections and, with a relay, to the other
    /// nodes'.
    fn publish(&self, topic: Topic, event: HubEvent) {
        if let Some(relay) = self.relay.get() {
            relay.publish(topic, &event);
        }
        self.hub.publish(topic, event);
    }

    /// Fans a newly stored message out to its room.
    pub(crate) fn publish_message(&self, message: &Message) {
        let view = MessageView::from(message);
        if let Some(observer) = self.observer.get() {
            observer(&view);
        }
        self.publish(
            Topic::Room(message.conversation),
            HubEvent::Message(Fanned::new(view)),
        );
    }
}

impl ConversationRecord {
    /// The conversation as `viewer` sees it: with their unread count.
    pub fn view_for(&self, viewer: UserId) -> ConversationView {
        let read = self
            .read
            .iter()
            .find(|mark| mark.user_id == viewer)
            .map_or(Seq::ZERO, |mark| mark.seq);
        ConversationView {
            id: self.id,
            room: self.id.room(),
            kind: self.kind,
            title: self.title.clone(),
            members: self.members.iter().map(UserView::from).collect(),
            admins: self.admins.clone(),
            created_at: self.created_at,
            last_message: self.last_message.as_ref().map(MessageView::from),
            unread: self.last_seq.since(read),
            read_up_to: self.read.clone(),
            presence: Vec::new(),
        }
    }
}
