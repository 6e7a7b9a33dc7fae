//! Integration tests: the real server on port 0 with a fresh database, driven over real HTTP
//! and WebSocket connections. Declared as one binary so it links once; the whole binary is
//! `cfg(test)` so that lints treat it as test code (unwrap allowed), as they do unit tests.
#![cfg(test)]

mod abuse;
mod around;
mod groups;
mod push;
mod rest;
mod socketio;
#[path = "../support/mod.rs"]
mod support;
mod ws;
