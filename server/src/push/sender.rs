//! The delivery task: takes the queued messages in batches, finds with one query the
//! subscriptions of their conversations' members, leaves out the sender, anyone with a live
//! connection on any node (their open tab shows the message) and conversations muted in that
//! browser, and posts each push — encrypted to the browser (RFC 8291, aes128gcm) and signed
//! with the server's VAPID key — with at most [`CONCURRENCY`] posts in flight. A push service
//! that answers 404 or 410 has dropped the subscription: it is forgotten. Nothing is retried:
//! a later message pushes again, and the browser shows the newest per conversation.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use natter::Chat;
use natter::protocol::ConversationId;
use natter::store::PushTarget;
use p256::PublicKey;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use web_push_native::WebPushBuilder;

use super::subscription::decode;
use super::{CONCURRENCY, Notice, TTL, WebPush};

/// Messages taken from the queue at once (one query for all of them).
const BATCH: usize = 64;

pub(super) async fn deliver(
    chat: Chat,
    push: WebPush,
    client: reqwest::Client,
    mut queue: mpsc::Receiver<Notice>,
    shutdown: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            taken = queue.recv_many(&mut batch, BATCH) => if taken == 0 { return },
        }
        let conversations: Vec<ConversationId> = {
            let mut ids: Vec<ConversationId> = batch.iter().map(|n| n.conversation).collect();
            ids.sort_unstable_by_key(|id| id.0);
            ids.dedup();
            ids
        };
        let targets = match chat.store().push_targets(&conversations).await {
            Ok(targets) => targets,
            Err(error) => {
                tracing::warn!(error = ?error, messages = batch.len(), "finding Web Push subscriptions failed");
                batch.clear();
                continue;
            }
        };
        let chosen = pushes(&chat, &targets, &batch);
        let stats = push.stats();
        stats
            .considered
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        stats
            .posted
            .fetch_add(chosen.len() as u64, Ordering::Relaxed);
        for (target, notice) in chosen {
            let permit = tokio::select! {
                () = shutdown.cancelled() => return,
                permit = Arc::clone(&permits).acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let (chat, push, client) = (chat.clone(), push.clone(), client.clone());
            let body = serde_json::to_vec(&notice.payload).expect("a payload serialises");
            let target = target.clone();
            tokio::spawn(async move {
                post(&chat, &push, &client, &target, body).await;
                drop(permit);
            });
        }
        batch.clear();
    }
}

/// Each push to make for `batch`: per subscription and conversation, the newest message only
/// (the browser would replace the older notification at once), and none for the sender, a
/// connected member or a muted conversation.
fn pushes<'a>(
    chat: &Chat,
    targets: &'a [(ConversationId, PushTarget)],
    batch: &'a [Notice],
) -> Vec<(&'a PushTarget, &'a Notice)> {
    let mut newest: HashMap<(&str, ConversationId), &Notice> = HashMap::new();
    for notice in batch {
        for (conversation, target) in targets {
            if *conversation == notice.conversation
                && target.user != notice.sender
                && !target.muted.contains(conversation)
            {
                newest.insert((target.endpoint.as_str(), *conversation), notice);
            }
        }
    }
    let mut connected = HashMap::new();
    targets
        .iter()
        .filter_map(|(conversation, target)| {
            let notice = newest.remove(&(target.endpoint.as_str(), *conversation))?;
            let online = *connected
                .entry(target.user)
                .or_insert_with(|| chat.is_connected(target.user));
            (!online).then_some((target, notice))
        })
        .collect()
}

/// Encrypts `body` to `target` and posts it; forgets the subscription if it is gone.
async fn post(
    chat: &Chat,
    push: &WebPush,
    client: &reqwest::Client,
    target: &PushTarget,
    body: Vec<u8>,
) {
    let stats = push.stats();
    let request = match request(push, target, body) {
        Ok(request) => request,
        Err(error) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = ?error, "building a push failed");
            return;
        }
    };
    let status = match client.execute(request).await {
        Ok(response) => response.status(),
        Err(error) => {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%error, "a push service did not answer");
            return;
        }
    };
    if status.is_success() {
        stats.sent.fetch_add(1, Ordering::Relaxed);
    } else if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
        match chat.store().forget_push_endpoint(&target.endpoint).await {
            Ok(_) => {
                stats.gone.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => tracing::warn!(error = ?error, "forgetting a gone subscription failed"),
        }
    } else {
        stats.failed.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%status, "a push service refused a push");
    }
}

/// The POST: the payload encrypted (aes128gcm) with `TTL`, plus the VAPID `Authorization`
/// and `Urgency: high` (a chat message, not a newsletter: RFC 8030 §5.3).
fn request(push: &WebPush, target: &PushTarget, body: Vec<u8>) -> anyhow::Result<reqwest::Request> {
    let endpoint = push.endpoints().check(&target.endpoint)?;
    let ua_public = PublicKey::from_sec1_bytes(&decode("keys.p256dh", &target.p256dh, 65)?)?;
    let auth = decode("keys.auth", &target.auth, 16)?;
    let built = WebPushBuilder::new(
        target.endpoint.parse()?,
        ua_public,
        web_push_native::Auth::clone_from_slice(&auth),
    )
    .with_valid_duration(TTL)
    .build(body)
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut request = reqwest::Request::try_from(built)?;
    let headers = request.headers_mut();
    headers.insert(
        AUTHORIZATION,
        HeaderValue::from_str(&push.shared.vapid.authorization(&endpoint)?)?,
    );
    headers.insert("urgency", HeaderValue::from_static("high"));
    Ok(request)
}
