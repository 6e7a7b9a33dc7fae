//! Web Push (RFC 8030): a message reaches a member's browser while no natter tab of theirs is
//! open. Off unless the operator turns it on (`--web-push`); off, nothing here runs and the
//! chat core has no observer.
//!
//! - `vapid`: the server's own key pair (RFC 8292), kept in the database.
//! - `subscription`: what a browser may subscribe with.
//! - `sender`: the task that turns committed messages into encrypted posts (RFC 8291).
//!
//! The message path only offers each new message to a bounded queue ([`QUEUE`]) and moves on:
//! a full queue drops the push (counted, logged), never the message or its sender's time.

mod sender;
pub mod subscription;
pub mod vapid;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use natter::Chat;
use natter::protocol::{ConversationId, EntryKind, MessageView, UserId};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use subscription::EndpointPolicy;
use vapid::Vapid;

/// Messages waiting to be pushed; past it, pushes are dropped.
pub const QUEUE: usize = 1024;
/// Posts to push services in flight at once.
pub const CONCURRENCY: usize = 16;
/// How long one post may take, connection included.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a push service keeps a push for a browser that is offline (`TTL`): a phone off
/// overnight still hears of the evening's messages.
pub const TTL: Duration = Duration::from_secs(12 * 3600);
/// Subscriptions kept per user (browsers, profiles, devices); the oldest go first.
pub const MAX_PER_USER: usize = 10;
/// Characters of a message shown in its notification.
pub const PREVIEW_CHARS: usize = 120;

/// What the operator set.
#[derive(Clone, Debug)]
pub struct PushConfig {
    /// Who push services may contact about this server: `mailto:` or `https:` (RFC 8292 §2.1).
    pub contact: String,
    pub endpoints: EndpointPolicy,
}

/// The push side of a running server; cheap to clone.
#[derive(Clone)]
pub struct WebPush {
    shared: Arc<Shared>,
}

struct Shared {
    vapid: Vapid,
    endpoints: EndpointPolicy,
    queue: mpsc::Sender<Notice>,
    stats: Stats,
}

/// What happened to pushes since the start (`WebPush::stats`).
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages the delivery task has decided whom to push to.
    pub considered: AtomicU64,
    /// Posts started (each ends as `sent`, `failed` or `gone`).
    pub posted: AtomicU64,
    /// Posts a push service accepted.
    pub sent: AtomicU64,
    /// Posts that failed (refused, timed out, unreachable); not retried.
    pub failed: AtomicU64,
    /// Subscriptions forgotten because their push service said they are gone (404, 410).
    pub gone: AtomicU64,
    /// Messages not pushed because the queue was full.
    pub dropped: AtomicU64,
}

/// A committed message, as far as a push needs it.
#[derive(Debug)]
struct Notice {
    conversation: ConversationId,
    sender: UserId,
    payload: Payload,
}

/// The JSON the service worker gets (`public/sw.js`), encrypted to each browser.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub conversation_id: i64,
    pub seq: i64,
    pub sender: String,
    pub preview: String,
}

impl Payload {
    fn of(message: &MessageView) -> Self {
        Self {
            conversation_id: message.conv_id.0,
            seq: message.seq.0,
            sender: message.sender_name.clone(),
            preview: preview(&message.message),
        }
    }
}

/// The first [`PREVIEW_CHARS`] characters of `text` on one line, with `…` if cut. Reads no
/// further than it keeps: it runs on the writer's task (`WebPush::offer`).
fn preview(text: &str) -> String {
    let mut line = String::new();
    let mut kept = 0;
    for word in text.split_whitespace() {
        if kept > 0 {
            line.push(' ');
            kept += 1;
        }
        for c in word.chars() {
            if kept >= PREVIEW_CHARS {
                line.truncate(line.trim_end().len());
                line.push('…');
                return line;
            }
            line.push(c);
            kept += 1;
        }
    }
    line
}

/// The delivery task, to be spawned when serving starts.
pub type Delivery = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl WebPush {
    /// Loads (or makes and keeps) the VAPID key and has `chat` offer every new message to the
    /// queue; returns the handle and the delivery task, which runs until `shutdown`.
    pub async fn start(
        chat: &Chat,
        config: PushConfig,
        shutdown: CancellationToken,
    ) -> anyhow::Result<(Self, Delivery)> {
        anyhow::ensure!(
            config.contact.starts_with("mailto:") || config.contact.starts_with("https://"),
            "--vapid-contact must be a mailto: or https:// URL that push services can reach \
             the operator at (got {:?})",
            config.contact
        );
        let vapid = Vapid::load_or_create(chat.store(), config.contact).await?;
        let (queue, waiting) = mpsc::channel(QUEUE);
        let push = Self {
            shared: Arc::new(Shared {
                vapid,
                endpoints: config.endpoints,
                queue,
                stats: Stats::default(),
            }),
        };
        let offered = push.clone();
        chat.observe_messages(Arc::new(move |message| offered.offer(message)))
            .context("turning Web Push on")?;
        let client = reqwest::Client::builder()
            .timeout(POST_TIMEOUT)
            .connect_timeout(POST_TIMEOUT / 2)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("natter/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the Web Push client")?;
        let delivery = sender::deliver(chat.clone(), push.clone(), client, waiting, shutdown);
        Ok((push, Box::pin(delivery)))
    }

    /// The public key browsers subscribe with (`applicationServerKey`), base64url.
    pub fn public_key(&self) -> &str {
        self.shared.vapid.public_key()
    }

    pub fn endpoints(&self) -> EndpointPolicy {
        self.shared.endpoints
    }

    pub fn stats(&self) -> &Stats {
        &self.shared.stats
    }

    /// Queues a push of `message` (written messages only, not group events), or drops it if
    /// the queue is full. Never waits.
    fn offer(&self, message: &MessageView) {
        if message.kind != EntryKind::Message {
            return;
        }
        let notice = Notice {
            conversation: message.conv_id,
            sender: message.sender_id,
            payload: Payload::of(message),
        };
        if self.shared.queue.try_send(notice).is_err() {
            let dropped = self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Logged at the 1st, 2nd, 4th, 8th… drop: a burst does not flood the log.
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "Web Push queue full: pushes dropped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preview_is_one_line_and_cut_with_an_ellipsis() {
        assert_eq!(preview("  hi\n\nthere  "), "hi there");
        let long = "é".repeat(PREVIEW_CHARS + 5);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(
            preview(&"x".repeat(PREVIEW_CHARS)),
            "x".repeat(PREVIEW_CHARS)
        );
    }
}
