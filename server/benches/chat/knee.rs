//! `knee`: the highest rate natter sustains. `plan.pairs` user pairs, each in its own
//! conversation with one socket per member; the senders send open-loop (on a clock, whatever the
//! answers) at a total rate that starts at `plan.knee_start` messages a second and grows ×1.25 per
//! step of `plan.step`. A step passes while every message sent in it reaches the other member
//! (within a grace period after the step) and the 99th percentile from send to that receipt is at
//! most 100 ms; the first step that fails ends the scenario. The figure is the last passing
//! step's delivered rate, with its latencies and the server's CPU time per message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use natter::protocol::{ClientFrame, ConversationId, ServerEvent, ServerFrame, UserId};
use natter::store::Engine;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use crate::options::Plan;
use crate::report::{Latencies, Table};
use crate::setup;
use crate::support::commands;
use crate::support::ws::Socket;

/// The latency a passing step may not exceed at its 99th percentile.
const P99_BOUND: Duration = Duration::from_millis(100);
/// How long after a step its last messages may still arrive (they count, late).
const GRACE: Duration = Duration::from_secs(2);
/// Steps stop here even if they keep passing.
const MAX_RATE: f64 = 400_000.0;

pub type Sink = SplitSink<Socket, Message>;

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let mut table = Table::new(
        format!(
            "knee: {} pairs, open loop from {} msg/s ×1.25 per {} s step, pass = p99 send→receipt ≤ {} ms and none lost",
            plan.pairs,
            plan.knee_start,
            plan.step.as_secs(),
            P99_BOUND.as_millis()
        ),
        &[
            "deliv/s",
            "p50 ms",
            "p99 ms",
            "CPU µs/msg",
            "next step msg/s",
        ],
    );
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let knee = knee(plan, engine)
            .await
            .with_context(|| format!("knee on {engine:?}"))?;
        let (passed, failed) = (knee.passed, knee.failed_at);
        let latencies = passed
            .as_ref()
            .map(|step| Latencies::new(step.latencies.clone()));
        table.row(
            format!("{engine:?}"),
            vec![
                passed.as_ref().map_or(0.0, |s| s.delivered_per_sec),
                latencies.as_ref().map_or(f64::NAN, |l| l.ms(0.50)),
                latencies.as_ref().map_or(f64::NAN, |l| l.ms(0.99)),
                passed
                    .as_ref()
                    .map_or(f64::NAN, |s| s.cpu_per_message.as_secs_f64() * 1e6),
                failed,
            ],
        );
    }
    Ok(table)
}

struct Knee {
    /// The last step that passed, if any did.
    passed: Option<Step>,
    /// The offered rate of the first step that failed (NaN if none did).
    failed_at: f64,
}

struct Step {
    delivered_per_sec: f64,
    latencies: Vec<Duration>,
    cpu_per_message: Duration,
}

/// What the receivers saw: per step, the send → receipt latency of every message.
pub type Arrivals = Arc<Mutex<HashMap<u32, Vec<Duration>>>>;

/// One sender's half of a socket in a conversation.
pub struct Pair {
    pub conv: ConversationId,
    pub sink: Sink,
    /// Sends so far on this pair (client ids stay unique across steps).
    pub sent: usize,
}

async fn knee(plan: &Plan, engine: Engine) -> anyhow::Result<Knee> {
    let server = setup::start(engine).await;
    let epoch = Instant::now();
    let arrivals: Arrivals = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let mut pairs = Vec::new();
    let mut readers = Vec::new();
    for (conv, members, sender, receiver) in setup::pairs(&server, plan.pairs).await? {
        let (sink, answers) = sender.socket.split();
        let heard = Heard {
            epoch,
            arrivals: Arc::clone(&arrivals),
            refused: Arc::clone(&refused),
        };
        readers.push(tokio::spawn(receive(answers, members[0], heard.clone())));
        readers.push(tokio::spawn(receive(receiver.socket, members[1], heard)));
        pairs.push(Pair {
            conv,
            sink,
            sent: 0,
        });
    }
    let mut result = Knee {
        passed: None,
        failed_at: f64::NAN,
    };
    let mut rate = f64::from(plan.knee_start);
    let mut step_number = 0u32;
    while rate <= MAX_RATE {
        step_number += 1;
        let refused_before = refused.load(Ordering::Relaxed);
        let cpu_before = server.cpu_time();
        let started = Instant::now();
        let per_pair = rate / plan.pairs as f64;
        let tasks: Vec<_> = pairs
            .drain(..)
            .map(|pair| {
                let start = tokio::time::Instant::now();
                tokio::spawn(send_for(
                    pair,
                    per_pair,
                    start,
                    plan.step,
                    step_number,
                    epoch,
                ))
            })
            .collect();
        let mut sent = 0;
        for task in tasks {
            let (pair, count) = task.await??;
            sent += count;
            pairs.push(pair);
        }
        let sending = started.elapsed();
        tokio::time::sleep(GRACE).await;
        let cpu = server.cpu_time().saturating_sub(cpu_before);
        let latencies = arrivals
            .lock()
            .map_err(|_| anyhow::anyhow!("a receiver panicked"))?
            .remove(&step_number)
            .unwrap_or_default();
        let delivered = latencies.len();
        let refusals = refused.load(Ordering::Relaxed) - refused_before;
        let sorted = Latencies::new(latencies.clone());
        let p99 = sorted.ms(0.99);
        let pass = delivered == sent && refusals == 0 && p99 <= P99_BOUND.as_secs_f64() * 1e3;
        println!(
            "  {engine:?} step {step_number}: offered {rate:.0}/s, sent {sent} in {:.1} s, delivered {delivered}, refused {refusals}, p50 {:.2} ms, p99 {p99:.2} ms, CPU {:.0} µs/msg → {}",
            sending.as_secs_f64(),
            sorted.ms(0.5),
            cpu.as_secs_f64() * 1e6 / delivered.max(1) as f64,
            if pass { "pass" } else { "fail" }
        );
        if !pass {
            result.failed_at = rate;
            break;
        }
        result.passed = Some(Step {
            delivered_per_sec: delivered as f64 / plan.step.as_secs_f64(),
            latencies,
            cpu_per_message: cpu / u32::try_from(delivered.max(1))?,
        });
        rate *= 1.25;
    }
    for reader in readers {
        reader.abort();
    }
    Ok(result)
}

/// Sends on one pair for `length` at `per_second` from `start`, on a clock: a late tick sends
/// at once to catch up, so the offered rate holds whatever the server answers. Returns the pair
/// and how many it sent.
pub async fn send_for(
    mut pair: Pair,
    per_second: f64,
    start: tokio::time::Instant,
    length: Duration,
    step: u32,
    epoch: Instant,
) -> anyhow::Result<(Pair, usize)> {
    let count = (per_second * length.as_secs_f64()).round().max(1.0) as usize;
    let mut ticker = tokio::time::interval_at(start, Duration::from_secs_f64(1.0 / per_second));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    for _ in 0..count {
        ticker.tick().await;
        let i = pair.sent;
        pair.sent += 1;
        // The receipt's latency is read back from the body: step and send time since `epoch`.
        let body = format!(
            "s{step} t{} the quick brown fox jumps over the lazy dog",
            epoch.elapsed().as_nanos()
        );
        let frame = ClientFrame::new(
            commands::send(pair.conv, &body, Some(&format!("k{i}"))),
            None,
        );
        pair.sink
            .send(Message::text(frame.encode()))
            .await
            .context("sending")?;
    }
    Ok((pair, count))
}

/// Where the sockets' readers put what they heard.
#[derive(Clone)]
pub struct Heard {
    /// The clock the bodies' send times count from.
    pub epoch: Instant,
    pub arrivals: Arrivals,
    /// Sends refused (each must be accepted).
    pub refused: Arc<AtomicU64>,
}

/// Reads the socket of member `me`: the latency of each message the other member sent, by the
/// step it was sent in (a send without a `ref` comes back to its own socket as `newMessage`
/// too, and is not counted), and every refusal.
pub async fn receive<S>(mut socket: S, me: UserId, heard: Heard) -> anyhow::Result<()>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let Heard {
        epoch,
        arrivals,
        refused,
    } = heard;
    while let Some((at, frame)) = frame(&mut socket).await? {
        let message = match frame.event {
            ServerEvent::NewMessage { message } if message.sender_id != me => message,
            ServerEvent::Error(error) => {
                refused.fetch_add(1, Ordering::Relaxed);
                eprintln!("  send refused: {error:?}");
                continue;
            }
            _ => continue,
        };
        let mut words = message.message.split(' ');
        let step = words.next().and_then(|w| w.strip_prefix('s')?.parse().ok());
        let sent = words
            .next()
            .and_then(|w| w.strip_prefix('t')?.parse::<u64>().ok());
        let (Some(step), Some(sent)) = (step, sent) else {
            continue;
        };
        let latency = at
            .saturating_duration_since(epoch)
            .saturating_sub(Duration::from_nanos(sent));
        arrivals
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .entry(step)
            .or_default()
            .push(latency);
    }
    Ok(())
}

/// The next frame and when it came, however long that takes; `None` when the socket ends.
async fn frame<S>(stream: &mut S) -> anyhow::Result<Option<(Instant, ServerFrame)>>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    while let Some(message) = stream.next().await {
        let at = Instant::now();
        if let Message::Text(text) = message? {
            let frame = ServerFrame::decode(text.as_str()).map_err(|e| anyhow::anyhow!("{e}"))?;
            return Ok(Some((at, frame)));
        }
    }
    Ok(None)
}
