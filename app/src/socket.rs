//! The tab's one WebSocket to `/ws` (same origin; the session cookie authenticates it), run
//! by one task for as long as the person is signed in. It connects and sends `resume` with the
//! newest `seq` the tab holds of each conversation: the server answers with the fresh
//! conversation list, joins every room and replays whatever was missed, in order; then the
//! task sends the outbox (what the outbox says is due, under each message's client id), read
//! marks and joins out, and carries events in. When the connection drops it reconnects by
//! itself after a backoff delay with jitter, straight away when the browser comes back online,
//! and gives up only when the session has ended; the outbox keeps what was not confirmed.
//! Browser only.

use std::collections::HashSet;
use std::pin::Pin;

use futures::channel::mpsc::{UnboundedReceiver, unbounded};
use futures::future::poll_fn;
use futures::{FutureExt, Sink, SinkExt, StreamExt, select};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use natter::protocol::{ConversationId, Cursor};

use crate::account::Account;
use crate::model::backoff::Backoff;
use crate::model::requests::{Inbound, Purpose, Requests};
use crate::server_fns::current_session;
use crate::store::{ChatStore, ConnectionStatus, Outbound};

// A dead connection is noticed by an unanswered command. Browsers cannot see WebSocket-level
// pings, and a socket whose network went away silently (Wi-Fi switched, a laptop lid closed;
// Chromium does not even close it when the browser goes offline) can look open for minutes,
// with the outbox waiting behind it. So besides every command's own limit, the tab sends the
// protocol's `ping`, whose `pong` the server answers without touching storage, and which may
// therefore be held to a shorter limit than a send (a send waits for a durable commit):
// - after `QUIET_LIMIT_MS` without any frame, so an idle tab notices within ~20 s;
// - with a send, when nothing was heard for `PONG_LIMIT_MS`: a message written on a dead
//   socket is sent again on a fresh one after 5 s instead of the 10 s of `ANSWER_LIMIT_MS`;
// - when the browser says it is online again, or the tab comes back into view: the moments a
//   connection most often turns out to be dead.

/// How long a command may stay unanswered before the connection counts as dead.
const ANSWER_LIMIT_MS: f64 = 10_000.0;
/// How long a `ping` may stay unanswered before the connection counts as dead.
const PONG_LIMIT_MS: f64 = 5_000.0;
/// How long the server may stay silent before the tab pings it.
const QUIET_LIMIT_MS: f64 = 15_000.0;
/// How long opening a connection may take.
const OPEN_LIMIT_MS: u32 = 10_000;
/// How often an idle connection checks for overdue answers.
const TICK_MS: u32 = 1_000;

/// Starts the socket task for the signed-in tab; it stops when the current owner (the chat
/// page) is cleaned up.
pub fn start(store: ChatStore, account: Account) {
    let (link, inbox) = unbounded();
    store.attach(link.clone());
    let network = |online: bool| {
        let link = link.clone();
        move |_| {
            let _ = link.unbounded_send(Outbound::Network { online });
        }
    };
    let online = window_event_listener(leptos::ev::online, network(true));
    let offline = window_event_listener(leptos::ev::offline, network(false));
    on_cleanup(move || {
        online.remove();
        offline.remove();
        let _ = link.unbounded_send(Outbound::Stop);
    });
    leptos::task::spawn_local(run(store, account, inbox));
}

/// How one connection ended.
enum Ended {
    /// The person signed out.
    Stop,
    /// The browser went offline.
    Offline,
    /// The connection failed or dropped; `established` if the server had answered `resume`
    /// on it. Only an established connection starts the next attempt from the shortest delay:
    /// one that opens and drops at once (a server restarting in a loop, a proxy) backs off.
    Dropped {
        established: bool,
        suspect_session: bool,
    },
}

async fn run(store: ChatStore, account: Account, mut inbox: UnboundedReceiver<Outbound>) {
    let backoff = Backoff::default();
    let mut failures = 0;
    loop {
        if !browser_online() {
            store.status.try_set(ConnectionStatus::Offline);
            if wait(&store, &mut inbox, None).await.is_none() {
                return;
            }
            continue;
        }
        store.status.try_set(if failures == 0 {
            ConnectionStatus::Connecting
        } else {
            ConnectionStatus::Reconnecting { attempt: failures }
        });
        let ended = connection(&store, &mut inbox).await;
        // Presence and typing told before are stale until the next connection's resume.
        store.around.try_update(|a| a.connection_lost());
        match ended {
            Ended::Stop => return,
            Ended::Offline => {
                failures = 0;
                continue;
            }
            Ended::Dropped {
                established,
                suspect_session,
            } => {
                failures = if established { 1 } else { failures + 1 };
                // A refused upgrade looks like any failed connection: ask whether the session
                // is still valid before retrying forever.
                if (suspect_session || !established) && matches!(current_session().await, Ok(None))
                {
                    account.signed_out(Some(
                        "Your session has ended. Sign in again to keep chatting.".to_owned(),
                    ));
                    return;
                }
            }
        }
        store
            .status
            .try_set(ConnectionStatus::Reconnecting { attempt: failures });
        let delay = backoff.delay_ms(failures, js_sys::Math::random());
        if wait(&store, &mut inbox, Some(delay)).await.is_none() {
            return;
        }
    }
}

/// Waits while there is no connection: until `delay_ms` passes (if given), the browser comes
/// back online, the tab comes back into view, or the person asks to retry. Messages written
/// meanwhile stay in the outbox. `None` when the task must stop.
async fn wait(
    store: &ChatStore,
    inbox: &mut UnboundedReceiver<Outbound>,
    delay_ms: Option<u32>,
) -> Option<()> {
    let mut timer = match delay_ms {
        Some(ms) => TimeoutFuture::new(ms).fuse(),
        None => futures::future::Fuse::terminated(),
    };
    loop {
        let request = select! {
            () = timer => return Some(()),
            request = inbox.next() => request,
        };
        match request? {
            // Back online, asked to, or the tab came back into view (a phone waking up): skip
            // the rest of the delay.
            Outbound::Network { online: true } | Outbound::ReconnectNow | Outbound::Check => {
                return Some(());
            }
            Outbound::Network { online: false } => {
                store.status.try_set(ConnectionStatus::Offline);
            }
            Outbound::Flush
            | Outbound::Join(_)
            | Outbound::MarkRead { .. }
            | Outbound::Typing { .. } => {}
            Outbound::Stop => return None,
        }
    }
}

/// One step of a live connection.
enum Step {
    Frame(Option<Result<Message, WebSocketError>>),
    Request(Option<Outbound>),
    Tick,
}

/// Opens one connection and serves it until it ends.
async fn connection(store: &ChatStore, inbox: &mut UnboundedReceiver<Outbound>) -> Ended {
    let Some(url) = socket_url() else {
        return Ended::Dropped {
            established: false,
            suspect_session: false,
        };
    };
    let Ok(mut socket) = WebSocket::open(&url) else {
        return Ended::Dropped {
            established: false,
            suspect_session: false,
        };
    };
    match opened(&mut socket, inbox).await {
        Ok(true) => {}
        Ok(false) => {
            return Ended::Dropped {
                established: false,
                suspect_session: false,
            };
        }
        Err(ended) => return ended,
    }
    store.status.try_set(ConnectionStatus::Connected);

    let mut requests = Requests::default();
    let mut joined: HashSet<ConversationId> = HashSet::new();
    let cursors: Vec<Cursor> = store
        .directory
        .try_with_untracked(|d| d.ids())
        .unwrap_or_default()
        .into_iter()
        .map(|id| Cursor {
            conv_id: id,
            last_seq: store.last_seq(id),
        })
        .collect();
    let ended = if socket
        .send(Message::Text(requests.resume(cursors, now_ms())))
        .await
        .is_err()
    {
        Ended::Dropped {
            established: false,
            suspect_session: false,
        }
    } else {
        serve(store, &mut socket, inbox, &mut requests, &mut joined).await
    };
    // No answer will come on this socket: what was in flight goes again on the next one.
    store.release_sends();
    ended
}

/// Waits for the socket to open. `Ok(false)` if it failed to; `Err` if the task must stop
/// or the browser went offline meanwhile.
async fn opened(
    socket: &mut WebSocket,
    inbox: &mut UnboundedReceiver<Outbound>,
) -> Result<bool, Ended> {
    let mut limit = TimeoutFuture::new(OPEN_LIMIT_MS).fuse();
    loop {
        let request = {
            // `poll_ready` resolves once the socket is no longer connecting (open or failed).
            let mut ready = poll_fn(|cx| Pin::new(&mut *socket).poll_ready(cx)).fuse();
            select! {
                _ = ready => None,
                () = limit => return Ok(false),
                request = inbox.next() => Some(request),
            }
        };
        match request {
            None => return Ok(matches!(socket.state(), State::Open)),
            Some(None | Some(Outbound::Stop)) => return Err(Ended::Stop),
            Some(Some(Outbound::Network { online: false })) => return Err(Ended::Offline),
            Some(Some(_)) => {}
        }
    }
}

/// Serves an open connection until it ends.
async fn serve(
    store: &ChatStore,
    socket: &mut WebSocket,
    inbox: &mut UnboundedReceiver<Outbound>,
    requests: &mut Requests,
    joined: &mut HashSet<ConversationId>,
) -> Ended {
    let dropped = |established, suspect_session| Ended::Dropped {
        established,
        suspect_session,
    };
    let mut suspect_session = false;
    // The outbox goes out once `resume` is answered: the server then holds this connection's
    // rooms, and a message stored before the last drop is answered with the original.
    let mut resumed = false;
    let mut last_heard_ms = now_ms();
    loop {
        let now = now_ms();
        if !requests.overdue(now, answer_limit).is_empty() {
            // No answer in time: the connection is dead even if the browser has not noticed.
            return dropped(resumed, suspect_session);
        }
        if resumed && !flush(store, socket, requests, now - last_heard_ms).await {
            return dropped(resumed, suspect_session);
        }
        if now - last_heard_ms > QUIET_LIMIT_MS && !ping(socket, requests).await {
            return dropped(resumed, suspect_session);
        }
        let step = {
            let mut tick = TimeoutFuture::new(TICK_MS).fuse();
            select! {
                frame = socket.next().fuse() => Step::Frame(frame),
                request = inbox.next() => Step::Request(request),
                () = tick => Step::Tick,
            }
        };
        match step {
            Step::Tick => {}
            Step::Frame(None) => return dropped(resumed, suspect_session),
            Step::Frame(Some(Err(WebSocketError::ConnectionClose(event)))) => {
                // 1008: the server ended the session (expired or signed out elsewhere).
                suspect_session |= event.code == 1008;
            }
            Step::Frame(Some(Err(_) | Ok(Message::Bytes(_)))) => {}
            Step::Frame(Some(Ok(Message::Text(text)))) => {
                last_heard_ms = now_ms();
                match requests.receive(&text) {
                    Ok(Inbound::Conversation(conversation)) => {
                        let id = conversation.id;
                        store.apply(Inbound::Conversation(conversation));
                        if !join(store, socket, requests, joined, id).await {
                            return dropped(resumed, suspect_session);
                        }
                    }
                    Ok(Inbound::Removed(id)) => {
                        // Added back later, it is joined again.
                        joined.remove(&id);
                        store.apply(Inbound::Removed(id));
                    }
                    Ok(Inbound::Resumed(conversations)) => {
                        joined.extend(conversations.iter().map(|c| c.id));
                        store.apply(Inbound::Resumed(conversations));
                        store.refresh_read_mark();
                        resumed = true;
                    }
                    Ok(Inbound::ResumeFailed(error)) => {
                        leptos::logging::warn!("natter socket: resume refused: {}", error.message);
                        return dropped(resumed, suspect_session);
                    }
                    Ok(Inbound::SendFailed {
                        client_id, error, ..
                    }) => {
                        store.send_refused(&client_id, &error, now_ms(), js_sys::Math::random());
                    }
                    Ok(Inbound::Problem(error)) => {
                        suspect_session |= error.code.ends_session();
                        leptos::logging::warn!("natter socket: {}: {}", error.code, error.message);
                    }
                    Ok(inbound) => store.apply(inbound),
                    Err(detail) => {
                        leptos::logging::warn!("natter socket: unreadable frame: {detail}");
                    }
                }
            }
            Step::Request(None | Some(Outbound::Stop)) => return Ended::Stop,
            Step::Request(Some(Outbound::Network { online: false })) => return Ended::Offline,
            // Sent at the top of the loop.
            Step::Request(Some(Outbound::Flush | Outbound::ReconnectNow)) => {}
            Step::Request(Some(Outbound::Network { online: true } | Outbound::Check)) => {
                if !ping(socket, requests).await {
                    return dropped(resumed, suspect_session);
                }
            }
            Step::Request(Some(Outbound::MarkRead { conversation, seq })) => {
                let frame = requests.mark_read(conversation, seq, now_ms());
                if socket.send(Message::Text(frame)).await.is_err() {
                    return dropped(resumed, suspect_session);
                }
            }
            Step::Request(Some(Outbound::Typing {
                conversation,
                typing,
            })) => {
                let frame = Requests::typing(conversation, typing);
                if socket.send(Message::Text(frame)).await.is_err() {
                    return dropped(resumed, suspect_session);
                }
            }
            Step::Request(Some(Outbound::Join(id))) => {
                if !join(store, socket, requests, joined, id).await {
                    return dropped(resumed, suspect_session);
                }
            }
        }
    }
}

fn answer_limit(purpose: &Purpose) -> f64 {
    match purpose {
        Purpose::Ping => PONG_LIMIT_MS,
        Purpose::Send { .. }
        | Purpose::Join { .. }
        | Purpose::Resume
        | Purpose::MarkRead { .. } => ANSWER_LIMIT_MS,
    }
}

/// Sends what the outbox says is due, with a `ping` ahead of it when the server has been
/// silent for `quiet_ms` longer than a pong may take. `false` if the socket could not take it.
async fn flush(
    store: &ChatStore,
    socket: &mut WebSocket,
    requests: &mut Requests,
    quiet_ms: f64,
) -> bool {
    let due = store.due_sends(now_ms());
    if due.is_empty() {
        return true;
    }
    if quiet_ms > PONG_LIMIT_MS && !ping(socket, requests).await {
        return false;
    }
    for send in due {
        let frame = requests.send(send.conversation, &send.client_id, &send.text, now_ms());
        if socket.send(Message::Text(frame)).await.is_err() {
            return false;
        }
    }
    true
}

/// Sends a `ping` unless one is already waiting for its `pong`. `false` if the socket could
/// not take it.
async fn ping(socket: &mut WebSocket, requests: &mut Requests) -> bool {
    if requests.pinging() {
        return true;
    }
    let frame = requests.ping(now_ms());
    socket.send(Message::Text(frame)).await.is_ok()
}

/// Joins a room once per connection, replaying everything after the newest `seq` held.
/// `false` if the socket could not take the frame.
async fn join(
    store: &ChatStore,
    socket: &mut WebSocket,
    requests: &mut Requests,
    joined: &mut HashSet<ConversationId>,
    id: ConversationId,
) -> bool {
    if !joined.insert(id) {
        return true;
    }
    let frame = requests.join(id, store.last_seq(id), now_ms());
    socket.send(Message::Text(frame)).await.is_ok()
}

/// `ws://host/ws` or `wss://host/ws`, from the page's own address.
fn socket_url() -> Option<String> {
    let location = window().location();
    let scheme = match location.protocol().ok()?.as_str() {
        "https:" => "wss",
        _ => "ws",
    };
    Some(format!("{scheme}://{}/ws", location.host().ok()?))
}

fn browser_online() -> bool {
    window().navigator().on_line()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}
