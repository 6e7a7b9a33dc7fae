//! Scenario 3: a node SIGKILLed three times mid-traffic (nodes 2, 3, 2). Its clients reconnect
//! to another node and resume; nothing acked is lost, nothing arrives twice.

use std::time::Duration;

use crate::harness::{Cluster, Options, serial};
use crate::support::client::rand_below;
use crate::support::tally::{run_members, verify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_node_resume_on_another_exactly_once() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let trio = cluster.trio().await;
    let api = cluster.node(0);
    let members = trio.members(&cluster, 40, 50, false);
    let kills = async {
        for victim in [1, 2, 1] {
            tokio::time::sleep(Duration::from_millis(300 + rand_below(300))).await;
            cluster.node(victim).kill();
            tokio::time::sleep(Duration::from_millis(300)).await;
            cluster.node(victim).restart().await;
        }
    };
    let finished = run_members(api, members, kills).await;
    let tally = verify("node-kill", api, &finished).await;
    assert!(
        tally.reconnects >= 2,
        "the killed nodes' clients reconnected ({} times)",
        tally.reconnects
    );
}
