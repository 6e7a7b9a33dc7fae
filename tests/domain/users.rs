//! Finding people by name.

use natter::store::Engine;

use crate::support::Fixture;

async fn user_search_finds_names_by_prefix(engine: Engine) {
    let f = Fixture::new(engine).await;
    let alice = f.user("alice").await;
    f.user("albert").await;
    f.user("al_x").await;
    f.user("bob").await;
    let names = |users: Vec<natter::protocol::UserView>| {
        users.into_iter().map(|u| u.username).collect::<Vec<_>>()
    };
    assert_eq!(
        names(f.chat.search_users(&alice, "AL", 10).await.unwrap()),
        ["al_x", "albert"]
    );
    // `_` is a literal, not a LIKE wildcard.
    assert_eq!(
        names(f.chat.search_users(&alice, "al_", 10).await.unwrap()),
        ["al_x"]
    );
    assert!(f.chat.search_users(&alice, "", 10).await.is_err());
}

natter::on_both_engines!(user_search_finds_names_by_prefix,);
