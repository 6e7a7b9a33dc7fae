//! The relay between nodes (issue 10), over an in-process bus that drops, duplicates and
//! reorders what it carries (seeded, so a failure repeats): two `Chat`s on one PostgreSQL
//! database stand for two nodes, and every connection on either must end with exactly the
//! database's history — each message once, in `seq` order — and every personal event.

use std::sync::Arc;
use std::time::Duration;

use natter::auth::ClientAddr;
use natter::protocol::{ClientCommand, ConversationId, Seq, ServerEvent};
use natter::relay::{MemoryBus, RelayConfig};
use natter::store::Engine;
use natter::testdb::TestDb;
use natter::{AuthUser, Chat, ChatConfig, Connection, Store, Target};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

const SECRET: &[u8] = b"a test secret that is long enough!!";

/// A node: its own `Chat` over the shared database and bus.
async fn node(db: &TestDb, bus: &Arc<MemoryBus>, name: &str, shutdown: &CancellationToken) -> Chat {
    let store = Store::connect(&db.url, 5).await.unwrap();
    let mut config = ChatConfig {
        send_per_second: 0,
        conversations_per_hour: 0,
        ..ChatConfig::default()
    };
    config.auth.throttle.signup_per_hour = 0;
    config.auth.throttle.signup_total_per_hour = 0;
    let chat = Chat::new(store, SECRET, config);
    let mut relay = RelayConfig::new(name);
    relay.check_every = Duration::from_millis(300);
    relay.check_every_unhealthy = Duration::from_millis(100);
    relay.probe_every = Duration::from_millis(100);
    let tasks = chat
        .attach_relay(bus.clone(), relay, shutdown.clone())
        .unwrap();
    tokio::spawn(tasks.publisher);
    tokio::spawn(tasks.subscriber);
    tokio::spawn(tasks.checker);
    chat
}

/// Nodes a and b over `db` and `bus`.
async fn two_nodes(
    db: &TestDb,
    bus: &Arc<MemoryBus>,
    shutdown: &CancellationToken,
) -> (Chat, Chat) {
    (
        node(db, bus, "a", shutdown).await,
        node(db, bus, "b", shutdown).await,
    )
}

async fn user(chat: &Chat, name: &str) -> AuthUser {
    let issued = chat
        .auth()
        .register(ClientAddr::LOCAL, name, "correct horse battery")
        .await
        .unwrap();
    chat.auth().authenticate(&issued.token).await.unwrap()
}

async fn joined(chat: &Chat, me: &AuthUser, conv: ConversationId) -> Connection {
    let mut connection = chat.connect(me.clone()).await.unwrap();
    let answer = connection
        .handle(
            ClientCommand::JoinConversation {
                conv_id: conv,
                last_seq: None,
                user_id: None,
            },
            Some("j".into()),
        )
        .await
        .unwrap();
    assert!(matches!(
        answer.event,
        ServerEvent::JoinedConversation { .. }
    ));
    connection
}

/// Reads `connection` until it has `count` messages of `conv`; returns their seqs in order.
async fn messages(connection: &mut Connection, conv: ConversationId, count: usize) -> Vec<Seq> {
    let mut seqs = Vec::new();
    while seqs.len() < count {
        let frame = timeout(Duration::from_secs(10), connection.next_frame())
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} messages within 10 s", seqs.len()));
        if let ServerEvent::NewMessage { message } | ServerEvent::MessageSent { message } =
            frame.event
            && message.conv_id == conv
        {
            seqs.push(message.seq);
        }
    }
    seqs
}

async fn every_connection_ends_with_the_database_history(seed: u64) {
    let db = TestDb::new(Engine::Postgres).await;
    let bus = MemoryBus::new().with_faults(seed, 20, 10, 20);
    let shutdown = CancellationToken::new();
    let (a, b) = two_nodes(&db, &bus, &shutdown).await;
    let alice = user(&a, "alice").await;
    let bob = user(&a, "bob").await;
    // Bob hears of the new conversation on node b, through the relay or the position check.
    let mut bob_feed = b.connect(bob.clone()).await.unwrap();
    let conv = a
        .open_conversation(&alice, Target::Id(bob.id()))
        .await
        .unwrap()
        .conversation
        .id;
    let announced = timeout(Duration::from_secs(10), bob_feed.next_frame())
        .await
        .expect("the announcement reaches node b");
    assert!(
        matches!(announced.event, ServerEvent::ConversationCreated { ref conversation } if conversation.id == conv)
    );
    let mut on_a = joined(&a, &bob, conv).await;
    let mut on_b = joined(&b, &alice, conv).await;
    // Both send through their own node, at once.
    let (a2, b2, alice2, bob2) = (a.clone(), b.clone(), alice.clone(), bob.clone());
    let sending = tokio::spawn(async move {
        for i in 0..60 {
            a2.send(&alice2, conv, &format!("a{i}"), None)
                .await
                .unwrap();
            b2.send(&bob2, conv, &format!("b{i}"), None).await.unwrap();
        }
    });
    let (seen_a, seen_b) = tokio::join!(
        messages(&mut on_a, conv, 120),
        messages(&mut on_b, conv, 120)
    );
    sending.await.unwrap();
    let stored: Vec<Seq> = (1..=120).map(Seq).collect();
    assert_eq!(seen_a, stored, "node a's connection (seed {seed})");
    assert_eq!(seen_b, stored, "node b's connection (seed {seed})");
    // A read mark on node a reaches bob's feed on node b.
    a.mark_read(&alice, conv, Seq(120)).await.unwrap();
    loop {
        let frame = timeout(Duration::from_secs(10), bob_feed.next_frame())
            .await
            .expect("the read mark reaches node b");
        if let ServerEvent::ConversationRead {
            user_id,
            last_read_seq,
            ..
        } = frame.event
        {
            assert_eq!((user_id, last_read_seq), (alice.id(), Seq(120)));
            break;
        }
    }
    shutdown.cancel();
}

/// A member removed on node a, connected on node b, is out of the room at once and hears
/// nothing of it after — in the room's order, however the bus drops or reorders the personal
/// event and the entries.
async fn a_removal_on_one_node_reaches_the_other_in_order(seed: u64) {
    let db = TestDb::new(Engine::Postgres).await;
    let bus = MemoryBus::new().with_faults(seed, 20, 10, 20);
    let shutdown = CancellationToken::new();
    let (a, b) = two_nodes(&db, &bus, &shutdown).await;
    let alice = user(&a, "alice").await;
    let bob = user(&a, "bob").await;
    let carol = user(&a, "carol").await;
    let group = natter::NewGroup {
        title: "Launch".into(),
        member_ids: vec![bob.id(), carol.id()],
        usernames: Vec::new(),
    };
    let conv = a.create_group(&alice, group).await.unwrap().conversation.id;
    let mut bob_on_b = joined(&b, &bob, conv).await;
    let mut carol_on_b = joined(&b, &carol, conv).await;
    for i in 0..5 {
        a.send(&alice, conv, &format!("m{i}"), None).await.unwrap();
    }
    a.remove_member(&alice, conv, carol.id()).await.unwrap();
    for i in 5..10 {
        a.send(&alice, conv, &format!("m{i}"), None).await.unwrap();
    }
    // bob gets everything after his join: 5 messages, the removal, 5 more.
    let seen = messages(&mut bob_on_b, conv, 11).await;
    assert_eq!(seen, (2..=12).map(Seq).collect::<Vec<_>>(), "seed {seed}");
    // carol gets (some of) the 5 messages before her removal, then the news, then nothing.
    let mut carol_saw = Vec::new();
    loop {
        let frame = timeout(Duration::from_secs(10), carol_on_b.next_frame())
            .await
            .expect("carol hears of her removal on node b");
        match frame.event {
            ServerEvent::NewMessage { message } => carol_saw.push(message.seq),
            ServerEvent::RemovedFromConversation { conv_id } if conv_id == conv => break,
            _ => {}
        }
    }
    // In order, and nothing from her removal (seq 7) on. (The personal event may come first,
    // through the relay, and end the room before the last messages she was still sent.)
    let before: Vec<Seq> = (2..=6).map(Seq).collect();
    assert!(before.starts_with(&carol_saw), "seed {seed}: {carol_saw:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(frame) = tokio::time::timeout_at(deadline, carol_on_b.next_frame()).await {
        assert!(
            matches!(frame.event, ServerEvent::Presence(_)),
            "nothing more for carol (seed {seed}): {frame:?}"
        );
    }
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_crosses_a_lossy_bus_in_order_seed_3() {
    a_removal_on_one_node_reaches_the_other_in_order(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_crosses_a_lossy_bus_in_order_seed_11() {
    a_removal_on_one_node_reaches_the_other_in_order(11).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_bus_loses_nothing_seed_1() {
    every_connection_ends_with_the_database_history(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_bus_loses_nothing_seed_7() {
    every_connection_ends_with_the_database_history(7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_bus_loses_nothing_seed_42() {
    every_connection_ends_with_the_database_history(42).await;
}

/// A presence change the bus loses is repaired by the next roster: alice connects on node a
/// while the bus drops everything, so bob (on node b, sharing a conversation) is not told;
/// once the bus carries again, node a's next roster (every 5 s) tells him.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_presence_change_is_repaired_by_the_next_roster() {
    let db = TestDb::new(Engine::Postgres).await;
    let bus = MemoryBus::new();
    let shutdown = CancellationToken::new();
    let (a, b) = two_nodes(&db, &bus, &shutdown).await;
    let alice = user(&a, "alice").await;
    let bob = user(&a, "bob").await;
    a.open_conversation(&alice, Target::Id(bob.id()))
        .await
        .unwrap();
    let mut bob_on_b = b.connect(bob.clone()).await.unwrap();
    let alice_online = |event: &ServerEvent| matches!(event, ServerEvent::Presence(p) if p.user_id == alice.id() && p.online);

    let bus = bus.with_faults(1, 100, 0, 0);
    let _alice_on_a = a.connect(alice.clone()).await.unwrap();
    let lost = tokio::time::Instant::now() + Duration::from_secs(1);
    while let Ok(frame) = tokio::time::timeout_at(lost, bob_on_b.next_frame()).await {
        assert!(
            !alice_online(&frame.event),
            "the bus dropped it, yet: {frame:?}"
        );
    }
    let _bus = bus.with_faults(1, 0, 0, 0);
    let repaired = tokio::time::Instant::now() + Duration::from_secs(8);
    loop {
        let frame = tokio::time::timeout_at(repaired, bob_on_b.next_frame())
            .await
            .expect("alice's presence repaired within a roster period");
        if alice_online(&frame.event) {
            break;
        }
    }
    shutdown.cancel();
}
