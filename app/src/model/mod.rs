//! The client's chat state as plain Rust: what this tab knows about conversations and
//! messages, the requests it has in flight on the socket, and the rules for drafts, time labels
//! and reconnect delays. No Leptos, no browser APIs, so every rule here is unit-tested on the
//! host; the reactive store and the socket task only call into it.

pub mod backoff;
pub mod clock;
pub mod directory;
pub mod draft;
pub mod requests;
pub mod timeline;
