//! Scenario 5: Redis hangs (SIGSTOP for 5 s: connections open, no answers). Sends keep being
//! acked, their latency bounded (the shared send quota waits at most 50 ms for Redis, then
//! counts on the node); each node notices within seconds — its own probe stops
//! coming back, `/readyz` turns 503 and the position check runs every second — so the idle
//! member on another node still gets what is committed; thawed, everything recovers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::harness::{Cluster, NODES, Options, percentile, serial};
use crate::support::tally::{run_members, verify};

const FROZEN: Duration = Duration::from_secs(5);

/// How long a message committed during the freeze may take to reach a member on another node:
/// the probe's 3 s to call the bus unhealthy, then the position check every second.
const REPAIRED_WITHIN: Duration = Duration::from_secs(5);

/// The longest an acked send may take while Redis hangs (the quota's 50 ms wait for Redis, on
/// a busy machine).
const ACKED_WITHIN: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_neither_stalls_sends_nor_stops_delivery() {
    let Some(_serial) = serial().await else {
        return;
    };
    // A send quota high enough never to refuse, so that every send asks Redis.
    let cluster = Cluster::start(Options {
        settings: &[("NATTER_SEND_RATE", "1000"), ("NATTER_SEND_BURST", "1000")],
        ..Options::default()
    })
    .await;
    let trio = cluster.trio().await;
    let api = cluster.node(0);
    let members = trio.members(&cluster, 45, 100, true);
    let measured = Mutex::new(None);
    let freeze = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let frozen = Instant::now();
        cluster.redis.freeze();
        for n in 0..NODES {
            cluster.until_ready(n, false, FROZEN).await;
        }
        let noticed = frozen.elapsed();
        tokio::time::sleep_until(frozen + FROZEN).await;
        cluster.redis.thaw();
        let thawed = Instant::now();
        for n in 0..NODES {
            cluster.until_ready(n, true, Duration::from_secs(15)).await;
        }
        *measured.lock().unwrap() = Some((frozen, thawed, noticed, thawed.elapsed()));
    };
    let finished = run_members(api, members, freeze).await;
    let tally = verify("redis-freeze", api, &finished).await;
    let (frozen, thawed, noticed, recovered) = measured.lock().unwrap().expect("the freeze ran");

    let sent_at: HashMap<_, _> = finished
        .iter()
        .flat_map(|f| f.outcome.sent_at.iter())
        .collect();
    let frozen_then = |at: Instant| at >= frozen && at < thawed;
    let (mut acks_frozen, mut acks_before) = (Vec::new(), Vec::new());
    for f in &finished {
        for (id, acked) in &f.outcome.acked_at {
            let sent = *sent_at[id];
            if frozen_then(sent) {
                acks_frozen.push(*acked - sent);
            } else if sent < frozen {
                acks_before.push(*acked - sent);
            }
        }
    }
    let mut repaired: Vec<Duration> = finished[2]
        .outcome
        .received_at
        .iter()
        .filter(|(id, _)| frozen_then(*sent_at[id]))
        .map(|(id, arrived)| *arrived - *sent_at[id])
        .collect();
    let worst_ack = acks_frozen.iter().max().copied().unwrap_or_default();
    let worst_delivery = repaired.iter().max().copied().unwrap_or_default();
    println!(
        "redis-freeze: Redis stopped for {FROZEN:?}; every node 503 after {noticed:?}, ready {recovered:?} after the thaw; \
         send→ack before p50 {:.1} ms p99 {:.1} ms, while frozen p50 {:.1} ms p99 {:.1} ms max {:.0} ms; \
         {} messages sent while frozen reached the idle member on node 3 in p50 {:.0} ms, max {:.0} ms; reconnects {}",
        percentile(&mut acks_before, 50),
        percentile(&mut acks_before, 99),
        percentile(&mut acks_frozen, 50),
        percentile(&mut acks_frozen, 99),
        worst_ack.as_secs_f64() * 1000.0,
        repaired.len(),
        percentile(&mut repaired, 50),
        worst_delivery.as_secs_f64() * 1000.0,
        tally.reconnects,
    );
    assert_eq!(tally.reconnects, 0, "no client had to reconnect");
    assert!(
        worst_ack <= ACKED_WITHIN,
        "sends stay fast while Redis hangs: {worst_ack:?}"
    );
    assert!(!repaired.is_empty(), "messages were sent while Redis hung");
    assert!(
        worst_delivery <= REPAIRED_WITHIN,
        "delivered within {REPAIRED_WITHIN:?} while Redis hung: {worst_delivery:?}"
    );
}
