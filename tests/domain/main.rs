//! The chat core's tests, one binary, one module per feature: the core's rules and storage,
//! called directly (no sockets), each test once per engine (SQLite and PostgreSQL) against a
//! database of its own. Modules are `cfg(test)` so that lints treat them as test code (unwrap
//! allowed), as they do unit tests.

#[cfg(test)]
mod auth;
/// The command builders of the server's tests, shared.
#[cfg(test)]
#[allow(dead_code, reason = "the domain tests build only some of the commands")]
#[path = "../../server/tests/support/commands.rs"]
mod commands;
#[cfg(test)]
mod conversations;
#[cfg(test)]
mod delivery;
#[cfg(test)]
mod messages;
#[cfg(test)]
mod read_marks;
#[cfg(test)]
mod relay;
#[cfg(test)]
mod resume;
#[cfg(test)]
mod support;
#[cfg(test)]
mod users;
