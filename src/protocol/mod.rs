//! The wire contract: every frame and DTO that crosses a socket, REST or a server function.
//!
//! Compiled everywhere (server, wasm UI, tests), so it depends on nothing but serde, time and
//! serde_json. It owns names and shapes only; it decides no domain rule (lengths, membership),
//! which the `server` feature's core checks once for every transport.
//!
//! Frames are `{"event": "<name>", "data": {…}, "ref": "<optional client string>"}`. A command
//! that carries `ref` is answered by exactly one frame with the same `ref`; broadcasts carry none.
//!
//! - `ids`: user, conversation and message ids, and `Seq`;
//! - `views`: users, messages, conversations and read marks as clients see them;
//! - `events`: client commands and server events;
//! - `frame`: encoding and decoding frames, with `ref`;
//! - `errors`: error codes and the `{code, message}` body;
//! - `api`: REST request and response bodies;
//! - `limits`: the rules both the UI and the core apply to names, passwords and messages.

mod api;
mod errors;
mod events;
mod frame;
mod ids;
pub mod limits;
mod views;

pub use api::*;
pub use errors::*;
pub use events::*;
pub use frame::*;
pub use ids::*;
pub use views::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_protocol_lists_every_event_and_error_code() {
        let doc = include_str!("../../docs/PROTOCOL.md");
        for event in ClientCommand::EVENTS {
            assert!(
                doc.contains(&format!("`{event}`")),
                "docs/PROTOCOL.md lacks command {event}"
            );
        }
        for code in ErrorCode::ALL {
            assert!(
                doc.contains(&format!("`{code}`")),
                "docs/PROTOCOL.md lacks error code {code}"
            );
        }
        for event in [
            "conversationCreated",
            "newMessage",
            "messageSent",
            "joinedConversation",
            "leftConversation",
            "resumed",
            "conversationRead",
            "pong",
            "conversationUpdated",
            "removedFromConversation",
            "error",
        ] {
            assert!(
                doc.contains(&format!("`{event}`")),
                "docs/PROTOCOL.md lacks event {event}"
            );
        }
    }
}
