//! `fanout`: one message to a group of `plan.group` members, each with one connection in the
//! group's room. The creator sends at a low fixed rate (so one fan-out is measured, not a
//! queue of them); each other member's socket records when each message arrived. Figures: send
//! → the *last* member's receipt per message, send → each receipt, the server's CPU time per
//! delivered copy, and its CPU time for the whole group coming online (each member's connect
//! and join, and every member told of every other's presence: n × (n − 1) events).

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use futures_util::{SinkExt, StreamExt, TryStreamExt, stream};
use natter::protocol::{ConversationView, ServerEvent};
use natter::store::Engine;
use serde_json::json;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;

use crate::options::Plan;
use crate::report::{Latencies, Table};
use crate::setup::{self, index_of, join, send_frame};
use crate::support::process::ServerProcess;
use crate::support::ws::next_frame;

/// Sends per second: one fan-out at a time, with room to finish before the next.
const RATE: u32 = 10;
/// Messages sent before measuring (connections and statements warm up).
const WARMUP: usize = 5;
/// Sockets connecting (and joining) at a time while the group comes online.
const CONNECTING: usize = 32;

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let mut table = Table::new(
        format!(
            "fan-out: one message to a group of {} members, one socket each, {RATE} msg/s, {} messages after {WARMUP} warm-up",
            plan.group, plan.fanout_messages
        ),
        &[
            "last p50 ms",
            "last p99 ms",
            "each p50 ms",
            "each p99 ms",
            "CPU µs/copy",
            "connect CPU s",
        ],
    );
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let result = fanout(plan, engine)
            .await
            .with_context(|| format!("fan-out on {engine:?}"))?;
        let last = Latencies::new(result.last);
        let each = Latencies::new(result.each);
        table.row(
            format!("{engine:?}"),
            vec![
                last.ms(0.50),
                last.ms(0.99),
                each.ms(0.50),
                each.ms(0.99),
                result.cpu_per_copy.as_secs_f64() * 1e6,
                result.connecting_cpu.as_secs_f64(),
            ],
        );
    }
    Ok(table)
}

struct Fanout {
    /// Per measured message: send → the last member's receipt.
    last: Vec<Duration>,
    /// Per measured message and member: send → receipt.
    each: Vec<Duration>,
    cpu_per_copy: Duration,
    /// Server CPU time for the whole group coming online (connects, joins, and everyone told
    /// of everyone's presence).
    connecting_cpu: Duration,
}

async fn fanout(plan: &Plan, engine: Engine) -> anyhow::Result<Fanout> {
    let server = setup::start(engine).await;
    let accounts = setup::accounts(&server, plan.group).await;
    let (creator, others) = accounts.split_first().context("a group needs members")?;
    let ids: Vec<_> = others.iter().map(|a| a.id).collect();
    let (status, body) = server
        .call(
            reqwest::Method::POST,
            "/api/conversations",
            Some(creator),
            Some(json!({"title": "Fan-out", "memberIds": ids})),
        )
        .await;
    ensure!(status == 201, "creating the group: {status} {body}");
    let conv = serde_json::from_value::<ConversationView>(body)?.id;

    let connecting_from = server.cpu_time();
    let server_ref = &server;
    let mut sockets: Vec<_> = stream::iter(&accounts)
        .map(|account| async move {
            let mut socket = server_ref.ws(account).await;
            join(&mut socket, conv).await?;
            anyhow::Ok(socket)
        })
        .buffered(CONNECTING)
        .try_collect()
        .await?;
    // Everyone coming online told everyone else (a presence event each): measure after that.
    settle(&server).await;
    let connecting_cpu = server.cpu_time().saturating_sub(connecting_from);

    let total = WARMUP + plan.fanout_messages;
    let sender = sockets.remove(0);
    let receivers: Vec<_> = sockets
        .into_iter()
        .map(|mut member| {
            tokio::spawn(async move {
                let mut arrivals = Vec::with_capacity(total);
                while arrivals.len() < total {
                    let (at, frame) = next_frame(&mut member.socket).await?;
                    if let ServerEvent::NewMessage { message } = frame.event {
                        arrivals.push((index_of(message.client_id.as_deref())?, at));
                    }
                }
                anyhow::Ok(arrivals)
            })
        })
        .collect();
    // The sender's own answers are read (and dropped) so its socket never backs up.
    let (mut sink, answers) = sender.socket.split();
    let drain = tokio::spawn(answers.for_each(|_| async {}));

    let mut sent = Vec::with_capacity(total);
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / RATE);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut cpu_before = Duration::ZERO;
    for i in 0..total {
        ticker.tick().await;
        if i == WARMUP {
            cpu_before = server.cpu_time();
        }
        let frame = Message::text(send_frame(conv, i).encode());
        sent.push(Instant::now());
        sink.send(frame).await.context("sending")?;
    }
    let mut last = vec![Duration::ZERO; total];
    let mut each = Vec::with_capacity(plan.fanout_messages * receivers.len());
    let copies = receivers.len() * plan.fanout_messages;
    for receiver in receivers {
        for (i, at) in receiver.await?? {
            let latency = at.saturating_duration_since(sent[i]);
            if i >= WARMUP {
                each.push(latency);
                last[i] = last[i].max(latency);
            }
        }
    }
    let cpu = server.cpu_time().saturating_sub(cpu_before);
    drain.abort();
    Ok(Fanout {
        last: last.split_off(WARMUP),
        each,
        cpu_per_copy: cpu / u32::try_from(copies.max(1))?,
        connecting_cpu,
    })
}

/// Waits until the server is nearly idle (under 10 % of a core over a quarter second), at most
/// half a minute.
async fn settle(server: &ServerProcess) {
    const WINDOW: Duration = Duration::from_millis(250);
    let limit = Instant::now() + Duration::from_secs(30);
    loop {
        let before = server.cpu_time();
        tokio::time::sleep(WINDOW).await;
        if server.cpu_time().saturating_sub(before) < WINDOW / 10 || Instant::now() > limit {
            return;
        }
    }
}
