//! The chat core's tests, one binary, one module per feature: the core's rules and storage,
//! called directly (no sockets), each test once per engine (SQLite and PostgreSQL) against a
//! database of its own. The binary is `cfg(test)` so that lints treat it as test code (unwrap
//! allowed), as they do unit tests.
#![cfg(test)]

mod around;
mod auth;
/// The command builders of the server's tests, shared.
#[allow(dead_code, reason = "the domain tests build only some of the commands")]
#[path = "../../server/tests/support/commands.rs"]
mod commands;
mod conversations;
mod delivery;
mod groups;
mod messages;
mod push;
mod read_marks;
mod relay;
mod resume;
mod support;
mod users;
