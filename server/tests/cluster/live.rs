//! Scenario 1 (and 2): live events cross nodes. Three users, each with a socket on every node;
//! conversations opened, messages sent concurrently by members on different nodes, a read
//! mark — every socket gets every event once, in `seq` order, live (no reconnect), as stored;
//! cross-node latency is reported beside same-node latency.

use std::collections::HashMap;
use std::time::Duration;

use natter::protocol::{ClientCommand, ConversationId, MessageView, Seq, ServerEvent};
use tokio::time::Instant;

use crate::harness::{Cluster, NODES, Options, percentile, serial};
use crate::support::commands::{create, join, send};
use crate::support::tally::stored;
use crate::watcher::Watcher;

/// Messages each member sends to each of its conversations.
const PER_MEMBER: usize = 15;

/// How long an event may take to reach every node: live, not repaired (the position check
/// runs every 2 s).
const LIVE_WITHIN: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_events_reach_every_node_once_and_in_order() {
    let Some(_serial) = serial().await else {
        return;
    };
    let cluster = Cluster::start(Options::default()).await;
    let users = [
        cluster.register("alice").await,
        cluster.register("bob").await,
        cluster.register("carol").await,
    ];
    // sockets[u][n]: user u's socket on node n. User u's home node is n = u.
    let mut sockets: Vec<Vec<Watcher>> = Vec::new();
    for user in &users {
        let mut row = Vec::new();
        for n in 0..NODES {
            row.push(Watcher::open(cluster.node(n), n, user).await);
        }
        sockets.push(row);
    }

    // Each user opens a conversation with the next, from its home node; both members'
    // sockets on every node are told.
    let mut created = Vec::new();
    let mut convs: Vec<(ConversationId, [usize; 2])> = Vec::new();
    for a in 0..users.len() {
        let b = (a + 1) % users.len();
        let reference = format!("create-{a}");
        let at = sockets[a][a].send(create(users[b].id), &reference);
        let (_, answer) = sockets[a][a].answer(&reference, LIVE_WITHIN).await;
        let ServerEvent::ConversationCreated { conversation } = answer else {
            panic!("creating a conversation: {answer:?}");
        };
        for member in [a, b] {
            for socket in &sockets[member] {
                let (arrived, ()) = socket
                    .first(LIVE_WITHIN, |e| match e {
                        ServerEvent::ConversationCreated { conversation: c }
                            if c.id == conversation.id =>
                        {
                            Some(())
                        }
                        _ => None,
                    })
                    .await;
                if socket.node != a {
                    created.push(arrived - at);
                }
            }
        }
        convs.push((conversation.id, [a, b]));
    }
    for (conv, members) in &convs {
        for member in members {
            for socket in &sockets[*member] {
                let reference = format!("join-{conv}");
                socket.send(join(*conv), &reference);
                let (_, answer) = socket.answer(&reference, LIVE_WITHIN).await;
                assert!(
                    matches!(answer, ServerEvent::JoinedConversation { .. }),
                    "{answer:?}"
                );
            }
        }
    }

    // Every member sends to both its conversations at once, from its home node.
    let mut sent_at: HashMap<String, (Instant, usize)> = HashMap::new();
    for i in 0..PER_MEMBER {
        for (u, row) in sockets.iter().enumerate() {
            for (conv, _) in convs.iter().filter(|(_, m)| m.contains(&u)) {
                let client_id = format!("u{u}-{conv}-{i}");
                let at = row[u].send(
                    send(*conv, &format!("{client_id} says hi"), Some(&client_id)),
                    &client_id,
                );
                sent_at.insert(client_id, (at, u));
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let total = Seq(2 * PER_MEMBER as i64);
    for (client_id, (_, from)) in &sent_at {
        let (_, answer) = sockets[*from][*from]
            .answer(client_id, Duration::from_secs(10))
            .await;
        assert!(
            matches!(answer, ServerEvent::MessageSent { .. }),
            "{client_id}: {answer:?}"
        );
    }

    // Every socket gets each of its conversations whole: newMessage, or messageSent for the
    // sender's own socket.
    let (mut same_node, mut cross_node) = (Vec::new(), Vec::new());
    let mut delivered = 0;
    for (conv, members) in &convs {
        let truth = stored(cluster.node(0), &users[members[0]], *conv).await;
        assert_eq!(truth.len(), 2 * PER_MEMBER, "every send stored once");
        for member in members {
            for socket in &sockets[*member] {
                let messages_of = |socket: &Watcher| -> Vec<(Instant, MessageView)> {
                    socket
                        .events()
                        .into_iter()
                        .filter_map(|(at, e)| match e {
                            ServerEvent::NewMessage { message }
                            | ServerEvent::MessageSent { message }
                                if message.conv_id == *conv =>
                            {
                                Some((at, message))
                            }
                            _ => None,
                        })
                        .collect()
                };
                crate::support::until(Duration::from_secs(10), || {
                    let have = messages_of(socket).last().map(|(_, m)| m.seq);
                    std::future::ready(have >= Some(total))
                })
                .await;
                let got = messages_of(socket);
                let held: Vec<MessageView> = got.iter().map(|(_, m)| m.clone()).collect();
                assert_eq!(
                    held, truth,
                    "user {member} on node {} holds {conv} exactly as stored, once, in order",
                    socket.node
                );
                delivered += held.len();
                for (arrived, message) in got {
                    let client_id = message.client_id.expect("sent with a client id");
                    let (at, from) = sent_at[&client_id];
                    if socket.node == from {
                        same_node.push(arrived - at);
                    } else {
                        cross_node.push(arrived - at);
                    }
                }
            }
        }
    }

    // A read mark set on one node reaches both members' sockets on every node. The reader is
    // the member who did not send the last message (sending marks the conversation read up
    // to one's own message).
    let (conv, [first, second]) = convs[0];
    let last = stored(cluster.node(0), &users[first], conv).await;
    let last_sender = last.last().expect("messages").sender_id;
    let (a, b) = if users[first].id == last_sender {
        (first, second)
    } else {
        (second, first)
    };
    let reference = "read";
    let at = sockets[b][b].send(
        ClientCommand::MarkRead {
            conv_id: conv,
            seq: total,
            user_id: None,
        },
        reference,
    );
    let mut reads = Vec::new();
    for (member, socket) in sockets[a]
        .iter()
        .map(|s| (a, s))
        .chain(sockets[b].iter().map(|s| (b, s)))
    {
        if member == b && socket.node == b {
            continue;
        }
        let (arrived, ()) = socket
            .first(LIVE_WITHIN, |e| match e {
                ServerEvent::ConversationRead {
                    conv_id,
                    user_id,
                    last_read_seq,
                } if *conv_id == conv && *user_id == users[b].id && *last_read_seq == total => {
                    Some(())
                }
                _ => None,
            })
            .await;
        reads.push(arrived - at);
    }

    for row in &sockets {
        for socket in row {
            assert!(socket.closed().is_none(), "no socket was closed");
        }
    }
    let max = |samples: &[Duration]| samples.iter().max().copied().unwrap_or_default();
    let cross_max = max(&cross_node);
    println!(
        "live: {delivered} messages delivered over {} sockets on {NODES} nodes; lost=0 duplicated=0 gaps=0; \
         same-node p50 {:.1} ms p99 {:.1} ms; cross-node p50 {:.1} ms p99 {:.1} ms max {:.1} ms; \
         conversationCreated cross-node max {:.1} ms; conversationRead max {:.1} ms",
        users.len() * NODES,
        percentile(&mut same_node, 50),
        percentile(&mut same_node, 99),
        percentile(&mut cross_node, 50),
        percentile(&mut cross_node, 99),
        cross_max.as_secs_f64() * 1000.0,
        max(&created).as_secs_f64() * 1000.0,
        max(&reads).as_secs_f64() * 1000.0,
    );
    assert!(
        cross_max < LIVE_WITHIN,
        "every message crossed nodes live (within {LIVE_WITHIN:?}), not by the position check: {cross_max:?}"
    );
}
