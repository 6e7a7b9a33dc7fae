//! Three nodes on one fresh PostgreSQL database and one private Redis, started for one
//! scenario and gone after it; scenarios take [`serial`] first, so only one cluster runs at a
//! time on the machine.

use std::net::SocketAddr;
use std::time::Duration;

use natter::protocol::ConversationId;
use natter::store::Engine;
use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

use crate::proxy::Proxy;
use crate::redis::{self, Redis};
use crate::support::api::{Account, Api};
use crate::support::process::{Backing, Launch, ServerProcess};
use crate::support::tally::{Member, plan, steady};
use crate::support::until;

/// How many nodes a cluster has.
pub const NODES: usize = 3;

/// The position check's interval while Redis is healthy (the default is 5 s; the scenarios
/// wait for it, so it is shorter here). While Redis is not healthy it runs every second.
pub const POSITION_CHECK_SECS: u64 = 2;

/// Each node's database timeout (the default is 5 s).
pub const DB_TIMEOUT_SECS: u64 = 2;

/// One secret for every node, as docs/DEPLOY.md asks (a token signed by one node is valid on
/// every other).
const JWT_SECRET: &str = "cluster-test-secret-shared-by-every-node-0123456789";

/// Held by the running scenario: the next one waits.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// The right to run a cluster now, or `None` (after saying why) when `redis-server` is not on
/// PATH and the scenario must skip.
pub async fn serial() -> Option<MutexGuard<'static, ()>> {
    if !redis::available() {
        eprintln!(
            "SKIPPED: redis-server is not on PATH; the cluster tests need it (apt-get install redis-server)"
        );
        return None;
    }
    Some(SERIAL.lock().await)
}

/// Three nodes, their Redis, and (for one node, when asked) a proxy between it and PostgreSQL.
pub struct Cluster {
    pub nodes: Vec<ServerProcess>,
    pub redis: Redis,
    /// The proxy the node [`Options::proxied`] names reaches the database through.
    pub db_proxy: Option<Proxy>,
}

/// How a cluster is set up.
#[derive(Default)]
pub struct Options<'a> {
    /// Settings for every node, on top of the harness's.
    pub settings: &'a [(&'a str, &'a str)],
    /// This node reaches PostgreSQL through [`Cluster::db_proxy`].
    pub proxied: Option<usize>,
}

impl Cluster {
    /// Redis, then the first node (which applies the migrations), then the others; returns
    /// once every node answers `/readyz` 200.
    pub async fn start(options: Options<'_>) -> Self {
        let redis = Redis::start().await;
        let backing = Backing::new(Engine::Postgres).await;
        let db_proxy = match options.proxied {
            Some(_) => Some(Proxy::start(postgres_addr(&backing.db.url)).await),
            None => None,
        };
        let check = POSITION_CHECK_SECS.to_string();
        let timeout = DB_TIMEOUT_SECS.to_string();
        let mut nodes = Vec::new();
        for n in 0..NODES {
            let mut launch = Launch::default()
                .env("REDIS_URL", redis.url())
                .env("NATTER_NODE_ID", format!("node-{}", n + 1))
                .env("NATTER_JWT_SECRET", JWT_SECRET)
                .env("NATTER_POSITION_CHECK_SECS", &check)
                .env("NATTER_DB_TIMEOUT_SECS", &timeout)
                .envs(options.settings);
            if let (Some(proxied), Some(proxy)) = (options.proxied, &db_proxy)
                && proxied == n
            {
                launch = launch.env("DATABASE_URL", through(&backing.db.url, proxy.addr));
            }
            nodes.push(launch.start_on(&backing).await);
        }
        let cluster = Self {
            nodes,
            redis,
            db_proxy,
        };
        for n in 0..NODES {
            cluster.until_ready(n, true, Duration::from_secs(15)).await;
        }
        cluster
    }

    pub fn node(&self, n: usize) -> &ServerProcess {
        &self.nodes[n]
    }

    /// The `/ws` addresses a client of node `n` uses: its own first, then the others in turn
    /// (where it reconnects when its node refuses).
    pub fn ws_urls(&self, n: usize) -> Vec<String> {
        (0..NODES)
            .map(|i| self.nodes[(n + i) % NODES].ws_url())
            .collect()
    }

    /// Registers `name` (on node 0).
    pub async fn register(&self, name: &str) -> Account {
        self.nodes[0].register(name).await
    }

    /// Alice, Bob and Carol, with a conversation between each two of them.
    pub async fn trio(&self) -> Trio {
        let (alice, bob, carol) = (
            self.register("alice").await,
            self.register("bob").await,
            self.register("carol").await,
        );
        let api = &self.nodes[0];
        Trio {
            ab: api.conversation(&alice, &bob).await.id,
            bc: api.conversation(&bob, &carol).await.id,
            ca: api.conversation(&carol, &alice).await.id,
            alice,
            bob,
            carol,
        }
    }

    /// Waits until node `n`'s `/readyz` answers 200 (`ready`) or 503 (not), for at most
    /// `limit`; returns how long that took.
    pub async fn until_ready(&self, n: usize, ready: bool, limit: Duration) -> Duration {
        let started = Instant::now();
        let api = &self.nodes[n];
        until(limit, || async { readiness(api).await == Some(ready) }).await;
        started.elapsed()
    }
}

/// Whether `/readyz` says ready (None: no answer at all).
pub async fn readiness(api: &Api) -> Option<bool> {
    let answer = api
        .http
        .get(api.url("/readyz"))
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .ok()?;
    match answer.status().as_u16() {
        200 => Some(true),
        503 => Some(false),
        other => panic!("/readyz answered {other}"),
    }
}

/// The host and port of a `postgres://user@host:port/db` URL.
fn postgres_addr(url: &str) -> SocketAddr {
    let rest = url.split_once('@').map_or(url, |(_, rest)| rest);
    let host = rest
        .split('/')
        .next()
        .expect("host:port in the database URL");
    let host = host.replace("localhost", "127.0.0.1");
    let host = if host.contains(':') {
        host
    } else {
        format!("{host}:5432")
    };
    host.parse()
        .unwrap_or_else(|e| panic!("{host} in {url}: {e}"))
}

/// `url` with its host and port replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> String {
    let (head, rest) = url.split_once('@').expect("user@host in the database URL");
    let (_, db) = rest.split_once('/').expect("/database in the database URL");
    format!("{head}@{addr}/{db}")
}

/// The `p`-th percentile (0–100) of `samples`, in ms.
pub fn percentile(samples: &mut [Duration], p: usize) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort();
    let index = ((samples.len() - 1) * p).div_ceil(100);
    samples[index].as_secs_f64() * 1000.0
}

/// The cast of most scenarios: three people, a conversation between each two.
pub struct Trio {
    pub alice: Account,
    pub bob: Account,
    pub carol: Account,
    pub ab: ConversationId,
    pub bc: ConversationId,
    pub ca: ConversationId,
}

impl Trio {
    /// Alice's client on node 1, Bob's on node 2, Carol's on node 3 (each falling back to the
    /// others), each sending `per_conv` messages into both of their conversations, one every
    /// `every_ms`; with `carol_reads_only`, Carol sends nothing and only receives.
    pub fn members(
        &self,
        cluster: &Cluster,
        per_conv: usize,
        every_ms: u64,
        carol_reads_only: bool,
    ) -> Vec<Member> {
        let cast = [
            ("alice", &self.alice, [self.ab, self.ca]),
            ("bob", &self.bob, [self.ab, self.bc]),
            ("carol", &self.carol, [self.bc, self.ca]),
        ];
        cast.into_iter()
            .enumerate()
            .map(|(node, (name, account, convs))| Member {
                name,
                account: account.clone(),
                ws_urls: cluster.ws_urls(node),
                plan: if carol_reads_only && name == "carol" {
                    Vec::new()
                } else {
                    plan(name, &convs, per_conv)
                },
                behaviour: steady(every_ms),
            })
            .collect()
    }
}
