//! The sidebar: a form to start a conversation by username (with suggestions from the user
//! search, and an inline error for a name nobody has), and the conversation list with each
//! partner's name, the newest message and its time, unread counts, and the person's messages
//! still in the outbox (waiting while disconnected, or refused). Both update live. Above them,
//! once per browser until answered, the offer to turn notifications on: the browser's own
//! prompt comes only from a click on it, never on load.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::components::people::UserSearch;
use crate::model::around::presence_line;
use crate::model::clock::{iso, preview};
use crate::model::directory::Entry;
use crate::model::markup;
use crate::server_fns::start_conversation;
use crate::store::{ChatStore, ConnectionStatus, Permission};

#[component]
pub fn NewConversation() -> impl IntoView {
    let store = ChatStore::expect();
    let navigate = use_navigate();
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    let start = Action::new(|username: &String| start_conversation(username.clone()));
    Effect::new(move |_| match start.value().get() {
        Some(Ok(conversation)) => {
            let id = conversation.id;
            store.add_conversation(conversation);
            name.set(String::new());
            navigate(&format!("/c/{id}"), Default::default());
        }
        Some(Err(refused)) => error.set(Some(refused.message())),
        None => {}
    });
    // A new name clears the last refusal.
    Effect::new(move |_| {
        name.track();
        error.set(None);
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let username = name.get_untracked().trim().to_owned();
        if username.is_empty() {
            error.set(Some(
                "Type the username of the person to talk to.".to_owned(),
            ));
            return;
        }
        start.dispatch(username);
    };
    let pick = Callback::new(move |username: String| {
        name.set(username.clone());
        start.dispatch(username);
    });

    view! {
        <form class="new-conversation" on:submit=submit data-testid="new-conversation">
            <label for="new-conversation-name">"Start a conversation"</label>
            <UserSearch
                id="new-conversation-name"
                value=name
                on_pick=pick
                described_by="new-conversation-error"
                invalid=Signal::derive(move || error.with(Option::is_some))
            >
                <button type="submit" class="primary" disabled=move || start.pending().get()>
                    "Start"
                </button>
            </UserSearch>
            <p
                id="new-conversation-error"
                class="form-error"
                role="alert"
                data-testid="new-conversation-error"
            >
                {move || error.get()}
            </p>
        </form>
    }
    .into_any()
}

/// Where "Not now" on the notification offer is remembered (this browser, every account).
#[cfg(feature = "hydrate")]
const OFFER_DISMISSED_KEY: &str = "natter.notifications.offer-dismissed";

/// "Turn on notifications", shown while the browser has not been asked and the person has not
/// said "Not now".
#[component]
pub fn NotificationOffer() -> impl IntoView {
    let store = ChatStore::expect();
    let dismissed = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let said = window()
            .local_storage()
            .ok()
            .flatten()
            .and_then(|s| s.get_item(OFFER_DISMISSED_KEY).ok().flatten())
            .is_some();
        dismissed.set(said);
    });
    let not_now = move |_| {
        dismissed.set(true);
        #[cfg(feature = "hydrate")]
        if let Ok(Some(storage)) = window().local_storage() {
            let _ = storage.set_item(OFFER_DISMISSED_KEY, "1");
        }
    };
    let turn_on = move |_| {
        #[cfg(feature = "hydrate")]
        crate::notify::ask(store);
    };
    view! {
        <Show when=move || store.permission.get() == Permission::Ask && !dismissed.get()>
            <section class="notify-offer" data-testid="notify-offer" aria-labelledby="notify-offer-text">
                <p id="notify-offer-text">"Get a notification when a message arrives while natter is in the background."</p>
                <div class="row">
                    <button type="button" class="primary" data-testid="notify-on" on:click=turn_on>
                        "Turn on notifications"
                    </button>
                    <button type="button" class="ghost" on:click=not_now>
                        "Not now"
                    </button>
                </div>
            </section>
        </Show>
    }
}

#[component]
pub fn ConversationList() -> impl IntoView {
    let store = ChatStore::expect();
    let empty = move || store.directory.with(|d| d.entries().is_empty());
    view! {
        <nav class="conversation-list" aria-label="Your conversations">
            <Show when=move || !empty()>
                <ul data-testid="conversation-list">
                    <For
                        each=move || store.directory.with(|d| d.entries().to_vec())
                        key=|entry| (entry.id(), entry.last_seq(), entry.unread)
                        children=move |entry| view! { <ConversationItem entry /> }
                    />
                </ul>
            </Show>
            <Show when=empty>
                <p class="list-empty">"No conversations yet. Start one above."</p>
            </Show>
        </nav>
    }
    .into_any()
}

#[component]
fn ConversationItem(entry: Entry) -> impl IntoView {
    let store = ChatStore::expect();
    let id = entry.id();
    let last = entry.conversation.last_message.clone();
    let line = match &last {
        Some(message) if message.sender_id == store.me => {
            format!("You: {}", preview(&markup::plain(&message.message), 80))
        }
        Some(message) => preview(&markup::plain(&message.message), 80),
        None => "No messages yet".to_owned(),
    };
    let active_at = entry.active_at();
    let initial = entry
        .partner
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let unread = entry.unread;
    let partner_id = entry.partner_id;
    // A one-to-one conversation's partner; a group has no one dot.
    let group = entry.is_group();
    let online = move || {
        !group
            && store
                .around
                .with(|a| a.of(partner_id).is_some_and(|p| p.online))
    };
    // "online" / "last seen today at 14:05" on hover over the avatar (the header says it too).
    let seen_line = move || {
        let clock = store.clock.get();
        (!group)
            .then(|| {
                store
                    .around
                    .with(|a| presence_line(a.of(partner_id), &clock))
            })
            .flatten()
    };
    let link_class = if unread > 0 {
        "conversation-link has-unread"
    } else {
        "conversation-link"
    };
    let tally = Memo::new(move |_| store.outbox.with(|o| o.tally(id)));
    // While connected, the outbox empties within a round trip: a count there would only flicker.
    let waiting = move || {
        let waiting = tally.get().waiting;
        (waiting > 0 && store.status.get() != ConnectionStatus::Connected).then_some(waiting)
    };
    let refused = move || Some(tally.get().refused).filter(|n| *n > 0);
    view! {
        <li>
            <a
                class=link_class
                href=format!("/c/{id}")
                data-testid="conversation-item"
                aria-current=move || (store.open.get() == Some(id)).then_some("page")
            >
                <span
                    class=format!("avatar hue-{}", hue(&entry.partner))
                    aria-hidden="true"
                    title=seen_line
                >
                    {initial}
                    <span class="online-dot" class:online=online data-testid="online-dot"></span>
                </span>
                <span class="summary">
                    <span class="partner" data-testid="conversation-partner">
                        {entry.partner.clone()}
                        {move || online().then(|| view! { <span class="sr-only">" (online)"</span> })}
                        {move || {
                            store
                                .muted
                                .with(|m| m.contains(&id))
                                .then(|| {
                                    view! {
                                        <span class="muted-mark" data-testid="muted" title="Muted">
                                            {bell_off()}
                                            <span class="sr-only">" (muted)"</span>
                                        </span>
                                    }
                                })
                        }}
                    </span>
                    <span class="preview" class:empty=last.is_none() data-testid="conversation-preview">
                        {line}
                    </span>
                </span>
                <span class="aside">
                    <time datetime=iso(active_at)>
                        {move || store.clock.get().stamp(active_at)}
                    </time>
                    {move || {
                        waiting()
                            .map(|n| {
                                view! {
                                    <span
                                        class="outbox-count"
                                        data-testid="outbox-waiting"
                                        title="Sent when you are connected again"
                                    >
                                        {n}
                                        " unsent"
                                    </span>
                                }
                            })
                    }}
                    {move || {
                        refused()
                            .map(|n| {
                                view! {
                                    <span class="outbox-count refused" data-testid="outbox-refused">
                                        {n}
                                        " not sent"
                                    </span>
                                }
                            })
                    }}
                    {(unread > 0)
                        .then(|| {
                            view! {
                                <span class="unread" data-testid="unread">
                                    {unread}
                                    <span class="sr-only">" unread"</span>
                                </span>
                            }
                        })}
                </span>
            </a>
        </li>
    }
    .into_any()
}

/// A struck-through bell: notifications are off.
pub fn bell_off() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <path
                d="M4 11.5h8l-1.2-1.6V7a2.8 2.8 0 0 0-5.6 0v2.9zM6.8 13.5a1.3 1.3 0 0 0 2.4 0M2.5 2.5l11 11"
                fill="none"
                stroke="currentColor"
                stroke-width="1.5"
                stroke-linecap="round"
                stroke-linejoin="round"
            />
        </svg>
    }
}

/// A bell: notifications are on.
pub fn bell() -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <path
                d="M4 11.5h8l-1.2-1.6V7a2.8 2.8 0 0 0-5.6 0v2.9zM6.8 13.5a1.3 1.3 0 0 0 2.4 0"
                fill="none"
                stroke="currentColor"
                stroke-width="1.5"
                stroke-linecap="round"
                stroke-linejoin="round"
            />
        </svg>
    }
}

/// One of the avatar colours, the same for a name every time.
pub fn hue(name: &str) -> u32 {
    name.bytes()
        .fold(0_u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 7
}
