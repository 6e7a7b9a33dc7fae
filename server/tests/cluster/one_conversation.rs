//! Scenario 2: concurrent senders to one conversation through different nodes — Alice from
//! nodes 1 and 2 at once, Bob from node 3 — flat out. The conversation's `seq` stays gapless and
//! every socket holds it exactly as stored, each message once, its own sends acked in place.

use crate::harness::{Cluster, Options, serial};
use crate::support::tally::{Member, plan, run_members, steady, verify};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_senders_on_three_nodes_share_one_gapless_order() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let (alice, bob) = (
        cluster.register("alice").await,
        cluster.register("bob").await,
    );
    let api = cluster.node(0);
    let ab = api.conversation(&alice, &bob).await.id;
    let members = vec![
        Member {
            name: "alice-on-1",
            account: alice.clone(),
            ws_urls: cluster.ws_urls(0),
            plan: plan("alice-on-1", &[ab], 60),
            behaviour: steady(5),
        },
        Member {
            name: "alice-on-2",
            account: alice,
            ws_urls: cluster.ws_urls(1),
            plan: plan("alice-on-2", &[ab], 60),
            behaviour: steady(5),
        },
        Member {
            name: "bob-on-3",
            account: bob,
            ws_urls: cluster.ws_urls(2),
            plan: plan("bob-on-3", &[ab], 60),
            behaviour: steady(5),
        },
    ];
    let finished = run_members(api, members, async {}).await;
    let tally = verify("one-conversation", api, &finished).await;
    assert_eq!(tally.reconnects, 0, "no client had to reconnect");
}
