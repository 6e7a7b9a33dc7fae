//! Accounts and sessions: sign-up and sign-in rules, the sign-in limit per name, logout and
//! token expiry.

use std::time::Duration;

use natter::ChatError;
use natter::auth::ClientAddr;
use natter::clock::ManualClock;
use natter::store::Engine;

use crate::support::{Fixture, unlimited};

async fn registering_and_logging_in_checks_names_and_passwords(engine: Engine) {
    let f = Fixture::new(engine).await;
    let auth = f.chat.auth();
    let alice = auth
        .register(ClientAddr::LOCAL, "Alice", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(alice.user.username, "Alice");
    assert!(matches!(
        auth.register(ClientAddr::LOCAL, "alice", "another password")
            .await,
        Err(ChatError::UsernameTaken(_))
    ));
    assert!(matches!(
        auth.register(ClientAddr::LOCAL, "a", "long enough pw")
            .await,
        Err(ChatError::InvalidUsername(_))
    ));
    assert!(matches!(
        auth.register(ClientAddr::LOCAL, "carol", "short").await,
        Err(ChatError::InvalidPassword(_))
    ));
    let again = auth
        .login(ClientAddr::LOCAL, "ALICE", "correct horse battery")
        .await
        .unwrap();
    assert_eq!(again.user.id, alice.user.id);
    assert!(matches!(
        auth.login(ClientAddr::LOCAL, "alice", "wrong password")
            .await,
        Err(ChatError::WrongCredentials)
    ));
    assert!(matches!(
        auth.login(ClientAddr::LOCAL, "nobody", "whatever pw").await,
        Err(ChatError::WrongCredentials)
    ));
}

async fn sign_in_attempts_on_one_name_are_limited(engine: Engine) {
    let mut config = unlimited();
    config.auth.throttle.login_per_minute = 3;
    let f = Fixture::with_config(engine, config).await;
    let auth = f.chat.auth();
    auth.register(ClientAddr::LOCAL, "alice", "correct horse battery")
        .await
        .unwrap();
    auth.register(ClientAddr::LOCAL, "bob", "correct horse battery")
        .await
        .unwrap();
    for _ in 0..3 {
        assert!(matches!(
            auth.login(ClientAddr::LOCAL, "alice", "a guess").await,
            Err(ChatError::WrongCredentials)
        ));
    }
    // The right password does not get through once the allowance is spent, in any letter case.
    let Err(ChatError::RateLimited { retry_after_ms }) = auth
        .login(ClientAddr::LOCAL, " ALICE", "correct horse battery")
        .await
    else {
        panic!("a fourth attempt within the minute must be refused");
    };
    assert!((1..=20_000).contains(&retry_after_ms), "{retry_after_ms}");
    // Names that do not exist are limited alike, so the limit reveals nothing; other names
    // are not slowed by alice's.
    for _ in 0..3 {
        assert!(
            auth.login(ClientAddr::LOCAL, "nobody", "a guess")
                .await
                .is_err()
        );
    }
    assert!(matches!(
        auth.login(ClientAddr::LOCAL, "nobody", "a guess").await,
        Err(ChatError::RateLimited { .. })
    ));
    auth.login(ClientAddr::LOCAL, "bob", "correct horse battery")
        .await
        .unwrap();
}

async fn a_token_stops_working_after_logout(engine: Engine) {
    let f = Fixture::new(engine).await;
    let issued = f.register("alice").await;
    let me = f.chat.auth().authenticate(&issued.token).await.unwrap();
    f.chat.auth().logout(&me).await.unwrap();
    assert!(matches!(
        f.chat.auth().authenticate(&issued.token).await,
        Err(ChatError::InvalidToken)
    ));
    assert!(matches!(
        f.chat.auth().authenticate("garbage").await,
        Err(ChatError::InvalidToken)
    ));
}

async fn an_expired_token_is_refused_as_expired(engine: Engine) {
    let mut config = unlimited();
    config.auth.token_ttl = Duration::from_secs(60);
    let clock = ManualClock::new();
    let f = Fixture::with_clock(engine, config, clock.clone()).await;
    let issued = f.register("alice").await;
    let me = f.chat.auth().authenticate(&issued.token).await.unwrap();
    clock.advance(Duration::from_secs(59));
    assert!(f.chat.auth().authenticate(&issued.token).await.is_ok());
    assert!(f.chat.auth().time_left(&me) <= Duration::from_secs(1));
    clock.advance(Duration::from_secs(2));
    assert!(matches!(
        f.chat.auth().authenticate(&issued.token).await,
        Err(ChatError::TokenExpired)
    ));
    // Once expired, the session is purged; the token is then unknown.
    assert_eq!(f.chat.purge_expired_sessions().await.unwrap(), 1);
    assert_eq!(f.chat.purge_expired_sessions().await.unwrap(), 0);
}

natter::on_both_engines!(
    registering_and_logging_in_checks_names_and_passwords,
    sign_in_attempts_on_one_name_are_limited,
    a_token_stops_working_after_logout,
    an_expired_token_is_refused_as_expired,
);
