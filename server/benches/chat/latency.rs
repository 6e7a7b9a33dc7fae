//! `latency`: send → `messageSent` and send → `newMessage` over `/ws`, at a fixed low rate (so
//! it measures the path, not a queue), with 2 and with 50 listening sockets in the room.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use natter::protocol::ServerEvent;
use natter::store::Engine;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use crate::options::Plan;
use crate::report::Table;
use crate::setup::{index_of, join, send_frame, start};
use crate::support::ws::next_frame;

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let mut table = Table::new(
        format!(
            "latency over /ws, SQLite, {} msg/s, {} messages after {} warm-up (ms)",
            plan.rate, plan.messages, plan.warmup
        ),
        &["p50", "p90", "p99", "max", "CPU µs/msg"],
    );
    for listeners in plan.listeners {
        let result = latency(plan, listeners)
            .await
            .with_context(|| format!("latency with {listeners} listeners"))?;
        let cpu = result.cpu_per_message.as_secs_f64() * 1e6;
        table.latency_row(
            format!("{listeners} listeners: send → messageSent"),
            result.acks,
            &[f64::NAN],
        );
        table.latency_row(
            format!("{listeners} listeners: send → newMessage"),
            result.deliveries,
            &[cpu],
        );
    }
    Ok(table)
}

struct Latency {
    /// Send → `messageSent`, per measured message.
    acks: Vec<Duration>,
    /// Send → `newMessage`, per measured message and listener.
    deliveries: Vec<Duration>,
    /// Server CPU time (user + system) per measured message, its fan-out included.
    cpu_per_message: Duration,
}

/// One sender and `listeners` sockets of the other member in one conversation's room; the
/// sender sends at `plan.rate` without waiting for answers.
async fn latency(plan: &Plan, listeners: usize) -> anyhow::Result<Latency> {
    let server = start(Engine::Sqlite).await;
    let (alice, bob) = tokio::join!(server.register("alice"), server.register("bob"));
    let conv = server.conversation(&alice, &bob).await.id;
    let mut sender = server.ws(&alice).await;
    join(&mut sender, conv).await?;
    let total = plan.warmup + plan.messages;
    let mut receivers = Vec::new();
    for _ in 0..listeners {
        let mut listener = server.ws(&bob).await;
        join(&mut listener, conv).await?;
        receivers.push(tokio::spawn(async move {
            let mut arrivals = Vec::with_capacity(total);
            while arrivals.len() < total {
                let (at, frame) = next_frame(&mut listener.socket).await?;
                if let ServerEvent::NewMessage { message } = frame.event {
                    arrivals.push((index_of(message.client_id.as_deref())?, at));
                }
            }
            anyhow::Ok(arrivals)
        }));
    }
    let (mut sink, mut stream) = sender.socket.split();
    let acks = tokio::spawn(async move {
        let mut arrivals = Vec::with_capacity(total);
        while arrivals.len() < total {
            let (at, frame) = next_frame(&mut stream).await?;
            if let ServerEvent::MessageSent { .. } = frame.event {
                arrivals.push((index_of(frame.reference.as_deref())?, at));
            }
        }
        anyhow::Ok(arrivals)
    });
    let mut sent = Vec::with_capacity(total);
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / plan.rate);
    // A late tick (the machine is busy) delays the rest instead of sending a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut cpu_before = Duration::ZERO;
    for i in 0..total {
        ticker.tick().await;
        if i == plan.warmup {
            cpu_before = server.cpu_time();
        }
        let frame = Message::text(send_frame(conv, i).encode());
        let at = Instant::now();
        sink.send(frame).await.context("sending")?;
        sent.push(at);
    }
    let since_sent = |(i, at): (usize, Instant)| {
        (i >= plan.warmup).then(|| at.saturating_duration_since(sent[i]))
    };
    let acks: Vec<Duration> = acks.await??.into_iter().filter_map(since_sent).collect();
    let mut deliveries = Vec::with_capacity(plan.messages * listeners);
    for receiver in receivers {
        deliveries.extend(receiver.await??.into_iter().filter_map(since_sent));
    }
    let cpu = server.cpu_time().saturating_sub(cpu_before);
    Ok(Latency {
        acks,
        deliveries,
        cpu_per_message: cpu / u32::try_from(plan.messages.max(1))?,
    })
}
