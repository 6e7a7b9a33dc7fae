//! Scenario 11: typing and presence across nodes. Typing crosses through Redis at once (best
//! effort); presence too, and it is repaired without Redis's help where it must be: a node
//! killed with a user's only socket stops sending its roster, the others forget it, and the
//! user's contacts are told they went offline.

use std::time::Duration;

use natter::protocol::limits::OFFLINE_AFTER;
use natter::protocol::{ClientCommand, ServerEvent};
use tokio::time::Instant;

use crate::harness::{Cluster, Options, serial};
use crate::support::commands::join;
use crate::watcher::Watcher;

/// How soon an event crosses nodes through Redis.
const CROSSES_WITHIN: Duration = Duration::from_secs(2);

/// The roster interval (5 s) plus the time a silent node is remembered (16 s) plus the offline
/// grace period (10 s), with room for a loaded machine.
const KILLED_NODE_FORGOTTEN_WITHIN: Duration = Duration::from_secs(40);

fn presence_of(
    user: natter::protocol::UserId,
    online: bool,
) -> impl FnMut(&ServerEvent) -> Option<()> {
    move |event| match event {
        ServerEvent::Presence(view) if view.user_id == user && view.online == online => Some(()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_presence_cross_nodes_and_a_dead_nodes_users_go_offline() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let trio = cluster.trio().await;
    let bob = Watcher::open(cluster.node(0), 0, &trio.bob).await;

    // alice connects on node 2: bob, on node 1, is told she is online.
    let connected = Instant::now();
    let alice = Watcher::open(cluster.node(1), 1, &trio.alice).await;
    let (told, ()) = bob
        .first(CROSSES_WITHIN, presence_of(trio.alice.id, true))
        .await;
    let online_after = told - connected;

    // Typing crosses too.
    for (watcher, reference) in [(&bob, "jb"), (&alice, "ja")] {
        watcher.send(join(trio.ab), reference);
        let (_, joined) = watcher.answer(reference, CROSSES_WITHIN).await;
        assert!(matches!(joined, ServerEvent::JoinedConversation { .. }));
    }
    let typed = alice.send(
        ClientCommand::Typing {
            conv_id: trio.ab,
            typing: true,
        },
        "t",
    );
    let (heard, ()) = bob
        .first(CROSSES_WITHIN, |event| match event {
            ServerEvent::Typing {
                user_id,
                typing: true,
                ..
            } if *user_id == trio.alice.id => Some(()),
            _ => None,
        })
        .await;
    let typing_after = heard - typed;

    // alice closes her socket: told offline after the grace period, not before.
    drop(alice);
    let closed = Instant::now();
    let (told, ()) = bob
        .first(
            OFFLINE_AFTER + CROSSES_WITHIN * 2,
            presence_of(trio.alice.id, false),
        )
        .await;
    let offline_after = told - closed;
    assert!(
        offline_after >= OFFLINE_AFTER - Duration::from_secs(1),
        "{offline_after:?}"
    );

    // carol's only socket is on node 3, which is killed: no node says she left, yet bob is
    // told she went offline once node 3's roster is missed.
    let carol = Watcher::open(cluster.node(2), 2, &trio.carol).await;
    bob.first(CROSSES_WITHIN, presence_of(trio.carol.id, true))
        .await;
    cluster.node(2).kill();
    let killed = Instant::now();
    let (told, ()) = bob
        .first(
            KILLED_NODE_FORGOTTEN_WITHIN,
            presence_of(trio.carol.id, false),
        )
        .await;
    let repaired_after = told - killed;
    drop(carol);
    println!(
        "around: online told across nodes after {online_after:?}, typing after {typing_after:?}, \
         offline after a close {offline_after:?} (grace {OFFLINE_AFTER:?}), \
         offline after the user's node was killed {repaired_after:?}"
    );
}
