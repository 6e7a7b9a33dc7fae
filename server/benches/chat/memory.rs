//! `memory` and `scale`: the server's resident memory fresh, after a restart, and with sockets
//! connected (one per user, or many per user at scale), then joined to a room; the difference
//! per socket.

use std::time::Duration;

use anyhow::ensure;
use futures_util::{StreamExt, TryStreamExt, stream};
use natter::protocol::{ClientCommand, ServerEvent};
use natter::store::Engine;

use crate::options::Plan;
use crate::report::Table;
use crate::setup;
use crate::support::process::ServerProcess;
use crate::support::ws::WsClient;

/// The quiet before each reading: tasks finish, sockets settle.
const SETTLE: Duration = Duration::from_millis(1000);

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let result = memory(plan.sockets, plan.sockets, &[]).await?;
    Ok(footprint_table(
        "memory of the server process, SQLite (KiB)".into(),
        plan.sockets,
        plan.sockets,
        &result,
    ))
}

/// `scale`: as many idle sockets as this process may open (the 19,900 on a machine
/// whose file-descriptor limit is 20,000), for a few users, so that the fixed costs a thousand
/// sockets share are spread thin: what one more socket costs.
pub async fn scale_table(plan: &Plan) -> anyhow::Result<Table> {
    // The bench holds one end of each socket, the server the other: both need the descriptors.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let sockets = plan
        .scale_sockets
        .min(usize::try_from(limit.saturating_sub(100)).unwrap_or(usize::MAX));
    // In pairs, one conversation each.
    let users = (plan.scale_users.min(sockets) & !1).max(2);
    let max = (sockets + 16).to_string();
    let result = memory(users, sockets, &[("NATTER_MAX_CONNECTIONS", &max)]).await?;
    Ok(footprint_table(
        format!("memory at scale, SQLite (KiB): {sockets} sockets of {users} users"),
        users,
        sockets,
        &result,
    ))
}

fn footprint_table(title: String, users: usize, sockets: usize, result: &Footprint) -> Table {
    let per_socket = |kib: u64| (kib.saturating_sub(result.idle.rss)) as f64 / sockets as f64;
    let mut table = Table::new(title, &["VmRSS", "RssAnon", "per socket"]);
    let nan = f64::NAN;
    table.row(
        "fresh start, empty database".into(),
        vec![result.fresh.rss as f64, result.fresh.anon as f64, nan],
    );
    table.row(
        format!("restarted, {users} users, no sockets"),
        vec![result.idle.rss as f64, result.idle.anon as f64, nan],
    );
    table.row(
        format!("{sockets} sockets connected, idle"),
        vec![
            result.connected.rss as f64,
            result.connected.anon as f64,
            per_socket(result.connected.rss),
        ],
    );
    table.row(
        format!("{sockets} sockets, each joined to a room"),
        vec![
            result.joined.rss as f64,
            result.joined.anon as f64,
            per_socket(result.joined.rss),
        ],
    );
    table
}
/// Resident memory of the server process, in KiB.
#[derive(Clone, Copy, Debug)]
struct Rss {
    rss: u64,
    anon: u64,
}

struct Footprint {
    fresh: Rss,
    idle: Rss,
    connected: Rss,
    joined: Rss,
}

/// Registers `users` users in pairs with a conversation each, restarts the server so that
/// sign-up work (argon2 buffers) is not counted, then connects `sockets` sockets, the users
/// taking turns, and joins each to its user's conversation with `resume`.
async fn memory(
    users: usize,
    sockets: usize,
    settings: &[(&str, &str)],
) -> anyhow::Result<Footprint> {
    let server = setup::start_with(Engine::Sqlite, settings).await;
    let fresh = settled_rss(&server).await;
    let accounts = setup::accounts(&server, users).await;
    stream::iter(accounts.chunks(2))
        .map(|pair| server.conversation(&pair[0], &pair[1]))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    server.restart().await;
    let idle = settled_rss(&server).await;
    let mut sockets: Vec<WsClient> = stream::iter(0..sockets)
        .map(|i| server.ws(&accounts[i % users]))
        .buffer_unordered(16)
        .collect()
        .await;
    let connected = settled_rss(&server).await;
    stream::iter(sockets.iter_mut())
        .map(|socket| async move {
            let answer = socket
                .request(
                    ClientCommand::Resume {
                        conversations: vec![],
                    },
                    "resume",
                )
                .await;
            let rooms = match &answer {
                ServerEvent::Resumed { conversations } => conversations.len(),
                _ => 0,
            };
            ensure!(rooms == 1, "resume answered {answer:?}");
            anyhow::Ok(())
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    let joined = settled_rss(&server).await;
    drop(sockets);
    Ok(Footprint {
        fresh,
        idle,
        connected,
        joined,
    })
}

/// Resident memory after a moment of quiet (part of the method: docs/PERFORMANCE.md, "after 1 s
/// of quiet").
async fn settled_rss(server: &ServerProcess) -> Rss {
    tokio::time::sleep(SETTLE).await;
    Rss {
        rss: server.status_kib("VmRSS"),
        anon: server.status_kib("RssAnon"),
    }
}
