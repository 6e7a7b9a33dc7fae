//! The client's chat state as plain Rust: what this tab knows about conversations and
//! messages, the person's outbox of unconfirmed sends, the requests it has in flight on the
//! socket, and the rules for drafts, time labels and reconnect delays. No Leptos, no browser
//! APIs, so every rule here is unit-tested on the host; the reactive store, the socket task and
//! the browser storage only call into it.

pub mod around;
pub mod backoff;
pub mod clock;
pub mod directory;
pub mod draft;
pub mod markup;
pub mod outbox;
pub mod requests;
pub mod timeline;
