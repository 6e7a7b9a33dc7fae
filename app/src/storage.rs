//! The browser's saved copy of each person's outbox and drafts, and the conversations they
//! muted. The outbox lives in
//! `localStorage` under one key per
//! account (`model::outbox::storage_key`): only the signed-in person's key is ever read, so one
//! account never sees or sends another's messages on a shared browser. Every write reads the
//! saved copy afresh and applies one change to it, so two tabs of the same person do not undo
//! each other. Storage may be missing or full (private modes, quotas): the outbox then lives in
//! the tab only, and the console says so. Browser only; it decides nothing about the outbox.

use leptos::prelude::window;
use leptos::web_sys::Storage;
use std::collections::HashSet;

use natter::protocol::{ConversationId, UserId};

use crate::model::draft;
use crate::model::outbox::{Change, Saved, decode, encode, storage_key};

fn storage() -> Option<Storage> {
    window().local_storage().ok().flatten()
}

fn read(storage: &Storage, user: UserId) -> Vec<Saved> {
    storage
        .get_item(&storage_key(user))
        .ok()
        .flatten()
        .map(|text| decode(user, &text))
        .unwrap_or_default()
}

/// The person's saved entries, oldest first (none if storage is unavailable).
pub fn load(user: UserId) -> Vec<Saved> {
    storage().map(|s| read(&s, user)).unwrap_or_default()
}

/// Applies one change to the person's saved entries; an empty outbox leaves no key behind.
pub fn save(user: UserId, change: &Change) {
    let Some(storage) = storage() else {
        leptos::logging::warn!(
            "natter outbox: no localStorage; unsent messages live in this tab only"
        );
        return;
    };
    let mut entries = read(&storage, user);
    change.apply(&mut entries);
    let key = storage_key(user);
    let written = if entries.is_empty() {
        storage.remove_item(&key)
    } else {
        storage.set_item(&key, &encode(user, &entries))
    };
    if written.is_err() {
        leptos::logging::warn!(
            "natter outbox: could not save; unsent messages live in this tab only"
        );
    }
}

/// Removes the person's saved outbox and drafts.
pub fn clear(user: UserId) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&storage_key(user));
        let prefix = draft::storage_prefix(user);
        let keys: Vec<String> = (0..storage.length().unwrap_or(0))
            .filter_map(|i| storage.key(i).ok().flatten())
            .filter(|key| key.starts_with(&prefix))
            .collect();
        for key in keys {
            let _ = storage.remove_item(&key);
        }
    }
}

/// The person's unsent draft of a conversation, if one was kept.
pub fn load_draft(user: UserId, conversation: ConversationId) -> Option<String> {
    storage()?
        .get_item(&draft::storage_key(user, conversation))
        .ok()
        .flatten()
}

/// Keeps (or, when empty, forgets) the person's draft of a conversation.
pub fn save_draft(user: UserId, conversation: ConversationId, text: &str) {
    let Some(storage) = storage() else { return };
    let key = draft::storage_key(user, conversation);
    let _ = if text.trim().is_empty() {
        storage.remove_item(&key)
    } else {
        storage.set_item(&key, text)
    };
}

/// Where a person's muted conversations are kept: one key per account, the ids comma-separated.
fn muted_key(user: UserId) -> String {
    format!("natter.muted.{}", user.0)
}

/// The conversations the person muted in this browser.
pub fn load_muted(user: UserId) -> HashSet<ConversationId> {
    storage()
        .and_then(|s| s.get_item(&muted_key(user)).ok().flatten())
        .map(|text| {
            text.split(',')
                .filter_map(|id| id.trim().parse().ok())
                .map(ConversationId)
                .collect()
        })
        .unwrap_or_default()
}

/// Remembers the person's muted conversations (none: no key).
pub fn save_muted(user: UserId, muted: &HashSet<ConversationId>) {
    let Some(storage) = storage() else { return };
    let key = muted_key(user);
    let _ = if muted.is_empty() {
        storage.remove_item(&key)
    } else {
        let ids: Vec<String> = muted.iter().map(|id| id.0.to_string()).collect();
        storage.set_item(&key, &ids.join(","))
    };
}
