//! Scenario 10: deploy/haproxy.cfg itself, its ports moved to this cluster's, in front of the
//! three nodes. Clients that know only the front keep chatting while each node behind it is
//! SIGKILLed in turn (they reconnect through HAProxy to a live node and resume); a Socket.IO
//! client on long-polling through it and a native client on a node see each other's messages,
//! with our own Engine.IO client and with the real `socket.io-client` (Node).

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use natter::protocol::{MessageView, ServerEvent};
use serde_json::json;

use crate::harness::{Cluster, NODES, Options, serial};
use crate::support::api::Api;
use crate::support::commands::{join, send};
use crate::support::process::free_port;
use crate::support::socketio::{Packet, SocketIoClient};
use crate::support::tally::{run_members, stored, verify};
use crate::support::until;
use crate::watcher::Watcher;

/// The configuration the tests run, as shipped.
const SHIPPED: &str = include_str!("../../../deploy/haproxy.cfg");

/// An HAProxy child process; killed when dropped.
struct Front {
    port: u16,
    child: Child,
    _config: tempfile::NamedTempFile,
}

impl Front {
    /// deploy/haproxy.cfg with the front on a free port and the three nodes' ports.
    async fn start(cluster: &Cluster) -> Self {
        let port = free_port();
        let mut config = SHIPPED.replace("127.0.0.1:3000", &format!("127.0.0.1:{port}"));
        for n in 0..NODES {
            let shipped = format!("127.0.0.1:300{}", n + 1);
            config = config.replace(&shipped, &cluster.node(n).addr.to_string());
        }
        let file = tempfile::NamedTempFile::new().expect("a file for the HAProxy config");
        std::fs::write(file.path(), config).expect("writing the HAProxy config");
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(file.path())
            // Its request log goes to stdout.
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("haproxy on PATH (scripts/setup.sh --test installs Debian's)");
        let front = Self {
            port,
            child,
            _config: file,
        };
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/readyz");
        until(Duration::from_secs(10), || async {
            http.get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        front
    }

    fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_through_haproxy_keep_chatting_while_nodes_die() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let front = Front::start(&cluster).await;
    let trio = cluster.trio().await;
    let api = cluster.node(0);
    let mut members = trio.members(&cluster, 40, 40, false);
    // Alice and Bob come through HAProxy; Carol talks to one node directly.
    for member in &mut members[..2] {
        member.ws_urls = vec![front.ws_url()];
    }
    let kills = async {
        for victim in 0..NODES {
            tokio::time::sleep(Duration::from_millis(500)).await;
            cluster.node(victim).kill();
            tokio::time::sleep(Duration::from_millis(500)).await;
            cluster.node(victim).restart().await;
        }
    };
    let finished = run_members(api, members, kills).await;
    let tally = verify("haproxy", api, &finished).await;
    let through_front: usize = finished[..2].iter().map(|f| f.outcome.reconnects).sum();
    println!("haproxy: the clients behind HAProxy reconnected {through_front} times");
    assert!(
        through_front >= 1,
        "a node behind the front died under a client ({} reconnects in all)",
        tally.reconnects
    );
}

/// Scenario 10: a Socket.IO client through HAProxy, on long-polling then upgraded to a WebSocket
/// (every poll is a request of its own and the upgrade one more, so the front must keep the
/// session on one node: the cookie), and a native client on another node, sending to each
/// other at once: both see every message once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_through_haproxy_and_a_native_client_see_every_message() {
    const EACH: u64 = 15;
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let front = Front::start(&cluster).await;
    let (alice, bob) = (
        cluster.register("alice").await,
        cluster.register("bob").await,
    );
    let conv = cluster.node(0).conversation(&alice, &bob).await.id;
    let native = Watcher::open(cluster.node(2), 2, &alice).await;
    native.send(join(conv), "join");
    native.answer("join", Duration::from_secs(5)).await;
    let through = Api::new(SocketAddr::from(([127, 0, 0, 1], front.port)));
    let (mut sio, answer) = SocketIoClient::connect(&through, json!({"token": bob.token})).await;
    assert_eq!(answer, Packet::Connect);
    let joined = sio
        .request("joinConversation", json!({"convId": conv}), 1)
        .await;
    assert_eq!(joined["convId"], json!(conv));

    // Both send at once; Bob's client reads what comes while it waits for each ack. First on
    // long-polling, then upgraded to a WebSocket (which must reach the same node: the cookie).
    let mut bob_holds = Vec::new();
    for i in 0..2 * EACH {
        if i == EACH {
            sio.upgrade().await;
        }
        let reference = format!("a{i}");
        native.send(
            send(conv, &format!("alice {i}"), Some(&reference)),
            &reference,
        );
        let ack = 100 + i;
        let data = json!({"convId": conv, "message": {"message": format!("bob {i}")}, "clientId": format!("b{i}")});
        sio.emit("sendMessage", data, Some(ack)).await;
        loop {
            match sio.next().await {
                Packet::Ack(id, data) if id == ack => {
                    bob_holds.push(data["message"].clone());
                    break;
                }
                Packet::Event(name, data) if name == "newMessage" => {
                    bob_holds.push(data["message"].clone());
                }
                _ => {}
            }
        }
    }
    let total = 4 * EACH as usize;
    tokio::time::timeout(Duration::from_secs(10), async {
        while bob_holds.len() < total {
            if let Packet::Event(name, data) = sio.next().await
                && name == "newMessage"
            {
                bob_holds.push(data["message"].clone());
            }
        }
    })
    .await
    .expect("Bob's Socket.IO client got every message");
    let truth = stored(cluster.node(0), &alice, conv).await;
    assert_eq!(truth.len(), total, "every send stored once");
    let mut bob_seqs: Vec<i64> = bob_holds
        .iter()
        .map(|m| m["seq"].as_i64().expect("a seq"))
        .collect();
    let arrived_in_order = bob_seqs.windows(2).all(|w| w[0] < w[1]);
    bob_seqs.sort_unstable();
    assert_eq!(
        bob_seqs,
        (1..=total as i64).collect::<Vec<_>>(),
        "Bob (Socket.IO, through HAProxy) holds every message once"
    );
    assert!(arrived_in_order, "Bob got them in seq order");
    until(Duration::from_secs(10), || {
        let held = native
            .events()
            .into_iter()
            .filter(|(_, e)| {
                matches!(
                    e,
                    ServerEvent::NewMessage { .. } | ServerEvent::MessageSent { .. }
                )
            })
            .count();
        std::future::ready(held >= total)
    })
    .await;
    let alice_holds: Vec<MessageView> = native
        .events()
        .into_iter()
        .filter_map(|(_, e)| match e {
            ServerEvent::NewMessage { message } | ServerEvent::MessageSent { message } => {
                Some(message)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        alice_holds, truth,
        "Alice (native, node 3) holds the conversation as stored"
    );
    println!(
        "haproxy-socketio: Bob on Socket.IO through HAProxy (cookie-sticky; {EACH} on long-polling, {EACH} after the \
         upgrade to a WebSocket) and Alice native on node 3 sent as many: both hold all {total}, once, in order"
    );
}

/// Scenario 10 with the real `socket.io-client` (Node, end2end's copy): long-polling, then the
/// upgrade, through HAProxy, beside a native client on a node sending as much.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_socketio_client_through_haproxy_sees_every_message() {
    const EACH: usize = 20;
    let e2e = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end");
    if !std::path::Path::new(e2e)
        .join("node_modules/socket.io-client")
        .exists()
    {
        eprintln!(
            "skipped: end2end/node_modules has no socket.io-client (scripts/setup.sh --test installs it)"
        );
        return;
    }
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let front = Front::start(&cluster).await;
    let (alice, bob, carol) = (
        cluster.register("alice").await,
        cluster.register("bob").await,
        cluster.register("carol").await,
    );
    // Long-polling only (every request must reach the same node: HAProxy's cookie, kept by the
    // client), then the default: polling, then the upgrade to a WebSocket.
    for (peer, upgrade) in [(&bob, false), (&carol, true)] {
        let conv = cluster.node(0).conversation(&alice, peer).await.id;
        let native = Watcher::open(cluster.node(2), 2, &alice).await;
        // References and client ids unique to the round: the watcher keeps every answer.
        let round = peer.id.0;
        let joining = format!("join-{round}");
        native.send(join(conv), &joining);
        native.answer(&joining, Duration::from_secs(5)).await;
        let total = 2 * EACH;
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cluster/js/socketio_client.mjs"
        );
        let settings = json!({
            "url": format!("http://127.0.0.1:{}", front.port),
            "token": peer.token,
            "upgrade": upgrade,
            "conv": conv,
            "count": EACH,
            "expect": total,
        });
        let settings = settings.to_string();
        // The script ends itself after 30 s whatever happens.
        let client = tokio::task::spawn_blocking(move || {
            Command::new("node").args([script, e2e, &settings]).output()
        });
        let alice_sends = async {
            for i in 0..EACH {
                let reference = format!("a-{round}-{i}");
                native.send(
                    send(conv, &format!("alice {i}"), Some(&reference)),
                    &reference,
                );
                native.answer(&reference, Duration::from_secs(5)).await;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        };
        let (output, ()) = tokio::join!(client, alice_sends);
        let output = output.expect("the script's task").expect("node runs");
        assert!(
            output.status.success(),
            "the socket.io-client script failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("the script's JSON line");
        let seqs: Vec<i64> = report["seqs"]
            .as_array()
            .expect("seqs")
            .iter()
            .map(|s| s.as_i64().expect("a seq"))
            .collect();
        let transports: Vec<&str> = report["transports"]
            .as_array()
            .expect("transports")
            .iter()
            .map(|t| t.as_str().expect("a name"))
            .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in seq order: {seqs:?}"
        );
        assert_eq!(
            seqs,
            (1..=total as i64).collect::<Vec<_>>(),
            "the socket.io-client holds every message once"
        );
        let expected = if upgrade { "websocket" } else { "polling" };
        assert_eq!(
            transports.last(),
            Some(&expected),
            "the client's transport through HAProxy: {transports:?}"
        );
        let truth = stored(cluster.node(0), &alice, conv).await;
        assert_eq!(truth.len(), total, "every send stored once");
        println!(
            "haproxy-socketio-js: socket.io-client through HAProxy, upgrade {upgrade} (joined on {}; {} acks on polling, {} on websocket) and a native client on node 3: all {total} held once, in order",
            report["joinedOn"],
            transports.iter().filter(|t| **t == "polling").count(),
            transports.iter().filter(|t| **t == "websocket").count(),
        );
    }
}
