//! `pairs`: what a person waits for at an everyday load. `plan.chatting` user pairs, each in its
//! own conversation with one socket per member, and each member sends one message a second
//! (2 × `plan.chatting` messages a second in all), the senders' clocks spread evenly over the
//! second, as people's are. After a warm-up, `plan.chat_length` is measured: send → the other
//! member's receipt, and the server's CPU time (per message, and as a share of one core).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures_util::StreamExt;
use natter::store::Engine;

use crate::knee::{self, Arrivals, Heard, Pair};
use crate::options::Plan;
use crate::report::Table;
use crate::setup;

/// Each member's sends per second.
const PER_MEMBER: f64 = 1.0;
/// Sending before the measured part, not counted (connections and caches warm).
const WARM_UP: Duration = Duration::from_secs(3);
/// How long after the measured part its last messages may still arrive.
const GRACE: Duration = Duration::from_secs(2);

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let mut table = Table::new(
        format!(
            "pairs: {} pairs, each member sending {PER_MEMBER} msg/s ({} msg/s), {} s measured: send → receipt (ms)",
            plan.chatting,
            2.0 * PER_MEMBER * plan.chatting as f64,
            plan.chat_length.as_secs()
        ),
        &[
            "p50",
            "p90",
            "p99",
            "max",
            "CPU µs/msg",
            "CPU % core",
            "switches/msg",
        ],
    );
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let chat = chat(plan, engine)
            .await
            .with_context(|| format!("pairs on {engine:?}"))?;
        let count = chat.latencies.len() as f64;
        let cpu = chat.cpu.as_secs_f64();
        table.latency_row(
            format!("{engine:?}"),
            chat.latencies,
            &[
                cpu * 1e6 / count.max(1.0),
                cpu * 100.0 / plan.chat_length.as_secs_f64(),
                chat.switches as f64 / count.max(1.0),
            ],
        );
    }
    Ok(table)
}

struct Chat {
    latencies: Vec<Duration>,
    /// The server's CPU time over the measured part.
    cpu: Duration,
    /// The server's threads' context switches over the measured part.
    switches: u64,
}

async fn chat(plan: &Plan, engine: Engine) -> anyhow::Result<Chat> {
    let server = setup::start(engine).await;
    let arrivals: Arrivals = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let mut senders = Vec::new();
    let mut readers = Vec::new();
    let epoch = Instant::now();
    let heard = Heard {
        epoch,
        arrivals: Arc::clone(&arrivals),
        refused: Arc::clone(&refused),
    };
    for (conv, members, first, second) in setup::pairs(&server, plan.chatting).await? {
        for (me, member) in members.into_iter().zip([first, second]) {
            let (sink, stream) = member.socket.split();
            readers.push(tokio::spawn(knee::receive(stream, me, heard.clone())));
            senders.push(Pair {
                conv,
                sink,
                sent: 0,
            });
        }
    }
    // Step 1 warms up, step 2 is measured; each sender's clock starts at its own point of the
    // first second.
    let mut cpu = Duration::ZERO;
    let mut switches = 0;
    let mut sent = 0;
    for (step, length) in [(1, WARM_UP), (2, plan.chat_length)] {
        let cpu_before = server.cpu_time();
        let switches_before = server.context_switches();
        let start = tokio::time::Instant::now();
        let count = senders.len();
        let tasks: Vec<_> = senders
            .drain(..)
            .enumerate()
            .map(|(i, sender)| {
                let phase = Duration::from_secs_f64(i as f64 / count as f64 / PER_MEMBER);
                tokio::spawn(knee::send_for(
                    sender,
                    PER_MEMBER,
                    start + phase,
                    length,
                    step,
                    epoch,
                ))
            })
            .collect();
        sent = 0;
        for task in tasks {
            let (sender, n) = task.await??;
            sent += n;
            senders.push(sender);
        }
        tokio::time::sleep(GRACE).await;
        cpu = server.cpu_time().saturating_sub(cpu_before);
        switches = server.context_switches().saturating_sub(switches_before);
    }
    for reader in readers {
        reader.abort();
    }
    let latencies = arrivals
        .lock()
        .map_err(|_| anyhow::anyhow!("a receiver panicked"))?
        .remove(&2)
        .unwrap_or_default();
    let refusals = refused.load(Ordering::Relaxed);
    ensure!(
        latencies.len() == sent && refusals == 0,
        "{} of {sent} messages arrived, {refusals} refused",
        latencies.len()
    );
    Ok(Chat {
        latencies,
        cpu,
        switches,
    })
}
