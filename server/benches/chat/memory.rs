//! `memory`: the server's resident memory fresh, after a restart, and with one socket per user
//! connected, then joined to a room; the difference per socket.

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
    let result = memory(plan).await?;
    let per_socket = |kib: u64| (kib.saturating_sub(result.idle.rss)) as f64 / plan.sockets as f64;
    let mut table = Table::new(
        "memory of the server process, SQLite (KiB)".into(),
        &["VmRSS", "RssAnon", "per socket"],
    );
    let nan = f64::NAN;
    table.row(
        "fresh start, empty database".into(),
        vec![result.fresh.rss as f64, result.fresh.anon as f64, nan],
    );
    table.row(
        format!("restarted, {} users, no sockets", plan.sockets),
        vec![result.idle.rss as f64, result.idle.anon as f64, nan],
    );
    table.row(
        format!("{} sockets connected, idle", plan.sockets),
        vec![
            result.connected.rss as f64,
            result.connected.anon as f64,
            per_socket(result.connected.rss),
        ],
    );
    table.row(
        format!("{} sockets, each joined to a room", plan.sockets),
        vec![
            result.joined.rss as f64,
            result.joined.anon as f64,
            per_socket(result.joined.rss),
        ],
    );
    Ok(table)
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

/// Registers `plan.sockets` users in pairs with a conversation each, restarts the server so
/// that sign-up work (argon2 buffers) is not counted, then connects one socket per user and
/// joins each to its conversation with `resume`.
async fn memory(plan: &Plan) -> anyhow::Result<Footprint> {
    let server = setup::start(Engine::Sqlite).await;
    let fresh = settled_rss(&server).await;
    let accounts = setup::accounts(&server, plan.sockets).await;
    stream::iter(accounts.chunks(2))
        .map(|pair| server.conversation(&pair[0], &pair[1]))
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    server.restart().await;
    let idle = settled_rss(&server).await;
    let mut sockets: Vec<WsClient> = stream::iter(&accounts)
        .map(|account| server.ws(account))
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
