//! Scenario 11 (part): SIGTERM drains a node. Its `/readyz` turns 503 first, while its sockets
//! stay open for the drain; then they are closed with 1001 (going away: reconnect elsewhere),
//! its clients resume on another node, and nothing is lost.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::harness::{Cluster, Options, serial};
use crate::support::tally::{Member, plan, run_members, steady, verify};
use crate::watcher::Watcher;

/// The drained node.
const DRAINED: usize = 1;
const DRAIN_SECS: u64 = 2;
/// The close code of a server going away.
const AWAY: u16 = 1001;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_turns_unready_first_then_closes_with_a_reconnect_hint() {
    let Some(_serial) = serial().await else {
        return;
    };
    let drain = DRAIN_SECS.to_string();
    let cluster = Cluster::start(Options {
        settings: &[("NATTER_DRAIN_SECS", &drain)],
        ..Options::default()
    })
    .await;
    let (alice, bob, carol, dave) = (
        cluster.register("alice").await,
        cluster.register("bob").await,
        cluster.register("carol").await,
        cluster.register("dave").await,
    );
    let api = cluster.node(0);
    let ab = api.conversation(&alice, &bob).await.id;
    let bc = api.conversation(&bob, &carol).await.id;
    let ca = api.conversation(&carol, &alice).await.id;
    let idle = Watcher::open(cluster.node(DRAINED), DRAINED, &dave).await;
    let members = vec![
        Member {
            name: "alice",
            account: alice,
            ws_urls: cluster.ws_urls(0),
            plan: plan("alice", &[ab, ca], 25),
            behaviour: steady(60),
        },
        Member {
            name: "bob",
            account: bob,
            ws_urls: cluster.ws_urls(DRAINED),
            plan: plan("bob", &[ab, bc], 25),
            behaviour: steady(60),
        },
        Member {
            name: "carol",
            account: carol,
            ws_urls: cluster.ws_urls(2),
            plan: plan("carol", &[bc, ca], 25),
            behaviour: steady(60),
        },
    ];
    let measured = Mutex::new(None);
    let terminate = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let at = Instant::now();
        cluster.node(DRAINED).terminate();
        let unready = cluster
            .until_ready(DRAINED, false, Duration::from_secs(2))
            .await;
        assert!(
            idle.closed().is_none(),
            "sockets stay open while /readyz already says 503"
        );
        let (code, closed) = idle.closed_within(Duration::from_secs(DRAIN_SECS + 5)).await;
        assert_eq!(code, AWAY, "closed with going-away");
        let status = cluster.node(DRAINED).exited(Duration::from_secs(15)).await;
        assert!(status.success(), "a drained node exits cleanly: {status}");
        let exited = at.elapsed();
        *measured.lock().unwrap() = Some((unready, closed - at, exited));
        cluster.node(DRAINED).restart().await;
    };
    let finished = run_members(api, members, terminate).await;
    let tally = verify("drain", api, &finished).await;
    let (unready, closed, exited) = measured.lock().unwrap().expect("the drain ran");
    println!(
        "drain: SIGTERM → /readyz 503 after {unready:?}, sockets closed with 1001 after {closed:?} (drain {DRAIN_SECS} s), \
         exited after {exited:?}; {} reconnects",
        tally.reconnects
    );
    assert!(unready < closed, "unready before any socket closed");
    assert!(tally.reconnects >= 1, "bob reconnected elsewhere");
}
