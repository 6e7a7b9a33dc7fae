//! Groups in the chat core: creating one and each change of its title or members, with every
//! rule of who may do what decided here, once, for every transport. Each change is read and
//! written in one transaction (`Store::change_group`), which adds its timeline entries (at the
//! conversation's next `seq`, like messages) and the personal events of whoever joined or left.
//!
//! Rules: a group has a title (1 to 100 characters after trimming) and at least two members, at
//! most `max_group_members`; its creator is an admin; admins rename, add, remove and make
//! admins; anyone may leave, and when the last admin leaves, the longest-standing member left
//! becomes one. A stranger is refused `notMember` before anything else is said; a member of a
//! one-to-one conversation is refused `notGroup`; a member who is not an admin, `notAdmin`.

use super::{Chat, Opened, Target};
use crate::error::ChatError;
use crate::protocol::limits;
use crate::protocol::{
    Change, ConversationId, ConversationKind, ConversationView, TimelineEvent, UserId, UserView,
};
use crate::store::{GroupChange, GroupMember, GroupState, Plan};
use crate::user::{AuthUser, User, UserName};

/// A group to create: its title and the other members, by id and/or by name (the creator may
/// be named too; duplicates count once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewGroup {
    pub title: String,
    pub member_ids: Vec<UserId>,
    pub usernames: Vec<String>,
}

/// What a `createConversation` (or `POST /api/conversations`) asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opening {
    /// The one-to-one conversation with this user.
    Direct(Target),
    Group(NewGroup),
}

impl Opening {
    /// A group when any of `title`, `memberIds`, `usernames` is given (and then neither
    /// `user2_id` nor `username`), else one-to-one.
    pub fn from_parts(
        user2_id: Option<UserId>,
        username: Option<String>,
        title: Option<String>,
        member_ids: Option<Vec<UserId>>,
        usernames: Option<Vec<String>>,
    ) -> Result<Self, ChatError> {
        if title.is_none() && member_ids.is_none() && usernames.is_none() {
            return Target::from_parts(user2_id, username).map(Self::Direct);
        }
        if user2_id.is_some() || username.is_some() {
            return Err(ChatError::InvalidPayload(
                "a group takes `title` with `memberIds` and/or `usernames`, not `user2_id` or \
                 `username`"
                    .into(),
            ));
        }
        Ok(Self::Group(NewGroup {
            title: title.unwrap_or_default(),
            member_ids: member_ids.unwrap_or_default(),
            usernames: usernames.unwrap_or_default(),
        }))
    }
}

/// The title as stored (trimmed), or `invalidTitle`.
fn parse_title(raw: &str) -> Result<String, ChatError> {
    limits::check_title(raw)
        .map(str::to_owned)
        .ok_or(ChatError::InvalidTitle {
            max: limits::GROUP_TITLE_MAX_CHARS,
        })
}

fn entry(
    change: Change,
    actor: &User,
    subject: Option<&User>,
    title: Option<&str>,
) -> TimelineEvent {
    TimelineEvent {
        change,
        actor: UserView::from(actor),
        subject: subject.map(UserView::from),
        title: title.map(str::to_owned),
    }
}

/// `actor`'s place in the group: a member of a group, else refused.
fn member_of(group: &GroupState, actor: UserId) -> Result<&GroupMember, ChatError> {
    let member = group.member(actor).ok_or(ChatError::NotMember(group.id))?;
    if group.kind != ConversationKind::Group {
        return Err(ChatError::NotGroup(group.id));
    }
    Ok(member)
}

/// `actor` as an admin of the group, else refused.
fn admin_of(group: &GroupState, actor: UserId) -> Result<&User, ChatError> {
    let member = member_of(group, actor)?;
    if !member.admin {
        return Err(ChatError::NotAdmin(group.id));
    }
    Ok(&member.user)
}

/// `user` as a member of the group, else `memberNotFound`.
fn subject_in(group: &GroupState, user: UserId) -> Result<&GroupMember, ChatError> {
    group.member(user).ok_or(ChatError::MemberNotFound {
        conversation: group.id,
        user,
    })
}

impl Chat {
    /// Opens what `opening` asks for: the one-to-one conversation (found or created) or a new
    /// group.
    pub async fn open(&self, me: &AuthUser, opening: Opening) -> Result<Opened, ChatError> {
        match opening {
            Opening::Direct(target) => self.open_conversation(me, target).await,
            Opening::Group(group) => self.create_group(me, group).await,
        }
    }

    /// Creates a group of the caller (its admin) and the members named, announced to all of
    /// them (`conversationCreated`); its timeline starts with a `created` entry. Counts
    /// against the caller's quota of new conversations.
    pub async fn create_group(&self, me: &AuthUser, group: NewGroup) -> Result<Opened, ChatError> {
        let title = parse_title(&group.title)?;
        let max = self.inner.config.max_group_members;
        let too_many = ChatError::TooManyMembers { max };
        if group.member_ids.len() + group.usernames.len() > 2 * max {
            // More names than duplicates explain: refused before a look-up for each.
            return Err(too_many);
        }
        let mut others: Vec<User> = Vec::new();
        let named = group
            .member_ids
            .into_iter()
            .map(Target::Id)
            .chain(group.usernames.into_iter().map(Target::Name));
        for target in named {
            let user = self.find_user(target).await?;
            if user.id != me.id() && !others.iter().any(|o| o.id == user.id) {
                others.push(user);
            }
        }
        if others.is_empty() {
            return Err(ChatError::InvalidPayload(
                "a group needs at least one other member: name them in `memberIds` or \
                 `usernames`"
                    .into(),
            ));
        }
        if others.len() + 1 > max {
            return Err(too_many);
        }
        self.inner.new_conversations.check(&me.id()).await?;
        let created = entry(Change::Created, &me.user, None, Some(&title));
        let change = self
            .inner
            .store
            .create_group(&me.user, &title, &others, created)
            .await?;
        self.publish_change(&change);
        Ok(Opened {
            conversation: self.load(change.id, me.id()).await?,
            fresh: true,
        })
    }

    /// An admin renames a group (to the same title: nothing happens). Returns the group.
    pub async fn rename_group(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        title: &str,
    ) -> Result<ConversationView, ChatError> {
        let title = parse_title(title)?;
        let change = self
            .inner
            .store
            .change_group(conversation, me.id(), |group| {
                let actor = admin_of(group, me.id())?;
                if group.title.as_deref() == Some(title.as_str()) {
                    return Ok(Plan::default());
                }
                Ok(Plan {
                    entries: vec![entry(Change::Renamed, actor, None, Some(&title))],
                    title: Some(title.clone()),
                    ..Plan::default()
                })
            })
            .await?;
        self.publish_change(&change);
        self.load(conversation, me.id()).await
    }

    /// An admin adds a user to a group; the new member hears of it on every connection
    /// (`conversationCreated`) and may read the whole history. Returns the group.
    pub async fn add_member(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        target: Target,
    ) -> Result<ConversationView, ChatError> {
        let user = match self.find_user(target).await {
            Ok(user) => user,
            // A stranger is told `notMember` whoever they name, as for every other change.
            Err(error) => {
                self.check_member(me, conversation).await?;
                return Err(error);
            }
        };
        let max = self.inner.config.max_group_members;
        let change = self
            .inner
            .store
            .change_group(conversation, me.id(), |group| {
                let actor = admin_of(group, me.id())?;
                if group.member(user.id).is_some() {
                    return Err(ChatError::AlreadyMember {
                        conversation,
                        user: user.id,
                    });
                }
                if group.members.len() >= max {
                    return Err(ChatError::TooManyMembers { max });
                }
                Ok(Plan {
                    add: Some(user.id),
                    entries: vec![entry(Change::Added, actor, Some(&user), None)],
                    ..Plan::default()
                })
            })
            .await?;
        self.publish_change(&change);
        self.load(conversation, me.id()).await
    }

    /// An admin removes a member (naming oneself is leaving): the removed member's
    /// connections leave the room and get `removedFromConversation`, and from then on reading,
    /// sending and joining are refused (`notMember`).
    pub async fn remove_member(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<(), ChatError> {
        if user == me.id() {
            return self.leave_group(me, conversation).await;
        }
        let change = self
            .inner
            .store
            .change_group(conversation, me.id(), |group| {
                let actor = admin_of(group, me.id())?;
                let subject = subject_in(group, user)?;
                Ok(Plan {
                    remove: Some(user),
                    entries: vec![entry(Change::Removed, actor, Some(&subject.user), None)],
                    ..Plan::default()
                })
            })
            .await?;
        self.publish_change(&change);
        Ok(())
    }

    /// An admin makes a member an admin too (one already an admin: nothing happens). Returns
    /// the group.
    pub async fn make_admin(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
        user: UserId,
    ) -> Result<ConversationView, ChatError> {
        let change = self
            .inner
            .store
            .change_group(conversation, me.id(), |group| {
                let actor = admin_of(group, me.id())?;
                let subject = subject_in(group, user)?;
                if subject.admin {
                    return Ok(Plan::default());
                }
                Ok(Plan {
                    admins: vec![user],
                    entries: vec![entry(Change::MadeAdmin, actor, Some(&subject.user), None)],
                    ..Plan::default()
                })
            })
            .await?;
        self.publish_change(&change);
        self.load(conversation, me.id()).await
    }

    /// The caller leaves a group, as a removed member does. When they were its last admin,
    /// the longest-standing member left becomes one (a `promoted` entry after `left`).
    pub async fn leave_group(
        &self,
        me: &AuthUser,
        conversation: ConversationId,
    ) -> Result<(), ChatError> {
        let change = self
            .inner
            .store
            .change_group(conversation, me.id(), |group| {
                let leaver = member_of(group, me.id())?;
                let mut plan = Plan {
                    remove: Some(me.id()),
                    entries: vec![entry(Change::Left, &leaver.user, None, None)],
                    ..Plan::default()
                };
                let others = || group.members.iter().filter(|m| m.user.id != me.id());
                if leaver.admin
                    && !others().any(|m| m.admin)
                    && let Some(heir) = others().next()
                {
                    plan.admins.push(heir.user.id);
                    plan.entries.push(entry(
                        Change::Promoted,
                        &leaver.user,
                        Some(&heir.user),
                        None,
                    ));
                }
                Ok(plan)
            })
            .await?;
        self.publish_change(&change);
        Ok(())
    }

    /// The user `target` names, or `userNotFound`.
    pub(crate) async fn find_user(&self, target: Target) -> Result<User, ChatError> {
        match &target {
            Target::Id(id) => self.inner.store.user(*id).await?,
            Target::Name(name) => match UserName::parse(name) {
                Ok(name) => self.inner.store.user_by_name(&name).await?,
                Err(_) => None,
            },
        }
        .ok_or_else(|| {
            ChatError::UserNotFound(match target {
                Target::Id(id) => format!("with id {id}"),
                Target::Name(name) => format!("named {name:?}"),
            })
        })
    }

    /// Fans out a committed change: the personal events first (a removed member's connections
    /// leave the room before its entry arrives there), then the entries, in `seq` order.
    fn publish_change(&self, change: &GroupChange) {
        for (user, pos, event) in &change.announced {
            self.publish_personal(*user, *pos, event.clone());
        }
        for message in &change.entries {
            self.inner.publish_message(message);
        }
    }
}
