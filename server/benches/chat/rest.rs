//! `rest`: `POST /api/conversations/{id}/messages` round trips at the latency section's rate,
//! on one kept-alive connection.

use std::time::{Duration, Instant};

use anyhow::ensure;
use natter::protocol::PostMessageRequest;
use natter::store::Engine;
use tokio::time::MissedTickBehavior;

use crate::options::Plan;
use crate::report::Table;
use crate::setup::{body, start};

pub async fn table(plan: &Plan) -> anyhow::Result<Table> {
    let mut table = Table::new(
        format!(
            "REST POST /api/conversations/{{id}}/messages → 201, SQLite, {} req/s (ms)",
            plan.rate
        ),
        &["p50", "p90", "p99", "max"],
    );
    table.latency_row("round trip".into(), rest(plan).await?, &[]);
    Ok(table)
}

/// REST posts at `plan.rate`, each waited for; returns the measured round trips.
async fn rest(plan: &Plan) -> anyhow::Result<Vec<Duration>> {
    let server = start(Engine::Sqlite).await;
    let (alice, bob) = tokio::join!(server.register("alice"), server.register("bob"));
    let conv = server.conversation(&alice, &bob).await.id;
    let url = server.url(&format!("/api/conversations/{}/messages", conv.0));
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / plan.rate);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut round_trips = Vec::with_capacity(plan.messages);
    for i in 0..plan.warmup + plan.messages {
        ticker.tick().await;
        let body = PostMessageRequest {
            message: body(i),
            client_id: Some(format!("m{i}")),
        };
        // Timed on the bare client: from the request to the last byte of the answer.
        let at = Instant::now();
        let response = server
            .http
            .post(&url)
            .bearer_auth(&alice.token)
            .json(&body)
            .send()
            .await?;
        ensure!(
            response.status() == 201,
            "POST answered {}",
            response.status()
        );
        response.bytes().await?;
        if i >= plan.warmup {
            round_trips.push(at.elapsed());
        }
    }
    Ok(round_trips)
}
