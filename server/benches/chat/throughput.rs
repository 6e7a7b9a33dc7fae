//! `throughput`: messages committed and fanned out per second by concurrent senders in
//! separate conversations, each keeping a window of sends in flight, on SQLite and PostgreSQL.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use natter::protocol::{ConversationId, ServerEvent};
use natter::store::Engine;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

use crate::options::Plan;
use crate::report::{Latencies, Table};
use crate::setup::{self, index_of, send_frame};
use crate::support::ws::{WsClient, next_frame};

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let mut table = Table::new(
        format!(
            "throughput: {} senders × {} in flight, separate conversations, {} s",
            plan.senders,
            plan.window,
            plan.saturation.as_secs()
        ),
        &["msg/s", "deliv/s", "ack p50 ms", "ack p99 ms", "CPU µs/msg"],
    );
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let result = throughput(plan, engine)
            .await
            .with_context(|| format!("throughput on {engine:?}"))?;
        let acks = Latencies::new(result.acks);
        table.row(
            format!("{engine:?}"),
            vec![
                result.acked_per_sec,
                result.delivered_per_sec,
                acks.ms(0.50),
                acks.ms(0.99),
                result.cpu_per_message.as_secs_f64() * 1e6,
            ],
        );
    }
    Ok(table)
}

struct Saturation {
    acked_per_sec: f64,
    delivered_per_sec: f64,
    /// Send → `messageSent` of every send acknowledged in the measured window.
    acks: Vec<Duration>,
    /// Server CPU time (user + system) per acknowledged message in the window.
    cpu_per_message: Duration,
}

/// `plan.senders` senders, each in its own conversation with one listening socket, each keeping
/// `plan.window` sends in flight; counts what is acknowledged and delivered in the window.
async fn throughput(plan: &Plan, engine: Engine) -> anyhow::Result<Saturation> {
    let server = setup::start(engine).await;
    let pairs = setup::pairs(&server, plan.senders).await?;
    let start = Instant::now() + Duration::from_millis(100);
    let warmup = Duration::from_secs(1);
    let window = (start + warmup, start + warmup + plan.saturation);
    let acked = Arc::new(AtomicU64::new(0));
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let mut senders = Vec::new();
    let mut listeners = Vec::new();
    for (conv, _, sender, mut listener) in pairs {
        senders.push(tokio::spawn(saturate(
            sender,
            conv,
            plan.window,
            start,
            window,
            Arc::clone(&acked),
        )));
        let (stop, delivered) = (stop.clone(), Arc::clone(&delivered));
        listeners.push(tokio::spawn(async move {
            loop {
                let (at, frame) = tokio::select! {
                    () = stop.cancelled() => return anyhow::Ok(()),
                    next = next_frame(&mut listener.socket) => next?,
                };
                if matches!(frame.event, ServerEvent::NewMessage { .. })
                    && (window.0..window.1).contains(&at)
                {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep_until(window.0.into()).await;
    let cpu_before = server.cpu_time();
    tokio::time::sleep_until(window.1.into()).await;
    let cpu_after = server.cpu_time();
    let mut acks = Vec::new();
    for sender in senders {
        acks.extend(sender.await??);
    }
    // Give the last deliveries of the window time to arrive before the listeners stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    for listener in listeners {
        listener.await??;
    }
    let seconds = plan.saturation.as_secs_f64();
    let acked = acked.load(Ordering::Relaxed);
    Ok(Saturation {
        acked_per_sec: acked as f64 / seconds,
        delivered_per_sec: delivered.load(Ordering::Relaxed) as f64 / seconds,
        acks,
        cpu_per_message: cpu_after.saturating_sub(cpu_before) / u32::try_from(acked.max(1))?,
    })
}

/// Sends on `socket` from `start` until the window closes, keeping `in_flight` sends
/// unanswered; counts acknowledgements inside the window and returns their latencies.
async fn saturate(
    socket: WsClient,
    conv: ConversationId,
    in_flight: usize,
    start: Instant,
    window: (Instant, Instant),
    acked: Arc<AtomicU64>,
) -> anyhow::Result<Vec<Duration>> {
    let (mut sink, mut stream) = socket.socket.split();
    let mut pending: VecDeque<(usize, Instant)> = VecDeque::new();
    let mut latencies = Vec::new();
    let mut next = 0;
    tokio::time::sleep_until(start.into()).await;
    loop {
        while pending.len() < in_flight && Instant::now() < window.1 {
            let frame = Message::text(send_frame(conv, next).encode());
            pending.push_back((next, Instant::now()));
            sink.send(frame).await.context("sending")?;
            next += 1;
        }
        let Some(&(oldest, sent)) = pending.front() else {
            return Ok(latencies);
        };
        let (at, frame) = next_frame(&mut stream).await?;
        match frame.event {
            ServerEvent::MessageSent { .. } => {
                // One connection's sends are answered in the order they were sent.
                let index = index_of(frame.reference.as_deref())?;
                ensure!(index == oldest, "ack for send {index}, expected {oldest}");
                pending.pop_front();
                if (window.0..window.1).contains(&at) {
                    acked.fetch_add(1, Ordering::Relaxed);
                    latencies.push(at - sent);
                }
            }
            ServerEvent::Error(error) => bail!("send refused: {error:?}"),
            _ => {}
        }
    }
}
