//! natter's benchmark: the release server binary runs as a child process on a fresh database and
//! this process drives it over real sockets on loopback, as clients would. It measures what a
//! user feels and what an operator pays:
//!
//! - `latency`: send → `messageSent` and send → `newMessage` over `/ws`, at a fixed low rate (so
//!   it measures the path, not a queue), with 2 and with 50 listening sockets in the room;
//! - `rest`: `POST /api/conversations/{id}/messages` round trips at the same rate;
//! - `throughput`: messages committed and fanned out per second by concurrent senders in
//!   separate conversations, each keeping a window of sends in flight, on SQLite and PostgreSQL;
//! - `knee`: the highest total rate user pairs can send at, open loop in growing steps, while
//!   every message arrives and p99 send → receipt stays within 100 ms (the load test);
//! - `pairs`: send → receipt at an everyday load, 500 pairs whose members each send one message
//!   a second;
//! - `connects`: authenticated `/ws` connects per second by a crowd of clients;
//! - `memory`: the server's resident memory fresh, after a restart, and with 1,000 sockets
//!   connected, then joined to a room; the difference per socket;
//! - `scale`: the same with 19,900 sockets of 100 users (the machine's file-descriptor limit),
//!   where the fixed costs are spread thin;
//! - `fanout`: one message to a group of 1,000 members, one socket each: send → the last
//!   member's receipt, and the server's CPU per delivered copy, on SQLite and PostgreSQL.
//!
//! The server is a separate process so its memory and CPU are its own; the clients share the
//! machine's cores with it, as on a single-box deployment. Every figure comes from a new server
//! on a new database with the send quota off (`NATTER_SEND_RATE=0`). Other `NATTER_*` settings in
//! the environment are passed to the server, to compare configurations.
//!
//! `cargo bench -p server --bench chat [-- [--quick] [--runs N] [--rate N] [--senders N]
//! [--scale-sockets N] [--scale-users N] [SECTION…]]`: `--quick` (or `NATTER_BENCH_QUICK=1`) is
//! a short smoke run; `--runs N` repeats everything and ends with the median of each figure;
//! `--rate` changes the latency sections' send rate, `--senders` the throughput section's
//! concurrent senders, and the `--scale-…` options the scale section's sockets and users;
//! `NATTER_BENCH_SERVER=<binary>` measures another build of the server. docs/PERFORMANCE.md

#[path = "../../tests/support/mod.rs"]
mod support;

mod connects;
mod fanout;
mod knee;
mod latency;
mod memory;
mod options;
mod pairs;
mod report;
mod rest;
mod setup;
mod throughput;

use std::time::Instant;

use anyhow::Context;

use crate::options::{Options, Section};
use crate::report::{Table, load_average};
use crate::setup::server_binary;

fn main() -> anyhow::Result<()> {
    let options = Options::from_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    println!(
        "natter chat bench: {} run{}, {} CPUs, server {}",
        if options.quick { "quick" } else { "full" },
        if options.runs > 1 {
            format!(" ×{}", options.runs)
        } else {
            String::new()
        },
        std::thread::available_parallelism().map_or(0, usize::from),
        server_binary(),
    );
    let mut runs = Vec::new();
    for run in 1..=options.runs {
        let started = Instant::now();
        let load = load_average();
        let tables = run_once(&options).await?;
        println!(
            "\n── run {run}/{}: {:.0} s, load average {load} → {}",
            options.runs,
            started.elapsed().as_secs_f64(),
            load_average()
        );
        for table in &tables {
            table.print();
        }
        runs.push(tables);
    }
    if runs.len() > 1 {
        println!("\n── median of {} runs", runs.len());
        for table in Table::medians(&runs) {
            table.print();
        }
    }
    Ok(())
}

async fn run_once(options: &Options) -> anyhow::Result<Vec<Table>> {
    let plan = &options.plan;
    let mut tables = Vec::new();
    for section in &options.sections {
        tables.push(match section {
            Section::Latency => latency::table(plan).await?,
            Section::Rest => rest::table(plan).await.context("rest")?,
            Section::Throughput => throughput::table(plan).await?,
            Section::Knee => knee::table(plan).await?,
            Section::Pairs => pairs::table(plan).await?,
            Section::Connects => connects::table(plan).await?,
            Section::Memory => memory::table(plan).await.context("memory")?,
            Section::Scale => memory::scale_table(plan).await.context("scale")?,
            Section::Fanout => fanout::table(plan).await?,
        });
    }
    Ok(tables)
}
