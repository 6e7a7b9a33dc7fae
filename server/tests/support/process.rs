//! The `server` binary as child processes: each on a free port, on a database of its own or one
//! shared with other nodes ([`Backing`]), with settings from a [`Launch`]; waited for until
//! healthy, SIGKILLed or SIGTERMed, restarted on the same port and database, and read from
//! `/proc`.

use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use natter::store::Engine;
use natter::testdb::TestDb;

use super::api::Api;
use super::until;

/// How long a started process has to answer `/healthz` (a debug build, on a busy machine).
const HEALTHY_WITHIN: Duration = Duration::from_secs(30);

/// Settings every process gets unless its launch says otherwise: no send, sign-up or
/// conversation quotas (tests act faster than people, from one address; the limits have tests
/// of their own), and quiet logs.
const DEFAULTS: [(&str, &str); 6] = [
    ("NATTER_SEND_RATE", "0"),
    ("NATTER_SIGNUP_RATE", "0"),
    ("NATTER_SIGNUP_TOTAL_RATE", "0"),
    ("NATTER_CONVERSATION_RATE", "0"),
    ("RUST_LOG", "warn"),
    ("LEPTOS_OUTPUT_NAME", "natter"),
];

/// What the processes of one deployment share: the database and the data folder (so the JWT
/// secret, and with it every token, is the same on each node and across restarts). Dropped
/// after the last process that holds it has been killed.
pub struct Backing {
    pub db: TestDb,
    data: tempfile::TempDir,
}

impl Backing {
    /// A fresh database of `engine` and an empty data folder.
    pub async fn new(engine: Engine) -> Arc<Self> {
        Arc::new(Self {
            db: TestDb::new(engine).await,
            data: tempfile::tempdir().expect("a data folder for the server"),
        })
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }
}

/// Which binary to start and with which environment. The process sees only this environment
/// (nothing is inherited), so a run does not depend on the shell it was started from.
#[derive(Clone, Debug)]
pub struct Launch {
    binary: PathBuf,
    env: Vec<(String, String)>,
}

impl Default for Launch {
    /// The `server` binary Cargo built with this test or bench, with [`DEFAULTS`].
    fn default() -> Self {
        Self {
            binary: PathBuf::from(env!("CARGO_BIN_EXE_server")),
            env: Vec::new(),
        }
        .envs(&DEFAULTS)
    }
}

impl Launch {
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = binary.into();
        self
    }

    pub fn binary_path(&self) -> &Path {
        &self.binary
    }

    /// Sets `key`, replacing any earlier value; this wins over what the harness sets itself
    /// (`NATTER_ADDR`, `DATABASE_URL`, `NATTER_DATA_DIR`), e.g. to reach the database through a
    /// proxy.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        let key = key.into();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.into()));
        self
    }

    pub fn envs(self, settings: &[(&str, &str)]) -> Self {
        settings
            .iter()
            .fold(self, |launch, (key, value)| launch.env(*key, *value))
    }

    /// A process on a fresh database of `engine`.
    pub async fn start(&self, engine: Engine) -> ServerProcess {
        self.start_on(&Backing::new(engine).await).await
    }

    /// A process on `backing`, which other processes may share (a cluster of nodes).
    pub async fn start_on(&self, backing: &Arc<Backing>) -> ServerProcess {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
        let launch = Self {
            binary: self.binary.clone(),
            env: Vec::new(),
        }
        .env("NATTER_ADDR", addr.to_string())
        .env("DATABASE_URL", backing.db.url.clone())
        .env("NATTER_DATA_DIR", backing.data_dir().display().to_string())
        .envs_from(&self.env);
        let server = ServerProcess {
            api: Api::new(addr),
            launch,
            child: Mutex::new(None),
            backing: Arc::clone(backing),
        };
        server.spawn().await;
        server
    }

    fn envs_from(self, settings: &[(String, String)]) -> Self {
        settings
            .iter()
            .fold(self, |launch, (key, value)| launch.env(key, value))
    }
}

/// One running server process. Derefs to its [`Api`]; killed when dropped.
pub struct ServerProcess {
    api: Api,
    /// The full environment, the process's own address and database included.
    launch: Launch,
    child: Mutex<Option<Child>>,
    /// Dropped after the child is killed (`Drop for ServerProcess` runs first).
    backing: Arc<Backing>,
}

impl Deref for ServerProcess {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

impl ServerProcess {
    /// The default binary on a fresh database of `engine`; `settings` add or override
    /// environment settings.
    pub async fn start(engine: Engine, settings: &[(&str, &str)]) -> Self {
        Launch::default().envs(settings).start(engine).await
    }

    /// The database and data folder, to start more nodes on them.
    pub fn backing(&self) -> &Arc<Backing> {
        &self.backing
    }

    pub fn port(&self) -> u16 {
        self.api.addr.port()
    }

    /// Starts the process and waits until `/healthz` answers 200.
    async fn spawn(&self) {
        let child = Command::new(&self.launch.binary)
            .env_clear()
            .envs(self.launch.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.launch.binary.display()));
        *self.child.lock().expect("the child lock") = Some(child);
        let health = self.url("/healthz");
        until(HEALTHY_WITHIN, || async {
            let exited = self
                .child
                .lock()
                .expect("the child lock")
                .as_mut()
                .and_then(|child| child.try_wait().transpose());
            if let Some(status) = exited {
                panic!("the server exited at start-up: {status:?}");
            }
            self.http
                .get(&health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }

    /// SIGKILL: no shutdown, no flush, sockets cut.
    pub fn kill(&self) {
        let child = self.child.lock().expect("the child lock").take();
        if let Some(mut child) = child {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }

    /// SIGTERM: the graceful shutdown (`/readyz` 503 for the drain, then 1001 to every socket).
    pub fn terminate(&self) {
        send_signal(self.pid(), "TERM");
    }

    /// Waits until the process has exited, for at most `limit` (panics after); the status.
    pub async fn exited(&self, limit: Duration) -> std::process::ExitStatus {
        let mut status = None;
        until(limit, || {
            let mut child = self.child.lock().expect("the child lock");
            status = child
                .as_mut()
                .and_then(|c| c.try_wait().expect("waiting for the server"));
            if status.is_some() {
                child.take();
            }
            std::future::ready(status.is_some())
        })
        .await;
        status.expect("checked by until")
    }

    /// Whether the process still runs (it has not exited by itself).
    pub fn running(&self) -> bool {
        self.child
            .lock()
            .expect("the child lock")
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// A new process on the same port, database and data folder (so tokens stay valid).
    pub async fn restart(&self) {
        self.kill();
        self.spawn().await;
    }

    pub fn pid(&self) -> u32 {
        self.child
            .lock()
            .expect("the child lock")
            .as_ref()
            .expect("the server is running")
            .id()
    }

    /// A `… kB` field of `/proc/<pid>/status` (`VmRSS`, `RssAnon`…), in KiB.
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc/<pid>/status"))
    }

    /// Resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// CPU time the process has used so far, user and system.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("/proc/<pid>/stat");
        // Fields after the parenthesised command name: state is the first, utime the 12th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .expect("/proc/<pid>/stat names the command")
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = [fields[11], fields[12]]
            .iter()
            .map(|f| f.parse::<u64>().expect("a tick count"))
            .sum();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }

    /// Context switches of the process's threads so far, voluntary and not (a thread that
    /// parks and is woken again is one), summed over the threads alive now.
    pub fn context_switches(&self) -> u64 {
        let tasks =
            std::fs::read_dir(format!("/proc/{}/task", self.pid())).expect("/proc/<pid>/task");
        tasks
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("status")).ok())
            .map(|status| {
                status
                    .lines()
                    .filter_map(|line| {
                        let (key, value) = line.split_once(':')?;
                        key.ends_with("ctxt_switches")
                            .then(|| value.trim().parse::<u64>().ok())?
                    })
                    .sum::<u64>()
            })
            .sum()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let child = self.child.get_mut().map(Option::take).unwrap_or_default();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends `signal` (a name `kill` knows: TERM, STOP, CONT…) to process `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -{signal} {pid}: {status}");
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
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
