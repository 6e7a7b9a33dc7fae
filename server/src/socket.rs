//! The one loop that serves every socket transport (`/ws`, Socket.IO): it runs the client's
//! commands through its `natter::Connection`, sends what the connection owes the client, and
//! ends the socket on shutdown, on expiry of the login, when the connection must end (signed
//! out, fell behind), or when the client goes. A transport supplies only what it reads and how
//! it writes and closes ([`Transport`]); neither transport knows the other.

use std::future::Future;

use futures_util::FutureExt;
use natter::protocol::{ClientCommand, ErrorView, FrameError, ServerEvent, ServerFrame};
use natter::{ChatError, Connection, Ending};
use tokio_util::sync::CancellationToken;

/// What a transport read from its client.
pub enum Inbound {
    /// A command, with the `ref` its answer carries.
    Command(ClientCommand, Option<String>),
    /// Something that earns an `error` frame: undecodable, binary, an unknown event.
    Refused(FrameError),
    /// Traffic that needs no answer (pings, pongs).
    Nothing,
    /// The client closed, went silent or failed.
    Gone,
    /// The client sent a frame over the size limit.
    TooLarge,
}

/// Why a socket ends; each transport says it its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// The server is shutting down; the client reconnects elsewhere.
    Shutdown,
    /// The login expired (the client was told `tokenExpired`).
    Expired,
    /// The session was signed out.
    SessionEnded,
    /// The connection fell behind on its personal feed; reconnect and resume.
    FellBehind,
    /// A frame over the size limit.
    TooLarge,
    /// The client is gone, or stopped reading for longer than the write timeout.
    Gone,
}

/// A socket transport, as the driver sees it.
pub trait Transport: Send {
    /// The next thing the client sent. Cancel-safe: the driver selects on it beside the
    /// connection's outgoing frames.
    fn receive(&mut self) -> impl Future<Output = Inbound> + Send;
    /// Hands one frame to the transport, which may hold it until [`Transport::flush`]; false
    /// when the client is gone or did not take it in time.
    fn feed(&mut self, frame: ServerFrame) -> impl Future<Output = bool> + Send;
    /// Delivers every frame fed so far; false when the client is gone or did not take them in
    /// time.
    fn flush(&mut self) -> impl Future<Output = bool> + Send;
    /// Delivers one frame at once.
    fn send(&mut self, frame: ServerFrame) -> impl Future<Output = bool> + Send {
        async move { self.feed(frame).await && self.flush().await }
    }
    /// Ends the socket for `why`.
    fn close(self, why: Close) -> impl Future<Output = ()> + Send;
}

/// At most this many frames that are ready at once go out in one write (one system call
/// instead of one each: under load a connection is owed the acks of a batch of its sends and
/// the messages of a batch of others' at the same moment).
const FRAMES_PER_WRITE: usize = 64;

/// What the socket loop does next.
enum Next {
    /// The client sent something.
    Read(Inbound),
    /// The connection owes the client this frame.
    Owed(ServerFrame),
    /// The login expired.
    Expired,
}

/// Serves one socket until it ends (see the module doc).
pub async fn drive<T: Transport>(
    mut transport: T,
    mut connection: Connection,
    shutdown: CancellationToken,
) {
    let user = connection.user().id();
    let expiry = tokio::time::sleep(connection.time_left());
    tokio::pin!(expiry);
    let why = loop {
        // The select only picks what happens next; the work is done after it, once its
        // futures are gone. An idle socket is this loop's state at rest, so it is kept small
        // (docs/PERFORMANCE.md, "What an idle socket costs"): a command, whose future holds
        // any of the chat core's queries, is boxed and lives only while it runs.
        let next = tokio::select! {
            () = shutdown.cancelled() => break Close::Shutdown,
            () = &mut expiry => Next::Expired,
            inbound = transport.receive() => Next::Read(inbound),
            frame = connection.next_frame() => Next::Owed(frame),
        };
        let outgoing = match next {
            Next::Expired => {
                let error = ServerEvent::Error(ErrorView::from(&ChatError::TokenExpired));
                let _ = transport.send(ServerFrame::broadcast(error)).await;
                break Close::Expired;
            }
            Next::Owed(frame) => Some(frame),
            Next::Read(Inbound::Command(command, reference)) => {
                Box::pin(connection.handle(command, reference)).await
            }
            Next::Read(Inbound::Refused(refused)) => Some(ServerFrame::reply(
                ServerEvent::Error(refused.error),
                refused.reference,
            )),
            Next::Read(Inbound::Nothing) => None,
            Next::Read(Inbound::Gone) => break Close::Gone,
            Next::Read(Inbound::TooLarge) => break Close::TooLarge,
        };
        if let Some(frame) = outgoing
            && !write(&mut transport, &mut connection, frame).await
        {
            break Close::Gone;
        }
        match connection.ending() {
            None => {}
            Some(Ending::SessionEnded) => break Close::SessionEnded,
            Some(Ending::FellBehind) => break Close::FellBehind,
        }
    };
    transport.close(why).await;
    tracing::debug!(%user, ?why, "socket closed");
}

/// Writes `frame` and, in the same write, the frames the connection has ready behind it (up
/// to [`FRAMES_PER_WRITE`]); false when the client is gone. A frame that is not ready yet
/// (`next_frame` would wait) is not waited for: `next_frame` is cancel-safe.
async fn write<T: Transport>(
    transport: &mut T,
    connection: &mut Connection,
    frame: ServerFrame,
) -> bool {
    if !transport.feed(frame).await {
        return false;
    }
    for _ in 1..FRAMES_PER_WRITE {
        if connection.ending().is_some() {
            break;
        }
        let Some(frame) = connection.next_frame().now_or_never() else {
            break;
        };
        if !transport.feed(frame).await {
            return false;
        }
    }
    transport.flush().await
}
