//! Runs [`client`] members to the end and checks the delivery guarantees on what they hold:
//! every send acked, nothing lost, nothing twice, every conversation exactly as stored, in
//! `seq` order. Shared by the fault tests (one server) and the cluster tests (several nodes,
//! each member on its own list of addresses).

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use natter::protocol::{ConversationId, ConversationView, MessagePage, MessageView};
use tokio::sync::{mpsc, watch};

use super::api::{Account, Api};
use super::client::{self, Behaviour, Outcome};

type Targets = watch::Sender<Option<HashMap<ConversationId, i64>>>;

/// How long every member has to get all its sends acked once the disturbance is over.
const ACKED_WITHIN: Duration = Duration::from_secs(90);

/// One client to run: its account, the servers it connects to (first one first), what it
/// sends, how it behaves.
pub struct Member {
    pub name: &'static str,
    pub account: Account,
    pub ws_urls: Vec<String>,
    pub plan: Vec<(ConversationId, String)>,
    pub behaviour: Behaviour,
}

/// A member's account and what its client ended with.
pub struct Finished {
    pub name: &'static str,
    pub account: Account,
    pub outcome: Outcome,
}

/// What [`verify`] counted over every member.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: usize,
    pub acked: usize,
    pub received: usize,
    pub lost: usize,
    pub duplicated: usize,
    pub gaps: usize,
    pub reconnects: usize,
}

/// Runs the members to completion while `disturb` runs; `truth` (a server that answers once
/// the disturbance is over) tells them how far their conversations go.
pub async fn run_members<F: Future<Output = ()>>(
    truth: &Api,
    members: Vec<Member>,
    disturb: F,
) -> Vec<Finished> {
    let (acked_tx, mut acked_rx) = mpsc::channel(members.len());
    let mut running = Vec::new();
    for member in members {
        let (targets, receiver): (Targets, _) = watch::channel(None);
        let task = tokio::spawn(client::run(
            member.ws_urls,
            member.account.token.clone(),
            member.name,
            member.plan,
            member.behaviour,
            receiver,
            acked_tx.clone(),
        ));
        running.push((member.name, member.account, targets, task));
    }
    disturb.await;
    for _ in 0..running.len() {
        tokio::time::timeout(ACKED_WITHIN, acked_rx.recv())
            .await
            .expect("every send acknowledged in time");
    }
    // Everything is stored: tell each client how far its conversations go.
    for (_, account, targets, _) in &running {
        targets.send_replace(Some(newest_seqs(truth, account).await));
    }
    let mut finished = Vec::new();
    for (name, account, _targets, task) in running {
        let outcome = task.await.expect("the client task");
        finished.push(Finished {
            name,
            account,
            outcome,
        });
    }
    finished
}

/// The newest `seq` of each of `account`'s conversations, as stored.
pub async fn newest_seqs(truth: &Api, account: &Account) -> HashMap<ConversationId, i64> {
    let list: Vec<ConversationView> = truth.get("/api/conversations", account).await;
    list.iter()
        .map(|c| (c.id, c.last_message.as_ref().map_or(0, |m| m.seq.0)))
        .collect()
}

/// Every message of a conversation as stored, oldest first.
pub async fn stored(truth: &Api, account: &Account, conv: ConversationId) -> Vec<MessageView> {
    let path = format!("/api/conversations/{}/messages?limit=200", conv.0);
    let page: MessagePage = truth.get(&path, account).await;
    assert!(
        !page.has_more,
        "the scenarios stay under one page per conversation"
    );
    page.messages
}

/// Checks the guarantees for every member and prints the tally; panics on any loss,
/// duplicate, gap or disorder.
pub async fn verify(label: &str, truth: &Api, finished: &[Finished]) -> Tally {
    let mut tally = Tally::default();
    let all_acked: Vec<&MessageView> = finished
        .iter()
        .flat_map(|f| f.outcome.acked.iter())
        .collect();
    for Finished {
        name,
        account,
        outcome,
    } in finished
    {
        tally.sent += outcome.sent;
        tally.acked += outcome.acked.len();
        tally.duplicated += outcome.duplicated;
        tally.gaps += outcome.gaps;
        tally.reconnects += outcome.reconnects;
        for (conv, history) in &outcome.history {
            tally.received += history.len();
            let db = stored(truth, account, *conv).await;
            let seqs: Vec<i64> = db.iter().map(|m| m.seq.0).collect();
            assert_eq!(
                seqs,
                (1..=db.len() as i64).collect::<Vec<_>>(),
                "{label}: stored seqs of {conv} are gapless"
            );
            let mut client_ids: Vec<_> = db.iter().filter_map(|m| m.client_id.clone()).collect();
            client_ids.sort();
            let before = client_ids.len();
            client_ids.dedup();
            tally.duplicated += before - client_ids.len();
            assert_eq!(
                history, &db,
                "{label}: {name} holds conversation {conv} exactly as stored, in order"
            );
            for message in all_acked.iter().filter(|m| m.conv_id == *conv) {
                let copies = history.iter().filter(|m| m.id == message.id).count();
                if copies == 0 {
                    tally.lost += 1;
                }
                assert!(
                    copies <= 1,
                    "{label}: {name} holds message {} {copies} times",
                    message.id
                );
            }
        }
    }
    let Tally {
        sent,
        acked,
        received,
        lost,
        duplicated,
        gaps,
        reconnects,
    } = tally;
    println!(
        "{label}: sent={sent} acked={acked} received={received} lost={lost} duplicated={duplicated} gaps={gaps} reconnects={reconnects}"
    );
    assert_eq!(acked, sent, "{label}: every send was acknowledged");
    assert_eq!(
        (lost, duplicated, gaps),
        (0, 0, 0),
        "{label}: nothing lost, nothing twice, nothing out of order"
    );
    tally
}

/// `per_conv` messages from `name` to each of `convs`, taking turns.
pub fn plan(
    name: &str,
    convs: &[ConversationId],
    per_conv: usize,
) -> Vec<(ConversationId, String)> {
    (0..per_conv * convs.len())
        .map(|i| (convs[i % convs.len()], format!("{name} says {i}")))
        .collect()
}

/// A client that sends every `send_every_ms` and never drops its connection on purpose.
pub fn steady(send_every_ms: u64) -> Behaviour {
    Behaviour {
        send_every: Duration::from_millis(send_every_ms),
        drop_every: None,
        deadline: Duration::from_secs(120),
    }
}
