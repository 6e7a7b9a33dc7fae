//! A TCP proxy between one node and PostgreSQL that the test can cut: `reset` drops every
//! connection through it (and refuses new ones), `blackhole` keeps them open but carries
//! nothing (a network that swallows packets), `restore` carries traffic again.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Open,
    /// Connections are closed at once, with RST.
    Reset,
    /// Connections stay open; no byte passes either way.
    Blackhole,
}

pub struct Proxy {
    pub addr: SocketAddr,
    mode: watch::Sender<Mode>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// A proxy on a free loopback port to `upstream`, open.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let (mode, watching) = watch::channel(Mode::Open);
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(carry(client, upstream, watching.clone()));
            }
        });
        Self { addr, mode, task }
    }

    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Carries one connection while the mode allows.
async fn carry(mut client: TcpStream, upstream: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let current = *mode.borrow_and_update();
    match current {
        Mode::Open => {}
        Mode::Reset => return reset(client),
        Mode::Blackhole => {
            // Hold the connection, silent, until the mode changes; then drop it.
            let _ = mode.changed().await;
            return reset(client);
        }
    }
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return reset(client);
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {
            let _ = client.shutdown().await;
        }
        () = async {
            while mode.changed().await.is_ok() {
                if *mode.borrow_and_update() != Mode::Open {
                    return;
                }
            }
            std::future::pending::<()>().await;
        } => {
            // Reset: drop both ends now. Blackhole: hold both ends, silent, until the mode
            // changes again, then drop them (what a healed network shows a dead connection as).
            if *mode.borrow() == Mode::Blackhole {
                let _ = tokio::time::timeout(Duration::from_secs(600), mode.changed()).await;
            }
            reset(client);
            reset(server);
        }
    }
}

/// Closes `stream` with RST (linger 0), as a cut network would.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}
