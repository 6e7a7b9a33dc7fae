//! `connects`: authenticated `/ws` connects per second, `plan.connects` sockets opened by 64
//! clients at a time (a crowd reconnecting after a restart), for 100 users.

use std::time::Instant;

use futures_util::{StreamExt, stream};
use natter::store::Engine;

use crate::options::Plan;
use crate::report::Table;
use crate::setup;

/// Upgrades in flight at once.
const CONCURRENCY: usize = 64;
const USERS: usize = 100;

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let mut table = Table::new(
        format!(
            "connects: {} authenticated /ws upgrades, {CONCURRENCY} at a time, {USERS} users",
            plan.connects
        ),
        &["connects/s", "CPU µs/connect"],
    );
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let server = setup::start(engine).await;
        let accounts = setup::accounts(&server, USERS).await;
        let cpu_before = server.cpu_time();
        let started = Instant::now();
        let sockets: Vec<_> = stream::iter(0..plan.connects)
            .map(|i| server.ws(&accounts[i % USERS]))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let elapsed = started.elapsed();
        let cpu = server.cpu_time().saturating_sub(cpu_before);
        drop(sockets);
        table.row(
            format!("{engine:?}"),
            vec![
                plan.connects as f64 / elapsed.as_secs_f64(),
                cpu.as_secs_f64() * 1e6 / plan.connects as f64,
            ],
        );
    }
    Ok(table)
}
