//! natter's benchmark: the release server binary runs as a child process on a fresh database and
//! this process drives it over real sockets on loopback, as clients would. It measures what a
//! user feels and what an operator pays:
//!
//! - `latency`: send → `messageSent` and send → `newMessage` over `/ws`, at a fixed low rate (so
//!   it measures the path, not a queue), with 2 and with 50 listening sockets in the room;
//! - `rest`: `POST /api/conversations/{id}/messages` round trips at the same rate;
//! - `throughput`: messages committed and fanned out per second by concurrent senders in
//!   separate conversations, each keeping a window of sends in flight, on SQLite and PostgreSQL;
//! - `memory`: the server's resident memory fresh, after a restart, and with 1,000 sockets
//!   connected, then joined to a room; the difference per socket.
//!
//! The server is a separate process so its memory and CPU are its own; the clients share the
//! machine's cores with it, as on a single-box deployment. Every figure comes from a new server
//! on a new database with the send quota off (`NATTER_SEND_RATE=0`). Other `NATTER_*` settings in
//! the environment are passed to the server, to compare configurations.
//!
//! `cargo bench -p server --bench chat [-- [--quick] [--runs N] [--rate N] [--senders N]
//! [SECTION…]]`: `--quick` (or `NATTER_BENCH_QUICK=1`) is a short smoke run; `--runs N` repeats
//! everything and ends with the median of each figure; `--rate` changes the latency sections'
//! send rate and `--senders` the throughput section's concurrent senders;
//! `NATTER_BENCH_SERVER=<binary>` measures another build of the server. docs/PERFORMANCE.md
//! records the method and the results.

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::stream;
use futures_util::{SinkExt, StreamExt, TryStreamExt};
use natter::protocol::{
    AuthResponse, ClientCommand, ClientFrame, ConversationId, ConversationView, NewMessage,
    PostMessageRequest, ServerEvent, ServerFrame, UserId,
};
use natter::store::Engine;
use natter::testdb::TestDb;
use tokio::net::TcpStream;
use tokio::time::MissedTickBehavior;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How much work each section does.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Messages sent (and measured) per latency scenario, after `warmup` unmeasured ones.
    messages: usize,
    warmup: usize,
    /// Sends per second in the latency and REST sections.
    rate: u32,
    /// Listening sockets in the room, one latency scenario each.
    listeners: [usize; 2],
    /// Concurrent senders (one conversation each) and the sends each keeps in flight.
    senders: usize,
    window: usize,
    /// Length of the measured part of each throughput run, after one second of warm-up.
    saturation: Duration,
    /// Idle sockets in the memory section.
    sockets: usize,
}

/// About 1½ minutes.
const FULL: Plan = Plan {
    messages: 1000,
    warmup: 100,
    rate: 100,
    listeners: [2, 50],
    senders: 8,
    window: 4,
    saturation: Duration::from_secs(8),
    sockets: 1000,
};

/// About 20 seconds: proves every section works, figures are rough.
const QUICK: Plan = Plan {
    messages: 200,
    warmup: 20,
    rate: 100,
    listeners: [2, 50],
    senders: 8,
    window: 4,
    saturation: Duration::from_secs(2),
    sockets: 200,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    Latency,
    Rest,
    Throughput,
    Memory,
}

impl Section {
    const ALL: [Self; 4] = [Self::Latency, Self::Rest, Self::Throughput, Self::Memory];

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    fn name(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Rest => "rest",
            Self::Throughput => "throughput",
            Self::Memory => "memory",
        }
    }
}

struct Options {
    plan: Plan,
    quick: bool,
    runs: usize,
    sections: Vec<Section>,
}

impl Options {
    fn from_args() -> anyhow::Result<Self> {
        let mut quick =
            std::env::var("NATTER_BENCH_QUICK").is_ok_and(|v| v != "0" && !v.is_empty());
        let mut runs = 1;
        let mut rate = None;
        let mut senders = None;
        let mut sections = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                // `cargo bench` passes `--bench` to every bench target.
                "--bench" => {}
                "--quick" => quick = true,
                "--senders" => {
                    senders = Some(
                        args.next()
                            .and_then(|n| n.parse().ok())
                            .filter(|n| *n >= 1)
                            .context("--senders takes a count of 1 or more")?,
                    );
                }
                "--rate" => {
                    rate = Some(
                        args.next()
                            .and_then(|n| n.parse().ok())
                            .filter(|n| *n >= 1)
                            .context("--rate takes sends per second, 1 or more")?,
                    );
                }
                "--runs" => {
                    runs = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|n| *n >= 1)
                        .context("--runs takes a count of 1 or more")?;
                }
                name => match Section::parse(name) {
                    Some(section) => sections.push(section),
                    None => bail!(
                        "unknown argument {name:?}; usage: chat [--quick] [--runs N] [--rate N] \
                         [--senders N] [{}]…",
                        Section::ALL.map(Section::name).join("|")
                    ),
                },
            }
        }
        if sections.is_empty() {
            sections = Section::ALL.to_vec();
        }
        let mut plan = if quick { QUICK } else { FULL };
        plan.rate = rate.unwrap_or(plan.rate);
        plan.senders = senders.unwrap_or(plan.senders);
        Ok(Self {
            plan,
            quick,
            runs,
            sections,
        })
    }
}

fn main() -> anyhow::Result<()> {
    let options = Options::from_args()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the Tokio runtime")?;
    runtime.block_on(run(options))
}

async fn run(options: Options) -> anyhow::Result<()> {
    println!(
        "natter chat bench: {} run{}, {} CPUs, server {}",
        if options.quick { "quick" } else { "full" },
        if options.runs > 1 {
            format!(" ×{}", options.runs)
        } else {
            String::new()
        },
        std::thread::available_parallelism().map_or(0, usize::from),
        server_binary(),
    );
    let mut runs = Vec::new();
    for run in 1..=options.runs {
        let started = Instant::now();
        let load = load_average();
        let tables = run_once(&options).await?;
        println!(
            "\n── run {run}/{}: {:.0} s, load average {load} → {}",
            options.runs,
            started.elapsed().as_secs_f64(),
            load_average()
        );
        for table in &tables {
            table.print();
        }
        runs.push(tables);
    }
    if runs.len() > 1 {
        println!("\n── median of {} runs", runs.len());
        for table in Table::medians(&runs) {
            table.print();
        }
    }
    Ok(())
}

async fn run_once(options: &Options) -> anyhow::Result<Vec<Table>> {
    let plan = &options.plan;
    let mut tables = Vec::new();
    for section in &options.sections {
        match section {
            Section::Latency => {
                let mut table = Table::new(
                    format!(
                        "latency over /ws, SQLite, {} msg/s, {} messages after {} warm-up (ms)",
                        plan.rate, plan.messages, plan.warmup
                    ),
                    &["p50", "p90", "p99", "max", "CPU µs/msg"],
                );
                for listeners in plan.listeners {
                    let result = latency(plan, listeners)
                        .await
                        .with_context(|| format!("latency with {listeners} listeners"))?;
                    let cpu = result.cpu_per_message.as_secs_f64() * 1e6;
                    table.latency_row(
                        format!("{listeners} listeners: send → messageSent"),
                        result.acks,
                        &[f64::NAN],
                    );
                    table.latency_row(
                        format!("{listeners} listeners: send → newMessage"),
                        result.deliveries,
                        &[cpu],
                    );
                }
                tables.push(table);
            }
            Section::Rest => {
                let mut table = Table::new(
                    format!(
                        "REST POST /api/conversations/{{id}}/messages → 201, SQLite, {} req/s (ms)",
                        plan.rate
                    ),
                    &["p50", "p90", "p99", "max"],
                );
                table.latency_row("round trip".into(), rest(plan).await.context("rest")?, &[]);
                tables.push(table);
            }
            Section::Throughput => {
                let mut table = Table::new(
                    format!(
                        "throughput: {} senders × {} in flight, separate conversations, {} s",
                        plan.senders,
                        plan.window,
                        plan.saturation.as_secs()
                    ),
                    &["msg/s", "deliv/s", "ack p50 ms", "ack p99 ms", "CPU µs/msg"],
                );
                for engine in [Engine::Sqlite, Engine::Postgres] {
                    let result = throughput(plan, engine)
                        .await
                        .with_context(|| format!("throughput on {engine:?}"))?;
                    let acks = Latencies::new(result.acks);
                    table.row(
                        format!("{engine:?}"),
                        vec![
                            result.acked_per_sec,
                            result.delivered_per_sec,
                            acks.ms(0.50),
                            acks.ms(0.99),
                            result.cpu_per_message.as_secs_f64() * 1e6,
                        ],
                    );
                }
                tables.push(table);
            }
            Section::Memory => {
                let result = memory(plan).await.context("memory")?;
                let per_socket =
                    |kib: u64| (kib.saturating_sub(result.idle.rss)) as f64 / plan.sockets as f64;
                let mut table = Table::new(
                    "memory of the server process, SQLite (KiB)".into(),
                    &["VmRSS", "RssAnon", "per socket"],
                );
                let nan = f64::NAN;
                table.row(
                    "fresh start, empty database".into(),
                    vec![result.fresh.rss as f64, result.fresh.anon as f64, nan],
                );
                table.row(
                    format!("restarted, {} users, no sockets", plan.sockets),
                    vec![result.idle.rss as f64, result.idle.anon as f64, nan],
                );
                table.row(
                    format!("{} sockets connected, idle", plan.sockets),
                    vec![
                        result.connected.rss as f64,
                        result.connected.anon as f64,
                        per_socket(result.connected.rss),
                    ],
                );
                table.row(
                    format!("{} sockets, each joined to a room", plan.sockets),
                    vec![
                        result.joined.rss as f64,
                        result.joined.anon as f64,
                        per_socket(result.joined.rss),
                    ],
                );
                tables.push(table);
            }
        }
    }
    Ok(tables)
}

// ---- scenarios -----------------------------------------------------------------------------

/// One sender and `listeners` sockets of the other member in one conversation's room; the
/// sender sends at `plan.rate` without waiting for answers.
async fn latency(plan: &Plan, listeners: usize) -> anyhow::Result<Latency> {
    let server = Server::start(Engine::Sqlite).await?;
    let (alice, bob) = tokio::try_join!(server.register("alice"), server.register("bob"))?;
    let conv = server.conversation(&alice, &bob).await?;
    let mut sender = server.socket(&alice).await?;
    join(&mut sender, conv).await?;
    let total = plan.warmup + plan.messages;
    let mut receivers = Vec::new();
    for _ in 0..listeners {
        let mut socket = server.socket(&bob).await?;
        join(&mut socket, conv).await?;
        receivers.push(tokio::spawn(async move {
            let mut arrivals = Vec::with_capacity(total);
            while arrivals.len() < total {
                let (at, frame) = next_frame(&mut socket).await?;
                if let ServerEvent::NewMessage { message } = frame.event {
                    arrivals.push((index_of(message.client_id.as_deref())?, at));
                }
            }
            anyhow::Ok(arrivals)
        }));
    }
    let (mut sink, mut stream) = sender.split();
    let acks = tokio::spawn(async move {
        let mut arrivals = Vec::with_capacity(total);
        while arrivals.len() < total {
            let (at, frame) = next_frame(&mut stream).await?;
            if let ServerEvent::MessageSent { .. } = frame.event {
                arrivals.push((index_of(frame.reference.as_deref())?, at));
            }
        }
        anyhow::Ok(arrivals)
    });
    let mut sent = Vec::with_capacity(total);
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / plan.rate);
    // A late tick (the machine is busy) delays the rest instead of sending a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut cpu_before = Duration::ZERO;
    for i in 0..total {
        ticker.tick().await;
        if i == plan.warmup {
            cpu_before = server.cpu_time()?;
        }
        let frame = Message::text(send_frame(conv, i).encode());
        let at = Instant::now();
        sink.send(frame).await.context("sending")?;
        sent.push(at);
    }
    let since_sent = |(i, at): (usize, Instant)| {
        (i >= plan.warmup).then(|| at.saturating_duration_since(sent[i]))
    };
    let acks: Vec<Duration> = acks.await??.into_iter().filter_map(since_sent).collect();
    let mut deliveries = Vec::with_capacity(plan.messages * listeners);
    for receiver in receivers {
        deliveries.extend(receiver.await??.into_iter().filter_map(since_sent));
    }
    let cpu = server.cpu_time()?.saturating_sub(cpu_before);
    Ok(Latency {
        acks,
        deliveries,
        cpu_per_message: cpu / u32::try_from(plan.messages.max(1))?,
    })
}

struct Latency {
    /// Send → `messageSent`, per measured message.
    acks: Vec<Duration>,
    /// Send → `newMessage`, per measured message and listener.
    deliveries: Vec<Duration>,
    /// Server CPU time (user + system) per measured message, its fan-out included.
    cpu_per_message: Duration,
}

/// REST posts at `plan.rate`, each waited for; returns the measured round trips.
async fn rest(plan: &Plan) -> anyhow::Result<Vec<Duration>> {
    let server = Server::start(Engine::Sqlite).await?;
    let (alice, bob) = tokio::try_join!(server.register("alice"), server.register("bob"))?;
    let conv = server.conversation(&alice, &bob).await?;
    let url = server.url(&format!("/api/conversations/{}/messages", conv.0));
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / plan.rate);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut round_trips = Vec::with_capacity(plan.messages);
    for i in 0..plan.warmup + plan.messages {
        ticker.tick().await;
        let body = PostMessageRequest {
            message: body(i),
            client_id: Some(format!("m{i}")),
        };
        let at = Instant::now();
        let response = server
            .http
            .post(&url)
            .bearer_auth(&alice.token)
            .json(&body)
            .send()
            .await?;
        ensure!(
            response.status() == 201,
            "POST answered {}",
            response.status()
        );
        response.bytes().await?;
        if i >= plan.warmup {
            round_trips.push(at.elapsed());
        }
    }
    Ok(round_trips)
}

struct Saturation {
    acked_per_sec: f64,
    delivered_per_sec: f64,
    /// Send → `messageSent` of every send acknowledged in the measured window.
    acks: Vec<Duration>,
    /// Server CPU time (user + system) per acknowledged message in the window.
    cpu_per_message: Duration,
}

/// `plan.senders` senders, each in its own conversation with one listening socket, each keeping
/// `plan.window` sends in flight; counts what is acknowledged and delivered in the window.
async fn throughput(plan: &Plan, engine: Engine) -> anyhow::Result<Saturation> {
    let server = Server::start(engine).await?;
    let accounts: Vec<Account> = stream::iter(0..plan.senders * 2)
        .map(|i| server.register_owned(format!("user{i}")))
        .buffered(4)
        .try_collect()
        .await?;
    let mut pairs = Vec::new();
    for pair in accounts.chunks(2) {
        let conv = server.conversation(&pair[0], &pair[1]).await?;
        let mut sender = server.socket(&pair[0]).await?;
        let mut listener = server.socket(&pair[1]).await?;
        join(&mut sender, conv).await?;
        join(&mut listener, conv).await?;
        pairs.push((conv, sender, listener));
    }
    let start = Instant::now() + Duration::from_millis(100);
    let warmup = Duration::from_secs(1);
    let window = (start + warmup, start + warmup + plan.saturation);
    let acked = Arc::new(AtomicU64::new(0));
    let delivered = Arc::new(AtomicU64::new(0));
    let stop = CancellationToken::new();
    let mut senders = Vec::new();
    let mut listeners = Vec::new();
    for (conv, sender, mut listener) in pairs {
        senders.push(tokio::spawn(saturate(
            sender,
            conv,
            plan.window,
            start,
            window,
            Arc::clone(&acked),
        )));
        let (stop, delivered) = (stop.clone(), Arc::clone(&delivered));
        listeners.push(tokio::spawn(async move {
            loop {
                let (at, frame) = tokio::select! {
                    () = stop.cancelled() => return anyhow::Ok(()),
                    next = next_frame(&mut listener) => next?,
                };
                if matches!(frame.event, ServerEvent::NewMessage { .. })
                    && (window.0..window.1).contains(&at)
                {
                    delivered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep_until(window.0.into()).await;
    let cpu_before = server.cpu_time()?;
    tokio::time::sleep_until(window.1.into()).await;
    let cpu_after = server.cpu_time()?;
    let mut acks = Vec::new();
    for sender in senders {
        acks.extend(sender.await??);
    }
    // Give the last deliveries of the window time to arrive before the listeners stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    for listener in listeners {
        listener.await??;
    }
    let seconds = plan.saturation.as_secs_f64();
    let acked = acked.load(Ordering::Relaxed);
    Ok(Saturation {
        acked_per_sec: acked as f64 / seconds,
        delivered_per_sec: delivered.load(Ordering::Relaxed) as f64 / seconds,
        acks,
        cpu_per_message: cpu_after.saturating_sub(cpu_before) / u32::try_from(acked.max(1))?,
    })
}

/// Sends on `socket` from `start` until the window closes, keeping `in_flight` sends
/// unanswered; counts acknowledgements inside the window and returns their latencies.
async fn saturate(
    socket: Ws,
    conv: ConversationId,
    in_flight: usize,
    start: Instant,
    window: (Instant, Instant),
    acked: Arc<AtomicU64>,
) -> anyhow::Result<Vec<Duration>> {
    let (mut sink, mut stream) = socket.split();
    let mut pending: VecDeque<(usize, Instant)> = VecDeque::new();
    let mut latencies = Vec::new();
    let mut next = 0;
    tokio::time::sleep_until(start.into()).await;
    loop {
        while pending.len() < in_flight && Instant::now() < window.1 {
            let frame = Message::text(send_frame(conv, next).encode());
            pending.push_back((next, Instant::now()));
            sink.send(frame).await.context("sending")?;
            next += 1;
        }
        let Some(&(oldest, sent)) = pending.front() else {
            return Ok(latencies);
        };
        let (at, frame) = next_frame(&mut stream).await?;
        match frame.event {
            ServerEvent::MessageSent { .. } => {
                // One connection's sends are answered in the order they were sent.
                let index = index_of(frame.reference.as_deref())?;
                ensure!(index == oldest, "ack for send {index}, expected {oldest}");
                pending.pop_front();
                if (window.0..window.1).contains(&at) {
                    acked.fetch_add(1, Ordering::Relaxed);
                    latencies.push(at - sent);
                }
            }
            ServerEvent::Error(error) => bail!("send refused: {error:?}"),
            _ => {}
        }
    }
}

/// Resident memory of the server process, in KiB.
#[derive(Clone, Copy, Debug)]
struct Rss {
    rss: u64,
    anon: u64,
}

struct Footprint {
    fresh: Rss,
    idle: Rss,
    connected: Rss,
    joined: Rss,
}

/// Registers `plan.sockets` users in pairs with a conversation each, restarts the server so
/// that sign-up work (argon2 buffers) is not counted, then connects one socket per user and
/// joins each to its conversation with `resume`.
async fn memory(plan: &Plan) -> anyhow::Result<Footprint> {
    let mut server = Server::start(Engine::Sqlite).await?;
    let fresh = server.settled_rss().await?;
    let accounts: Vec<Account> = stream::iter(0..plan.sockets)
        .map(|i| server.register_owned(format!("user{i}")))
        .buffered(4)
        .try_collect()
        .await?;
    stream::iter(accounts.chunks(2))
        .map(|pair| server.conversation(&pair[0], &pair[1]))
        .buffer_unordered(8)
        .try_collect::<Vec<_>>()
        .await?;
    server.restart().await?;
    let idle = server.settled_rss().await?;
    let mut sockets: Vec<Ws> = stream::iter(&accounts)
        .map(|account| server.socket(account))
        .buffer_unordered(16)
        .try_collect()
        .await?;
    let connected = server.settled_rss().await?;
    stream::iter(sockets.iter_mut())
        .map(|socket| async move {
            let answer = request(
                socket,
                ClientCommand::Resume {
                    conversations: vec![],
                },
                "resume",
            )
            .await?;
            let rooms = match &answer {
                ServerEvent::Resumed { conversations } => conversations.len(),
                _ => 0,
            };
            ensure!(rooms == 1, "resume answered {answer:?}");
            anyhow::Ok(())
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await?;
    let joined = server.settled_rss().await?;
    drop(sockets);
    Ok(Footprint {
        fresh,
        idle,
        connected,
        joined,
    })
}

// ---- the server process and its clients ------------------------------------------------

/// A registered user and its bearer token.
#[derive(Clone, Debug)]
struct Account {
    id: UserId,
    token: String,
}

/// The release server binary as a child process, on its own port, data folder and database.
struct Server {
    port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
    http: reqwest::Client,
    _data: tempfile::TempDir,
    /// Dropped after the child is killed (`Drop for Server` runs first).
    _db: TestDb,
}

impl Server {
    async fn start(engine: Engine) -> anyhow::Result<Self> {
        let db = TestDb::new(engine).await;
        let data = tempfile::tempdir().context("a data folder for the server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut env: Vec<(String, String)> = [
            ("NATTER_SEND_RATE", "0"),
            ("NATTER_SIGNUP_RATE", "0"),
            ("NATTER_SIGNUP_TOTAL_RATE", "0"),
            ("NATTER_CONVERSATION_RATE", "0"),
            ("NATTER_MAX_USER_CONNECTIONS", "0"),
            ("RUST_LOG", "warn"),
            ("LEPTOS_OUTPUT_NAME", "natter"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        // Settings under test (e.g. NATTER_ROOM_BUFFER=16) pass through.
        env.extend(
            std::env::vars()
                .filter(|(k, _)| k.starts_with("NATTER_") && !k.starts_with("NATTER_BENCH_")),
        );
        env.extend([
            ("NATTER_ADDR".to_owned(), format!("127.0.0.1:{port}")),
            ("DATABASE_URL".to_owned(), db.url.clone()),
            (
                "NATTER_DATA_DIR".to_owned(),
                data.path().display().to_string(),
            ),
        ]);
        let mut server = Self {
            port,
            env,
            child: None,
            http: reqwest::Client::new(),
            _data: data,
            _db: db,
        };
        server.spawn().await?;
        Ok(server)
    }

    async fn spawn(&mut self) -> anyhow::Result<()> {
        let child = Command::new(server_binary())
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the server binary")?;
        self.child = Some(child);
        let health = self.url("/healthz");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(response) = self.http.get(&health).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("the server exited at start-up: {status}");
            }
            ensure!(
                Instant::now() < deadline,
                "the server was not healthy within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new process on the same database and data folder (so tokens stay valid).
    async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn().await
    }

    fn pid(&self) -> anyhow::Result<u32> {
        Ok(self
            .child
            .as_ref()
            .context("the server is not running")?
            .id())
    }

    /// Resident memory after a moment of quiet (tasks finish, sockets settle).
    async fn settled_rss(&self) -> anyhow::Result<Rss> {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("{name} in /proc/<pid>/status"))
        };
        Ok(Rss {
            rss: field("VmRSS:")?,
            anon: field("RssAnon:")?,
        })
    }

    /// CPU time the server has used so far, user and system.
    fn cpu_time(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()?))?;
        // Fields after the parenthesised command name: state is the first, utime the 12th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .context("/proc/<pid>/stat")?
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        Ok(Duration::from_secs_f64(
            ticks as f64 / clock_ticks_per_second(),
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn register(&self, name: &str) -> anyhow::Result<Account> {
        let response = self
            .http
            .post(self.url("/api/auth/register"))
            .json(&serde_json::json!({"username": name, "password": "correct horse battery"}))
            .send()
            .await?;
        ensure!(
            response.status() == 201,
            "registering {name}: {}",
            response.status()
        );
        let body: AuthResponse = response.json().await?;
        Ok(Account {
            id: body.user.id,
            token: body.token,
        })
    }

    async fn register_owned(&self, name: String) -> anyhow::Result<Account> {
        self.register(&name).await
    }

    async fn conversation(&self, a: &Account, b: &Account) -> anyhow::Result<ConversationId> {
        let response = self
            .http
            .post(self.url("/api/conversations"))
            .bearer_auth(&a.token)
            .json(&serde_json::json!({"user2_id": b.id}))
            .send()
            .await?;
        ensure!(
            response.status().is_success(),
            "creating a conversation: {}",
            response.status()
        );
        Ok(response.json::<ConversationView>().await?.id)
    }

    async fn socket(&self, account: &Account) -> anyhow::Result<Ws> {
        let mut request = format!("ws://127.0.0.1:{}/ws", self.port).into_client_request()?;
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", account.token).parse()?,
        );
        // TCP_NODELAY, as browsers set it: small frames go out at once.
        let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
            .await
            .context("opening /ws")?;
        Ok(socket)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The next server frame and when it arrived (before decoding), within 10 s.
async fn next_frame<S>(stream: &mut S) -> anyhow::Result<(Instant, ServerFrame)>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .context("no frame within 10 s")?
            .context("the server closed the socket")??;
        let at = Instant::now();
        match message {
            Message::Text(text) => {
                let frame = ServerFrame::decode(text.as_str())
                    .map_err(|e| anyhow::anyhow!("undecodable frame {text}: {e}"))?;
                return Ok((at, frame));
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => bail!("unexpected {other:?}"),
        }
    }
}

/// Sends a command with `reference` and returns the answer that carries it.
async fn request(
    socket: &mut Ws,
    command: ClientCommand,
    reference: &str,
) -> anyhow::Result<ServerEvent> {
    let frame = ClientFrame::new(command, Some(reference.to_owned()));
    socket.send(Message::text(frame.encode())).await?;
    loop {
        let (_, frame) = next_frame(socket).await?;
        if frame.reference.as_deref() == Some(reference) {
            return Ok(frame.event);
        }
    }
}

async fn join(socket: &mut Ws, conv: ConversationId) -> anyhow::Result<()> {
    let command = ClientCommand::JoinConversation {
        conv_id: conv,
        last_seq: None,
        user_id: None,
    };
    match request(socket, command, "join").await? {
        ServerEvent::JoinedConversation { .. } => Ok(()),
        other => bail!("join answered {other:?}"),
    }
}

/// Send number `i`: ref `s<i>` and client id `m<i>`, so acks and deliveries name their send.
fn send_frame(conv: ConversationId, i: usize) -> ClientFrame {
    ClientFrame::new(
        ClientCommand::SendMessage {
            conv_id: conv,
            message: NewMessage { message: body(i) },
            client_id: Some(format!("m{i}")),
            user_id: None,
        },
        Some(format!("s{i}")),
    )
}

fn body(i: usize) -> String {
    format!("message {i}: the quick brown fox jumps over the lazy dog")
}

/// The send number in a ref (`s<i>`) or client id (`m<i>`).
fn index_of(tag: Option<&str>) -> anyhow::Result<usize> {
    tag.and_then(|t| t.get(1..))
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("not a bench send: {tag:?}"))
}

/// The server binary Cargo built with this bench, or `NATTER_BENCH_SERVER` to compare builds.
fn server_binary() -> String {
    std::env::var("NATTER_BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_server").into())
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

// ---- figures -------------------------------------------------------------------------------

/// Sorted latencies.
struct Latencies(Vec<Duration>);

impl Latencies {
    fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    /// The nearest-rank percentile `p` (0..=1) in milliseconds; NaN without samples.
    fn ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * self.0.len() as f64).ceil() as usize).clamp(1, self.0.len());
        self.0[rank - 1].as_secs_f64() * 1e3
    }
}

/// One printed table: every run prints the same tables, so medians are taken cell by cell.
#[derive(Clone)]
struct Table {
    title: String,
    columns: Vec<&'static str>,
    rows: Vec<(String, Vec<f64>)>,
}

impl Table {
    fn new(title: String, columns: &[&'static str]) -> Self {
        Self {
            title,
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    fn row(&mut self, label: String, values: Vec<f64>) {
        self.rows.push((label, values));
    }

    /// p50, p90, p99 and max in milliseconds, then `extra` figures.
    fn latency_row(&mut self, label: String, samples: Vec<Duration>, extra: &[f64]) {
        let count = samples.len();
        let sorted = Latencies::new(samples);
        let mut values = vec![
            sorted.ms(0.50),
            sorted.ms(0.90),
            sorted.ms(0.99),
            sorted.ms(1.0),
        ];
        values.extend_from_slice(extra);
        self.row(format!("{label} (n={count})"), values);
    }

    fn print(&self) {
        let width = self
            .rows
            .iter()
            .map(|(l, _)| l.len())
            .max()
            .unwrap_or(0)
            .max(20);
        println!("\n{}", self.title);
        print!("  {:width$}", "");
        for column in &self.columns {
            print!(" {column:>11}");
        }
        println!();
        for (label, values) in &self.rows {
            print!("  {label:width$}");
            for value in values {
                print!(" {:>11}", figure(*value));
            }
            println!();
        }
    }

    /// Each cell's median across runs (the tables of every run have the same shape).
    fn medians(runs: &[Vec<Table>]) -> Vec<Table> {
        let mut medians = runs[0].clone();
        for (t, table) in medians.iter_mut().enumerate() {
            for (r, (_, values)) in table.rows.iter_mut().enumerate() {
                for (c, value) in values.iter_mut().enumerate() {
                    let mut cells: Vec<f64> = runs.iter().map(|run| run[t].rows[r].1[c]).collect();
                    cells.sort_by(f64::total_cmp);
                    let middle = cells.len() / 2;
                    *value = if cells.len() % 2 == 1 {
                        cells[middle]
                    } else {
                        (cells[middle - 1] + cells[middle]) / 2.0
                    };
                }
            }
        }
        medians
    }
}

fn figure(value: f64) -> String {
    match value {
        v if v.is_nan() => "—".into(),
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}
