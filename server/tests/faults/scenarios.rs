//! The fault scenarios of issue 6, each on SQLite and PostgreSQL where it involves storage.

use std::time::Duration;

use futures_util::StreamExt;
use natter::protocol::{ConversationId, Seq, ServerEvent, ServerFrame};
use natter::store::Engine;
use tokio_tungstenite::tungstenite::Message;

use crate::support::client::{Behaviour, rand_below};
use crate::support::commands::{join, rejoin, send};
use crate::support::process::ServerProcess;
use crate::support::tally::{Member, plan, run_members, steady, stored, verify};
use crate::support::until;

/// Three clients send to three shared conversations while the server is SIGKILLed and
/// restarted three times; all reconnect and resume.
async fn acked_messages_survive_sigkill_exactly_once_in_order(engine: Engine) {
    let server = ServerProcess::start(engine, &[]).await;
    let (a, b, c) = (
        server.register("ann").await,
        server.register("ben").await,
        server.register("cat").await,
    );
    let ab = server.conversation(&a, &b).await.id;
    let bc = server.conversation(&b, &c).await.id;
    let ca = server.conversation(&c, &a).await.id;
    let members = vec![
        Member {
            name: "ann",
            account: a,
            ws_urls: vec![server.ws_url()],
            plan: plan("ann", &[ab, ca], 30),
            behaviour: steady(8),
        },
        Member {
            name: "ben",
            account: b,
            ws_urls: vec![server.ws_url()],
            plan: plan("ben", &[ab, bc], 30),
            behaviour: steady(8),
        },
        Member {
            name: "cat",
            account: c,
            ws_urls: vec![server.ws_url()],
            plan: plan("cat", &[bc, ca], 30),
            behaviour: steady(8),
        },
    ];
    let kills = async {
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(250 + rand_below(250))).await;
            server.restart().await;
        }
    };
    let outcomes = run_members(&server, members, kills).await;
    verify(&format!("sigkill[{engine:?}]"), &server, &outcomes).await;
}

/// The server is SIGKILLed while a batch of sends is being written (issue 11). The test holds a
/// transaction that makes the writer wait inside a batch: on PostgreSQL the row of the
/// conversation the batch locks last, so by then the batch has written to the others,
/// uncommitted; on SQLite the database's write lock. A batch the writer finished before it met
/// the lock is acked; the one it was in the middle of is not. After the restart exactly the
/// acked messages are stored — nothing of the cut batch was committed — and every send retried
/// (twice over) is stored once, in order, without a gap in seq.
async fn a_batch_cut_by_sigkill_was_not_acked_and_each_retry_is_stored_once(engine: Engine) {
    let server = ServerProcess::start(engine, &[]).await;
    let ann = server.register("ann").await;
    let mut convs = Vec::new();
    for name in ["ben", "cat", "dan"] {
        let other = server.register(name).await;
        convs.push(server.conversation(&ann, &other).await.id);
    }
    let last = *convs
        .iter()
        .max_by_key(|c| c.0)
        .expect("three conversations");
    let sends: Vec<(ConversationId, String)> = (1..=3)
        .flat_map(|round| {
            convs
                .iter()
                .map(move |&c| (c, format!("{round} to {}", c.0)))
        })
        .collect();
    let client_id = |i: usize| format!("cut-{i}");

    let mut socket = server.ws(&ann).await;
    let held = server.backing().db.hold_writes(last.0).await;
    for (i, entry) in sends.iter().enumerate() {
        socket
            .send(
                send(entry.0, &entry.1, Some(&client_id(i))),
                Some(&i.to_string()),
            )
            .await;
    }
    // A batch is inside its transaction: on PostgreSQL, waiting for the held row.
    until(Duration::from_secs(10), || async {
        match server.backing().db.sessions_waiting_for_a_lock().await {
            Some(waiting) => waiting > 0,
            None => true,
        }
    })
    .await;
    // What the writer committed before it met the lock is acked; then nothing more comes.
    let mut acked = Vec::new();
    let quiet = tokio::time::Instant::now() + Duration::from_millis(800);
    while let Ok(frame) = tokio::time::timeout_at(quiet, socket.next_any()).await {
        match frame.event {
            ServerEvent::MessageSent { message } => acked.push(message.id),
            ServerEvent::Presence(_) => {}
            other => panic!("only acks were expected, got {other:?}"),
        }
    }
    assert!(
        acked.len() < sends.len(),
        "the held transaction stopped a batch"
    );
    server.kill();
    held.release().await;
    server.restart().await;
    let mut committed = Vec::new();
    for &conv in &convs {
        committed.extend(stored(&server, &ann, conv).await.iter().map(|m| m.id));
    }
    committed.sort();
    acked.sort();
    assert_eq!(committed, acked, "exactly the acked sends were committed");

    // Every send retried, then retried again: one message each, the same both times.
    let mut socket = server.ws(&ann).await;
    let mut first = Vec::new();
    for attempt in 0..2 {
        for (i, entry) in sends.iter().enumerate() {
            let reference = format!("{attempt}-{i}");
            let answer = socket
                .request(send(entry.0, &entry.1, Some(&client_id(i))), &reference)
                .await;
            let ServerEvent::MessageSent { message } = answer else {
                panic!("a retry answered {answer:?}");
            };
            if attempt == 0 {
                first.push(message);
            } else {
                assert_eq!(
                    message.id, first[i].id,
                    "a second retry answers with the stored message"
                );
            }
        }
    }
    for &conv in &convs {
        let messages = stored(&server, &ann, conv).await;
        let texts: Vec<&str> = messages.iter().map(|m| m.message.as_str()).collect();
        let expected: Vec<String> = (1..=3)
            .map(|round| format!("{round} to {}", conv.0))
            .collect();
        assert_eq!(texts, expected, "each send stored once, in order");
        let seqs: Vec<i64> = messages.iter().map(|m| m.seq.0).collect();
        assert_eq!(seqs, [1, 2, 3], "no gap left by the cut batch");
    }
    println!(
        "cut batch [{engine:?}]: {} of {} sends acked before the kill, the rest neither acked nor committed; each retry stored once",
        acked.len(),
        sends.len()
    );
}

/// One client drops its connection every 150–400 ms while two others keep sending to it.
async fn a_client_that_keeps_dropping_ends_with_the_whole_history(engine: Engine) {
    let server = ServerProcess::start(engine, &[]).await;
    let (a, b, c) = (
        server.register("ann").await,
        server.register("ben").await,
        server.register("cat").await,
    );
    let ab = server.conversation(&a, &b).await.id;
    let cb = server.conversation(&c, &b).await.id;
    let flaky = Behaviour {
        send_every: Duration::from_millis(100),
        drop_every: Some(150..400),
        deadline: Duration::from_secs(120),
    };
    let members = vec![
        Member {
            name: "ann",
            account: a,
            ws_urls: vec![server.ws_url()],
            plan: plan("ann", &[ab], 80),
            behaviour: steady(30),
        },
        Member {
            name: "cat",
            account: c,
            ws_urls: vec![server.ws_url()],
            plan: plan("cat", &[cb], 80),
            behaviour: steady(30),
        },
        Member {
            name: "ben",
            account: b,
            ws_urls: vec![server.ws_url()],
            plan: plan("ben", &[ab, cb], 10),
            behaviour: flaky,
        },
    ];
    let outcomes = run_members(&server, members, async {}).await;
    let ben = &outcomes.iter().find(|f| f.name == "ben").unwrap().outcome;
    assert!(
        ben.reconnects >= 3,
        "ben reconnected only {} times",
        ben.reconnects
    );
    verify(&format!("flaky[{engine:?}]"), &server, &outcomes).await;
}

/// A reader that stops reading while 60 MB of messages flow: the server's memory stays
/// bounded (it drops the reader instead of queueing), and the reader, once it reads again,
/// catches up through resume with every message once, in order.
async fn a_reader_that_stops_reading_costs_bounded_memory_and_catches_up(engine: Engine) {
    const MESSAGES: i64 = 1200;
    const CHARS: usize = 50_000;
    let server = ServerProcess::start(
        engine,
        &[
            ("NATTER_WRITE_TIMEOUT_SECS", "2"),
            ("NATTER_MAX_MESSAGE_CHARS", "60000"),
            ("NATTER_MAX_FRAME_BYTES", "262144"),
            ("NATTER_ROOM_BUFFER", "64"),
        ],
    )
    .await;
    let (writer, reader) = (
        server.register("writer").await,
        server.register("reader").await,
    );
    let conv = server.conversation(&writer, &reader).await.id;
    let mut reading = server.ws(&reader).await;
    reading.send(join(conv), Some("join")).await;
    assert!(matches!(
        reading.next_event().await,
        ServerEvent::JoinedConversation { .. }
    ));
    // From here on the reader reads nothing.
    let mut writing = server.ws(&writer).await;
    let body = "x".repeat(CHARS);
    let baseline = server.rss_kib();
    let mut peak = baseline;
    let mut acked = 0;
    let mut sent = 0;
    while acked < MESSAGES {
        while sent < MESSAGES && sent - acked < 8 {
            sent += 1;
            let command = send(conv, &body, Some(&format!("w-{sent}")));
            writing.send(command, Some(&format!("s{sent}"))).await;
        }
        match writing.next_event().await {
            ServerEvent::MessageSent { .. } => acked += 1,
            other => panic!("unexpected {other:?}"),
        }
        peak = peak.max(server.rss_kib());
    }
    let growth_mib = (peak.saturating_sub(baseline)) / 1024;
    let produced_mib = (MESSAGES as u64 * CHARS as u64) >> 20;
    println!(
        "slow-reader[{engine:?}]: produced {produced_mib} MiB for a stalled reader; server RSS {} MiB -> peak {} MiB (+{growth_mib} MiB)",
        baseline / 1024,
        peak / 1024
    );
    assert!(
        growth_mib < 30,
        "server memory grew by {growth_mib} MiB while the reader stalled"
    );

    // The reader reads again: first what its socket still holds, then (the server dropped it)
    // it reconnects and resumes from the newest seq it has.
    let mut have = Seq::ZERO;
    let mut dropped = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), reading.socket.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                if let ServerEvent::NewMessage { message } =
                    ServerFrame::decode(text.as_str()).unwrap().event
                {
                    assert_eq!(message.seq, have.next(), "in order, once");
                    have = message.seq;
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) => {
                dropped = true;
                break;
            }
            Err(_) => break,
        }
    }
    assert!(
        dropped,
        "a reader that stalls past the write timeout is disconnected"
    );
    assert!(
        have < Seq(MESSAGES),
        "the stalled reader cannot have received everything before the drop"
    );
    let mut resumed = server.ws(&reader).await;
    resumed.send(rejoin(conv, have), Some("resume")).await;
    while have < Seq(MESSAGES) {
        match resumed.next_event().await {
            ServerEvent::NewMessage { message } => {
                assert_eq!(message.seq, have.next(), "in order, once");
                have = message.seq;
            }
            ServerEvent::JoinedConversation { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    println!("slow-reader[{engine:?}]: the reader caught up to seq {have} after its drop");
}

/// 100 sign-ins with wrong passwords at once (issue 9, row 1: this took the server from 0.2 to
/// 1.8 GB). Each runs a 19 MiB argon2 hash, so with the sign-in limits off the only bound is
/// the hashing slots: the server's memory grows by at most a few hashes' worth, whatever
/// arrives, and every attempt is answered 401 or 503 with `Retry-After`. (With 100 slots
/// instead, the same burst took the server from 61 to 1 568 MiB.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_keeps_memory_bounded() {
    let server = ServerProcess::start(
        Engine::Sqlite,
        &[
            ("NATTER_LOGIN_RATE", "0"),
            ("NATTER_LOGIN_ADDRESS_RATE", "0"),
            ("NATTER_LOGIN_NAME_FAILURES", "0"),
        ],
    )
    .await;
    server.register("victim").await;
    let attempt = |password: String| {
        let (http, url) = (server.http.clone(), server.url("/api/auth/login"));
        async move {
            let response = http
                .post(url)
                .json(&serde_json::json!({"username": "victim", "password": password}))
                .send()
                .await
                .unwrap();
            (
                response.status().as_u16(),
                response.headers().contains_key("retry-after"),
            )
        }
    };
    // One attempt first, so the baseline includes a hash's worth of memory kept for reuse.
    assert_eq!(attempt("warm up".into()).await.0, 401);
    let baseline = server.rss_kib();
    let sampling = std::sync::atomic::AtomicBool::new(true);
    let sampler = async {
        let mut peak = 0;
        while sampling.load(std::sync::atomic::Ordering::Relaxed) {
            peak = peak.max(server.rss_kib());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        peak
    };
    let burst = futures_util::future::join_all((0..100).map(|n| attempt(format!("guess {n}"))));
    let (results, peak) = tokio::join!(
        async {
            let results = burst.await;
            sampling.store(false, std::sync::atomic::Ordering::Relaxed);
            results
        },
        sampler
    );
    let refused = results.iter().filter(|(status, _)| *status == 503).count();
    let growth_mib = peak.saturating_sub(baseline) / 1024;
    println!(
        "sign-in burst: 100 wrong passwords at once: {} answered 401, {refused} 503; server RSS {} MiB -> peak {} MiB (+{growth_mib} MiB)",
        results.len() - refused,
        baseline / 1024,
        peak / 1024
    );
    assert!(
        results
            .iter()
            .all(|&(status, retry)| status == 401 || (status == 503 && retry)),
        "{results:?}"
    );
    assert!(
        growth_mib < 64,
        "server memory grew by {growth_mib} MiB during the burst"
    );
}

natter::on_both_engines!(
    acked_messages_survive_sigkill_exactly_once_in_order,
    a_batch_cut_by_sigkill_was_not_acked_and_each_retry_is_stored_once,
    a_client_that_keeps_dropping_ends_with_the_whole_history,
    a_reader_that_stops_reading_costs_bounded_memory_and_catches_up,
);
