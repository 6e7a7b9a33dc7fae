//! Scenario 9: the limits are shared. One user with sockets on three nodes sends flat out: the
//! cluster accepts what one node would (burst plus rate × time), not three times that; and
//! the sign-in limit per (username, address) counts attempts on every node.

use std::time::Duration;

use natter::protocol::{ErrorCode, ServerEvent};
use tokio::time::Instant;

use crate::harness::{Cluster, NODES, Options, serial};
use crate::support::commands::send;
use crate::watcher::Watcher;

const RATE: u32 = 1;
const BURST: u32 = 5;
const LOGINS_PER_MINUTE: u32 = 3;
/// Sends per socket, all at once.
const SENDS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_send_quota_and_sign_in_limit_hold_across_nodes() {
    let Some(_serial) = serial().await else {
        return;
    };
    let (rate, burst, logins) = (
        RATE.to_string(),
        BURST.to_string(),
        LOGINS_PER_MINUTE.to_string(),
    );
    let cluster = Cluster::start(Options {
        settings: &[
            ("NATTER_SEND_RATE", &rate),
            ("NATTER_SEND_BURST", &burst),
            ("NATTER_LOGIN_RATE", &logins),
        ],
        ..Options::default()
    })
    .await;
    let (alice, bob) = (
        cluster.register("alice").await,
        cluster.register("bob").await,
    );
    let conv = cluster.node(0).conversation(&alice, &bob).await.id;
    let mut sockets = Vec::new();
    for n in 0..NODES {
        sockets.push(Watcher::open(cluster.node(n), n, &alice).await);
    }
    let started = Instant::now();
    for i in 0..SENDS {
        for socket in &sockets {
            let reference = format!("n{}-{i}", socket.node);
            socket.send(send(conv, &reference, Some(&reference)), &reference);
        }
    }
    let (mut accepted, mut limited) = (0, 0);
    for socket in &sockets {
        for i in 0..SENDS {
            let reference = format!("n{}-{i}", socket.node);
            match socket.answer(&reference, Duration::from_secs(10)).await.1 {
                ServerEvent::MessageSent { .. } => accepted += 1,
                ServerEvent::Error(e) if e.code == ErrorCode::RateLimited => limited += 1,
                other => panic!("{reference}: {other:?}"),
            }
        }
    }
    let elapsed = started.elapsed();
    let allowed = BURST as f64 + elapsed.as_secs_f64() * RATE as f64;
    println!(
        "limits: one user sent {} messages through {NODES} nodes in {elapsed:?}: {accepted} accepted, {limited} rateLimited \
         (one node's quota allows {allowed:.1}; counted per node it would be {})",
        SENDS * NODES,
        BURST as usize * NODES,
    );
    assert!(
        accepted as f64 <= allowed + 1.0,
        "the cluster accepted {accepted}, more than one quota ({allowed:.1})"
    );
    assert!(accepted >= BURST as usize, "the burst was accepted");

    // Sign-ins: the limit per (username, address) is spent across the nodes.
    let mut statuses = Vec::new();
    for attempt in 0..=LOGINS_PER_MINUTE as usize {
        let (status, _) = cluster.node(attempt % NODES).login("alice").await;
        statuses.push(status);
    }
    println!("limits: sign-ins on nodes 1, 2, 3, 1 answered {statuses:?}");
    assert_eq!(
        statuses,
        [vec![200_u16; LOGINS_PER_MINUTE as usize], vec![429]].concat(),
        "the fourth sign-in in a minute is refused, whichever node takes it"
    );
}
