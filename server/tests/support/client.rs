//! A resilient chat client, as a real app would write one against docs/PROTOCOL.md: it sends
//! with client ids and a window of unacknowledged sends, and after any disconnect it
//! reconnects — to the same server, or to the next of its addresses when that one refuses (a
//! node that died) — `resume`s from the newest `seq` it holds, and re-sends what was not acked
//! (same client id). It records everything it receives, and when, so the tests can check the
//! guarantees and time the delivery.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use natter::protocol::{
    ClientCommand, ClientFrame, ConversationId, Cursor, ErrorCode, MessageId, MessageView, Seq,
    ServerEvent, ServerFrame,
};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::commands;
use super::ws::{WsClient, upgrade_request};

/// Unacknowledged sends a client keeps in flight.
const WINDOW: usize = 4;

pub struct Behaviour {
    /// Pause between two sends.
    pub send_every: Duration,
    /// Drop the connection after a random time in this range, again and again.
    pub drop_every: Option<Range<u64>>,
    /// Give up (fail the test) after this long.
    pub deadline: Duration,
}

/// What one client sent, got acknowledged and received.
#[derive(Debug, Default)]
pub struct Outcome {
    pub sent: usize,
    pub acked: Vec<MessageView>,
    pub history: BTreeMap<ConversationId, Vec<MessageView>>,
    /// Messages received again after the client already had them.
    pub duplicated: usize,
    /// Messages received out of order (a `seq` jumping ahead).
    pub gaps: usize,
    pub reconnects: usize,
    /// The error codes of refused sends (each was sent again).
    pub refused: Vec<ErrorCode>,
    /// When each acked send went out (the attempt that was acked).
    pub sent_at: HashMap<MessageId, Instant>,
    /// When each send's ack (`messageSent`) arrived.
    pub acked_at: HashMap<MessageId, Instant>,
    /// When each message arrived as `newMessage` (live, replayed or repaired).
    pub received_at: HashMap<MessageId, Instant>,
}

struct Pending {
    conv: ConversationId,
    text: String,
    client_id: String,
    acked: bool,
    /// When the attempt in flight went out.
    sent_at: Option<Instant>,
    /// How many times it was sent.
    attempts: u32,
}

/// Runs one client until all its sends are acknowledged and it holds every conversation up to
/// the newest `seq` that `targets` announces. `all_acked` is sent once every send is acked.
/// It connects to `ws_urls[0]` first and moves on to the next address whenever one refuses.
pub async fn run(
    ws_urls: Vec<String>,
    token: String,
    name: &str,
    plan: Vec<(ConversationId, String)>,
    behaviour: Behaviour,
    mut targets: watch::Receiver<Option<HashMap<ConversationId, i64>>>,
    all_acked: tokio::sync::mpsc::Sender<()>,
) -> Outcome {
    let mut pending: Vec<Pending> = plan
        .into_iter()
        .enumerate()
        .map(|(i, (conv, text))| Pending {
            conv,
            text,
            client_id: format!("{name}-{i}"),
            acked: false,
            sent_at: None,
            attempts: 0,
        })
        .collect();
    let mut outcome = Outcome {
        sent: pending.len(),
        ..Outcome::default()
    };
    let deadline = Instant::now() + behaviour.deadline;
    let mut signalled = false;
    let mut attempt = 0u64;
    let mut first = true;
    let mut at = 0;
    'connect: loop {
        assert!(
            Instant::now() < deadline,
            "{name}: not done within {:?}: {outcome:?}",
            behaviour.deadline
        );
        let mut socket = match WsClient::open(upgrade_request(&ws_urls[at], &token)).await {
            Ok(client) => client.socket,
            Err(_) => {
                at = (at + 1) % ws_urls.len();
                tokio::time::sleep(Duration::from_millis(50 + rand_below(100))).await;
                continue 'connect;
            }
        };
        if !first {
            outcome.reconnects += 1;
        }
        first = false;
        let cursors = outcome
            .history
            .iter()
            .map(|(conv, messages)| Cursor {
                conv_id: *conv,
                last_seq: messages.last().map_or(Seq::ZERO, |m| m.seq),
            })
            .collect();
        let resume = ClientFrame::new(
            ClientCommand::Resume {
                conversations: cursors,
            },
            Some("resume".into()),
        );
        if socket.send(Message::text(resume.encode())).await.is_err() {
            continue 'connect;
        }
        let mut in_flight: HashMap<String, usize> = HashMap::new();
        let mut next_send = Instant::now();
        let drop_at = behaviour.drop_every.as_ref().map(|range| {
            Instant::now()
                + Duration::from_millis(range.start + rand_below(range.end - range.start))
        });
        loop {
            let done_sending = pending.iter().all(|p| p.acked);
            if done_sending && !signalled {
                signalled = true;
                let _ = all_acked.send(()).await;
            }
            if done_sending && caught_up(&outcome, targets.borrow().as_ref()) {
                let _ = socket.close(None).await;
                return outcome;
            }
            let sendable = (0..pending.len())
                .find(|i| !pending[*i].acked && !in_flight.values().any(|f| f == i));
            let can_send = sendable.is_some() && in_flight.len() < WINDOW;
            tokio::select! {
                frame = socket.next() => {
                    let text = match frame {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        _ => continue 'connect,
                    };
                    let frame = ServerFrame::decode(text.as_str()).expect("a valid server frame");
                    match frame.event {
                        ServerEvent::NewMessage { message } => {
                            outcome.received_at.entry(message.id).or_insert_with(Instant::now);
                            apply(&mut outcome, message, false);
                        }
                        ServerEvent::MessageSent { message } => {
                            let index = frame.reference.and_then(|r| in_flight.remove(&r)).expect("an ack answers a send in flight");
                            if !pending[index].acked {
                                pending[index].acked = true;
                                if let Some(went) = pending[index].sent_at {
                                    outcome.sent_at.insert(message.id, went);
                                }
                                outcome.acked_at.insert(message.id, Instant::now());
                                outcome.acked.push(message.clone());
                            }
                            // Only a retry may be answered with a message the client holds.
                            let retried = pending[index].attempts > 1;
                            apply(&mut outcome, message, retried);
                        }
                        ServerEvent::Error(error) => {
                            // A send refused (e.g. while the server restarts) is simply re-sent.
                            if let Some(r) = frame.reference {
                                in_flight.remove(&r);
                            }
                            assert_ne!(error.code, ErrorCode::ClientIdReused, "{name}: {error:?}");
                            outcome.refused.push(error.code);
                        }
                        _ => {}
                    }
                }
                () = tokio::time::sleep_until(next_send), if can_send => {
                    let index = sendable.expect("checked by can_send");
                    let p = &mut pending[index];
                    p.sent_at = Some(Instant::now());
                    p.attempts += 1;
                    attempt += 1;
                    let reference = format!("{}#{attempt}", p.client_id);
                    let command = commands::send(p.conv, &p.text, Some(&p.client_id));
                    if socket.send(Message::text(ClientFrame::new(command, Some(reference.clone())).encode())).await.is_err() {
                        continue 'connect;
                    }
                    in_flight.insert(reference, index);
                    next_send = Instant::now() + behaviour.send_every;
                }
                () = sleep_until_opt(drop_at) => {
                    drop(socket);
                    continue 'connect;
                }
                _ = targets.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    }
}

/// Adds a received message to the history, counting duplicates and gaps. `ack_of_retry`: the
/// message is the ack of a send made more than once, which may answer with a message the client
/// already holds (docs/PROTOCOL.md); any other message it holds is a duplicate.
fn apply(outcome: &mut Outcome, message: MessageView, ack_of_retry: bool) {
    let history = outcome.history.entry(message.conv_id).or_default();
    let have = history.last().map_or(Seq::ZERO, |m| m.seq);
    if message.seq == have.next() {
        history.push(message);
    } else if message.seq <= have {
        // The ack of a retried send whose message the replay already brought is expected.
        let held = usize::try_from(message.seq.0 - 1)
            .ok()
            .and_then(|i| history.get(i));
        if !(ack_of_retry && held.is_some_and(|m| m.id == message.id)) {
            eprintln!(
                "duplicate: seq {} (have {have}, ack of a retry: {ack_of_retry}): {message:?}, held {held:?}",
                message.seq
            );
            outcome.duplicated += 1;
        }
    } else {
        eprintln!("gap: seq {} after {have}", message.seq);
        outcome.gaps += 1;
    }
}

fn caught_up(outcome: &Outcome, targets: Option<&HashMap<ConversationId, i64>>) -> bool {
    let Some(targets) = targets else { return false };
    targets.iter().all(|(conv, seq)| {
        outcome
            .history
            .get(conv)
            .and_then(|h| h.last())
            .map_or(0, |m| m.seq.0)
            >= *seq
    })
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A number below `n`, random enough to spread reconnects and kills.
pub fn rand_below(n: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_nanos(),
    );
    hasher.finish() % n.max(1)
}
