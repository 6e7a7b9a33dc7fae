//! Integration tests: the real server on port 0 with a fresh database, driven over real HTTP
//! and WebSocket connections. Declared as one binary so it links once; the modules are
//! `cfg(test)` so that lints treat them as test code (unwrap allowed), as they do unit tests.

#[cfg(test)]
mod abuse;
#[cfg(test)]
mod rest;
#[cfg(test)]
mod socketio;
#[cfg(test)]
#[path = "../support/mod.rs"]
mod support;
#[cfg(test)]
mod ws;
