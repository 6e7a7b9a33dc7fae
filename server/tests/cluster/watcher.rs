//! A `/ws` socket read by a task of its own, which records every frame and when it arrived,
//! and how the socket ended: the test sends through it and asks what it has seen, so one test
//! can watch many sockets on many nodes at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use natter::protocol::{ClientCommand, ClientFrame, ServerEvent, ServerFrame};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::support::api::{Account, Api};
use crate::support::until;

/// What a watched socket has seen.
#[derive(Default)]
struct Seen {
    frames: Vec<(Instant, ServerFrame)>,
    /// How it ended: the close code (0: closed without one), and when.
    closed: Option<(u16, Instant)>,
}

pub struct Watcher {
    /// Which node it is connected to.
    pub node: usize,
    outbox: mpsc::UnboundedSender<Message>,
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Watcher {
    /// A socket for `account` on `api` (node `node`).
    pub async fn open(api: &Api, node: usize, account: &Account) -> Self {
        let (mut sink, mut stream) = api.ws(account).await.socket.split();
        let (outbox, mut outgoing) = mpsc::unbounded_channel::<Message>();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let record = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    message = outgoing.recv() => match message {
                        Some(message) => { let _ = sink.send(message).await; }
                        None => return,
                    },
                    message = stream.next() => {
                        let at = Instant::now();
                        let mut seen = record.lock().expect("the watcher's record");
                        match message {
                            Some(Ok(Message::Text(text))) => {
                                let frame = ServerFrame::decode(text.as_str()).expect("a valid server frame");
                                seen.frames.push((at, frame));
                            }
                            Some(Ok(Message::Close(frame))) => {
                                seen.closed = Some((frame.map_or(0, |f| f.code.into()), at));
                                return;
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => {
                                seen.closed.get_or_insert((0, at));
                                return;
                            }
                        }
                    }
                }
            }
        });
        Self {
            node,
            outbox,
            seen,
            task,
        }
    }

    /// Sends `command` with `reference`; returns when it went out.
    pub fn send(&self, command: ClientCommand, reference: &str) -> Instant {
        let frame = ClientFrame::new(command, Some(reference.to_owned()));
        let at = Instant::now();
        let _ = self.outbox.send(Message::text(frame.encode()));
        at
    }

    /// Every frame so far, with its arrival.
    pub fn frames(&self) -> Vec<(Instant, ServerFrame)> {
        self.seen
            .lock()
            .expect("the watcher's record")
            .frames
            .clone()
    }

    /// Every event so far, with its arrival.
    pub fn events(&self) -> Vec<(Instant, ServerEvent)> {
        self.frames()
            .into_iter()
            .map(|(at, f)| (at, f.event))
            .collect()
    }

    /// The answer to `reference`, once it has come (within `limit`).
    pub async fn answer(&self, reference: &str, limit: Duration) -> (Instant, ServerEvent) {
        let mut found = None;
        until(limit, || {
            found = self
                .frames()
                .into_iter()
                .find(|(_, f)| f.reference.as_deref() == Some(reference));
            std::future::ready(found.is_some())
        })
        .await;
        let (at, frame) = found.expect("checked by until");
        (at, frame.event)
    }

    /// The first event `pick` accepts, once it has come (within `limit`).
    pub async fn first<T>(
        &self,
        limit: Duration,
        mut pick: impl FnMut(&ServerEvent) -> Option<T>,
    ) -> (Instant, T) {
        let mut found = None;
        until(limit, || {
            found = self
                .events()
                .into_iter()
                .find_map(|(at, e)| pick(&e).map(|t| (at, t)));
            std::future::ready(found.is_some())
        })
        .await;
        found.expect("checked by until")
    }

    /// How the socket ended, if it has.
    pub fn closed(&self) -> Option<(u16, Instant)> {
        self.seen.lock().expect("the watcher's record").closed
    }

    /// The close code and when it came, waiting up to `limit` for it.
    pub async fn closed_within(&self, limit: Duration) -> (u16, Instant) {
        until(limit, || std::future::ready(self.closed().is_some())).await;
        self.closed().expect("checked by until")
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}
