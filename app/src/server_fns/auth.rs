//! Signing up, in and out, and who is signed in. Sign-up and sign-in set the HttpOnly session
//! cookie (the same one the REST API sets) that authenticates every later server function and
//! the WebSocket; sign-out ends the session on the server and clears the cookie.

use leptos::prelude::*;
use natter::protocol::UserView;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in person, and the limits the UI must respect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: UserView,
    /// The longest message the server accepts, in characters.
    pub max_message_chars: usize,
}

#[cfg(feature = "ssr")]
pub(super) fn session_of(chat: &natter::Chat, user: &natter::user::User) -> Session {
    Session {
        user: UserView::from(user),
        max_message_chars: chat.config().max_message_chars,
    }
}

/// `POST /_sf/session`: the caller's session, or `None` when signed out or the cookie is no
/// longer valid (expired, or the session was ended elsewhere).
#[server(prefix = "/_sf", endpoint = "session")]
pub async fn current_session() -> Result<Option<Session>, AppError> {
    let chat = super::caller::chat();
    match super::caller::authenticate(&chat).await? {
        Ok(me) => Ok(Some(session_of(&chat, &me.user))),
        Err(error) if error.code().ends_session() => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// `POST /_sf/sign_in`: checks the name and password and sets the session cookie.
#[server(prefix = "/_sf", endpoint = "sign_in")]
pub async fn sign_in(username: String, password: String) -> Result<Session, AppError> {
    let chat = super::caller::chat();
    let client = super::caller::client().await?;
    let issued = chat.auth().login(client, &username, &password).await?;
    super::caller::set_cookie(&chat.auth().session_cookie(&issued.token))?;
    Ok(session_of(&chat, &issued.user))
}

/// `POST /_sf/sign_up`: creates the account (the core checks the name and password rules)
/// and signs it in.
#[server(prefix = "/_sf", endpoint = "sign_up")]
pub async fn sign_up(username: String, password: String) -> Result<Session, AppError> {
    let chat = super::caller::chat();
    let client = super::caller::client().await?;
    let issued = chat.auth().register(client, &username, &password).await?;
    super::caller::set_cookie(&chat.auth().session_cookie(&issued.token))?;
    Ok(session_of(&chat, &issued.user))
}

/// `POST /_sf/sign_out`: ends the caller's session (its token stops working on every
/// transport) and clears the cookie. Signing out while signed out just clears the cookie.
#[server(prefix = "/_sf", endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let chat = super::caller::chat();
    match super::caller::authenticate(&chat).await? {
        Ok(me) => chat.logout(&me).await?,
        Err(error) if error.code().ends_session() => {}
        Err(other) => return Err(other.into()),
    }
    super::caller::set_cookie(&chat.auth().cleared_cookie())
}
