//! Scenario 8: a sign-out on one node closes that session's sockets on the other nodes — at
//! once through Redis, and while Redis is down within the position check's bound (the
//! sign-out is in the user's stored feed) — and leaves the user's other sessions alone.

use std::time::Duration;

use tokio::time::Instant;

use crate::harness::{Cluster, NODES, Options, serial};
use crate::support::api::Account;
use crate::watcher::Watcher;

/// The close code of a socket whose session ended.
const POLICY: u16 = 1008;

/// With Redis up, the sockets close within this.
const WITH_REDIS: Duration = Duration::from_secs(1);

/// With Redis down, within this (the bound; the position check runs every second).
const WITHOUT_REDIS: Duration = Duration::from_secs(30);

/// Signs `session` out on node 1 and returns how long its sockets on nodes 2 and 3 took to
/// close (each with 1008), and that the other session's socket stayed open.
async fn sign_out_closes_elsewhere(
    cluster: &Cluster,
    session: &Account,
    other: &Watcher,
    limit: Duration,
) -> Duration {
    let mut sockets = Vec::new();
    for n in 1..NODES {
        sockets.push(Watcher::open(cluster.node(n), n, session).await);
    }
    let at = Instant::now();
    cluster.node(0).logout(session).await;
    let mut slowest = Duration::ZERO;
    for socket in &sockets {
        let (code, closed) = socket.closed_within(limit).await;
        assert_eq!(code, POLICY, "node {}: closed as signed out", socket.node);
        slowest = slowest.max(closed - at);
    }
    assert!(other.closed().is_none(), "the user's other session stays");
    slowest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_closes_the_sessions_sockets_on_every_node() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let first = cluster.register("alice").await;
    let other = Watcher::open(cluster.node(1), 1, &first).await;
    let (status, second) = cluster.node(2).login("alice").await;
    assert_eq!(status, 200);
    let second = second.expect("a second session");
    let with_redis = sign_out_closes_elsewhere(&cluster, &second, &other, WITH_REDIS).await;

    cluster.redis.kill();
    for n in 0..NODES {
        cluster.until_ready(n, false, Duration::from_secs(10)).await;
    }
    let (status, third) = cluster.node(1).login("alice").await;
    assert_eq!(status, 200, "signing in works while Redis is down");
    let third = third.expect("a third session");
    let without_redis = sign_out_closes_elsewhere(&cluster, &third, &other, WITHOUT_REDIS).await;
    println!(
        "logout: the session's sockets on nodes 2 and 3 closed {with_redis:?} after the sign-out on node 1 \
         with Redis up, {without_redis:?} with Redis down"
    );
    assert!(
        other.closed().is_none(),
        "the first session's socket is still open"
    );
}
