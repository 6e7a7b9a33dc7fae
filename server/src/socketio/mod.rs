//! Socket.IO at `/socket.io/`, namespace `/chat`: the contract of the NestJS gateway natter
//! replaces, served by socketioxide (Engine.IO v4 over WebSocket and long-polling). Like the
//! native socket (`crate::ws`) this module only authenticates and translates: each Socket.IO
//! socket drives one `natter::Connection`, so every chat rule (the `userId` check, membership,
//! duplicates) and all fan-out come from the core, and one chat reaches every transport.
//!
//! - Connect: the handshake's `auth: {token}`, else the bearer header, session cookie or
//!   `?token=`; a browser `Origin` must pass the same check as `/ws`. A refusal is a
//!   `connect_error` whose message reads `"<code>: <reason>"`.
//! - Events keep the seed's names and payloads both ways. Bad input gets an `error` event with
//!   the codes of `/ws` and the socket stays up. A command sent with an acknowledgement callback
//!   is answered through it (the answer's payload, or the error's `{code, message}`) instead of
//!   by an event.
//! - Server shutdown closes every transport (clients reconnect to the next server); an expired
//!   login gets an `error` (`tokenExpired`) and is disconnected.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use natter::auth::Query;
use natter::protocol::{ClientCommand, ErrorCode, ErrorView, FrameError, ServerEvent, ServerFrame};
use natter::{Chat, ChatError, Connection};
use serde_json::Value;
use socketioxide::adapter::LocalAdapter;
use socketioxide::extract::{AckSender, Event, SocketRef, TryData};
use socketioxide::handler::{ConnectHandler, FromMessageParts};
use socketioxide::layer::SocketIoLayer;
use socketioxide::socket::Socket;
use socketioxide::{ParserError, SendError, SocketError, SocketIo};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::socket::{self, Close, Inbound, Transport};
use crate::state::{AppState, Settings};

/// The namespace the seed's clients connect to (`io("http://host/chat")`).
pub const NAMESPACE: &str = "/chat";

/// Commands a socket may have waiting for its connection task; past this the client is told to
/// slow down (`rateLimited`) rather than the server buffering without bound.
const COMMAND_BUFFER: usize = 64;
/// Packets queued per Engine.IO connection (long-polling clients collect them in batches).
const OUTGOING_BUFFER: usize = 1024;
/// How often a full outgoing queue is retried, until the server's write timeout.
const WRITE_RETRY: Duration = Duration::from_millis(20);

/// The Socket.IO service for the router. Must be called inside the Tokio runtime: it spawns, on
/// `state.connections`, the task that closes every Socket.IO connection once `state.shutdown`
/// fires, so that shutdown waits for them.
pub fn layer(state: &AppState) -> SocketIoLayer {
    let max = state.settings.max_frame_bytes;
    let (layer, io) = SocketIo::builder()
        .max_payload(u64::try_from(max).unwrap_or(u64::MAX))
        .ws_max_message_size(max)
        .ws_max_frame_size(max)
        .max_buffer_size(OUTGOING_BUFFER)
        .build_layer();
    let admit = {
        let (chat, settings) = (state.chat.clone(), state.settings.clone());
        move |socket: SocketRef, TryData(auth): TryData<Value>| admit(socket, auth, chat, settings)
    };
    let connect = {
        let shutdown = state.shutdown.clone();
        let tracker = state.connections.clone();
        let write_timeout = state.settings.write_timeout;
        move |socket: SocketRef| {
            // Synchronous on purpose: the event handlers are in place before the next packet.
            on_connect(socket, &shutdown, &tracker, write_timeout);
            std::future::ready(())
        }
    };
    io.ns(NAMESPACE, connect.with(admit));
    let shutdown = state.shutdown.clone();
    state.connections.spawn(async move {
        shutdown.cancelled().await;
        io.close().await;
    });
    layer
}

/// A refused connect, sent to the client as `connect_error` with the message `"<code>: <reason>"`.
#[derive(Debug)]
struct Refusal(ErrorView);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.code, self.0.message)
    }
}

/// An admitted socket's chat connection, from `admit` to `on_connect` (socket extensions must
/// be `Clone`; it is taken out exactly once).
#[derive(Clone)]
struct Admitted(Arc<Mutex<Option<Connection>>>);

/// Connect middleware: admits a socket whose handshake authenticates and whose user may open
/// one more connection, and keeps its chat connection in the socket's extensions for
/// `on_connect`. Refuses a foreign browser `Origin`, a missing, invalid or expired credential,
/// an `auth.token` that is not a string, and a user at the connection cap.
async fn admit(
    socket: SocketRef,
    auth: Result<Value, ParserError>,
    chat: Chat,
    settings: Arc<Settings>,
) -> Result<(), Refusal> {
    let request = socket.req_parts();
    if !crate::guard::origin_allowed(&request.headers, &settings) {
        return Err(Refusal(ErrorView::from(&ChatError::ForeignOrigin)));
    }
    let handshake_token = match auth.ok().as_ref().and_then(|auth| auth.get("token")) {
        None | Some(Value::Null) => None,
        Some(Value::String(token)) if !token.is_empty() => Some(token.clone()),
        Some(_) => {
            return Err(Refusal(ErrorView::new(
                ErrorCode::InvalidToken,
                "`auth.token` must be the token from POST /api/auth/login, as a string",
            )));
        }
    };
    let user = match handshake_token {
        Some(token) => chat.auth().authenticate(&token).await,
        None => {
            chat.auth()
                .authenticate_request(&request.headers, Query::SocketUpgrade(request.uri.query()))
                .await
        }
    };
    let connected = match user {
        Ok(user) => chat.connect(user).await,
        Err(error) => Err(error),
    };
    match connected {
        Ok(connection) => {
            socket
                .extensions
                .insert(Admitted(Arc::new(Mutex::new(Some(connection)))));
            Ok(())
        }
        Err(error) => {
            if error.is_internal() {
                tracing::error!(error = ?error, "authenticating a Socket.IO handshake failed");
            }
            Err(Refusal(ErrorView::from(&error)))
        }
    }
}

/// A client event on its way to the socket's connection task.
struct Queued {
    /// The decoded command, or the `error` it earns.
    command: Result<ClientCommand, ErrorView>,
    /// The client's acknowledgement callback, if it passed one.
    ack: Option<AckSender>,
}

/// Extractor: the event's acknowledgement callback, only when the client passed one (socketioxide's
/// `AckSender` alone cannot tell).
struct Ack(Option<AckSender>);

impl FromMessageParts<LocalAdapter> for Ack {
    type Error = Infallible;

    fn from_message_parts(
        socket: &Arc<Socket>,
        value: &mut socketioxide::handler::Value,
        ack_id: &Option<i64>,
    ) -> Result<Self, Infallible> {
        let sender = AckSender::from_message_parts(socket, value, ack_id)?;
        Ok(Self(ack_id.is_some().then_some(sender)))
    }
}

/// Connect handler: gives the admitted socket its connection task and routes every event to it.
fn on_connect(
    socket: SocketRef,
    shutdown: &CancellationToken,
    tracker: &TaskTracker,
    write_timeout: Duration,
) {
    let connection = socket
        .extensions
        .remove::<Admitted>()
        .and_then(|Admitted(slot)| {
            slot.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take()
        });
    let Some(connection) = connection else {
        tracing::error!(sid = %socket.id, "a Socket.IO socket connected without passing `admit`");
        let _ = socket.disconnect();
        return;
    };
    let (commands, inbox) = mpsc::channel(COMMAND_BUFFER);
    for event in ClientCommand::EVENTS {
        socket.on(*event, forward(commands.clone(), true));
    }
    socket.on_fallback(forward(commands, false));
    let gone = CancellationToken::new();
    socket.on_disconnect({
        let gone = gone.clone();
        move || {
            gone.cancel();
            std::future::ready(())
        }
    });
    if !socket.connected() {
        // Disconnected before the handler above was in place: nothing will cancel `gone`.
        return;
    }
    let transport = SioTransport {
        socket,
        inbox,
        gone,
        acks: Acks::default(),
        write_timeout,
    };
    tracker.spawn(socket::drive(transport, connection, shutdown.clone()));
}

/// The handler for one event name (`known`) or for every other one: decodes the payload and
/// queues it for the connection task, in arrival order. It runs synchronously, when socketioxide
/// reads the packet, because the future a handler returns is spawned and could overtake the
/// previous packet's.
fn forward(
    commands: mpsc::Sender<Queued>,
    known: bool,
) -> impl FnOnce(SocketRef, Event, TryData<Value>, Ack) -> std::future::Ready<()>
+ Clone
+ Send
+ Sync
+ 'static {
    move |socket: SocketRef, Event(event): Event, TryData(data): TryData<Value>, Ack(ack)| {
        let command = if known {
            decode(&event, data)
        } else {
            Err(FrameError::unknown_event(&event, None).error)
        };
        match commands.try_send(Queued { command, ack }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(queued)) => {
                let error = ErrorView::from(&ChatError::TooManyWaiting {
                    max: COMMAND_BUFFER,
                });
                let sent = match queued.ack {
                    Some(ack) => ack.send(&error),
                    None => socket.emit("error", &error),
                };
                if let Err(error) = sent {
                    tracing::debug!(sid = %socket.id, %error, "could not refuse a command");
                }
            }
            // The connection task has ended and the socket is being disconnected.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
        std::future::ready(())
    }
}

/// A known event's payload as a command; a missing or mistyped payload is `invalidPayload`.
fn decode(event: &str, data: Result<Value, ParserError>) -> Result<ClientCommand, ErrorView> {
    let data = data.map_err(|error| {
        ErrorView::new(
            ErrorCode::InvalidPayload,
            format!("`{event}` takes one JSON object: {error}"),
        )
    })?;
    ClientCommand::from_parts(event, Some(data))
        .map_err(|message| ErrorView::new(ErrorCode::InvalidPayload, message))
}

/// The Socket.IO side of a socket: commands arrive through `inbox` (queued by `forward`, in
/// arrival order), answers go out through the command's acknowledgement callback when it passed
/// one, else as events; ending means disconnecting.
struct SioTransport {
    socket: SocketRef,
    inbox: mpsc::Receiver<Queued>,
    /// Cancelled when socketioxide reports the socket disconnected.
    gone: CancellationToken,
    acks: Acks,
    write_timeout: Duration,
}

impl Transport for SioTransport {
    async fn receive(&mut self) -> Inbound {
        tokio::select! {
            () = self.gone.cancelled() => Inbound::Gone,
            queued = self.inbox.recv() => match queued {
                None => Inbound::Gone,
                Some(Queued { command, ack }) => {
                    let reference = self.acks.hold(ack);
                    match command {
                        Ok(command) => Inbound::Command(command, reference),
                        Err(error) => Inbound::Refused(FrameError { error, reference }),
                    }
                }
            },
        }
    }

    /// Socket.IO queues each packet itself: a fed frame is emitted at once.
    async fn feed(&mut self, frame: ServerFrame) -> bool {
        send(&self.socket, &mut self.acks, frame, self.write_timeout).await
    }

    async fn flush(&mut self) -> bool {
        true
    }

    async fn close(self, why: Close) {
        match why {
            // The client is gone already, or `layer`'s shutdown task closes every transport
            // (the client reconnects to the next server).
            Close::Gone | Close::Shutdown => {}
            Close::Expired | Close::SessionEnded | Close::FellBehind | Close::TooLarge => {
                if let Err(error) = self.socket.disconnect() {
                    tracing::debug!(%error, "could not disconnect a Socket.IO socket");
                }
            }
        }
    }
}

/// Acknowledgement callbacks waiting for their answer, by the `ref` the core was given for them.
#[derive(Default)]
struct Acks {
    issued: u64,
    waiting: HashMap<String, AckSender>,
}

impl Acks {
    /// A fresh `ref` for a command with a callback; none (like a native frame without `ref`)
    /// for a command without one.
    fn hold(&mut self, ack: Option<AckSender>) -> Option<String> {
        let ack = ack?;
        self.issued += 1;
        let reference = self.issued.to_string();
        self.waiting.insert(reference.clone(), ack);
        Some(reference)
    }

    fn take(&mut self, reference: Option<&str>) -> Option<AckSender> {
        self.waiting.remove(reference?)
    }
}

/// Delivers one frame: through the callback it answers, else as an event named as the frame's
/// event. Keeps the socket's Socket.IO rooms in step with the joins it answers (for parity; the
/// delivery itself comes from the core). False when the client is gone or its queue stayed full
/// for `write_timeout` (it stopped reading; it resumes when it reconnects).
async fn send(
    socket: &SocketRef,
    acks: &mut Acks,
    frame: ServerFrame,
    write_timeout: Duration,
) -> bool {
    match &frame.event {
        ServerEvent::JoinedConversation { room, .. } => socket.join(room.clone()),
        ServerEvent::LeftConversation { room, .. } => socket.leave(room.clone()),
        _ => {}
    }
    let data = frame.event.data();
    if let Some(ack) = acks.take(frame.reference.as_deref()) {
        // An ack cannot be retried (sending consumes it): a full queue drops the client.
        return delivered(socket, ack.send(&data));
    }
    let deadline = tokio::time::Instant::now() + write_timeout;
    loop {
        match socket.emit(frame.event.event_name(), &data) {
            Err(SendError::Socket(SocketError::InternalChannelFull))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(WRITE_RETRY).await;
            }
            result => return delivered(socket, result),
        }
    }
}

fn delivered(socket: &SocketRef, result: Result<(), SendError>) -> bool {
    match result {
        Ok(()) => true,
        Err(SendError::Serialize(error)) => {
            tracing::error!(sid = %socket.id, %error, "a server event did not serialize");
            true
        }
        Err(SendError::Socket(error)) => {
            tracing::debug!(sid = %socket.id, %error, "dropping a Socket.IO client");
            false
        }
    }
}
