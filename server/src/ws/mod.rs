//! The native WebSocket at `/ws`: JSON text frames of `natter::protocol`, one task per
//! connection driving a `natter::Connection`. This module translates and authenticates; every
//! chat rule lives in the core.
//!
//! - Upgrade: 401 without a valid token (cookie, bearer or `?token=`); 403 `foreignOrigin`
//!   for a browser `Origin` that is neither the server's own nor configured; 429
//!   `tooManyConnections` when the user holds as many connections as one person may.
//! - A bad frame gets an `error` event and the socket stays open; a frame over the size limit
//!   closes it with 1009; server shutdown closes it with 1001; an expired login or a session
//!   signed out elsewhere with 1008; a connection behind on its personal feed with 1013.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use natter::ChatError;
use natter::auth::Query;
use natter::protocol::{ClientFrame, FrameError, ServerFrame};

use crate::guard::origin_allowed;
use crate::http::error::ApiError;
use crate::socket::{self, Close, Inbound, Transport};
use crate::state::AppState;

/// How often the server pings an idle client, and how long it waits for any sign of life.
const PING_EVERY: Duration = Duration::from_secs(20);
const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Bytes read from the socket at a time; a larger frame is read in several goes (the buffer
/// grows for it). Every idle socket holds this much, and a chat frame is a few hundred bytes.
const READ_BUFFER_BYTES: usize = 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route("/ws", get(upgrade))
}

/// `GET /ws`: upgrades an authenticated request to the chat socket.
async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    if !origin_allowed(&headers, &state.settings) {
        return ApiError::from(ChatError::ForeignOrigin).into_response();
    }
    let auth = state.chat.auth();
    let connected = match auth
        .authenticate_request(&headers, Query::SocketUpgrade(uri.query()))
        .await
    {
        Ok(user) => state.chat.connect(user).await,
        Err(error) => Err(error),
    };
    let connection = match connected {
        Ok(connection) => connection,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let max = state.settings.max_frame_bytes;
    let (shutdown, tracker) = (state.shutdown.clone(), state.connections.clone());
    let write_timeout = state.settings.write_timeout;
    // tungstenite's default read buffer is 128 KiB, resident per socket and zero-filled on
    // every read (docs/PERFORMANCE.md, finding 1); chat frames are small.
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let transport = WsTransport::new(socket, write_timeout);
            tracker.track_future(socket::drive(transport, connection, shutdown))
        })
}

/// The `/ws` side of a socket: JSON text frames, WebSocket pings to notice a silent client,
/// and close codes that say why it ended.
struct WsTransport {
    sink: SplitSink<WebSocket, Message>,
    stream: SplitStream<WebSocket>,
    ping: tokio::time::Interval,
    heard: tokio::time::Instant,
    write_timeout: Duration,
}

impl WsTransport {
    fn new(socket: WebSocket, write_timeout: Duration) -> Self {
        let (sink, stream) = socket.split();
        Self {
            sink,
            stream,
            ping: tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY),
            heard: tokio::time::Instant::now(),
            write_timeout,
        }
    }

    /// Writes one message at once (see [`within`]).
    async fn write(&mut self, message: Message) -> bool {
        let timeout = self.write_timeout;
        within(timeout, self.sink.send(message)).await
    }
}

impl Transport for WsTransport {
    async fn receive(&mut self) -> Inbound {
        loop {
            tokio::select! {
                _ = self.ping.tick() => {
                    if self.heard.elapsed() > SILENCE_LIMIT
                        || !self.write(Message::Ping(Default::default())).await
                    {
                        return Inbound::Gone;
                    }
                }
                frame = self.stream.next() => {
                    self.heard = tokio::time::Instant::now();
                    return match frame {
                        Some(Ok(Message::Text(text))) => match ClientFrame::decode(text.as_str()) {
                            Ok(frame) => Inbound::Command(frame.command, frame.reference),
                            Err(refused) => Inbound::Refused(refused),
                        },
                        Some(Ok(Message::Binary(_))) => Inbound::Refused(FrameError::binary()),
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Inbound::Nothing,
                        Some(Ok(Message::Close(_))) | None => Inbound::Gone,
                        Some(Err(error)) if too_big(&error) => Inbound::TooLarge,
                        Some(Err(_)) => Inbound::Gone,
                    };
                }
            }
        }
    }

    fn feed(&mut self, frame: ServerFrame) -> impl Future<Output = bool> + Send {
        // Encoded before the future is made, so that it holds the bytes, not the event: the
        // socket loop's future (what an idle socket costs) has room for the largest one.
        let message = Message::Text(frame.encode().into());
        within(self.write_timeout, self.sink.feed(message))
    }

    fn flush(&mut self) -> impl Future<Output = bool> + Send {
        within(self.write_timeout, self.sink.flush())
    }

    async fn close(mut self, why: Close) {
        let (code, reason) = match why {
            Close::Shutdown => (close_code::AWAY, "server shutting down"),
            Close::Expired => (close_code::POLICY, "session expired"),
            Close::SessionEnded => (close_code::POLICY, "session ended"),
            Close::FellBehind => (close_code::AGAIN, "fell behind; reconnect and resume"),
            Close::TooLarge => (close_code::SIZE, "frame too large"),
            Close::Gone => return,
        };
        // Best effort: the peer may already be gone.
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = self.write(Message::Close(Some(frame))).await;
    }
}

/// Whether a write finished within the write timeout: a client that cannot take it in time
/// (it stopped reading) counts as gone — the server never queues for it, and it catches up
/// with `resume` when it reconnects.
async fn within(timeout: Duration, write: impl Future<Output = Result<(), axum::Error>>) -> bool {
    matches!(tokio::time::timeout(timeout, write).await, Ok(Ok(())))
}

/// Whether a read failed because the client sent more than the frame limit.
fn too_big(error: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(Error::Capacity(_)) = e.downcast_ref::<Error>() {
            return true;
        }
        source = e.source();
    }
    false
}
