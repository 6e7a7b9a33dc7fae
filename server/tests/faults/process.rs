//! A natter server as a child process: start, wait until healthy, SIGKILL, restart on the same
//! port and database, read its memory use.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use natter::protocol::{AuthResponse, ConversationView, UserId};
use natter::store::Engine;
use natter::testdb::TestDb;
use serde_json::json;

pub struct ServerProcess {
    pub port: u16,
    child: std::sync::Mutex<Option<Child>>,
    env: Vec<(String, String)>,
    pub http: reqwest::Client,
    _data: tempfile::TempDir,
    _db: TestDb,
}

/// A registered user and its bearer token.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: UserId,
    pub token: String,
}

impl ServerProcess {
    /// Starts the server binary on a free port with a fresh database of `engine`; `extra` adds
    /// or overrides environment settings.
    pub async fn start(engine: Engine, extra: &[(&str, &str)]) -> Self {
        let db = TestDb::new(engine).await;
        let data = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut env: Vec<(String, String)> = vec![
            ("NATTER_ADDR".into(), format!("127.0.0.1:{port}")),
            ("DATABASE_URL".into(), db.url.clone()),
            ("NATTER_DATA_DIR".into(), data.path().display().to_string()),
            ("NATTER_SEND_RATE".into(), "0".into()),
            ("NATTER_SIGNUP_RATE".into(), "0".into()),
            ("NATTER_SIGNUP_TOTAL_RATE".into(), "0".into()),
            ("NATTER_CONVERSATION_RATE".into(), "0".into()),
            ("RUST_LOG".into(), "warn".into()),
            ("LEPTOS_OUTPUT_NAME".into(), "natter".into()),
        ];
        for (key, value) in extra {
            env.retain(|(k, _)| k != key);
            env.push(((*key).into(), (*value).into()));
        }
        let server = Self {
            port,
            child: std::sync::Mutex::new(None),
            env,
            http: reqwest::Client::new(),
            _data: data,
            _db: db,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&self) {
        let child = Command::new(binary())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        *self.child.lock().unwrap() = Some(child);
        for _ in 0..200 {
            if let Ok(response) = self.http.get(self.url("/healthz")).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become healthy within 10 s");
    }

    /// SIGKILL: no shutdown, no flush, sockets cut.
    pub fn kill(&self) {
        let child = self.child.lock().unwrap().take();
        if let Some(mut child) = child {
            child.kill().expect("SIGKILL the server");
            child.wait().expect("reap the server");
        }
    }

    pub async fn restart(&self) {
        self.kill();
        self.spawn().await;
    }

    /// Resident memory of the server process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let pid = self.child.lock().unwrap().as_ref().expect("running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS in /proc/<pid>/status")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/ws", self.port)
    }

    pub async fn register(&self, name: &str) -> Account {
        let response = self
            .http
            .post(self.url("/api/auth/register"))
            .json(&json!({"username": name, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: AuthResponse = response.json().await.unwrap();
        Account {
            id: body.user.id,
            token: body.token,
        }
    }

    pub async fn conversation(&self, a: &Account, b: &Account) -> ConversationView {
        let response = self
            .http
            .post(self.url("/api/conversations"))
            .bearer_auth(&a.token)
            .json(&json!({"user2_id": b.id}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.json().await.unwrap()
    }

    /// The newest `seq` of each of `account`'s conversations, as stored.
    pub async fn newest_seqs(
        &self,
        account: &Account,
    ) -> Vec<(natter::protocol::ConversationId, i64)> {
        let list: Vec<ConversationView> = self
            .http
            .get(self.url("/api/conversations"))
            .bearer_auth(&account.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list.iter()
            .map(|c| (c.id, c.last_message.as_ref().map_or(0, |m| m.seq.0)))
            .collect()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_server"))
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
