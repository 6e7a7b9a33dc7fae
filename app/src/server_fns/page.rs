//! The data of a page's first render, in one call: who is signed in, their conversations, and
//! the newest messages of the conversation in the address. Loaded once per page (on the
//! server, then handed to the browser with the HTML), so hydration sees exactly what the
//! server rendered; everything after that is loaded by the browser as it needs it.

use leptos::prelude::*;
use natter::protocol::{ConversationId, ConversationView, ErrorView, MessagePage};
use serde::{Deserialize, Serialize};

use super::Session;
use crate::error::AppError;

/// What the first render of `/` or `/c/:id` shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageData {
    /// `None` when signed out (then nothing else is loaded).
    pub session: Option<Session>,
    pub conversations: Vec<ConversationView>,
    /// The newest page of the conversation in the address, or why it cannot be shown
    /// (no such conversation, not a member).
    pub history: Option<(ConversationId, Result<MessagePage, ErrorView>)>,
}

/// `POST /_sf/page`: the first render's data for the caller, with the newest history page of
/// `conversation` when the address names one.
#[server(prefix = "/_sf", endpoint = "page")]
pub async fn load_page(conversation: Option<ConversationId>) -> Result<PageData, AppError> {
    let chat = super::caller::chat();
    let me = match super::caller::authenticate(&chat).await? {
        Ok(me) => me,
        Err(error) if error.code().ends_session() => return Ok(PageData::default()),
        Err(other) => return Err(other.into()),
    };
    let conversations = chat.conversations(&me).await?;
    let history = match conversation {
        None => None,
        Some(id) => match chat.history(&me, id, None, Some(super::HISTORY_PAGE)).await {
            Ok(page) => Some((id, Ok(page))),
            Err(error) if error.is_internal() => return Err(error.into()),
            Err(error) => Some((id, Err(ErrorView::from(&error)))),
        },
    };
    Ok(PageData {
        session: Some(super::auth::session_of(&chat, &me.user)),
        conversations,
        history,
    })
}
