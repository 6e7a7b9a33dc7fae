//! A private `redis-server` child process on a free port, nothing saved to disk: the test can
//! kill it, start it again on the same port, or freeze it, and disturbs nothing else.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use crate::support::process::{free_port, send_signal};
use crate::support::until;

/// How long a started Redis has to answer PING.
const UP_WITHIN: Duration = Duration::from_secs(10);

/// Whether `redis-server` is on PATH (the cluster tests skip, saying so, when it is not).
pub fn available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

pub struct Redis {
    port: u16,
    child: Mutex<Option<Child>>,
}

impl Redis {
    /// A fresh Redis on a free port, answering PING.
    pub async fn start() -> Self {
        let redis = Self {
            port: free_port(),
            child: Mutex::new(None),
        };
        redis.spawn().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: every connection to it drops at once, and nothing answers on its port.
    pub fn kill(&self) {
        let child = self.child.lock().expect("the child lock").take();
        if let Some(mut child) = child {
            child.kill().expect("SIGKILL redis-server");
            child.wait().expect("reap redis-server");
        }
    }

    /// Starts it again on the same port (empty: it kept nothing).
    pub async fn restart(&self) {
        self.kill();
        self.spawn().await;
    }

    /// SIGSTOP: connections stay open and nothing answers (a hung Redis).
    pub fn freeze(&self) {
        send_signal(self.pid(), "STOP");
    }

    /// SIGCONT after [`Redis::freeze`].
    pub fn thaw(&self) {
        send_signal(self.pid(), "CONT");
    }

    fn pid(&self) -> u32 {
        self.child
            .lock()
            .expect("the child lock")
            .as_ref()
            .expect("redis-server runs")
            .id()
    }

    async fn spawn(&self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting redis-server");
        *self.child.lock().expect("the child lock") = Some(child);
        let port = self.port;
        until(UP_WITHIN, || async move {
            tokio::task::spawn_blocking(move || ping(port))
                .await
                .unwrap_or(false)
        })
        .await;
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let child = self.child.get_mut().map(Option::take).unwrap_or_default();
        if let Some(mut child) = child {
            let _ = send_signal_quietly(child.id(), "CONT");
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `PING` answered with `+PONG`.
fn ping(port: u16) -> bool {
    let answer = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(500)))?;
        stream.write_all(b"PING\r\n")?;
        let mut buffer = [0u8; 7];
        stream.read_exact(&mut buffer)?;
        Ok(&buffer == b"+PONG\r\n")
    };
    answer().unwrap_or(false)
}

/// A frozen Redis is thawed before it is killed, so it dies at once.
fn send_signal_quietly(pid: u32, signal: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
}
