//! The pieces of the signed-in page: the connection indicator, the sidebar (new conversation
//! form and conversation list), the open conversation (messages and composer), and the
//! keyboard shortcuts with their conversation switcher.

pub mod connection;
pub mod conversation;
pub mod group;
pub mod people;
pub mod settings;
pub mod shortcuts;
pub mod sidebar;
