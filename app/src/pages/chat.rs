//! The signed-in layout: the top bar (connection state, the account menu with who is signed in
//! and Sign out, confirmed before it happens), the sidebar (start a
//! conversation, the conversation list) and the conversation pane. On a phone-sized screen the
//! list and the open conversation are separate views (the URL says which), with a way back.
//! This page owns the chat store and, in the browser, restores the person's outbox and starts
//! the socket and the clock. Signing out on purpose forgets the outbox (after asking, if it
//! holds anything), so nothing unsent stays behind on a shared browser.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_location, use_navigate};
use natter::protocol::{ConversationId, ConversationView, ErrorView, MessagePage};

use crate::account::Account;
use crate::components::connection::ConnectionBadge;
use crate::components::conversation::Conversation;
use crate::components::group::NewGroup;
use crate::components::settings::SharingSettings;
use crate::components::shortcuts::Shortcuts;
use crate::components::sidebar::{ConversationList, NewConversation, NotificationOffer, hue};
use crate::error::AppError;
use crate::pages::FirstRender;
use crate::server_fns::{Session, list_conversations, sign_out};
use crate::store::ChatStore;

/// The conversation a path shows: `/c/<id>`.
pub fn conversation_in_path(path: &str) -> Option<ConversationId> {
    path.strip_prefix("/c/")
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|id| id.parse().ok())
        .map(ConversationId)
}

#[component]
pub fn ChatPage(session: Session) -> impl IntoView {
    let location = use_location();
    let open = Memo::new(move |_| conversation_in_path(&location.pathname.get()));
    let first = FirstRender::take()
        .filter(|data| data.session.as_ref().map(|s| s.user.id) == Some(session.user.id));
    if let Some(data) = first {
        return view! { <Chat session list=data.conversations history=data.history open /> }
            .into_any();
    }
    // Signed in just now, in the browser: load the list here.
    let loaded = RwSignal::new(None::<Result<Vec<ConversationView>, AppError>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            loaded.try_set(Some(list_conversations().await));
        });
    });
    let show = move || match loaded.get() {
        None => view! { <p class="splash">"Loading your conversations…"</p> }.into_any(),
        Some(Ok(list)) => {
            let session = session.clone();
            untrack(move || view! { <Chat session list history=None open /> }.into_any())
        }
        Some(Err(error)) => view! {
            <main class="page-error" role="alert">
                <h1>"natter"</h1>
                <p>{error.message()}</p>
                <button
                    type="button"
                    class="primary"
                    on:click=|_| {
                        let _ = window().location().reload();
                    }
                >
                    "Try again"
                </button>
            </main>
        }
        .into_any(),
    };
    show.into_any()
}

#[component]
fn Chat(
    session: Session,
    list: Vec<ConversationView>,
    /// The open conversation's newest page, when the server loaded it with the page.
    history: Option<(ConversationId, Result<MessagePage, ErrorView>)>,
    open: Memo<Option<ConversationId>>,
) -> impl IntoView {
    let store = ChatStore::new(&session, list, history, open);
    provide_context(store);
    let account = Account::expect();
    let navigate = use_navigate();
    store.set_opener(Callback::new(move |id: Option<ConversationId>| {
        let path = id.map_or_else(|| "/".to_owned(), |id| format!("/c/{id}"));
        navigate(&path, Default::default());
    }));
    #[cfg(feature = "hydrate")]
    Effect::new(move |started: Option<()>| {
        if started.is_none() {
            store.permission.set(crate::notify::permission());
            store.muted.set(crate::storage::load_muted(store.me));
            // Before the socket starts: its first connection sends what the outbox holds.
            store.restore_outbox();
            crate::socket::start(store, account);
            start_clock(store);
            watch_visibility(store);
        }
    });
    let navigate = use_navigate();
    let leave = Action::new(|_: &()| sign_out());
    Effect::new(move |_| {
        if let Some(Ok(())) = leave.value().get() {
            store.forget_outbox();
            account.signed_out(None);
            navigate("/", Default::default());
        }
    });
    let leave_error = move || {
        leave
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.message())
    };
    let unread = Memo::new(move |_| {
        store
            .directory
            .with(|d| d.entries().iter().map(|e| e.unread).sum::<u32>())
    });
    let title = move || match unread.get() {
        0 => "natter".to_owned(),
        n => format!("({n}) natter"),
    };
    // The same count on the favicon, for a pinned tab that shows no title.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| crate::notify::badge(unread.get()));
    let name = session.user.username.clone();

    view! {
        <Title text=title />
        <div
            class="app"
            data-testid="chat"
            data-view=move || if open.get().is_some() { "conversation" } else { "list" }
        >
            <header class="topbar">
                // The page's one top-level heading.
                <h1 class="brand-heading">
                    <a class="brand" href="/">
                        "natter"
                    </a>
                </h1>
                <ConnectionBadge />
                <AccountMenu name=name.clone() on_sign_out=Callback::new(move |()| {
                    leave.dispatch(());
                }) />
                {move || {
                    leave_error().map(|message| view! { <p class="topbar-error" role="alert">{message}</p> })
                }}
            </header>
            // One main landmark whatever the screen: the list while no conversation is open
            // (a phone shows only the list then), else the conversation, the list being how
            // one moves between them.
            <div
                class="sidebar"
                role=move || if open.get().is_some() { "navigation" } else { "main" }
                aria-label="Conversations"
            >
                <NotificationOffer />
                <NewConversation />
                <NewGroup />
                <ConversationList />
            </div>
            <div class="pane" role=move || open.get().is_some().then_some("main")>
                <Outlet />
            </div>
            <Shortcuts />
            <div class="sr-only" aria-live="polite" data-testid="announcer">
                {move || store.announcement.get()}
            </div>
        </div>
    }
    .into_any()
}

/// Who is signed in, and Sign out behind it, confirmed before it happens (unsent messages get
/// the browser's own, stronger question instead).
#[component]
fn AccountMenu(name: String, on_sign_out: Callback<()>) -> impl IntoView {
    let store = ChatStore::expect();
    let initial = name
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    let menu = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let close_menu = move || {
        menu.set(false);
        confirming.set(false);
    };
    view! {
    <div class="me" on:keydown=move |ev| {
        if ev.key() == "Escape" && menu.get_untracked() {
            ev.prevent_default();
            close_menu();
        }
    }>
        <button
            type="button"
            class="account"
            data-testid="account"
            aria-expanded=move || menu.get().to_string()
            aria-controls="account-menu"
            on:click=move |_| {
                confirming.set(false);
                menu.update(|open| *open = !*open);
            }
        >
            <span class=format!("avatar small hue-{}", hue(&name)) aria-hidden="true">
                {initial}
            </span>
            <span class="me-name" data-testid="me">
                {name.clone()}
            </span>
            <span class="sr-only">", account"</span>
        </button>
        <div id="account-menu" class="account-menu" hidden=move || !menu.get() data-testid="account-menu">
            <p class="signed-in-as">"Signed in as " <strong>{name.clone()}</strong></p>
            <SharingSettings />
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button type="button" class="ghost" data-testid="sign-out" on:click=move |_| {
                        // Unsent messages get the browser's own, stronger question.
                        if store.has_unsent() {
                            if window()
                                .confirm_with_message(
                                    "Some of your messages have not been sent yet. Sign out and discard them?",
                                )
                                .unwrap_or(false)
                            {
                                on_sign_out.run(());
                            }
                        } else {
                            confirming.set(true);
                        }
                    }>
                        "Sign out"
                    </button>
                }
            >
                <p class="confirm-question" role="alert">"Sign out of natter in this browser?"</p>
                <div class="row">
                    <button type="button" class="primary" data-testid="sign-out-confirm" on:click=move |_| {
                        on_sign_out.run(());
                    }>
                        "Sign out"
                    </button>
                    <button type="button" class="ghost" on:click=move |_| close_menu()>
                        "Cancel"
                    </button>
                </div>
            </Show>
        </div>
    </div>
    }
    .into_any()
}

/// Sets the reader's time zone and date, and keeps the date current.
#[cfg(feature = "hydrate")]
fn start_clock(store: ChatStore) {
    use crate::model::clock::Clock;
    fn read() -> Clock {
        let now_ms = js_sys::Date::now();
        let offset = -(js_sys::Date::new_0().get_timezone_offset() as i32);
        let now = time::OffsetDateTime::from_unix_timestamp_nanos((now_ms as i128) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Clock::at(now, offset)
    }
    store.clock.set(read());
    if let Ok(handle) = set_interval_with_handle(
        move || {
            // Labels change with the date (or a zone change), not with every minute.
            let clock = read();
            if store.clock.try_get_untracked() != Some(clock) {
                store.clock.try_set(clock);
            }
        },
        std::time::Duration::from_secs(60),
    ) {
        on_cleanup(move || handle.clear());
    }
}

/// Keeps `store.visible` in step with the tab's visibility; a tab coming back into view (a
/// phone waking up) checks that its connection survived.
#[cfg(feature = "hydrate")]
fn watch_visibility(store: ChatStore) {
    let read = || !document().hidden();
    store.visible.set(read());
    let listener = window_event_listener_untyped("visibilitychange", move |_| {
        let visible = read();
        store.visible.try_set(visible);
        if visible {
            store.check_connection();
        }
    });
    on_cleanup(move || listener.remove());
}

/// `/`: nothing open. On a wide screen this fills the pane beside the list.
#[component]
pub fn NoConversation() -> impl IntoView {
    view! {
        <section class="empty-pane" aria-labelledby="empty-pane-title">
            <h2 id="empty-pane-title">"No conversation open"</h2>
            <p>"Pick one from the list, or start a new one by typing a username."</p>
        </section>
    }
}

/// `/c/:id`: one conversation, rebuilt when the id changes.
#[component]
pub fn ConversationPage() -> impl IntoView {
    let store = ChatStore::expect();
    move || match store.open.get() {
        Some(id) => view! { <Conversation id /> }.into_any(),
        None => view! {
            <section class="empty-pane" role="alert">
                <h2>"No such conversation"</h2>
                <p>
                    <a href="/">"Back to your conversations"</a>
                </p>
            </section>
        }
        .into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_conversation_comes_from_the_path() {
        assert_eq!(conversation_in_path("/c/12"), Some(ConversationId(12)));
        assert_eq!(conversation_in_path("/c/12/"), Some(ConversationId(12)));
        assert_eq!(conversation_in_path("/"), None);
        assert_eq!(conversation_in_path("/c/x"), None);
    }
}
