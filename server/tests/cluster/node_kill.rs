//! Scenario 3: a node SIGKILLed three times mid-traffic (nodes 2, 3, 2). Its clients reconnect
//! to another node and resume; nothing acked is lost, nothing arrives twice.

use std::time::Duration;

use crate::harness::{Cluster, Options, serial};
use crate::support::client::rand_below;
use crate::support::tally::{Member, plan, run_members, steady, verify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_of_a_killed_node_resume_on_another_exactly_once() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let (alice, bob, carol) = (
        cluster.register("alice").await,
        cluster.register("bob").await,
        cluster.register("carol").await,
    );
    let api = cluster.node(0);
    let ab = api.conversation(&alice, &bob).await.id;
    let bc = api.conversation(&bob, &carol).await.id;
    let ca = api.conversation(&carol, &alice).await.id;
    let members = vec![
        Member {
            name: "alice",
            account: alice,
            ws_urls: cluster.ws_urls(0),
            plan: plan("alice", &[ab, ca], 40),
            behaviour: steady(50),
        },
        Member {
            name: "bob",
            account: bob,
            ws_urls: cluster.ws_urls(1),
            plan: plan("bob", &[ab, bc], 40),
            behaviour: steady(50),
        },
        Member {
            name: "carol",
            account: carol,
            ws_urls: cluster.ws_urls(2),
            plan: plan("carol", &[bc, ca], 40),
            behaviour: steady(50),
        },
    ];
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
