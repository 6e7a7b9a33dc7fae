//! What every scenario shares: the server as the bench starts it, accounts in bulk, and
//! numbered sends whose acks and deliveries name the send they answer.

use anyhow::{Context, bail};
use futures_util::{StreamExt, stream};
use natter::protocol::{ClientFrame, ConversationId, ServerEvent, UserId};
use natter::store::Engine;

use crate::support::api::Account;
use crate::support::commands;
use crate::support::process::{Launch, ServerProcess};
use crate::support::ws::WsClient;

/// The server binary Cargo built with this bench, or `NATTER_BENCH_SERVER` to compare builds.
pub fn server_binary() -> String {
    std::env::var("NATTER_BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_server").into())
}

/// A new server process on a new database of `engine`: the harness's defaults (no quotas),
/// no cap on one user's sockets (the latency section gives one user 50), and every `NATTER_*`
/// setting of the bench's environment (e.g. `NATTER_ROOM_BUFFER=16`), to compare
/// configurations.
pub async fn start(engine: Engine) -> ServerProcess {
    start_with(engine, &[]).await
}

/// [`start`] with more settings, which the bench's environment can still override.
pub async fn start_with(engine: Engine, settings: &[(&str, &str)]) -> ServerProcess {
    let launch = Launch::default()
        .binary(server_binary())
        .env("NATTER_MAX_USER_CONNECTIONS", "0")
        .envs(settings);
    std::env::vars()
        .filter(|(key, _)| {
            key.starts_with("NATTER_")
                && !key.starts_with("NATTER_BENCH_")
                && !["NATTER_ADDR", "NATTER_DATA_DIR"].contains(&key.as_str())
        })
        .fold(launch, |launch, (key, value)| launch.env(key, value))
        .start(engine)
        .await
}

/// `count` accounts, `user0`…, registered a few at a time.
pub async fn accounts(server: &ServerProcess, count: usize) -> Vec<Account> {
    stream::iter(0..count)
        .map(|i| async move { server.register(&format!("user{i}")).await })
        .buffered(4)
        .collect()
        .await
}

/// `count` pairs of new users, each pair in its own conversation with one socket per member
/// joined to it: (conversation, the first member's socket, the second's).
pub async fn pairs(
    server: &ServerProcess,
    count: usize,
) -> anyhow::Result<Vec<(ConversationId, [UserId; 2], WsClient, WsClient)>> {
    let accounts = accounts(server, count * 2).await;
    let mut pairs = Vec::new();
    for pair in accounts.chunks(2) {
        let conv = server.conversation(&pair[0], &pair[1]).await.id;
        let mut first = server.ws(&pair[0]).await;
        let mut second = server.ws(&pair[1]).await;
        join(&mut first, conv).await?;
        join(&mut second, conv).await?;
        pairs.push((conv, [pair[0].id, pair[1].id], first, second));
    }
    Ok(pairs)
}

pub async fn join(socket: &mut WsClient, conv: ConversationId) -> anyhow::Result<()> {
    match socket.request(commands::join(conv), "join").await {
        ServerEvent::JoinedConversation { .. } => Ok(()),
        other => bail!("join answered {other:?}"),
    }
}

/// Send number `i`: ref `s<i>` and client id `m<i>`, so acks and deliveries name their send.
pub fn send_frame(conv: ConversationId, i: usize) -> ClientFrame {
    ClientFrame::new(
        commands::send(conv, &body(i), Some(&format!("m{i}"))),
        Some(format!("s{i}")),
    )
}

pub fn body(i: usize) -> String {
    format!("message {i}: the quick brown fox jumps over the lazy dog")
}

/// The send number in a ref (`s<i>`) or client id (`m<i>`).
pub fn index_of(tag: Option<&str>) -> anyhow::Result<usize> {
    tag.and_then(|t| t.get(1..))
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("not a bench send: {tag:?}"))
}
