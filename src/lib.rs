//! natter's shared crate: the wire protocol (always compiled, wasm-safe) and, behind the
//! `server` feature, the chat domain that every transport calls.

pub mod protocol;

#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod chat;
#[cfg(feature = "server")]
pub mod clock;
#[cfg(feature = "server")]
pub mod connection;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod hub;
#[cfg(feature = "server")]
pub mod message;
#[cfg(feature = "server")]
mod presence;
#[cfg(feature = "server")]
pub mod quota;
#[cfg(feature = "server")]
pub mod relay;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
mod sync;
#[cfg(feature = "testing")]
pub mod testdb;
#[cfg(feature = "server")]
mod typing;
#[cfg(feature = "server")]
pub mod user;
#[cfg(feature = "server")]
mod writer;

#[cfg(feature = "server")]
pub use chat::{Chat, ChatConfig, MessageObserver, NewGroup, Opening, Target};
#[cfg(feature = "server")]
pub use connection::{Connection, Ending};
#[cfg(feature = "server")]
pub use error::ChatError;
#[cfg(feature = "server")]
pub use store::Store;
#[cfg(feature = "server")]
pub use user::AuthUser;
