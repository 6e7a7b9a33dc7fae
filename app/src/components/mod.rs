//! The pieces of the signed-in page: the connection indicator, the sidebar (new conversation
//! form and conversation list) and the open conversation (messages and composer).

pub mod connection;
pub mod conversation;
pub mod sidebar;
