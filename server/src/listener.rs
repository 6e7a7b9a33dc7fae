//! The accept loop: every TCP connection natter takes, under a cap, with HTTP/1 timeouts.
//!
//! `axum::serve` runs hyper without a timer, which silently turns off hyper's header timeout:
//! a client trickling headers, or idling on a keep-alive connection, held a socket for ever
//! (issue 9, row 2). Here hyper gets the Tokio timer and `header_read_timeout`, which since
//! hyper 1.6 also runs while a kept-alive connection waits for its next request, so it is the
//! idle timeout too. Bodies are bounded by the router's request timeout (`crate::guard`).
//!
//! At most `max_connections` connections are open at once, upgraded sockets included (the
//! permit travels inside the socket's I/O object, so it is released when the socket closes).
//! Past the cap a client is answered `503` with `Retry-After` at once and closed: the process
//! never runs out of file descriptors (issue 9, row 3).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use natter::ChatError;
use natter::protocol::ErrorView;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;

/// How the accept loop treats connections.
#[derive(Clone, Copy, Debug)]
pub struct ListenLimits {
    /// Connections open at once, sockets included.
    pub max_connections: usize,
    /// Time for a request's headers to arrive, and for an idle kept-alive connection to send
    /// its next request.
    pub header_timeout: Duration,
}

/// Accepts connections until `shutdown` is cancelled, serving each with `router`. Every
/// connection task is spawned on `tracker`; on shutdown each is asked to finish the request in
/// flight and close (the caller waits on the tracker).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ListenLimits,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: wait for descriptors to come back rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            refuse(&stream);
            continue;
        };
        // Answers go out at once instead of waiting for the client's next ACK (Nagle's
        // algorithm held a busy sender's acks back one send interval: PERFORMANCE.md, finding 2).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let Ok(service) = make_service.call(peer).await;
        let service = TowerToHyperService::new(service);
        let http = Arc::clone(&http);
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let io = TokioIo::new(Counted {
                stream,
                _permit: permit,
            });
            let connection = http.serve_connection(io, service).with_upgrades();
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }
}

/// Answers a connection over the cap without reading it: one small write, which a fresh
/// socket's send buffer always takes, then the socket is dropped.
fn refuse(stream: &TcpStream) {
    let busy = ChatError::ServerBusy {
        retry_after_ms: 1000,
    };
    let body = serde_json::to_string(&ErrorView::from(&busy)).unwrap_or_default();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(response.as_bytes());
    tracing::debug!("refused a connection over the cap");
}

/// A TCP stream that holds one of the connection permits for as long as it lives, including
/// after an upgrade has handed it to a socket task.
struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The default connection cap: the process's descriptor limit (raised to its hard limit
/// first) less what the database pool, the listener, logs and SQLite's journal files need.
pub fn default_max_connections(db_connections: u32) -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot read the file-descriptor limit; assuming 1024");
            1024
        }
    };
    let reserve = 128 + 4 * u64::from(db_connections);
    usize::try_from(limit.saturating_sub(reserve).max(16)).unwrap_or(usize::MAX)
}
