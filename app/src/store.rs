//! The signed-in tab's live chat state as Leptos signals, shared by the views and the socket
//! task: the conversation list, the timelines of opened conversations, the person's outbox,
//! the connection status, the reader's clock, and the channel to the socket. Views read signals
//! and call the methods here; the socket task calls `apply` with what the server sent and asks
//! the outbox what to send. The rules themselves live in `model`; this module only wires them
//! to signals (and, in the browser, every outbox change to its saved copy). Signals may already
//! be disposed when the socket task touches them after sign-out, so the task's paths use the
//! `try_` accessors.

use std::collections::{HashMap, HashSet};

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use natter::protocol::{
    ConversationId, ConversationView, ErrorView, MessagePage, MessageView, Seq, Settings, UserId,
};

use crate::error::AppError;

use crate::model::around::{Around, TypingSender};
use crate::model::clock::{Clock, preview};
use crate::model::directory::Directory;
use crate::model::outbox::{Change, Due, Outbox};
use crate::model::requests::Inbound;
use crate::model::timeline::Timeline;
use crate::server_fns::Session;

/// What the socket is doing, as the connection indicator shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// First connection of the page.
    Connecting,
    Connected,
    /// The connection dropped; the next attempt is `attempt` (1 for the first retry).
    Reconnecting {
        attempt: u32,
    },
    /// The browser says it has no network; waiting for it to come back.
    Offline,
}

impl ConnectionStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Connected => "Connected",
            Self::Reconnecting { .. } => "Reconnecting…",
            Self::Offline => "Offline",
        }
    }

    /// A stable name for styling and tests.
    pub fn name(self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Offline => "offline",
        }
    }
}

/// Whether natter may show notifications, as the browser says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// No Notification API (or not known yet: the server's render).
    Unsupported,
    /// Not asked yet: the sidebar offers to turn notifications on.
    Ask,
    Granted,
    Denied,
}

/// A request to the socket task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outbound {
    /// Something was written to the outbox: send what is due.
    Flush,
    /// The tab came back into view: make sure the connection is alive, or retry it now.
    Check,
    /// Join a room (if this connection has not), replaying what the tab has not seen.
    Join(ConversationId),
    /// Tell the room the person started or stopped typing (dropped while disconnected).
    Typing {
        conversation: ConversationId,
        typing: bool,
    },
    /// Move the person's read mark of a conversation to `seq`.
    MarkRead {
        conversation: ConversationId,
        seq: Seq,
    },
    /// The browser's `online` / `offline` events.
    Network { online: bool },
    /// Skip the rest of the backoff delay.
    ReconnectNow,
    /// The person signed out: close and stop.
    Stop,
}

#[derive(Clone, Copy)]
pub struct ChatStore {
    pub me: UserId,
    pub max_chars: usize,
    pub directory: RwSignal<Directory>,
    pub timelines: RwSignal<HashMap<ConversationId, Timeline>>,
    /// Who is typing where, and who is online.
    pub around: RwSignal<Around>,
    /// When to tell the server the person is typing.
    typing_sender: StoredValue<TypingSender>,
    /// What the person shares (as the server last said).
    pub sharing: RwSignal<Settings>,
    /// What the person wrote that the server has not stored yet. Empty until the browser
    /// restores the saved copy (the server renders none).
    pub outbox: RwSignal<Outbox>,
    /// Why a conversation's history could not be loaded (not a member, gone…).
    pub failures: RwSignal<HashMap<ConversationId, String>>,
    pub status: RwSignal<ConnectionStatus>,
    pub clock: RwSignal<Clock>,
    /// The latest incoming message, read out by screen readers.
    pub announcement: RwSignal<String>,
    /// The conversation shown, from the URL.
    pub open: Memo<Option<ConversationId>>,
    /// Whether the tab is in view: messages arriving in a hidden tab stay unread.
    pub visible: RwSignal<bool>,
    /// What the browser lets natter do about notifications (`Unsupported` on the server).
    pub permission: RwSignal<Permission>,
    /// Conversations the person muted: no notification for them. Kept in this browser only.
    pub muted: RwSignal<HashSet<ConversationId>>,
    /// Opens a conversation inside the app (set by the chat page; a notification click uses it).
    opener: StoredValue<Option<Callback<Option<ConversationId>>>>,
    link: StoredValue<Option<UnboundedSender<Outbound>>>,
    /// The read mark last asked for, per conversation, so each is sent once.
    marks: StoredValue<HashMap<ConversationId, Seq>>,
}

impl ChatStore {
    /// The store of a signed-in page, with the conversations and (if the server loaded it)
    /// the open conversation's newest page.
    pub fn new(
        session: &Session,
        conversations: Vec<ConversationView>,
        history: Option<(ConversationId, Result<MessagePage, ErrorView>)>,
        open: Memo<Option<ConversationId>>,
    ) -> Self {
        let mut timelines = HashMap::new();
        let mut failures = HashMap::new();
        match history {
            Some((id, Ok(page))) => {
                let mut timeline = Timeline::default();
                timeline.absorb_latest(page);
                timelines.insert(id, timeline);
            }
            Some((id, Err(error))) => {
                failures.insert(id, AppError::Refused(error).message());
            }
            None => {}
        }
        Self {
            me: session.user.id,
            max_chars: session.max_message_chars,
            around: RwSignal::new(Around::new(&conversations)),
            typing_sender: StoredValue::new(TypingSender::default()),
            sharing: RwSignal::new(Settings::default()),
            directory: RwSignal::new(Directory::new(session.user.id, conversations)),
            timelines: RwSignal::new(timelines),
            outbox: RwSignal::new(Outbox::default()),
            failures: RwSignal::new(failures),
            status: RwSignal::new(ConnectionStatus::Connecting),
            clock: RwSignal::new(Clock::default()),
            announcement: RwSignal::new(String::new()),
            open,
            visible: RwSignal::new(true),
            permission: RwSignal::new(Permission::Unsupported),
            muted: RwSignal::new(HashSet::new()),
            opener: StoredValue::new(None),
            link: StoredValue::new(None),
            marks: StoredValue::new(HashMap::new()),
        }
    }

    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    /// How a notification click opens a conversation (the router's navigation).
    /// How to open a conversation (`None`: the list alone).
    pub fn set_opener(&self, open: Callback<Option<ConversationId>>) {
        self.opener.set_value(Some(open));
    }

    /// Opens a conversation as a click on it in the list would.
    pub fn open_conversation(&self, id: ConversationId) {
        if let Some(Some(open)) = self.opener.try_get_value() {
            open.run(Some(id));
        }
    }

    /// Closes the open conversation, back to the list.
    pub fn close_conversation(&self) {
        if let Some(Some(open)) = self.opener.try_get_value() {
            open.run(None);
        }
    }

    pub fn is_muted(&self, id: ConversationId) -> bool {
        self.muted
            .try_with_untracked(|m| m.contains(&id))
            .unwrap_or(false)
    }

    /// Mutes or unmutes a conversation's notifications, remembered in this browser.
    pub fn set_muted(&self, id: ConversationId, mute: bool) {
        self.muted.update(|m| {
            if mute {
                m.insert(id);
            } else {
                m.remove(&id);
            }
        });
        #[cfg(feature = "hydrate")]
        self.muted
            .with_untracked(|m| crate::storage::save_muted(self.me, m));
    }

    /// Hands the store the channel to its socket task.
    pub fn attach(&self, link: UnboundedSender<Outbound>) {
        self.link.set_value(Some(link));
    }

    fn dispatch(&self, request: Outbound) -> bool {
        self.link
            .try_with_value(|link| {
                link.as_ref()
                    .is_some_and(|l| l.unbounded_send(request).is_ok())
            })
            .unwrap_or(false)
    }

    pub fn reconnect_now(&self) {
        self.dispatch(Outbound::ReconnectNow);
    }

    /// Asks the socket task to make sure its connection is alive.
    pub fn check_connection(&self) {
        self.dispatch(Outbound::Check);
    }

    /// The newest `seq` this tab holds for a conversation: where a replay should start.
    pub fn last_seq(&self, id: ConversationId) -> Seq {
        let listed = self
            .directory
            .try_with_untracked(|d| d.last_seq(id))
            .unwrap_or(Seq::ZERO);
        let held = self
            .timelines
            .try_with_untracked(|t| t.get(&id).map_or(Seq::ZERO, Timeline::newest_seq))
            .unwrap_or(Seq::ZERO);
        listed.max(held)
    }

    /// Starts keeping a conversation's timeline, before its history is fetched, so that no
    /// live message arriving meanwhile is lost. Untracked: nothing shows a timeline before it
    /// exists, and this runs while a page is being built.
    pub fn ensure_timeline(&self, id: ConversationId) {
        if !self.timelines.with_untracked(|t| t.contains_key(&id)) {
            self.timelines.update_untracked(|t| {
                t.entry(id).or_default();
            });
        }
    }

    /// Takes in the newest page of a conversation, fetched by the browser.
    pub fn absorb_latest(&self, id: ConversationId, page: MessagePage) {
        self.failures.update(|f| {
            f.remove(&id);
        });
        self.timelines
            .update(|t| t.entry(id).or_default().absorb_latest(page));
        self.settle(id);
    }

    /// Records why a conversation's history could not be loaded.
    pub fn history_failed(&self, id: ConversationId, error: &AppError) {
        self.failures.update(|f| {
            f.insert(id, error.message());
        });
    }

    pub fn absorb_older(&self, id: ConversationId, page: MessagePage) {
        self.timelines
            .update(|t| t.entry(id).or_default().absorb_older(page));
        self.settle(id);
    }

    /// A conversation this person started or was added to.
    pub fn add_conversation(&self, conversation: ConversationView) {
        let id = conversation.id;
        self.around
            .update(|a| a.absorb(std::slice::from_ref(&conversation)));
        self.directory.update(|d| {
            d.upsert(conversation);
        });
        self.dispatch(Outbound::Join(id));
    }

    /// The person sees the conversation up to `seq`: nothing in it is unread, and the server
    /// moves their read mark (so other tabs and the partner know) unless it was already asked.
    pub fn mark_read(&self, id: ConversationId, seq: Seq) {
        if self
            .directory
            .try_with_untracked(|d| d.get(id).is_some_and(|e| e.unread > 0))
            .unwrap_or(false)
        {
            self.directory.try_update(|d| d.mark_read(id));
        }
        let asked = self
            .marks
            .try_with_value(|m| m.get(&id).copied())
            .flatten()
            .unwrap_or(Seq::ZERO);
        if seq > asked
            && self.status.try_get_untracked() == Some(ConnectionStatus::Connected)
            && self.dispatch(Outbound::MarkRead {
                conversation: id,
                seq,
            })
        {
            self.marks.try_update_value(|m| {
                m.insert(id, seq);
            });
        }
    }

    /// The conversation the person is reading: the open one, while the tab is in view.
    fn reading(&self) -> Option<ConversationId> {
        let visible = self.visible.try_get_untracked().unwrap_or(false);
        self.open.try_get_untracked().flatten().filter(|_| visible)
    }

    /// After a reconnect the server's read marks are the truth again: ask anew for the
    /// conversation being read.
    pub fn refresh_read_mark(&self) {
        self.marks.try_update_value(HashMap::clear);
        if let Some(id) = self.reading() {
            self.mark_read(id, self.last_seq(id));
        }
    }

    /// Sends a checked draft: it goes to the outbox (saved at once, so a reload or a closed tab
    /// does not lose it), shows as pending, and the socket sends it when its turn comes.
    pub fn send(&self, conversation: ConversationId, text: String) {
        let client_id = uuid::Uuid::new_v4().to_string();
        if let Some(change) = self
            .outbox
            .try_update(|o| o.write(conversation, client_id, text))
        {
            self.save(&change);
        }
        self.dispatch(Outbound::Flush);
    }

    /// Forgets a message the server refused for good.
    pub fn discard(&self, client_id: &str) {
        if let Some(Some(change)) = self.outbox.try_update(|o| o.discard(client_id)) {
            self.save(&change);
        }
    }

    /// The sends to make now, each marked in flight (for the socket task).
    pub fn due_sends(&self, now_ms: f64) -> Vec<Due> {
        // In flight or not looks the same on screen: nothing to redraw.
        self.outbox
            .try_update_untracked(|o| o.due(now_ms))
            .unwrap_or_default()
    }

    /// The connection is gone: what was in flight goes again on the next one.
    pub fn release_sends(&self) {
        self.outbox.try_update_untracked(Outbox::release);
    }

    /// The server refused a send: a final refusal shows under the message; a transient one
    /// keeps it queued, retried after a delay.
    pub fn send_refused(&self, client_id: &str, error: &ErrorView, now_ms: f64, random: f64) {
        if let Some(Some(change)) = self
            .outbox
            .try_update(|o| o.refused(client_id, error, now_ms, random))
        {
            self.save(&change);
        }
    }

    /// Whether anything the person wrote is not stored yet (or was refused and not discarded).
    pub fn has_unsent(&self) -> bool {
        self.outbox
            .try_with_untracked(|o| !o.is_empty())
            .unwrap_or(false)
    }

    /// A stored message of the person's: the outbox entry with its client id is done.
    fn confirm(&self, message: &MessageView) {
        let Some(client_id) = message.client_id.as_deref() else {
            return;
        };
        // Most stored messages match nothing: only a match touches the signal.
        let held = self
            .outbox
            .try_with_untracked(|o| o.holds(client_id))
            .unwrap_or(false);
        if held && let Some(Some(change)) = self.outbox.try_update(|o| o.confirm(message, self.me))
        {
            self.save(&change);
        }
    }

    /// Confirms the outbox entries whose stored copies a conversation's timeline holds (a
    /// history page, or the page rendered with a reload, may bring them).
    fn settle(&self, id: ConversationId) {
        let messages: Vec<MessageView> = self
            .timelines
            .try_with_untracked(|t| {
                t.get(&id)
                    .map(|timeline| timeline.messages().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        for message in &messages {
            self.confirm(message);
        }
    }

    /// Restores the person's saved outbox (after a reload, or the first chat page after signing
    /// in): its messages show as pending and go out once connected. Browser only.
    #[cfg(feature = "hydrate")]
    pub fn restore_outbox(&self) {
        let saved = crate::storage::load(self.me);
        self.outbox.update(|o| o.restore(saved));
        let ids: Vec<ConversationId> = self
            .timelines
            .with_untracked(|t| t.keys().copied().collect());
        for id in ids {
            self.settle(id);
        }
    }

    /// The person signs out: what they wrote and did not get sent stays on no device.
    pub fn forget_outbox(&self) {
        #[cfg(feature = "hydrate")]
        crate::storage::clear(self.me);
        self.outbox.try_set(Outbox::default());
    }

    /// Applies a change to the saved copy of the outbox (in the browser).
    fn save(&self, change: &Change) {
        #[cfg(feature = "hydrate")]
        crate::storage::save(self.me, change);
        #[cfg(not(feature = "hydrate"))]
        let _ = change;
    }

    /// The composer of `conversation` changed (`empty` or not): tells the room the person is
    /// typing, renewed while it goes on, and stopped when the composer is emptied.
    /// What the person shares changed (or was read): hiding presence hides everyone's;
    /// showing it again brings the list's presence back; hiding typing stops a notice.
    pub fn set_sharing(&self, settings: Settings) {
        let before = self.sharing.get_untracked();
        self.sharing.set(settings);
        if !settings.share_presence {
            self.around.update(|a| a.forget_presence());
        } else if !before.share_presence {
            let around = self.around;
            leptos::task::spawn_local(async move {
                if let Ok(list) = crate::server_fns::list_conversations().await {
                    around.try_update(|a| a.absorb(&list));
                }
            });
        }
        if !settings.share_typing {
            self.stop_composing(false);
        }
    }

    pub fn composing(&self, conversation: ConversationId, empty: bool) {
        if !self.sharing.with_untracked(|s| s.share_typing) {
            return;
        }
        #[cfg(feature = "hydrate")]
        let now_ms = js_sys::Date::now();
        #[cfg(not(feature = "hydrate"))]
        let now_ms = 0.0;
        let (notices, held_until) = self
            .typing_sender
            .try_update_value(|s| (s.input(conversation, empty, now_ms), s.held_until()))
            .unwrap_or_default();
        self.tell_typing(notices);
        #[cfg(feature = "hydrate")]
        if let Some(at) = held_until {
            let store = *self;
            leptos::prelude::set_timeout(
                move || {
                    let notices = store
                        .typing_sender
                        .try_update_value(|s| s.retry(js_sys::Date::now()))
                        .unwrap_or_default();
                    store.tell_typing(notices);
                },
                std::time::Duration::from_millis((at - now_ms).max(0.0) as u64),
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = held_until;
    }

    fn tell_typing(&self, notices: Vec<(ConversationId, bool)>) {
        for (conversation, typing) in notices {
            self.dispatch(Outbound::Typing {
                conversation,
                typing,
            });
        }
    }

    /// The person sent what they typed (the server ends the notice itself) or left the
    /// conversation (the notice is stopped).
    pub fn stop_composing(&self, sent: bool) {
        let stop = self
            .typing_sender
            .try_update_value(|s| {
                if sent {
                    s.sent();
                    None
                } else {
                    s.stop()
                }
            })
            .flatten();
        if let Some((conversation, typing)) = stop {
            self.dispatch(Outbound::Typing {
                conversation,
                typing,
            });
        }
    }

    /// What the server knows now of the presence of conversation `id`'s members.
    #[cfg(feature = "hydrate")]
    fn refresh_presence(&self, id: ConversationId) {
        let around = self.around;
        leptos::task::spawn_local(async move {
            if let Ok(view) = crate::server_fns::load_conversation(id).await {
                around.try_update(|a| a.absorb(std::slice::from_ref(&view)));
            }
        });
    }

    /// Takes in what the server sent.
    pub fn apply(&self, inbound: Inbound) {
        match inbound {
            Inbound::Message(message) => {
                let id = message.conv_id;
                // Someone else joined a group: they may be online already, which no presence
                // event will say; the server's view of the group does.
                #[cfg(feature = "hydrate")]
                if message.event.as_ref().is_some_and(|e| {
                    e.change == natter::protocol::Change::Added
                        && e.subject.as_ref().is_some_and(|s| s.id != self.me)
                }) {
                    self.refresh_presence(id);
                }
                if message.sender_id != self.me {
                    self.around.try_update(|a| a.spoke(id, message.sender_id));
                }
                self.timelines.try_update(|t| {
                    if let Some(timeline) = t.get_mut(&id) {
                        timeline.insert(message.clone());
                    }
                });
                self.confirm(&message);
                let reading = self.reading();
                let fresh = self
                    .directory
                    .try_update(|d| d.record(&message, reading))
                    .unwrap_or(false);
                #[cfg(feature = "hydrate")]
                if fresh
                    && message.sender_id != self.me
                    && !self.visible.try_get_untracked().unwrap_or(true)
                    && !self.is_muted(id)
                    && self.permission.try_get_untracked() == Some(Permission::Granted)
                {
                    let unread = self
                        .directory
                        .try_with_untracked(|d| d.get(id).map_or(1, |e| e.unread))
                        .unwrap_or(1);
                    crate::notify::message(*self, &message, unread);
                }
                if fresh && message.sender_id != self.me {
                    let line = if reading == Some(id) {
                        format!(
                            "{}: {}",
                            message.sender_name,
                            preview(&crate::model::markup::plain(&message.message), 200)
                        )
                    } else {
                        format!("New message from {}", message.sender_name)
                    };
                    self.announcement.try_set(line);
                }
            }
            Inbound::Conversation(conversation) => {
                self.around
                    .try_update(|a| a.absorb(std::slice::from_ref(&conversation)));
                self.directory.try_update(|d| d.upsert(conversation));
            }
            Inbound::Resumed(conversations) => {
                self.around.try_update(|a| a.absorb(&conversations));
                let open = self.open.try_get_untracked().flatten();
                self.directory.try_update(|d| d.merge(conversations, open));
            }
            Inbound::Read {
                conversation,
                user,
                seq,
            } => {
                self.directory
                    .try_update(|d| d.read(conversation, user, seq));
            }
            Inbound::Typing {
                conversation,
                user,
                name,
                typing,
            } => {
                #[cfg(feature = "hydrate")]
                {
                    let now = js_sys::Date::now();
                    self.around
                        .try_update(|a| a.typing(conversation, user, name, typing, now));
                    if typing {
                        // Cleared when not renewed in time.
                        let around = self.around;
                        leptos::prelude::set_timeout(
                            move || {
                                around.try_update(|a| a.expire(js_sys::Date::now()));
                            },
                            natter::protocol::limits::TYPING_HOLDS
                                + std::time::Duration::from_millis(50),
                        );
                    }
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = (conversation, user, name, typing);
            }
            Inbound::Presence(view) => {
                self.around.try_update(|a| a.presence(view));
            }
            Inbound::Removed(id) => {
                let gone = self.directory.try_update(|d| d.remove(id)).flatten();
                self.timelines.try_update(|t| t.remove(&id));
                if let Some(entry) = gone {
                    self.announcement
                        .try_set(format!("You are no longer in {}", entry.partner));
                }
                if self.open.try_get_untracked().flatten() == Some(id) {
                    self.close_conversation();
                }
            }
            // The socket task handles these itself: a refused send needs the time of day.
            Inbound::SendFailed { .. }
            | Inbound::ResumeFailed(_)
            | Inbound::Refused(_)
            | Inbound::Problem(_)
            | Inbound::Nothing => {}
        }
    }
}
