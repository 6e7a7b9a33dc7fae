//! Web Push storage: the server's kept key, and who a message may be pushed to.

use natter::AuthUser;
use natter::protocol::ConversationId;
use natter::store::{Engine, NewPushSubscription};

use crate::support::Fixture;

/// Stores a subscription at `endpoint` for `user`'s sign-in.
async fn subscribe(f: &Fixture, user: &AuthUser, endpoint: &str, muted: Vec<ConversationId>) {
    let subscription = NewPushSubscription {
        endpoint: endpoint.into(),
        p256dh: "p".into(),
        auth: "a".into(),
        muted,
    };
    f.chat
        .store()
        .save_push_subscription(user.id(), &user.session_id, &subscription, 10)
        .await
        .unwrap();
}

/// Nodes starting at once each offer a key of their own; all of them end with the same one.
async fn the_first_kept_server_key_wins_a_race(engine: Engine) {
    let f = Fixture::new(engine).await;
    let store = f.chat.store().clone();
    let offers = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move { store.keep_server_key("vapid", &format!("key-{n}")).await })
    });
    let mut kept = Vec::new();
    for offer in offers {
        kept.push(offer.await.unwrap().unwrap());
    }
    assert!(kept.iter().all(|key| *key == kept[0]), "{kept:?}");
    assert_eq!(
        store.keep_server_key("vapid", "later").await.unwrap(),
        kept[0]
    );
}

async fn push_targets_are_the_members_and_a_sign_out_ends_them(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, conversation) = f.pair().await;
    let carol = f.user("carol").await;
    let store = f.chat.store();
    let muted = vec![ConversationId(conversation.0 + 1)];
    subscribe(&f, &bob, "https://p/b", muted.clone()).await;
    subscribe(&f, &carol, "https://p/c", vec![]).await;
    let targets = store.push_targets(&[conversation]).await.unwrap();
    assert_eq!(targets.len(), 1, "only members: {targets:?}");
    assert_eq!((targets[0].0, targets[0].1.user), (conversation, bob.id()));
    assert_eq!(targets[0].1.muted, muted);

    // The endpoint moves to whoever subscribed with it last.
    subscribe(&f, &alice, "https://p/b", vec![]).await;
    let targets = store.push_targets(&[conversation]).await.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].1.user, alice.id());

    f.chat.logout(&alice).await.unwrap();
    assert!(
        store
            .push_targets(&[conversation])
            .await
            .unwrap()
            .is_empty()
    );
}

natter::on_both_engines!(
    the_first_kept_server_key_wins_a_race,
    push_targets_are_the_members_and_a_sign_out_ends_them,
);
