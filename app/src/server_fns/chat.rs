//! Loading what the UI shows: the conversation list, pages of history, user suggestions, and
//! starting a conversation by name. Every function acts as the authenticated caller; the core
//! checks membership.

use leptos::prelude::*;
use natter::protocol::{
    ConversationId, ConversationView, MessagePage, MessageView, Seq, Settings, UserId, UserView,
};

use crate::error::AppError;

/// Messages per history page.
pub const HISTORY_PAGE: i64 = natter::protocol::limits::DEFAULT_PAGE;
/// Most suggestions shown for a partial name.
pub const SUGGESTIONS: i64 = 6;

/// `POST /_sf/conversations`: the caller's conversations, most recently active first.
#[server(prefix = "/_sf", endpoint = "conversations")]
pub async fn list_conversations() -> Result<Vec<ConversationView>, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.conversations(&me).await?)
}

/// `POST /_sf/history`: a page of a conversation's messages, oldest first: the newest page,
/// or the one before `seq` `before`.
#[server(prefix = "/_sf", endpoint = "history")]
pub async fn load_history(
    conversation: ConversationId,
    before: Option<Seq>,
) -> Result<MessagePage, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat
        .history(&me, conversation, before, Some(HISTORY_PAGE))
        .await?)
}

/// `POST /_sf/conversation`: one of the caller's conversations as it is now: its members and
/// what the caller may know of their presence.
#[server(prefix = "/_sf", endpoint = "conversation")]
pub async fn load_conversation(conversation: ConversationId) -> Result<ConversationView, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.conversation(&me, conversation).await?)
}

/// `POST /_sf/users`: people whose name starts with `query`, not the caller.
#[server(prefix = "/_sf", endpoint = "users")]
pub async fn find_users(query: String) -> Result<Vec<UserView>, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.search_users(&me, &query, SUGGESTIONS).await?)
}

/// `POST /_sf/send`: stores a message from the caller. The composer is a form that posts here
/// when it is used before the WASM has loaded (the browser is then sent back to the
/// conversation, where the message is in the history); once hydrated, the composer sends over
/// the WebSocket through the outbox instead. `client_id` makes a repeated post — a form
/// submitted twice, or resubmitted from the browser's history — store the message once.
#[server(prefix = "/_sf", endpoint = "send")]
pub async fn send_message(
    conversation: ConversationId,
    message: String,
    client_id: String,
) -> Result<MessageView, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat
        .send(&me, conversation, &message, Some(&client_id))
        .await?
        .message)
}

/// `POST /_sf/start`: the caller's conversation with `username`, created (and announced to
/// both people's sockets) if it is new; `userNotFound` for a name nobody has.
#[server(prefix = "/_sf", endpoint = "start")]
pub async fn start_conversation(username: String) -> Result<ConversationView, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    let opened = chat
        .open_conversation(&me, natter::Target::Name(username.trim().to_owned()))
        .await?;
    Ok(opened.conversation)
}

/// `POST /_sf/group`: a new group of the caller (its admin) and the people named in
/// `usernames` (separated by commas or spaces), announced to all of them.
#[server(prefix = "/_sf", endpoint = "group")]
pub async fn start_group(title: String, usernames: String) -> Result<ConversationView, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    let group = natter::NewGroup {
        title,
        member_ids: Vec::new(),
        usernames: split_names(&usernames),
    };
    Ok(chat.create_group(&me, group).await?.conversation)
}

/// `POST /_sf/leave`: the caller leaves a group; every one of their connections is told
/// (`removedFromConversation`) and the others see a "left" entry.
#[server(prefix = "/_sf", endpoint = "leave")]
pub async fn leave_group(conversation: ConversationId) -> Result<(), AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.leave_group(&me, conversation).await?)
}

/// `POST /_sf/rename`: an admin renames a group; the members see a "renamed" entry.
#[server(prefix = "/_sf", endpoint = "rename")]
pub async fn rename_group(
    conversation: ConversationId,
    title: String,
) -> Result<ConversationView, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.rename_group(&me, conversation, &title).await?)
}

/// `POST /_sf/add_member`: an admin adds the person named `username` to a group; they get it
/// on every connection at once.
#[server(prefix = "/_sf", endpoint = "add_member")]
pub async fn add_group_member(
    conversation: ConversationId,
    username: String,
) -> Result<ConversationView, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    let name = username.trim().trim_start_matches('@').to_owned();
    Ok(chat
        .add_member(&me, conversation, natter::Target::Name(name))
        .await?)
}

/// `POST /_sf/remove_member`: an admin removes a member from a group; the member loses it on
/// every connection at once.
#[server(prefix = "/_sf", endpoint = "remove_member")]
pub async fn remove_group_member(
    conversation: ConversationId,
    user: UserId,
) -> Result<(), AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.remove_member(&me, conversation, user).await?)
}

/// `POST /_sf/make_admin`: an admin makes a member an admin too.
#[server(prefix = "/_sf", endpoint = "make_admin")]
pub async fn make_group_admin(
    conversation: ConversationId,
    user: UserId,
) -> Result<ConversationView, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.make_admin(&me, conversation, user).await?)
}

/// `POST /_sf/settings`: what the caller shares with the people they talk to.
#[server(prefix = "/_sf", endpoint = "settings")]
pub async fn load_settings() -> Result<Settings, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    Ok(chat.settings(&me).await?)
}

/// `POST /_sf/save_settings`: changes what the caller shares; the people they talk to are told
/// at once when their presence is hidden or shown again.
#[server(prefix = "/_sf", endpoint = "save_settings")]
pub async fn save_settings(share_presence: bool, share_typing: bool) -> Result<Settings, AppError> {
    let chat = super::caller::chat();
    let me = super::caller::require(&chat).await?;
    let wanted = Settings {
        share_presence,
        share_typing,
    };
    Ok(chat.set_settings(&me, wanted).await?)
}

/// The names in what the person typed: separated by commas or white space, a leading `@`
/// dropped.
pub fn split_names(typed: &str) -> Vec<String> {
    typed
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|name| name.trim_start_matches('@'))
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_split_on_commas_and_spaces() {
        assert_eq!(
            super::split_names(" bob, @carol  dave,,"),
            ["bob", "carol", "dave"]
        );
        assert!(super::split_names(" , ").is_empty());
    }
}
