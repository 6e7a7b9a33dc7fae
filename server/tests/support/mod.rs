//! The one test harness of the `server` package, shared by the API tests, the fault tests and
//! the bench, each of which includes it with `#[path = "…/support/mod.rs"] mod support;`: a
//! server to talk to — in-process (`app::TestApp`) or child processes of the real binary
//! (`process::ServerProcess`, any number on one database) — the HTTP face both share
//! (`api::Api`, with the one `api::Account` type), the native WebSocket client
//! (`ws::WsClient`), a Socket.IO client that polls and can upgrade (`socketio::SocketIoClient`), a resilient client that reconnects and resumes (`client`) and the tally
//! of what such clients got (`tally`), command builders, and [`until`]. It asserts and
//! panics, with `expect` rather than `unwrap` (the bench is not test code to the lints), and
//! holds no scenario.
#![allow(
    dead_code,
    reason = "each test binary and the bench use a part of the shared harness"
)]

pub mod api;
pub mod app;
pub mod client;
pub mod commands;
pub mod process;
pub mod socketio;
pub mod tally;
pub mod ws;

use std::future::Future;
use std::time::Duration;

/// How often [`until`] looks again.
const RECHECK: Duration = Duration::from_millis(20);

/// Waits until `condition` holds, for at most `limit`; panics after. The one place a test
/// polls, for state that sends no event (a count of live topics, a freed seat, a process that
/// answers its health check): every other wait is for a frame or an answer, under a timeout.
pub async fn until<F, Fut>(limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(RECHECK).await;
    }
}
