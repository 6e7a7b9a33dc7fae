//! Scenario 10 (native part): deploy/haproxy.cfg itself, its ports moved to this cluster's,
//! in front of the three nodes. Clients that know only the front keep chatting while each node
//! behind it is SIGKILLed in turn: they reconnect through HAProxy to a live node and resume.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::harness::{Cluster, NODES, Options, serial};
use crate::support::process::free_port;
use crate::support::tally::{Member, plan, run_members, steady, verify};
use crate::support::until;

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
            ws_urls: vec![front.ws_url()],
            plan: plan("alice", &[ab, ca], 40),
            behaviour: steady(40),
        },
        Member {
            name: "bob",
            account: bob,
            ws_urls: vec![front.ws_url()],
            plan: plan("bob", &[ab, bc], 40),
            behaviour: steady(40),
        },
        // Carol talks to one node directly.
        Member {
            name: "carol",
            account: carol,
            ws_urls: cluster.ws_urls(2),
            plan: plan("carol", &[bc, ca], 40),
            behaviour: steady(40),
        },
    ];
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
