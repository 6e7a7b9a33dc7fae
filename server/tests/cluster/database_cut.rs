//! Scenario 6: one node's database connection cut — reset, then blackholed — for 3 s, through
//! a proxy between that node and PostgreSQL. The node's sends fail with `storageUnavailable`
//! within its database timeout instead of hanging, its `/readyz` turns 503, it does not exit,
//! the other nodes carry on; once the network heals it is ready again, and every retried send
//! is stored once.

use std::sync::Mutex;
use std::time::Duration;

use natter::protocol::{ErrorCode, ServerEvent};
use tokio::time::Instant;

use crate::harness::{Cluster, DB_TIMEOUT_SECS, Options, readiness, serial};
use crate::proxy::Mode;
use crate::support::commands::send;
use crate::support::tally::{Member, plan, run_members, steady, stored, verify};
use crate::watcher::Watcher;

/// The node whose database connection is cut.
const CUT: usize = 2;
/// How long the database stays out of reach.
const OUTAGE: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_from_the_database_fails_fast_and_recovers() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options {
        proxied: Some(CUT),
        ..Options::default()
    })
    .await;
    let (alice, bob, carol) = (
        cluster.register("alice").await,
        cluster.register("bob").await,
        cluster.register("carol").await,
    );
    let api = cluster.node(0);
    let ab = api.conversation(&alice, &bob).await.id;
    let cb = api.conversation(&carol, &bob).await.id;
    let proxy = cluster
        .db_proxy
        .as_ref()
        .expect("a proxy in front of node 3");
    // Carol, on the cut node, sends one message by hand to time the failure.
    let probe = Watcher::open(cluster.node(CUT), CUT, &carol).await;
    let members = vec![
        Member {
            name: "alice",
            account: alice,
            // Alice stays on the cut node: her sends fail, and are sent again, until it heals.
            ws_urls: vec![cluster.node(CUT).ws_url()],
            plan: plan("alice", &[ab], 50),
            behaviour: steady(100),
        },
        Member {
            name: "bob",
            account: bob.clone(),
            ws_urls: cluster.ws_urls(0),
            plan: plan("bob", &[ab, cb], 25),
            behaviour: steady(100),
        },
    ];
    let measured = Mutex::new(None);
    let cut = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let cut_at = Instant::now();
        proxy.set(Mode::Reset);
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.set(Mode::Blackhole);
        let sent = probe.send(send(cb, "probe", Some("probe")), "probe-1");
        let (answered, answer) = probe.answer("probe-1", Duration::from_secs(10)).await;
        let failed_after = answered - sent;
        match answer {
            ServerEvent::Error(e) => assert_eq!(e.code, ErrorCode::StorageUnavailable, "{e:?}"),
            other => panic!("a send on the cut node: {other:?}"),
        }
        let unready = cluster
            .until_ready(CUT, false, Duration::from_secs(5))
            .await;
        assert_eq!(
            readiness(cluster.node(0)).await,
            Some(true),
            "node 1 is still ready"
        );
        tokio::time::sleep_until(cut_at + OUTAGE).await;
        assert!(cluster.node(CUT).running(), "the cut node did not exit");
        proxy.set(Mode::Open);
        let healed = Instant::now();
        let ready_again = cluster
            .until_ready(CUT, true, Duration::from_secs(20))
            .await;
        // The probe is sent again, same client id, until it is acked.
        let mut attempt = 1;
        loop {
            attempt += 1;
            let reference = format!("probe-{attempt}");
            probe.send(send(cb, "probe", Some("probe")), &reference);
            match probe.answer(&reference, Duration::from_secs(10)).await.1 {
                ServerEvent::MessageSent { .. } => break,
                ServerEvent::Error(e) if e.code == ErrorCode::StorageUnavailable => {
                    assert!(
                        healed.elapsed() < Duration::from_secs(20),
                        "the cut node recovers"
                    );
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                other => panic!("{reference}: {other:?}"),
            }
        }
        *measured.lock().unwrap() = Some((
            failed_after,
            unready,
            ready_again,
            healed.elapsed(),
            attempt,
        ));
    };
    let finished = run_members(api, members, cut).await;
    verify("database-cut", api, &finished).await;
    let probes = stored(api, &bob, cb)
        .await
        .into_iter()
        .filter(|m| m.client_id.as_deref() == Some("probe"))
        .count();
    assert_eq!(probes, 1, "the retried probe is stored once");
    let refused = &finished[0].outcome.refused;
    let (failed_after, unready, ready_again, recovered, attempts) =
        measured.lock().unwrap().expect("the cut ran");
    println!(
        "database-cut: node 3 cut from PostgreSQL for {OUTAGE:?}: a send failed with storageUnavailable after {failed_after:?} \
         (database timeout {DB_TIMEOUT_SECS} s), /readyz 503 after {unready:?}; healed: ready again after {ready_again:?}, \
         the probe acked {recovered:?} after healing ({attempts} attempts, stored once); alice's sends refused {} times, \
         every one stored once",
        refused.len()
    );
    assert!(
        failed_after <= Duration::from_secs(DB_TIMEOUT_SECS + 2),
        "the send failed within the database timeout, not hanging: {failed_after:?}"
    );
    assert!(
        refused.iter().all(|c| *c == ErrorCode::StorageUnavailable),
        "refusals are storageUnavailable: {refused:?}"
    );
}
