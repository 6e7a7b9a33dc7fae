//! Scenario 4: Redis killed mid-traffic. Sends keep being acked (the send path never waits for
//! Redis); every node's `/readyz` turns 503; what is committed during the outage reaches the
//! idle member on another node through the position check, without a reconnect; Redis
//! restarted, every relay subscribes again by itself and `/readyz` turns 200; in the end
//! everything was delivered exactly once, in order.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::harness::{Cluster, NODES, Options, percentile, serial};
use crate::support::tally::{run_members, verify};

/// How long Redis stays dead.
const OUTAGE: Duration = Duration::from_secs(4);

/// How long a message committed during the outage may take to reach a member on another node
/// (the position check runs every second while Redis is unhealthy).
const REPAIRED_WITHIN: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_traffic_loses_nothing_and_the_relay_recovers() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let trio = cluster.trio().await;
    let api = cluster.node(0);
    // Alice on node 1 and Bob on node 2 talk for about 7 s; Carol, idle on node 3, only reads.
    let members = trio.members(&cluster, 35, 100, true);
    let window = Mutex::new(None);
    let (noticed, resubscribed) = (Mutex::new(Duration::ZERO), Mutex::new(Duration::ZERO));
    let outage = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let killed = Instant::now();
        cluster.redis.kill();
        for n in 0..NODES {
            cluster.until_ready(n, false, Duration::from_secs(10)).await;
        }
        *noticed.lock().unwrap() = killed.elapsed();
        tokio::time::sleep_until(killed + OUTAGE).await;
        cluster.redis.restart().await;
        let restarted = Instant::now();
        for n in 0..NODES {
            cluster.until_ready(n, true, Duration::from_secs(15)).await;
        }
        *resubscribed.lock().unwrap() = restarted.elapsed();
        *window.lock().unwrap() = Some((killed, restarted));
    };
    let finished = run_members(api, members, outage).await;
    let tally = verify("redis-outage", api, &finished).await;

    let (killed, restarted) = window.lock().unwrap().expect("the outage ran");
    let sent_at = finished
        .iter()
        .flat_map(|f| f.outcome.sent_at.iter())
        .collect::<std::collections::HashMap<_, _>>();
    let carol = &finished[2].outcome;
    let mut during = Vec::new();
    let mut outside = Vec::new();
    for (id, arrived) in &carol.received_at {
        let sent = *sent_at[id];
        if sent >= killed && sent < restarted {
            during.push(*arrived - sent);
        } else {
            outside.push(*arrived - sent);
        }
    }
    let worst = during.iter().max().copied().unwrap_or_default();
    println!(
        "redis-outage: Redis dead for {OUTAGE:?}; every /readyz 503 after {:?}, 200 again {:?} after the restart; \
         {} messages committed during the outage reached the idle member on node 3 in p50 {:.0} ms, max {:.0} ms \
         (outside it: p50 {:.1} ms); refused sends: {}; reconnects: {}",
        *noticed.lock().unwrap(),
        *resubscribed.lock().unwrap(),
        during.len(),
        percentile(&mut during, 50),
        worst.as_secs_f64() * 1000.0,
        percentile(&mut outside, 50),
        finished
            .iter()
            .map(|f| f.outcome.refused.len())
            .sum::<usize>(),
        tally.reconnects,
    );
    for f in &finished {
        assert!(
            f.outcome.refused.is_empty(),
            "{}: no send refused while Redis was down: {:?}",
            f.name,
            f.outcome.refused
        );
    }
    assert_eq!(tally.reconnects, 0, "no client had to reconnect");
    assert!(
        !during.is_empty(),
        "messages were committed during the outage"
    );
    assert!(
        worst <= REPAIRED_WITHIN,
        "the position check delivered within {REPAIRED_WITHIN:?}: {worst:?}"
    );
}
