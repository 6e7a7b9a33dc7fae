//! One writer per node for message sends, with group commit: sends from every connection and
//! conversation queue here; the writer takes all that are waiting, stores them in one
//! transaction (`Store::insert_batch`: one commit, one fsync), fans the new ones out in `seq`
//! order, and only then answers each sender. A batch closes when the writer is free, never on a
//! timer: alone, a send is written at once; under load, the batch grows with the queue.
//!
//! "Acked" still means durable: no sender hears of its message before the transaction that
//! holds it has committed.

use std::sync::{Arc, Weak};

use tokio::sync::{mpsc, oneshot};

use crate::chat::Inner;
use crate::error::ChatError;
use crate::store::{Inserted, NewSend};

/// Most sends written in one transaction.
const MAX_BATCH: usize = 512;
/// Sends waiting for the writer; past it, senders wait for room (backpressure).
const QUEUE: usize = 4096;

type Reply = oneshot::Sender<Result<Inserted, ChatError>>;

/// The queue to the writer task.
pub(crate) struct Writer {
    jobs: mpsc::Sender<(NewSend, Reply)>,
}

impl Writer {
    /// Starts the writer task for `chat` (it ends when the chat does).
    pub(crate) fn start(chat: Weak<Inner>) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(chat, queue));
        Self { jobs }
    }

    /// Stores `send` in the next batch; answers once it is committed (and fanned out).
    pub(crate) async fn write(&self, send: NewSend) -> Result<Inserted, ChatError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((send, reply))
            .await
            .map_err(|_| ChatError::internal("queueing a send", "the writer has stopped"))?;
        answer
            .await
            .map_err(|_| ChatError::internal("waiting for a send", "the writer dropped it"))?
    }
}

async fn write_loop(chat: Weak<Inner>, mut queue: mpsc::Receiver<(NewSend, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let Some(inner) = chat.upgrade() else { return };
        let (sends, replies): (Vec<NewSend>, Vec<Reply>) = batch.drain(..).unzip();
        match inner.store.insert_batch(&sends).await {
            Ok(answers) => {
                // Fanned out before anyone is answered, in batch order (seq order within each
                // conversation): a sender sees its own message in its place.
                for answer in answers.iter().flatten().filter(|a| a.fresh) {
                    inner.publish_message(&answer.message);
                }
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Err(error) => {
                if error.is_internal() {
                    tracing::error!(error = ?error, sends = sends.len(), "writing a batch failed");
                }
                let code = error.code();
                for reply in replies {
                    let _ = reply.send(Err(same_error(&error, code)));
                }
            }
        }
        drop::<Arc<Inner>>(inner);
    }
}

/// The error each sender of a failed batch gets: the batch's own when it says what to do
/// (`storageUnavailable`), else a generic failure (the details are logged once, above).
fn same_error(error: &ChatError, code: crate::protocol::ErrorCode) -> ChatError {
    match error {
        ChatError::StorageUnavailable => ChatError::StorageUnavailable,
        _ => ChatError::internal("writing a batch", code.to_string()),
    }
}
