//! Scenario 11: a rolling restart under load — each node in turn gets SIGTERM, drains, exits and
//! is started again. Its `/readyz` turns 503 first, while its sockets stay open for the drain;
//! then they are closed with 1001 (going away: reconnect elsewhere), its clients resume on
//! another node, and nothing is lost.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::harness::{Cluster, NODES, Options, serial};
use crate::support::tally::{run_members, verify};
use crate::watcher::Watcher;

const DRAIN_SECS: u64 = 2;
/// The close code of a server going away.
const AWAY: u16 = 1001;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_turns_each_node_unready_first_and_loses_nothing() {
    let Some(_serial) = serial().await else {
        return;
    };
    let drain = DRAIN_SECS.to_string();
    let cluster = Cluster::start(Options {
        settings: &[("NATTER_DRAIN_SECS", &drain)],
        ..Options::default()
    })
    .await;
    let trio = cluster.trio().await;
    let api = cluster.node(0);
    let dave = cluster.register("dave").await;
    // Dave idles on every node, to see each one close.
    let mut idle = Vec::new();
    for n in 0..NODES {
        idle.push(Watcher::open(cluster.node(n), n, &dave).await);
    }
    let members = trio.members(&cluster, 50, 80, false);
    let measured = Mutex::new(Vec::new());
    let rolling = async {
        for (n, watcher) in idle.iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let at = Instant::now();
            cluster.node(n).terminate();
            let unready = cluster.until_ready(n, false, Duration::from_secs(2)).await;
            assert!(
                watcher.closed().is_none(),
                "node {n}: sockets stay open while /readyz already says 503"
            );
            let (code, closed) = watcher
                .closed_within(Duration::from_secs(DRAIN_SECS + 5))
                .await;
            assert_eq!(code, AWAY, "node {n}: closed with going-away");
            let status = cluster.node(n).exited(Duration::from_secs(15)).await;
            assert!(
                status.success(),
                "node {n}: a drained node exits cleanly: {status}"
            );
            let exited = at.elapsed();
            cluster.node(n).restart().await;
            cluster.until_ready(n, true, Duration::from_secs(15)).await;
            measured
                .lock()
                .unwrap()
                .push((unready, closed - at, exited, at.elapsed()));
        }
    };
    let finished = run_members(api, members, rolling).await;
    let tally = verify("rolling-restart", api, &finished).await;
    let measured = measured.into_inner().unwrap();
    for (n, (unready, closed, exited, back)) in measured.iter().enumerate() {
        println!(
            "rolling-restart: node {}: SIGTERM → /readyz 503 after {unready:?}, sockets closed with 1001 after {closed:?} \
             (drain {DRAIN_SECS} s), exited after {exited:?}, ready again after {back:?}",
            n + 1
        );
        assert!(
            unready < closed,
            "node {}: unready before any socket closed",
            n + 1
        );
    }
    assert_eq!(measured.len(), NODES, "every node was restarted");
    assert!(
        tally.reconnects >= NODES,
        "each member reconnected when its node went ({})",
        tally.reconnects
    );
}
