//! The connection indicator: connected, connecting, reconnecting (with a way to retry at once)
//! or offline, announced politely to screen readers when it changes.

use leptos::prelude::*;

use crate::store::{ChatStore, ConnectionStatus};

#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let store = ChatStore::expect();
    let status = store.status;
    // The button stays the same element through every attempt of one outage (each attempt
    // changes `status`): a keyboard user's focus, or a click under way, is not lost to it.
    let reconnecting =
        Memo::new(move |_| matches!(status.get(), ConnectionStatus::Reconnecting { .. }));
    view! {
        <div
            class="connection"
            data-testid="connection-status"
            data-state=move || status.get().name()
            role="status"
        >
            <span class="dot" aria-hidden="true"></span>
            <span class="label">{move || status.get().label()}</span>
            {move || {
                reconnecting
                    .get()
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="link"
                                aria-label="Reconnect now"
                                on:click=move |_| store.reconnect_now()
                            >
                                "Retry"
                            </button>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}
