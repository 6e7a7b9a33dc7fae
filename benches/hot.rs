//! Micro-benchmarks of the hot paths (issue 11): a frame decoded and encoded, the writer's group
//! commit (`Store::insert_batch`) on both engines, and one message fanned out to N inboxes.
//!
//! `cargo bench -p natter --bench hot` (or `make bench-micro`); PostgreSQL is measured only when
//! `NATTER_TEST_PG_URL` names a server. Figures: docs/PERFORMANCE.md, "Micro-benchmarks".

use std::hint::black_box;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{
    BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use natter::hub::{Fanned, Hub, HubEvent, Inbox, Received, Topic};
use natter::message::{ClientMessageId, MessageBody};
use natter::protocol::{
    ClientFrame, ConversationId, EntryKind, MessageId, MessageView, Seq, ServerEvent, ServerFrame,
    UserId,
};
use natter::store::{Engine, NewSend};
use natter::testdb::TestDb;
use natter::user::{User, UserName};
use natter::{ChatConfig, Store};

/// A typical message: one sentence, a UUID for its client id.
const TEXT: &str = "Are we still on for lunch tomorrow? I can book the place near the station.";
const CLIENT_ID: &str = "6f1c2a9e-3b7d-4c1e-9a55-0d2b8e7f4a13";

/// The conversations a batch's sends are spread over (a batch of 1,000: 10 sends each).
const CONVERSATIONS: usize = 100;

fn view() -> MessageView {
    MessageView {
        id: MessageId(41),
        conv_id: ConversationId(7),
        sender_id: UserId(1),
        sender_name: "alice".into(),
        message: TEXT.into(),
        seq: Seq(12),
        created_at: time::macros::datetime!(2026-11-25 06:29:46.815 UTC),
        client_id: Some(CLIENT_ID.into()),
        kind: EntryKind::Message,
        event: None,
    }
}

/// A `sendMessage` as the web app sends it, and the two frames the server answers with.
fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    let send = format!(
        r#"{{"event":"sendMessage","data":{{"convId":7,"message":{{"message":"{TEXT}"}},"clientId":"{CLIENT_ID}"}},"ref":"s17"}}"#
    );
    ClientFrame::decode(&send).expect("a valid sendMessage frame");
    group.bench_function("decode sendMessage", |b| {
        b.iter(|| ClientFrame::decode(black_box(&send)))
    });
    // Encoded once per message for every receiver (`Fanned::new`)…
    let new_message = ServerFrame::broadcast(ServerEvent::NewMessage { message: view() });
    group.bench_function("encode newMessage", |b| {
        b.iter(|| black_box(&new_message).encode())
    });
    // …and once per send for its sender, with the command's `ref`.
    let sent = ServerFrame::reply(
        ServerEvent::MessageSent { message: view() },
        Some("s17".into()),
    );
    group.bench_function("encode messageSent", |b| {
        b.iter(|| black_box(&sent).encode())
    });
    group.finish();
}

/// One batch of the writer, committed in one transaction: on SQLite as the server opens it (an
/// on-disk file, WAL, `synchronous=FULL`), and on PostgreSQL when `NATTER_TEST_PG_URL` is set.
/// Throughput is in messages. (The writer closes a batch at 512; 1,000 shows the trend.)
fn insert_batch(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut engines = vec![Engine::Sqlite];
    if std::env::var_os("NATTER_TEST_PG_URL").is_some() {
        engines.push(Engine::Postgres);
    } else {
        eprintln!("insert_batch: PostgreSQL skipped (NATTER_TEST_PG_URL is not set)");
    }
    for engine in engines {
        // A database of its own, dropped at the end of this engine's group.
        let db = runtime.block_on(TestDb::new(engine));
        let (store, senders) = runtime.block_on(seed(&db.url));
        let store = &store;
        let mut sent = 0;
        let mut group = c.benchmark_group(format!("insert_batch/{engine:?}"));
        // A batch takes milliseconds: the same number of batches in every sample.
        group.sampling_mode(SamplingMode::Flat);
        for size in [1, 10, 100, 1000] {
            group.throughput(Throughput::Elements(size as u64));
            group.bench_function(BenchmarkId::from_parameter(size), |b| {
                b.to_async(&runtime).iter_batched(
                    || batch(&senders, size, &mut sent),
                    |sends| async move {
                        let answers = store.insert_batch(&sends).await.expect("a committed batch");
                        assert!(answers.iter().all(Result::is_ok), "a send was refused");
                    },
                    BatchSize::SmallInput,
                )
            });
        }
        group.finish();
        runtime.block_on(store.close());
    }
}

/// A store on `url` with one direct conversation per pair of new users; the first of each pair
/// is its sender.
async fn seed(url: &str) -> (Store, Vec<(User, ConversationId)>) {
    let store = Store::connect(url, 8).await.expect("the bench database");
    let mut senders = Vec::with_capacity(CONVERSATIONS);
    for i in 0..CONVERSATIONS {
        let sender = new_user(&store, &format!("sender{i}")).await;
        let reader = new_user(&store, &format!("reader{i}")).await;
        let conversation = store
            .find_or_create_direct(sender.id, reader.id)
            .await
            .expect("a conversation")
            .id;
        senders.push((sender, conversation));
    }
    (store, senders)
}

async fn new_user(store: &Store, name: &str) -> User {
    let name = UserName::parse(name).expect("a valid username");
    // Nobody signs in: the hash is never checked.
    store.create_user(&name, "-").await.expect("a new user")
}

/// `size` sends, one per conversation in turn, each with a client id never used before (built
/// outside the timed part).
fn batch(senders: &[(User, ConversationId)], size: usize, sent: &mut usize) -> Vec<NewSend> {
    let body = MessageBody::parse(TEXT, MessageBody::DEFAULT_MAX_CHARS).expect("a valid body");
    (0..size)
        .map(|_| {
            *sent += 1;
            let (sender, conversation) = &senders[*sent % senders.len()];
            NewSend {
                conversation: *conversation,
                sender: sender.clone(),
                body: body.clone(),
                client_id: Some(ClientMessageId::parse(&format!("bench-{sent}")).expect("an id")),
            }
        })
        .collect()
}

/// One committed message published to a room that N connections joined. Throughput is in
/// deliveries (N per message).
fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("fan_out");
    let topic = Topic::Room(ConversationId(7));
    let event = HubEvent::Message(Fanned::new(view()));
    for n in [10, 100, 1000] {
        let hub = Hub::new(ChatConfig::DEFAULT_ROOM_BUFFER);
        let inboxes: Vec<Inbox> = (0..n).map(|_| hub.inbox()).collect();
        let _joined: Vec<_> = inboxes.iter().map(|i| hub.subscribe(topic, i)).collect();
        group.throughput(Throughput::Elements(n as u64));
        // What the writer pays, holding the hub's lock. The inboxes are drained outside the
        // timed part, every 8 messages (so they never fill up and the timer's cost is shared).
        group.bench_function(BenchmarkId::new("publish", n), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let chunk = left.min(8);
                    let start = Instant::now();
                    for _ in 0..chunk {
                        hub.publish(topic, event.clone());
                    }
                    spent += start.elapsed();
                    for inbox in &inboxes {
                        (0..chunk).for_each(|_| take(inbox));
                    }
                    left -= chunk;
                }
                spent
            })
        });
        // The whole hand-over: publish, then every inbox takes the message, as each socket's
        // loop does (on one thread here; the sockets' tasks share the cores).
        group.bench_function(BenchmarkId::new("publish+drain", n), |b| {
            b.iter(|| {
                hub.publish(topic, event.clone());
                inboxes.iter().for_each(take);
            })
        });
    }
    group.finish();
}

/// Takes the event waiting in `inbox` (there is one: `recv` returns without waiting).
fn take(inbox: &Inbox) {
    let recv = std::pin::pin!(inbox.recv());
    match recv.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Received::Event(..)) => {}
        other => panic!("expected a waiting event, got {other:?}"),
    }
}

/// Short runs, so that the whole suite takes about two minutes.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
}

criterion_group! {
    name = hot;
    config = config();
    targets = frames, insert_batch, fan_out
}
criterion_main!(hot);
