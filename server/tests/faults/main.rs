//! Fault tests: the real `server` binary as a child process, killed with SIGKILL and restarted,
//! clients dropping and reconnecting, a client that stops reading. They check the delivery
//! guarantees of docs/PROTOCOL.md — acked means durable, exactly once, in order, resume — and
//! print what they counted. Bounded in time; loopback only. The binary is `cfg(test)` so
//! lints treat it as test code.
#![cfg(test)]

mod scenarios;
#[path = "../support/mod.rs"]
mod support;
