//! Scenario 7: the relay drops one published event in five on purpose (the test-only
//! `NATTER_RELAY_DROP_ONE_IN`). Nothing is lost, without a reconnect: a dropped message
//! followed by another in its room is read from storage as soon as the gap shows; one at the
//! tail of a burst waits for the position check, at most one interval.

use std::collections::HashMap;
use std::time::Duration;

use crate::harness::{Cluster, Options, POSITION_CHECK_SECS, percentile, serial};
use crate::support::tally::{run_members, verify};

/// What crosses live takes milliseconds; what the bus dropped waits for the position check.
const LIVE: Duration = Duration::from_millis(500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_the_bus_drops_arrive_within_one_position_check() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options {
        settings: &[("NATTER_RELAY_DROP_ONE_IN", "5")],
        ..Options::default()
    })
    .await;
    let trio = cluster.trio().await;
    let api = cluster.node(0);
    let members = trio.members(&cluster, 30, 60, true);
    let finished = run_members(api, members, async {}).await;
    let tally = verify("relay-drops", api, &finished).await;
    let sent_at: HashMap<_, _> = finished
        .iter()
        .flat_map(|f| f.outcome.sent_at.iter())
        .collect();
    let mut delays: Vec<Duration> = finished[2]
        .outcome
        .received_at
        .iter()
        .map(|(id, arrived)| *arrived - *sent_at[id])
        .collect();
    let late = delays.iter().filter(|d| **d > LIVE).count();
    let worst = delays.iter().max().copied().unwrap_or_default();
    let bound = Duration::from_secs(POSITION_CHECK_SECS) + Duration::from_secs(1);
    println!(
        "relay-drops: 1 in 5 relayed events dropped; the idle member on node 3 got all {} messages, {late} of them \
         later than {LIVE:?} (tail drops, left to the position check, every {POSITION_CHECK_SECS} s): p50 {:.0} ms, max {:.0} ms",
        delays.len(),
        percentile(&mut delays, 50),
        worst.as_secs_f64() * 1000.0,
    );
    assert_eq!(tally.reconnects, 0, "no client had to reconnect");
    assert!(
        worst <= bound,
        "what the bus dropped arrived within one position check ({bound:?}): {worst:?}"
    );
}
