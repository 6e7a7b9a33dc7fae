//! The signed-in person's conversations as the sidebar shows them: who each is with, the
//! newest message, how many are unread, how far the partner has read, most recently active
//! first. Fed by the loaded list, the `resumed` list after each (re)connect,
//! `conversationCreated`, `conversationRead` and every stored message this tab sees. The
//! server's unread count (after the person's read mark) is the truth whenever a list arrives;
//! between lists, partner messages that arrive while the conversation is not open add to it.

use natter::protocol::{
    Change, ConversationId, ConversationKind, ConversationView, MessageView, ReadMark, Seq,
    TimelineEvent, UserId,
};
use time::OffsetDateTime;

/// One conversation in the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub conversation: ConversationView,
    /// The other member's name (the person's own name for a conversation with nobody else).
    pub partner: String,
    pub partner_id: UserId,
    /// Unread messages.
    pub unread: u32,
    /// The partner's read mark: the highest `seq` they have read.
    pub partner_read: Seq,
}

impl Entry {
    pub fn id(&self) -> ConversationId {
        self.conversation.id
    }

    pub fn is_group(&self) -> bool {
        self.conversation.kind == ConversationKind::Group
    }

    /// Follows a group's change as its timeline tells it: members, admins and title.
    fn follow(&mut self, event: &TimelineEvent) {
        let conversation = &mut self.conversation;
        let subject = event.subject.as_ref();
        match event.change {
            Change::Added => {
                if let Some(user) = subject
                    && !conversation.members.iter().any(|m| m.id == user.id)
                {
                    conversation.members.push(user.clone());
                }
            }
            Change::Removed | Change::Left => {
                let gone = match event.change {
                    Change::Left => event.actor.id,
                    _ => subject.map_or(event.actor.id, |user| user.id),
                };
                conversation.members.retain(|m| m.id != gone);
                conversation.admins.retain(|id| *id != gone);
            }
            Change::MadeAdmin | Change::Promoted => {
                if let Some(user) = subject
                    && !conversation.admins.contains(&user.id)
                {
                    conversation.admins.push(user.id);
                }
            }
            Change::Created | Change::Renamed => {
                if let Some(title) = &event.title {
                    conversation.title = Some(title.clone());
                    self.partner.clone_from(title);
                }
            }
        }
    }

    /// The newest stored `seq` known (0 for none).
    pub fn last_seq(&self) -> Seq {
        self.conversation
            .last_message
            .as_ref()
            .map_or(Seq::ZERO, |m| m.seq)
    }

    /// When the conversation last changed: its newest message, else its creation.
    pub fn active_at(&self) -> OffsetDateTime {
        self.conversation
            .last_message
            .as_ref()
            .map_or(self.conversation.created_at, |m| m.created_at)
    }
}

/// Which way to move through the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Previous,
    Next,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directory {
    me: UserId,
    entries: Vec<Entry>,
}

impl Directory {
    pub fn new(me: UserId, conversations: Vec<ConversationView>) -> Self {
        let mut directory = Self {
            me,
            entries: Vec::new(),
        };
        for conversation in conversations {
            directory.upsert(conversation);
        }
        directory
    }

    /// Most recently active first.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, id: ConversationId) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id() == id)
    }

    pub fn ids(&self) -> Vec<ConversationId> {
        self.entries.iter().map(Entry::id).collect()
    }

    /// The newest `seq` known for a conversation (0 for none or unknown).
    pub fn last_seq(&self, id: ConversationId) -> Seq {
        self.get(id).map_or(Seq::ZERO, Entry::last_seq)
    }

    /// Takes in a fresh list from the server: new conversations appear, known ones take the
    /// server's unread count (none for the open one, which is being read) and keep whichever
    /// newest message is newer (a live event may beat the list).
    pub fn merge(&mut self, conversations: Vec<ConversationView>, open: Option<ConversationId>) {
        for conversation in conversations {
            let id = conversation.id;
            let unread = if open == Some(id) {
                0
            } else {
                u32::try_from(conversation.unread).unwrap_or(0)
            };
            self.upsert(conversation);
            if let Some(entry) = self.entries.iter_mut().find(|e| e.id() == id) {
                entry.unread = unread;
            }
        }
    }

    /// Adds or refreshes one conversation; `true` if it is new to the list.
    pub fn upsert(&mut self, mut conversation: ConversationView) -> bool {
        let fresh = match self.entries.iter_mut().find(|e| e.id() == conversation.id) {
            Some(entry) => {
                if entry.last_seq()
                    > conversation
                        .last_message
                        .as_ref()
                        .map_or(Seq::ZERO, |m| m.seq)
                {
                    conversation.last_message = entry.conversation.last_message.take();
                }
                entry.partner_read =
                    entry
                        .partner_read
                        .max(others_read(self.me, &conversation, entry.partner_id));
                if let Some(title) = &conversation.title {
                    // A group renamed.
                    entry.partner.clone_from(title);
                }
                entry.conversation = conversation;
                false
            }
            None => {
                let (partner_id, partner) = partner_of(self.me, &conversation);
                self.entries.push(Entry {
                    partner_read: others_read(self.me, &conversation, partner_id),
                    unread: u32::try_from(conversation.unread).unwrap_or(0),
                    conversation,
                    partner,
                    partner_id,
                });
                true
            }
        };
        self.sort();
        fresh
    }

    /// Takes in a stored message: it becomes the conversation's newest if it is newer, and
    /// counts as unread when it is from the partner and the conversation is not open.
    /// Returns `true` if it was new to the list.
    pub fn record(&mut self, message: &MessageView, open: Option<ConversationId>) -> bool {
        let me = self.me;
        let Some(entry) = self.entries.iter_mut().find(|e| e.id() == message.conv_id) else {
            return false;
        };
        if message.seq <= entry.last_seq() {
            return false;
        }
        entry.conversation.last_message = Some(message.clone());
        if let Some(event) = &message.event {
            entry.follow(event);
        }
        if open != Some(message.conv_id) && message.sender_id != me {
            entry.unread += 1;
        }
        self.sort();
        true
    }

    /// A member's read mark moved: the person's own (read in another tab) clears the unread
    /// count once it covers the newest message; the partner's shows what they have seen.
    pub fn read(&mut self, id: ConversationId, user: UserId, seq: Seq) {
        let me = self.me;
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id() == id) {
            let marks = &mut entry.conversation.read_up_to;
            match marks.iter_mut().find(|mark| mark.user_id == user) {
                Some(mark) => mark.seq = mark.seq.max(seq),
                None => marks.push(ReadMark { user_id: user, seq }),
            }
            if user == me {
                if seq >= entry.last_seq() {
                    entry.unread = 0;
                }
            } else if user == entry.partner_id || entry.is_group() {
                entry.partner_read = entry.partner_read.max(seq);
            }
        }
    }

    /// The person was removed from a conversation (or left it): it leaves the list.
    pub fn remove(&mut self, id: ConversationId) -> Option<Entry> {
        let at = self.entries.iter().position(|e| e.id() == id)?;
        Some(self.entries.remove(at))
    }

    /// The names of the other members who have read a conversation up to `seq` at least
    /// (a group's "Seen by N").
    pub fn seen_by(&self, id: ConversationId, seq: Seq) -> Vec<String> {
        let Some(entry) = self.get(id) else {
            return Vec::new();
        };
        let conversation = &entry.conversation;
        conversation
            .members
            .iter()
            .filter(|member| member.id != self.me && read_mark(conversation, member.id) >= seq)
            .map(|member| member.username.clone())
            .collect()
    }

    /// The person opened the conversation: nothing in it is unread any more.
    pub fn mark_read(&mut self, id: ConversationId) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.id() == id) {
            entry.unread = 0;
        }
    }

    /// The conversation `step` away from `open` in the list (Alt+↑/↓); from none open, the
    /// first one; past either end, none.
    pub fn neighbour(&self, open: Option<ConversationId>, step: Step) -> Option<ConversationId> {
        let Some(at) = open.and_then(|id| self.entries.iter().position(|e| e.id() == id)) else {
            return self.entries.first().map(Entry::id);
        };
        let to = match step {
            Step::Previous => at.checked_sub(1)?,
            Step::Next => at + 1,
        };
        self.entries.get(to).map(Entry::id)
    }

    fn sort(&mut self) {
        self.entries.sort_by(|a, b| {
            b.active_at()
                .cmp(&a.active_at())
                .then_with(|| b.id().cmp(&a.id()))
        });
    }
}

/// The other member and the name to show: their name, or a group's title.
fn partner_of(me: UserId, conversation: &ConversationView) -> (UserId, String) {
    let (id, name) = conversation
        .members
        .iter()
        .find(|m| m.id != me)
        .or_else(|| conversation.members.first())
        .map_or((me, String::new()), |m| (m.id, m.username.clone()));
    (id, conversation.title.clone().unwrap_or(name))
}

/// What "Seen" is measured against: the partner's read mark in a one-to-one conversation, the
/// furthest any other member has read in a group.
fn others_read(me: UserId, conversation: &ConversationView, partner: UserId) -> Seq {
    if conversation.kind == ConversationKind::Group {
        conversation
            .read_up_to
            .iter()
            .filter(|mark| mark.user_id != me)
            .map(|mark| mark.seq)
            .max()
            .unwrap_or(Seq::ZERO)
    } else {
        read_mark(conversation, partner)
    }
}

fn read_mark(conversation: &ConversationView, user: UserId) -> Seq {
    conversation
        .read_up_to
        .iter()
        .find(|mark| mark.user_id == user)
        .map_or(Seq::ZERO, |mark| mark.seq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter::protocol::{ConversationKind, EntryKind, MessageId, UserView};
    use time::Duration;

    const ALICE: UserId = UserId(1);

    fn at(minutes: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::minutes(minutes)
    }

    fn conversation(id: i64, partner: &str, created: i64) -> ConversationView {
        ConversationView {
            id: ConversationId(id),
            room: ConversationId(id).room(),
            members: vec![
                UserView {
                    id: ALICE,
                    username: "alice".into(),
                },
                UserView {
                    id: UserId(10 + id),
                    username: partner.into(),
                },
            ],
            created_at: at(created),
            last_message: None,
            unread: 0,
            read_up_to: Vec::new(),
            presence: Vec::new(),
            kind: ConversationKind::Direct,
            title: None,
            admins: Vec::new(),
        }
    }

    fn message(conv: i64, seq: i64, sender: UserId, minute: i64) -> MessageView {
        let seq = Seq(seq);
        MessageView {
            id: MessageId(conv * 1000 + seq.0),
            conv_id: ConversationId(conv),
            sender_id: sender,
            sender_name: String::new(),
            message: format!("{conv}/{seq}"),
            seq,
            created_at: at(minute),
            client_id: None,
            kind: EntryKind::Message,
            event: None,
        }
    }

    fn partners(directory: &Directory) -> Vec<&str> {
        directory
            .entries()
            .iter()
            .map(|e| e.partner.as_str())
            .collect()
    }

    #[test]
    fn the_list_names_the_other_member_and_puts_the_latest_activity_first() {
        let mut directory = Directory::new(
            ALICE,
            vec![conversation(1, "bob", 1), conversation(2, "carol", 2)],
        );
        assert_eq!(partners(&directory), ["carol", "bob"]);
        assert!(directory.record(&message(1, 1, UserId(11), 5), None));
        assert_eq!(partners(&directory), ["bob", "carol"]);
        assert_eq!(directory.last_seq(ConversationId(1)), Seq(1));
    }

    #[test]
    fn a_group_is_listed_by_its_title_and_renamed_in_place() {
        let mut group = conversation(1, "bob", 1);
        group.kind = ConversationKind::Group;
        group.title = Some("Launch".into());
        let mut directory = Directory::new(ALICE, vec![group.clone(), conversation(2, "carol", 0)]);
        assert_eq!(partners(&directory), ["Launch", "carol"]);
        group.title = Some("Launch week".into());
        assert!(!directory.upsert(group));
        assert_eq!(partners(&directory), ["Launch week", "carol"]);
    }

    #[test]
    fn partner_messages_count_as_unread_only_while_the_conversation_is_closed() {
        let mut directory = Directory::new(ALICE, vec![conversation(1, "bob", 1)]);
        let id = ConversationId(1);
        directory.record(&message(1, 1, UserId(11), 2), None);
        directory.record(&message(1, 2, ALICE, 3), None);
        directory.record(&message(1, 3, UserId(11), 4), Some(id));
        assert_eq!(directory.get(id).map(|e| e.unread), Some(1));
        // A replayed message is not counted twice.
        assert!(!directory.record(&message(1, 1, UserId(11), 2), None));
        directory.mark_read(id);
        assert_eq!(directory.get(id).map(|e| e.unread), Some(0));
    }

    #[test]
    fn a_refreshed_list_keeps_a_newer_live_message_and_the_unread_count() {
        let mut directory = Directory::new(ALICE, vec![conversation(1, "bob", 1)]);
        directory.record(&message(1, 2, UserId(11), 3), None);
        let mut stale = conversation(1, "bob", 1);
        stale.last_message = Some(message(1, 1, UserId(11), 2));
        assert!(!directory.upsert(stale));
        let entry = directory.get(ConversationId(1)).expect("still listed");
        assert_eq!(entry.last_seq(), Seq(2));
        assert_eq!(entry.unread, 1);
        assert!(directory.upsert(conversation(3, "dave", 9)));
        assert_eq!(partners(&directory), ["dave", "bob"]);
    }

    #[test]
    fn the_servers_unread_count_wins_when_a_list_arrives_except_for_the_open_conversation() {
        let mut directory = Directory::new(ALICE, vec![conversation(1, "bob", 1)]);
        directory.record(&message(1, 1, UserId(11), 2), None);
        let mut fresh = conversation(1, "bob", 1);
        fresh.last_message = Some(message(1, 3, UserId(11), 4));
        fresh.unread = 3;
        let mut other = conversation(2, "carol", 1);
        other.unread = 2;
        directory.merge(vec![fresh, other.clone()], Some(ConversationId(2)));
        assert_eq!(directory.get(ConversationId(1)).map(|e| e.unread), Some(3));
        assert_eq!(directory.get(ConversationId(2)).map(|e| e.unread), Some(0));
        // A replayed message after the list is not counted again.
        assert!(!directory.record(&message(1, 2, UserId(11), 3), None));
        assert_eq!(directory.get(ConversationId(1)).map(|e| e.unread), Some(3));
    }

    #[test]
    fn read_marks_clear_unread_and_show_what_the_partner_has_seen() {
        let mut directory = Directory::new(ALICE, vec![conversation(1, "bob", 1)]);
        let id = ConversationId(1);
        directory.record(&message(1, 1, UserId(11), 2), None);
        directory.record(&message(1, 2, UserId(11), 3), None);
        directory.read(id, ALICE, Seq(1));
        assert_eq!(directory.get(id).map(|e| e.unread), Some(2));
        directory.read(id, ALICE, Seq(2));
        assert_eq!(directory.get(id).map(|e| e.unread), Some(0));
        directory.read(id, UserId(11), Seq(2));
        directory.read(id, UserId(11), Seq(1));
        assert_eq!(directory.get(id).map(|e| e.partner_read), Some(Seq(2)));
    }

    #[test]
    fn alt_arrows_move_through_the_list_and_stop_at_its_ends() {
        let directory = Directory::new(
            ALICE,
            vec![conversation(1, "bob", 1), conversation(2, "carol", 2)],
        );
        let (carol, bob) = (Some(ConversationId(2)), Some(ConversationId(1)));
        assert_eq!(directory.neighbour(None, Step::Next), carol);
        assert_eq!(directory.neighbour(carol, Step::Next), bob);
        assert_eq!(directory.neighbour(bob, Step::Previous), carol);
        assert_eq!(directory.neighbour(carol, Step::Previous), None);
        assert_eq!(directory.neighbour(bob, Step::Next), None);
        assert_eq!(
            Directory::new(ALICE, vec![]).neighbour(None, Step::Next),
            None
        );
    }

    #[test]
    fn messages_of_unknown_conversations_are_ignored() {
        let mut directory = Directory::new(ALICE, vec![]);
        assert!(!directory.record(&message(7, 1, UserId(11), 1), None));
        assert!(directory.entries().is_empty());
    }

    #[test]
    fn in_a_group_seen_counts_every_member_who_read_and_a_removal_leaves_the_list() {
        let mut group = conversation(5, "x", 1);
        group.kind = ConversationKind::Group;
        group.title = Some("Launch".into());
        group.members.push(UserView {
            id: UserId(99),
            username: "carol".into(),
        });
        let mut directory = Directory::new(ALICE, vec![group]);
        let id = ConversationId(5);
        assert_eq!(directory.get(id).unwrap().partner, "Launch");
        directory.read(id, UserId(15), Seq(3));
        directory.read(id, UserId(99), Seq(2));
        assert_eq!(
            directory.get(id).unwrap().partner_read,
            Seq(3),
            "the furthest any member read"
        );
        assert_eq!(directory.seen_by(id, Seq(2)), ["x", "carol"]);
        assert_eq!(directory.seen_by(id, Seq(3)), ["x"]);
        assert!(directory.seen_by(id, Seq(4)).is_empty());
        let left = MessageView {
            kind: EntryKind::Event,
            event: Some(Box::new(TimelineEvent {
                change: Change::Left,
                actor: UserView {
                    id: UserId(99),
                    username: "carol".into(),
                },
                subject: None,
                title: None,
            })),
            ..message(5, 4, UserId(99), 30)
        };
        directory.record(&left, None);
        assert_eq!(
            directory.get(id).unwrap().conversation.members.len(),
            2,
            "carol left"
        );
        assert!(directory.remove(id).is_some());
        assert!(directory.get(id).is_none());
    }
}
