//! One live client connection, whatever its transport: the rooms it joined, what it has been
//! sent, and the answers it is owed. The native WebSocket and the Socket.IO adapter both drive a
//! `Connection`, so command handling — the `userId` check, duplicate joins, acknowledgements —
//! exists once.
//!
//! Ordering: a connection delivers each room's messages in `seq` order, each once. Its own
//! sends are acknowledged (`messageSent`) at the message's place in that order, not before
//! earlier messages of the room. When it falls behind the hub (`Lagged`), it reads what it
//! missed from storage rather than dropping anything. Its personal feed (new conversations,
//! read marks, sign-outs) is stored as a gapless log too (`user_events`): a gap or a lag is
//! read from there, and only a connection behind events no longer kept is told to resync
//! (`resyncRequired`) and ends; the client reconnects and `resume` brings it up to date.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesOrdered;

use crate::chat::{Chat, Opening, Target};
use crate::error::ChatError;
use crate::hub::{Fanned, HubEvent, Inbox, PersonalEvent, Received, Subscription, Topic};
use crate::presence::Seat;
use crate::protocol::{
    Change, ClientCommand, ConversationId, ConversationView, Cursor, ErrorView, FeedPos, MessageId,
    MessageView, Seq, ServerEvent, ServerFrame,
};
use crate::user::AuthUser;

/// A connected client's session with the chat.
pub struct Connection {
    chat: Chat,
    user: AuthUser,
    /// Where the events of the user's feed and of every joined room arrive.
    inbox: Inbox,
    /// The user's personal feed, into `inbox` while held.
    _personal: Subscription,
    /// The joined rooms, each into `inbox` while held.
    rooms: HashMap<ConversationId, Subscription>,
    /// Rooms this connection entered by creating their conversation (as the seed's gateway
    /// does): its first `joinConversation` of one of them is answered, not refused.
    joined_by_create: HashSet<ConversationId>,
    /// Highest `seq` delivered (or known to the client) per joined room.
    delivered: HashMap<ConversationId, Seq>,
    /// Rooms whose newer messages must be read from storage (after a lag).
    behind: Vec<ConversationId>,
    /// Frames ready to go out, in order, before anything live.
    backlog: VecDeque<ServerFrame>,
    /// `ref`s of this connection's sends, answered when the message comes round in order.
    acks: HashMap<MessageId, (Option<String>, MessageView)>,
    /// `ref`s of conversations this connection created, answered with the announcement.
    creates: HashMap<ConversationId, (Option<String>, ConversationView)>,
    /// Read marks this connection set and already answered.
    own_reads: HashMap<ConversationId, Seq>,
    /// Groups whose loss this connection already told its client (`removedFromConversation`:
    /// the answer to its own `leaveGroup`, or its removal's timeline entry come round): the
    /// personal event that follows says nothing more.
    told_removed: HashSet<ConversationId>,
    /// The newest `seq` of each joined room when this connection joined it: a removal entry
    /// after it is news, one before it (replayed history after being added back) is not.
    joined_at: HashMap<ConversationId, Seq>,
    /// Set once the last frame has been handed out: the transport must close.
    ending: Option<Ending>,
    /// Becomes `ending` once the backlog has gone out.
    ending_after_backlog: Option<Ending>,
    /// This connection's place among its user's connections, given back on drop.
    _seat: Seat,
    /// The newest personal event delivered (or, at connect, already committed).
    feed_pos: FeedPos,
    /// The personal feed must be read from storage (a gap, or a lag).
    feed_behind: bool,
    /// A personal event taken from the inbox whose frame is still being made (it may need a
    /// query): kept here until it is, so dropping `next_frame` meanwhile loses nothing.
    personal: Option<(FeedPos, Arc<PersonalEvent>)>,
    /// Sends on their way to the writer, answered in the order they were made.
    sending: FuturesOrdered<BoxFuture<'static, Sent>>,
    /// How many of them go to each conversation.
    sending_to: HashMap<ConversationId, usize>,
    /// Room messages held back, in arrival order, until this connection's sends to their
    /// conversation are answered: its own message then becomes its `messageSent` in place.
    held: VecDeque<Arc<Fanned>>,
    /// Whether a held message may have become ready (a conversation's last send was answered)
    /// since `held` was last looked through: under pipelined sends it holds many, and looking
    /// through them for every frame was a tenth of the server's CPU at the knee.
    held_may_go: bool,
}

/// A send that went to the writer, and how it ended.
struct Sent {
    conv_id: ConversationId,
    reference: Option<String>,
    posted: Result<crate::chat::Posted, ChatError>,
}

/// A field given at most once, inside `createConvDto` or bare.
fn once<T>(name: &str, inside: Option<T>, bare: Option<T>) -> Result<Option<T>, ChatError> {
    match (inside, bare) {
        (Some(_), Some(_)) => Err(ChatError::InvalidPayload(format!(
            "give `{name}` once, inside or outside `createConvDto`"
        ))),
        (a, b) => Ok(a.or(b)),
    }
}

/// Sends one connection may have in flight; another waits for the oldest.
const MAX_SENDING: usize = 64;

/// Why a connection must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The session was signed out (elsewhere, or it was deleted).
    SessionEnded,
    /// The personal feed dropped events for this connection (it read too slowly): the client
    /// must reconnect and resume.
    FellBehind,
}

impl Connection {
    pub(crate) fn new(
        chat: Chat,
        user: AuthUser,
        seat: Seat,
        (inbox, personal): (Inbox, Subscription),
        feed_pos: FeedPos,
    ) -> Self {
        Self {
            feed_pos,
            feed_behind: false,
            personal: None,
            sending: FuturesOrdered::new(),
            sending_to: HashMap::new(),
            held: VecDeque::new(),
            held_may_go: false,
            chat,
            user,
            inbox,
            _personal: personal,
            rooms: HashMap::new(),
            joined_by_create: HashSet::new(),
            delivered: HashMap::new(),
            behind: Vec::new(),
            backlog: VecDeque::new(),
            acks: HashMap::new(),
            creates: HashMap::new(),
            own_reads: HashMap::new(),
            told_removed: HashSet::new(),
            joined_at: HashMap::new(),
            ending: None,
            ending_after_backlog: None,
            _seat: seat,
        }
    }

    pub fn user(&self) -> &AuthUser {
        &self.user
    }

    /// How long until this connection's credential expires (then the transport closes it).
    pub fn time_left(&self) -> std::time::Duration {
        self.chat.auth().time_left(&self.user)
    }

    /// Whether, and why, the transport must close this connection now: its last frame (an
    /// `error`, `invalidToken` or `resyncRequired`) has been handed out.
    pub fn ending(&self) -> Option<Ending> {
        self.ending
    }

    /// The rooms this connection has joined.
    pub fn joined(&self) -> impl Iterator<Item = ConversationId> + '_ {
        self.rooms.keys().copied()
    }

    /// Runs one command. Returns the frame to send now, if any; a reply that must wait for its
    /// place in a room's order comes later from `next_frame`. Errors become `error` frames.
    pub async fn handle(
        &mut self,
        command: ClientCommand,
        reference: Option<String>,
    ) -> Option<ServerFrame> {
        match self.run(command, reference.clone()).await {
            Ok(Some(event)) => Some(ServerFrame::reply(event, reference)),
            Ok(None) => None,
            Err(error) => {
                if error.is_internal() {
                    tracing::error!(user = %self.user.id(), error = ?error, "command failed");
                }
                Some(ServerFrame::reply(
                    ServerEvent::Error(ErrorView::from(&error)),
                    reference,
                ))
            }
        }
    }

    async fn run(
        &mut self,
        command: ClientCommand,
        reference: Option<String>,
    ) -> Result<Option<ServerEvent>, ChatError> {
        self.user.check_claim(command.claimed_user())?;
        match command {
            ClientCommand::CreateConversation {
                create_conv_dto,
                username,
                title,
                member_ids,
                usernames,
                ..
            } => {
                let dto = create_conv_dto.unwrap_or_default();
                let opening = Opening::from_parts(
                    dto.user2_id,
                    once("username", dto.username, username)?,
                    once("title", dto.title, title)?,
                    once("memberIds", dto.member_ids, member_ids)?,
                    once("usernames", dto.usernames, usernames)?,
                )?;
                self.create_conversation(opening, reference).await
            }
            ClientCommand::RenameConversation { conv_id, title } => {
                let conversation = self.chat.rename_group(&self.user, conv_id, &title).await?;
                Ok(Some(ServerEvent::ConversationUpdated { conversation }))
            }
            ClientCommand::AddMember {
                conv_id,
                member_id,
                username,
            } => {
                let target = Target::from_parts(member_id, username).map_err(|_| {
                    ChatError::InvalidPayload(
                        "name the user to add: either `memberId` or `username`".into(),
                    )
                })?;
                let conversation = self.chat.add_member(&self.user, conv_id, target).await?;
                Ok(Some(ServerEvent::ConversationUpdated { conversation }))
            }
            ClientCommand::RemoveMember { conv_id, member_id } if member_id == self.user.id() => {
                self.leave_group(conv_id).await
            }
            ClientCommand::RemoveMember { conv_id, member_id } => {
                self.chat
                    .remove_member(&self.user, conv_id, member_id)
                    .await?;
                let conversation = self.chat.conversation(&self.user, conv_id).await?;
                Ok(Some(ServerEvent::ConversationUpdated { conversation }))
            }
            ClientCommand::MakeAdmin { conv_id, member_id } => {
                let conversation = self.chat.make_admin(&self.user, conv_id, member_id).await?;
                Ok(Some(ServerEvent::ConversationUpdated { conversation }))
            }
            ClientCommand::LeaveGroup { conv_id } => self.leave_group(conv_id).await,
            ClientCommand::SendMessage {
                conv_id,
                message,
                client_id,
                ..
            } => {
                self.send_message(conv_id, &message.message, client_id.as_deref(), reference)
                    .await
            }
            ClientCommand::JoinConversation {
                conv_id, last_seq, ..
            } => self.join_conversation(conv_id, last_seq).await,
            ClientCommand::Resume { conversations } => self.resume(&conversations).await,
            ClientCommand::Ping {} => Ok(Some(ServerEvent::Pong {})),
            ClientCommand::MarkRead { conv_id, seq, .. } => self.mark_read(conv_id, seq).await,
            ClientCommand::LeaveConversation { conv_id, .. } => self.leave_conversation(conv_id),
            ClientCommand::Typing { conv_id, typing } => {
                self.chat.typing(&self.user, conv_id, typing).await?;
                Ok(None)
            }
        }
    }

    /// `createConversation`: a new conversation is answered on the personal feed, where all
    /// members hear of it, so that this connection sees it once and in order.
    async fn create_conversation(
        &mut self,
        opening: Opening,
        reference: Option<String>,
    ) -> Result<Option<ServerEvent>, ChatError> {
        let opened = self.chat.open(&self.user, opening).await?;
        // The creating connection is in the room at once, so a client that creates and then
        // sends (the seed's flow) hears the replies without `joinConversation`.
        let id = opened.conversation.id;
        if !self.rooms.contains_key(&id) {
            self.join(id, None).await?;
            self.joined_by_create.insert(id);
        }
        if opened.fresh {
            self.creates.insert(id, (reference, opened.conversation));
            return Ok(None);
        }
        Ok(Some(ServerEvent::ConversationCreated {
            conversation: opened.conversation,
        }))
    }

    /// `sendMessage`: stored, then acknowledged at the message's place in the room's order.
    async fn send_message(
        &mut self,
        conv_id: ConversationId,
        text: &str,
        client_id: Option<&str>,
        reference: Option<String>,
    ) -> Result<Option<ServerEvent>, ChatError> {
        // The send goes to the writer and this connection carries on reading and delivering;
        // its answer comes from `next_frame` once the message is committed.
        if self.sending.len() >= MAX_SENDING {
            // Backpressure: wait for the oldest send before taking another.
            if let Some(done) = self.sending.next().await {
                self.finish_send(done);
            }
        }
        let (chat, me) = (self.chat.clone(), self.user.clone());
        let (text, client_id) = (text.to_owned(), client_id.map(str::to_owned));
        *self.sending_to.entry(conv_id).or_default() += 1;
        self.sending.push_back(Box::pin(async move {
            let posted = chat.send(&me, conv_id, &text, client_id.as_deref()).await;
            Sent {
                conv_id,
                reference,
                posted,
            }
        }));
        Ok(None)
    }

    /// Answers a committed (or refused) send: in a joined room the message comes round in
    /// `seq` order — a new one live, a retried one (its ack lost to a disconnect) in the
    /// replay — and is answered there, once; otherwise (not joined, or already delivered
    /// here) at once, through the backlog.
    fn finish_send(&mut self, sent: Sent) {
        let Sent {
            conv_id,
            reference,
            posted,
        } = sent;
        if let Some(count) = self.sending_to.get_mut(&conv_id) {
            *count -= 1;
            if *count == 0 {
                self.sending_to.remove(&conv_id);
                self.held_may_go = true;
            }
        }
        let posted = match posted {
            Ok(posted) => posted,
            Err(error) => {
                if error.is_internal() {
                    tracing::error!(user = %self.user.id(), error = ?error, "send failed");
                }
                self.backlog.push_back(ServerFrame::reply(
                    ServerEvent::Error(ErrorView::from(&error)),
                    reference,
                ));
                return;
            }
        };
        let pending = self
            .delivered
            .get(&conv_id)
            .is_some_and(|delivered| posted.message.seq > *delivered);
        if pending {
            if reference.is_some() {
                self.acks
                    .insert(posted.message.id, (reference, posted.message));
            }
            return;
        }
        if reference.is_none() {
            return;
        }
        // A message queued here but not yet sent: the ack takes its place, so the client never
        // sees the message after its acknowledgement.
        let answer = ServerFrame::reply(
            ServerEvent::MessageSent {
                message: posted.message.clone(),
            },
            reference,
        );
        match self.backlog.iter_mut().find(|frame| {
            matches!(&frame.event, ServerEvent::NewMessage { message } if message.id == posted.message.id)
        }) {
            Some(queued) => *queued = answer,
            None => self.backlog.push_back(answer),
        }
    }

    /// `joinConversation`: with `lastSeq`, replays what came after it first.
    async fn join_conversation(
        &mut self,
        conv_id: ConversationId,
        last_seq: Option<Seq>,
    ) -> Result<Option<ServerEvent>, ChatError> {
        if last_seq.is_some_and(|seq| seq < Seq::ZERO) {
            return Err(ChatError::InvalidPayload(
                "lastSeq must be 0 or more".into(),
            ));
        }
        if self.joined_by_create.remove(&conv_id) {
            // Already in by `createConversation`: what the client asks to replay comes first.
            if let (Some(seq), Some(delivered)) = (last_seq, self.delivered.get_mut(&conv_id))
                && seq < *delivered
            {
                *delivered = seq;
                if !self.behind.contains(&conv_id) {
                    self.behind.push(conv_id);
                }
            }
        } else if self.rooms.contains_key(&conv_id) {
            return Err(ChatError::AlreadyJoined(conv_id));
        } else {
            self.join(conv_id, last_seq).await?;
        }
        Ok(Some(ServerEvent::JoinedConversation {
            conv_id,
            room: conv_id.room(),
        }))
    }

    /// `resume`: joins every conversation not joined yet, replaying what the client lacks —
    /// after its cursor, or all of a conversation it does not know yet.
    async fn resume(&mut self, cursors: &[Cursor]) -> Result<Option<ServerEvent>, ChatError> {
        if cursors.iter().any(|c| c.last_seq < Seq::ZERO) {
            return Err(ChatError::InvalidPayload(
                "lastSeq must be 0 or more".into(),
            ));
        }
        let conversations = self.chat.conversations(&self.user).await?;
        for conversation in &conversations {
            if self.rooms.contains_key(&conversation.id) {
                continue;
            }
            let cursor = cursors
                .iter()
                .find(|c| c.conv_id == conversation.id)
                .map_or(Seq::ZERO, |c| c.last_seq);
            self.join(conversation.id, Some(cursor)).await?;
        }
        Ok(Some(ServerEvent::Resumed { conversations }))
    }

    /// `markRead`: answered now; the other members and connections hear it on their feeds.
    async fn mark_read(
        &mut self,
        conv_id: ConversationId,
        seq: Seq,
    ) -> Result<Option<ServerEvent>, ChatError> {
        let mark = self.chat.mark_read(&self.user, conv_id, seq).await?;
        self.own_reads.insert(conv_id, mark.seq);
        Ok(Some(ServerEvent::ConversationRead {
            conv_id,
            user_id: mark.user_id,
            last_read_seq: mark.seq,
        }))
    }

    /// `leaveGroup`: the caller is no longer a member; this connection leaves the room at
    /// once and answers here (its other connections hear it on the personal feed).
    async fn leave_group(
        &mut self,
        conv_id: ConversationId,
    ) -> Result<Option<ServerEvent>, ChatError> {
        self.chat.leave_group(&self.user, conv_id).await?;
        self.drop_room(conv_id);
        self.told_removed.insert(conv_id);
        Ok(Some(ServerEvent::RemovedFromConversation { conv_id }))
    }

    /// `leaveConversation`: nothing more from the room, not even what was queued; sends still
    /// waiting for their place in it are answered now.
    fn leave_conversation(
        &mut self,
        conv_id: ConversationId,
    ) -> Result<Option<ServerEvent>, ChatError> {
        if !self.drop_room(conv_id) {
            return Err(ChatError::NotJoined(conv_id));
        }
        Ok(Some(ServerEvent::LeftConversation {
            conv_id,
            room: conv_id.room(),
        }))
    }

    /// Leaves a room (if joined; returns whether it was): nothing more from it, not even what
    /// was queued; sends still waiting for their place in it are answered now.
    fn drop_room(&mut self, conv_id: ConversationId) -> bool {
        if self.rooms.remove(&conv_id).is_none() {
            return false;
        }
        self.joined_at.remove(&conv_id);
        self.joined_by_create.remove(&conv_id);
        self.delivered.remove(&conv_id);
        self.behind.retain(|c| *c != conv_id);
        self.held.retain(|m| m.conv_id != conv_id);
        self.backlog.retain(|frame| {
            !matches!(&frame.event, ServerEvent::NewMessage { message } if message.conv_id == conv_id)
        });
        let owed: Vec<MessageId> = self
            .acks
            .iter()
            .filter(|(_, (_, m))| m.conv_id == conv_id)
            .map(|(id, _)| *id)
            .collect();
        for id in owed {
            if let Some((reference, message)) = self.acks.remove(&id) {
                self.backlog.push_back(ServerFrame::reply(
                    ServerEvent::MessageSent { message },
                    reference,
                ));
            }
        }
        true
    }

    /// Subscribes to a room. With `last_seq`, what came after it is replayed from storage
    /// (after the answer to the command), then live messages follow without gap or duplicate.
    async fn join(
        &mut self,
        conv_id: ConversationId,
        last_seq: Option<Seq>,
    ) -> Result<(), ChatError> {
        let (subscription, newest) = self
            .chat
            .subscribe_room(&self.user, conv_id, &self.inbox)
            .await?;
        self.rooms.insert(conv_id, subscription);
        self.joined_at.insert(conv_id, newest);
        match last_seq {
            Some(seq) if seq < newest => {
                self.delivered.insert(conv_id, seq);
                self.behind.push(conv_id);
            }
            _ => {
                self.delivered.insert(conv_id, newest);
            }
        }
        Ok(())
    }

    /// The next frame to push to the client. Cancel-safe: nothing is lost if the future is
    /// dropped before it completes, so it can sit in a `select!` beside the socket's reads.
    ///
    /// This future is what an idle socket waits in, so it stays small: the paths that query
    /// storage (catching up, making a personal event's frame) are boxed, allocated only when
    /// taken.
    pub async fn next_frame(&mut self) -> ServerFrame {
        loop {
            if let Some(frame) = self.backlog.pop_front() {
                if self.backlog.is_empty() {
                    self.ending = self.ending_after_backlog.take();
                }
                return frame;
            }
            if let Some(conversation) = self.behind.first().copied() {
                Box::pin(self.catch_up(conversation)).await;
                continue;
            }
            if self.feed_behind {
                Box::pin(self.catch_up_feed()).await;
                continue;
            }
            if let Some((pos, event)) = self.personal.clone() {
                let frame = Box::pin(self.personal_frame(&event)).await;
                self.personal = None;
                self.feed_pos = pos;
                if let Some(frame) = frame {
                    return frame;
                }
                continue;
            }
            if self.held_may_go {
                match self.ready_held() {
                    Some(message) => {
                        if let Some(frame) = self.deliver(&message, Some(&message.frame)) {
                            return frame;
                        }
                        continue;
                    }
                    None => self.held_may_go = false,
                }
            }
            tokio::select! {
                Some(sent) = self.sending.next(), if !self.sending.is_empty() => {
                    self.finish_send(sent);
                }
                received = self.inbox.recv() => match received {
                    Received::Event(Topic::User(_), HubEvent::Personal { pos, event }) => {
                        if pos <= self.feed_pos {
                            continue;
                        }
                        if pos > self.feed_pos.next() {
                            // A gap (an event this node never fanned out): read it first.
                            self.feed_behind = true;
                            continue;
                        }
                        // Made at the top of the loop, where a drop keeps it for the next call.
                        self.personal = Some((pos, event));
                    }
                    Received::Event(Topic::Room(conversation), HubEvent::Message(message)) => {
                        if !self.rooms.contains_key(&conversation) {
                            // Left since it was queued.
                            continue;
                        }
                        if self.own_in_flight(&message)
                            || self.held.iter().any(|m| m.conv_id == conversation)
                        {
                            self.held.push_back(message);
                            continue;
                        }
                        if let Some(frame) = self.deliver(&message, Some(&message.frame)) {
                            return frame;
                        }
                    }
                    Received::Event(topic, HubEvent::Ephemeral(event)) => {
                        let left = matches!(topic, Topic::Room(id) if !self.rooms.contains_key(&id));
                        if event.about != self.user.id() && !left {
                            return event.frame();
                        }
                    }
                    Received::Event(..) => {}
                    Received::Lagged(Topic::User(_)) => {
                        tracing::debug!(user = %self.user.id(), "personal feed lagged; catching up from storage");
                        self.feed_behind = true;
                    }
                    Received::Lagged(Topic::Room(conversation)) => {
                        tracing::debug!(user = %self.user.id(), %conversation, "lagged; catching up from storage");
                        if self.rooms.contains_key(&conversation) && !self.behind.contains(&conversation) {
                            self.behind.push(conversation);
                        }
                    }
                },
            }
        }
    }

    /// Whether `message` may be one of this connection's sends not answered yet: its own, to a
    /// conversation it is sending to. Such a message waits (in `held`) for the answer, which
    /// then goes out in its place as `messageSent`.
    fn own_in_flight(&self, message: &MessageView) -> bool {
        message.sender_id == self.user.id() && self.sending_to.contains_key(&message.conv_id)
    }

    /// The oldest held message whose conversation has no send of this connection in flight any
    /// more (messages of one conversation leave in the order they came).
    fn ready_held(&mut self) -> Option<Arc<Fanned>> {
        let index = self
            .held
            .iter()
            .position(|m| !self.sending_to.contains_key(&m.conv_id))?;
        let conversation = self.held[index].conv_id;
        if self
            .held
            .iter()
            .take(index)
            .any(|m| m.conv_id == conversation)
        {
            return None;
        }
        self.held.remove(index)
    }

    /// The frame for a room message, or `None` if this connection already delivered it.
    fn deliver(&mut self, message: &MessageView, shared: Option<&Arc<str>>) -> Option<ServerFrame> {
        let delivered = self.delivered.get_mut(&message.conv_id)?;
        if message.seq <= *delivered {
            return None;
        }
        if message.seq > delivered.next() {
            // A gap (a publish we never saw): fill it from storage, in order, first.
            if !self.behind.contains(&message.conv_id) {
                self.behind.push(message.conv_id);
            }
            return None;
        }
        *delivered = message.seq;
        if self.removes_me(message) {
            // The timeline says this user is out, in the room's order: nothing after it reaches
            // this connection, even when the personal event (which says the same) comes later
            // — from another node, through a relay that lost or reordered it.
            let conv_id = message.conv_id;
            self.drop_room(conv_id);
            self.told_removed.insert(conv_id);
            return Some(ServerFrame::broadcast(
                ServerEvent::RemovedFromConversation { conv_id },
            ));
        }
        Some(match self.acks.remove(&message.id) {
            Some((reference, _)) => ServerFrame::reply(
                ServerEvent::MessageSent {
                    message: message.clone(),
                },
                reference,
            ),
            None => {
                let event = ServerEvent::NewMessage {
                    message: message.clone(),
                };
                match shared {
                    Some(encoded) => ServerFrame::shared(event, Arc::clone(encoded)),
                    None => ServerFrame::broadcast(event),
                }
            }
        })
    }

    /// Whether `message` is the timeline entry of this user's removal from (or leaving) its
    /// group, made after this connection joined the room.
    fn removes_me(&self, message: &MessageView) -> bool {
        let Some(event) = &message.event else {
            return false;
        };
        let me = self.user.id();
        let out = match event.change {
            Change::Removed => event.subject.as_ref().is_some_and(|s| s.id == me),
            Change::Left => event.actor.id == me,
            _ => false,
        };
        out && self
            .joined_at
            .get(&message.conv_id)
            .is_some_and(|joined| message.seq > *joined)
    }

    /// The frame a personal event becomes for this connection, if any.
    async fn personal_frame(&mut self, event: &PersonalEvent) -> Option<ServerFrame> {
        match event {
            PersonalEvent::AddedToConversation { conversation } => {
                match self.chat.conversation(&self.user, *conversation).await {
                    Ok(view) => Some(ServerFrame::broadcast(ServerEvent::ConversationCreated {
                        conversation: view,
                    })),
                    // Removed again since: its own event follows.
                    Err(ChatError::NotMember(_)) => None,
                    Err(error) => {
                        if error.is_internal() {
                            tracing::error!(user = %self.user.id(), error = ?error, "loading a conversation joined failed");
                        }
                        None
                    }
                }
            }
            PersonalEvent::RemovedFromConversation { conversation } => {
                // Out of the room at once, before the room's next event (the removal's own
                // entry is published after this).
                self.drop_room(*conversation);
                self.creates.remove(conversation);
                (!self.told_removed.remove(conversation)).then(|| {
                    ServerFrame::broadcast(ServerEvent::RemovedFromConversation {
                        conv_id: *conversation,
                    })
                })
            }
            PersonalEvent::ConversationCreated { conversation } => {
                // The creating connection answers its command here, once and in order.
                let (reference, view) = match self.creates.remove(conversation) {
                    Some((reference, view)) => (reference, view),
                    None => match self.chat.conversation(&self.user, *conversation).await {
                        Ok(view) => (None, view),
                        Err(error) => {
                            if error.is_internal() {
                                tracing::error!(user = %self.user.id(), error = ?error, "loading an announced conversation failed");
                            }
                            return None;
                        }
                    },
                };
                Some(ServerFrame::reply(
                    ServerEvent::ConversationCreated { conversation: view },
                    reference,
                ))
            }
            PersonalEvent::Read {
                conversation,
                user,
                seq,
            } => {
                // This connection already answered its own markRead.
                let answered = *user == self.user.id()
                    && self
                        .own_reads
                        .get(conversation)
                        .is_some_and(|mark| mark >= seq);
                (!answered).then(|| {
                    ServerFrame::broadcast(ServerEvent::ConversationRead {
                        conv_id: *conversation,
                        user_id: *user,
                        last_read_seq: *seq,
                    })
                })
            }
            PersonalEvent::SessionEnded { session } => {
                (*session == self.user.session_id).then(|| {
                    self.ending = Some(Ending::SessionEnded);
                    ServerFrame::broadcast(ServerEvent::Error(ErrorView::from(
                        &ChatError::SessionEnded,
                    )))
                })
            }
        }
    }

    /// Reads one page of the personal feed after the last delivered position into the
    /// backlog. Events no longer kept cannot be replayed: the connection is then told to
    /// resync and ends (the client reconnects and `resume` brings it up to date).
    async fn catch_up_feed(&mut self) {
        match self.chat.feed_after(self.user.id(), self.feed_pos).await {
            Ok(Some(events)) => {
                if events.is_empty() {
                    self.feed_behind = false;
                }
                for (pos, event) in events {
                    if pos != self.feed_pos.next() {
                        continue;
                    }
                    self.feed_pos = pos;
                    if let Some(frame) = self.personal_frame(&event).await {
                        self.backlog.push_back(frame);
                    }
                    if self.ending.is_some() {
                        // Signed out: the error frame goes out last.
                        self.ending_after_backlog = self.ending.take();
                        self.feed_behind = false;
                        return;
                    }
                }
            }
            Ok(None) => {
                tracing::debug!(user = %self.user.id(), "personal feed purged past this connection; ending it");
                for (_, (reference, view)) in self.creates.drain() {
                    self.backlog.push_back(ServerFrame::reply(
                        ServerEvent::ConversationCreated { conversation: view },
                        reference,
                    ));
                }
                let error = ErrorView::from(&ChatError::FellBehind);
                self.backlog
                    .push_back(ServerFrame::broadcast(ServerEvent::Error(error)));
                self.ending_after_backlog = Some(Ending::FellBehind);
                self.feed_behind = false;
            }
            Err(error) => {
                tracing::error!(user = %self.user.id(), error = ?error, "personal feed catch-up failed");
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }

    /// Reads one page of what the room has after the last delivered `seq` into the backlog.
    async fn catch_up(&mut self, conversation: ConversationId) {
        let Some(after) = self.delivered.get(&conversation).copied() else {
            self.behind.retain(|c| *c != conversation);
            return;
        };
        match self.chat.missed_unchecked(conversation, after).await {
            Ok(messages) => {
                if messages.is_empty() {
                    self.behind.retain(|c| *c != conversation);
                }
                let mut messages = messages.into_iter();
                for message in messages.by_ref() {
                    if self.own_in_flight(&message) {
                        // Committed, but its send is not answered yet. With several nodes this
                        // happens: another node's later message comes round first, and the gap
                        // it shows is read from storage before this node's writer has answered.
                        // Delivered now it would go out as `newMessage` and again as the
                        // `messageSent`; held, the answer takes its place. What follows waits
                        // behind it, in order.
                        self.held.push_back(Fanned::new(message));
                        self.held.extend(messages.by_ref().map(Fanned::new));
                        self.held_may_go = true;
                        self.behind.retain(|c| *c != conversation);
                        break;
                    }
                    if let Some(frame) = self.deliver(&message, None) {
                        self.backlog.push_back(frame);
                    }
                }
            }
            Err(error) => {
                tracing::error!(user = %self.user.id(), %conversation, error = ?error, "catch-up failed");
                // Leave the room marked: the next call retries after a pause.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
}
