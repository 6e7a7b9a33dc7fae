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

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use natter::auth::Query;
use natter::protocol::{ClientFrame, ErrorCode, ErrorView, ServerEvent, ServerFrame};
use natter::{AuthUser, ChatError, Connection, Ending};
use tokio_util::sync::CancellationToken;

use crate::guard::origin_allowed;
use crate::http::error::ApiError;
use crate::state::AppState;

/// How often the server pings an idle client, and how long it waits for any sign of life.
const PING_EVERY: Duration = Duration::from_secs(20);
const SILENCE_LIMIT: Duration = Duration::from_secs(60);
/// Bytes read from the socket at a time; a larger frame is read in several goes.
const READ_BUFFER_BYTES: usize = 4096;

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
    let connection = match auth
        .authenticate_request(&headers, Query::SocketUpgrade(uri.query()))
        .await
        .and_then(|user| state.chat.connect(user))
    {
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
            tracker.track_future(serve(socket, connection, shutdown, write_timeout))
        })
}

/// Serves one client until it closes, errors, goes silent, or the server shuts down. A client
/// that cannot take a frame within `write_timeout` (it stopped reading) is disconnected: the
/// server never queues for it, and it catches up with `resume` when it reconnects.
async fn serve(
    socket: WebSocket,
    mut connection: Connection,
    shutdown: CancellationToken,
    write_timeout: Duration,
) {
    let user = connection.user().clone();
    let (mut sink, mut stream) = socket.split();
    let expiry = tokio::time::sleep(until_expiry(&user));
    tokio::pin!(expiry);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut heard = tokio::time::Instant::now();
    let close = loop {
        let outgoing = tokio::select! {
            () = shutdown.cancelled() => break Some((close_code::AWAY, "server shutting down")),
            () = &mut expiry => {
                let error = ErrorView::new(ErrorCode::TokenExpired, "the session has expired; sign in again");
                let _ = send(&mut sink, write_timeout, Message::Text(ServerFrame::broadcast(ServerEvent::Error(error)).encode().into())).await;
                break Some((close_code::POLICY, "session expired"));
            }
            _ = ping.tick() => {
                if heard.elapsed() > SILENCE_LIMIT {
                    break None;
                }
                Some(Message::Ping(Default::default()))
            }
            frame = stream.next() => {
                heard = tokio::time::Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        let reply = match ClientFrame::decode(text.as_str()) {
                            Ok(frame) => connection.handle(frame.command, frame.reference).await,
                            Err(bad) => Some(ServerFrame::reply(ServerEvent::Error(bad.error), bad.reference)),
                        };
                        reply.map(|frame| Message::Text(frame.encode().into()))
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let error = ErrorView::new(ErrorCode::BinaryFrame, "frames must be JSON text, not binary");
                        Some(Message::Text(ServerFrame::broadcast(ServerEvent::Error(error)).encode().into()))
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(error)) => break too_big(&error).then_some((close_code::SIZE, "frame too large")),
                }
            }
            frame = connection.next_frame() => Some(Message::Text(frame.encode().into())),
        };
        if let Some(message) = outgoing
            && !send(&mut sink, write_timeout, message).await
        {
            break None;
        }
        match connection.ending() {
            None => {}
            Some(Ending::SessionEnded) => break Some((close_code::POLICY, "session ended")),
            Some(Ending::FellBehind) => {
                break Some((close_code::AGAIN, "fell behind; reconnect and resume"));
            }
        }
    };
    if let Some((code, reason)) = close {
        // Best effort: the peer may already be gone.
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let _ = send(&mut sink, write_timeout, Message::Close(Some(frame))).await;
    }
    tracing::debug!(user = %user.id(), "socket closed");
}

async fn send(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    write_timeout: Duration,
    message: Message,
) -> bool {
    matches!(
        tokio::time::timeout(write_timeout, sink.send(message)).await,
        Ok(Ok(()))
    )
}

pub(crate) fn until_expiry(user: &AuthUser) -> Duration {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    Duration::from_secs(u64::try_from(user.expires_at - now).unwrap_or(0))
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
