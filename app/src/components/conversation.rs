//! One open conversation: its history (newest at the bottom; older pages load when the reader
//! scrolls up), live messages with "Seen" under the last one the other member read, the
//! person's unconfirmed messages from the outbox (pending, or refused with the reason and a way
//! to discard them), and the composer. Message text is always a text node, never HTML.

use leptos::html;
use leptos::prelude::*;
use natter::protocol::{ConversationId, MessageView, Seq};

use crate::model::clock::iso;
use crate::model::draft::{self, DraftProblem};
use crate::model::timeline::{Item, Outgoing, Receipt, Row, SendState, Timeline, with_days};
use crate::server_fns::{SendMessage, load_history};
use crate::store::{ChatStore, ConnectionStatus};

/// How close to the oldest loaded message (in pixels) scrolling must come to load older ones.
const LOAD_OLDER_WITHIN: i32 = 240;
/// How far above the newest message (in pixels) the reader must be for "jump to latest" to show.
const AWAY_FROM_NEWEST: i32 = 160;

#[component]
pub fn Conversation(id: ConversationId) -> impl IntoView {
    let store = ChatStore::expect();
    // Start holding live messages before the history request goes out: none can fall between.
    store.ensure_timeline(id);
    let partner = Memo::new(move |_| {
        store
            .directory
            .with(|d| d.get(id).map(|e| e.partner.clone()))
    });
    let loaded = Memo::new(move |_| {
        store
            .timelines
            .with(|t| t.get(&id).is_some_and(Timeline::is_loaded))
    });
    let failure = Memo::new(move |_| store.failures.with(|f| f.get(&id).cloned()));
    // The server loaded the conversation in the address with the page; one opened later (or
    // one that failed to load before) is fetched by the browser (effects run only there).
    Effect::new(move |_| {
        if !loaded.get_untracked() {
            leptos::task::spawn_local(async move {
                match load_history(id, None).await {
                    Ok(page) => store.absorb_latest(id, page),
                    Err(error) => store.history_failed(id, &error),
                }
            });
        }
    });
    let body = move || {
        if loaded.get() {
            untrack(|| view! { <Messages id partner /> <Composer id partner /> }.into_any())
        } else if let Some(message) = failure.get() {
            view! {
                <p class="pane-status error" role="alert" data-testid="history-error">
                    {message}
                </p>
            }
            .into_any()
        } else {
            view! { <p class="pane-status" role="status">"Loading messages…"</p> }.into_any()
        }
    };
    view! {
        <section
            class="conversation"
            aria-labelledby="conversation-title"
            data-testid="conversation"
        >
            <header class="conversation-head">
                <a class="back" href="/" data-testid="back">
                    <span aria-hidden="true">"←"</span>
                    <span class="sr-only">"Back to conversations"</span>
                </a>
                <h2 id="conversation-title" data-testid="conversation-title">
                    {move || partner.get().unwrap_or_else(|| "Conversation".to_owned())}
                </h2>
            </header>
            {body}
        </section>
    }
    .into_any()
}

#[component]
fn Messages(id: ConversationId, partner: Memo<Option<String>>) -> impl IntoView {
    let store = ChatStore::expect();
    let clock = store.clock;
    let items = Memo::new(move |_| {
        let outgoing = store.outbox.with(|o| o.outgoing(id));
        let rows = store.timelines.with(|t| match t.get(&id) {
            Some(timeline) => timeline.rows(outgoing),
            None => Vec::new(),
        });
        let clock = clock.get();
        with_days(rows, |at| clock.local_date(at))
    });
    let partner_read = Memo::new(move |_| {
        store
            .directory
            .with(|d| d.get(id).map_or(Seq::ZERO, |e| e.partner_read))
    });
    // The one message of the person's that says "Seen".
    let seen = Memo::new(move |_| {
        let read = partner_read.get();
        store.timelines.with(|t| {
            t.get(&id).map_or(Seq::ZERO, |timeline| {
                timeline.newest_own_read(store.me, read)
            })
        })
    });
    let has_older = Memo::new(move |_| {
        store
            .timelines
            .with(|t| t.get(&id).is_some_and(Timeline::has_older))
    });
    let loading = RwSignal::new(false);
    let older_error = RwSignal::new(None::<String>);
    let load_older = move || {
        if loading.get_untracked() || !has_older.get_untracked() {
            return;
        }
        let before = store
            .timelines
            .with_untracked(|t| t.get(&id).and_then(Timeline::oldest_seq));
        loading.set(true);
        older_error.set(None);
        leptos::task::spawn_local(async move {
            match load_history(id, before).await {
                Ok(page) => store.absorb_older(id, page),
                Err(error) => {
                    older_error.try_set(Some(error.message()));
                }
            }
            loading.try_set(false);
        });
    };
    let scroller = NodeRef::<html::Div>::new();
    let newest = Memo::new(move |_| {
        store
            .timelines
            .with(|t| t.get(&id).map_or(Seq::ZERO, Timeline::newest_seq))
    });
    // While the reader is up in the history: the newest seq when they left the bottom, so the
    // way back can say how many arrived since (seqs are gapless: newest - mark of them).
    let left_at = RwSignal::new(None::<Seq>);
    // What reaches the open conversation is read while the tab is in view and the reader is at
    // the newest message; what arrives while they read further up is read once they come back
    // down (or back to the tab). "Seen" means seen. Effects run in the browser only.
    Effect::new(move |_| {
        let newest = newest.get();
        if store.visible.get() && left_at.get().is_none() {
            store.mark_read(id, newest);
        }
    });
    // The scroller is `column-reverse`: scrollTop is 0 at the newest message and negative
    // above it, so new messages keep the reader at the bottom and older pages added on top
    // do not move what they are reading.
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            let from_top = el.scroll_height() - el.client_height() + el.scroll_top();
            if from_top < LOAD_OLDER_WITHIN {
                load_older();
            }
            let away = el.scroll_top() < -AWAY_FROM_NEWEST;
            match (away, left_at.get_untracked()) {
                (true, None) => left_at.set(Some(newest.get_untracked())),
                (false, Some(_)) => left_at.set(None),
                _ => {}
            }
        }
    };
    let jump = move || {
        left_at.get().map(|mark| {
            let label = match newest.get().since(mark) {
                n if n <= 0 => "Jump to latest".to_owned(),
                1 => "1 new message".to_owned(),
                n => format!("{n} new messages"),
            };
            view! {
                <button
                    type="button"
                    class="jump"
                    data-testid="jump-to-latest"
                    on:click=move |_| {
                        if let Some(el) = scroller.get_untracked() {
                            el.set_scroll_top(0);
                        }
                    }
                >
                    {label}
                    <span aria-hidden="true">" ↓"</span>
                </button>
            }
        })
    };
    let partner_name = move || partner.get().unwrap_or_else(|| "them".to_owned());

    view! {
        <div class="timeline">
        <div class="scroller" node_ref=scroller on:scroll=on_scroll data-testid="scroller">
            <div class="log">
                <div class="history-edge">
                    {move || {
                        if has_older.get() {
                            view! {
                                <button
                                    type="button"
                                    class="ghost"
                                    data-testid="load-older"
                                    disabled=move || loading.get()
                                    on:click=move |_| load_older()
                                >
                                    {move || {
                                        if loading.get() {
                                            "Loading older messages…"
                                        } else {
                                            "Load older messages"
                                        }
                                    }}
                                </button>
                            }
                                .into_any()
                        } else {
                            view! {
                                <p class="history-start" data-testid="history-start">
                                    "This is the beginning of your conversation with "
                                    {partner_name}
                                    "."
                                </p>
                            }
                                .into_any()
                        }
                    }}
                    {move || {
                        older_error.get().map(|message| view! { <p class="form-error" role="alert">{message}</p> })
                    }}
                </div>
                <ol class="messages" data-testid="messages" aria-label="Messages">
                    <For
                        each=move || items.get()
                        key=Item::key
                        children=move |item| view! { <MessageItem item partner_read seen /> }
                    />
                </ol>
            </div>
        </div>
        {jump}
        </div>
    }
    .into_any()
}

#[component]
fn MessageItem(item: Item, partner_read: Memo<Seq>, seen: Memo<Seq>) -> impl IntoView {
    let store = ChatStore::expect();
    let clock = store.clock;
    match item {
        Item::Day(date) => view! {
            <li class="day" data-testid="day">
                <span>{move || clock.get().day_heading(date)}</span>
            </li>
        }
        .into_any(),
        Item::Row(Row::Stored(message)) => {
            view! { <StoredMessage message partner_read seen /> }.into_any()
        }
        Item::Row(Row::Outgoing(outgoing)) => view! { <OutgoingMessage outgoing /> }.into_any(),
    }
}

#[component]
fn StoredMessage(message: MessageView, partner_read: Memo<Seq>, seen: Memo<Seq>) -> impl IntoView {
    let store = ChatStore::expect();
    let clock = store.clock;
    let mine = message.sender_id == store.me;
    let at = message.created_at;
    let seq = message.seq;
    let sender = if mine {
        "You".to_owned()
    } else {
        message.sender_name.clone()
    };
    view! {
        <li
            class="message"
            class:mine=mine
            data-testid="message"
            data-state="sent"
            data-seq=message.seq.0
        >
            <div class="bubble">
                <span class="sr-only">{sender} " said: "</span>
                <p class="text" data-testid="message-text">
                    {message.message}
                </p>
            </div>
            <div class="meta">
                <time datetime=iso(at) title=move || clock.get().full(at)>
                    {move || clock.get().time_of_day(at)}
                </time>
                {move || {
                    mine.then(|| Receipt::of(seq, partner_read.get(), seen.get()).label())
                        .flatten()
                        .map(|label| {
                            view! {
                                <span class="state" data-testid="receipt">
                                    {label}
                                </span>
                            }
                        })
                }}
            </div>
        </li>
    }
    .into_any()
}

#[component]
fn OutgoingMessage(outgoing: Outgoing) -> impl IntoView {
    let store = ChatStore::expect();
    let Outgoing {
        client_id,
        text,
        state,
    } = outgoing;
    let (name, status) = match &state {
        SendState::Pending => (
            "pending",
            view! {
                <span class="state" data-testid="send-state">
                    {move || {
                        if store.status.get() == ConnectionStatus::Connected {
                            "Sending…"
                        } else {
                            "Waiting for connection"
                        }
                    }}
                </span>
            }
            .into_any(),
        ),
        SendState::Failed(reason) => (
            "failed",
            view! {
                <span class="state failed" role="alert" data-testid="send-state">
                    {reason.clone()}
                </span>
                <button
                    type="button"
                    class="link"
                    data-testid="discard"
                    on:click=move |_| store.discard(&client_id)
                >
                    "Discard"
                </button>
            }
            .into_any(),
        ),
    };
    view! {
        <li class=format!("message mine {name}") data-testid="message" data-state=name>
            <div class="bubble">
                <span class="sr-only">"You said: "</span>
                <p class="text" data-testid="message-text">
                    {text}
                </p>
            </div>
            <div class="meta">{status}</div>
        </li>
    }
    .into_any()
}

/// The composer. It is a real form posting to the `send` server function, so a message sent
/// before the WASM has loaded is stored all the same (the browser comes back to the
/// conversation with it in the history); once hydrated, sending goes through the outbox. What
/// was typed is never dropped: text typed before hydration is kept by it, and each
/// conversation's draft is kept in the browser until it is sent.
#[component]
fn Composer(id: ConversationId, partner: Memo<Option<String>>) -> impl IntoView {
    let store = ChatStore::expect();
    let max = store.max_chars;
    let draft = RwSignal::new(initial_draft(store.me, id));
    let attempted = RwSignal::new(None::<DraftProblem>);
    let length = Memo::new(move |_| draft.with(|d| draft::length(d)));
    let input = NodeRef::<html::Textarea>::new();
    let problem = move || match draft.with(|d| draft::check(d, max).err()) {
        Some(problem) if problem.is_empty() => attempted.get(),
        other => other,
    };
    let keep = move |text: &str| {
        #[cfg(feature = "hydrate")]
        crate::storage::save_draft(store.me, id, text);
        #[cfg(not(feature = "hydrate"))]
        let _ = text;
    };
    let submit = move || {
        let text = draft.get_untracked();
        match draft::check(&text, max) {
            Ok(body) => {
                store.send(id, body.into_owned());
                draft.set(String::new());
                keep("");
                attempted.set(None);
                // Show what was just sent, even when reading further up.
                if let Ok(Some(scroller)) = document().query_selector(".scroller") {
                    scroller.set_scroll_top(0);
                }
            }
            Err(problem) => attempted.set(Some(problem)),
        }
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    // Before hydration, the form posts this id with the text: a form sent twice stores the
    // message once.
    let form_client_id = uuid::Uuid::new_v4().to_string();
    // Opening a conversation on a wide screen puts the cursor in the composer (on a phone that
    // would cover the messages with the keyboard).
    Effect::new(move |_| {
        let wide = window()
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .is_some_and(|w| w > 720.0);
        if wide && let Some(el) = input.get() {
            let _ = el.focus();
        }
    });
    let status = move || match problem() {
        Some(problem) => Some(problem.to_string()),
        None if draft::near_limit(length.get(), max) => {
            Some(format!("{} of {max} characters", length.get()))
        }
        None => None,
    };
    let label = move || format!("Message {}", partner.get().unwrap_or_default());
    // On a touch screen Enter starts a new line and the button sends (a phone keyboard has no
    // Shift+Enter); with a keyboard and mouse, Enter sends and Shift+Enter starts a new line.
    let touch = RwSignal::new(false);
    Effect::new(move |_| touch.set(touch_screen()));
    const SEND_PATH: &str = <SendMessage as leptos::server_fn::ServerFn>::PATH;
    view! {
        <form
            class="composer"
            method="post"
            action=SEND_PATH
            data-testid="composer-form"
            on:submit=move |ev| {
                ev.prevent_default();
                submit();
            }
        >
            <input type="hidden" name="conversation" value=id.0.to_string() />
            <input type="hidden" name="client_id" value=form_client_id />
            <label for="composer-input" class="sr-only">
                {label}
            </label>
            <textarea
                id="composer-input"
                name="message"
                data-conversation=id.0.to_string()
                node_ref=input
                data-testid="composer"
                rows="1"
                placeholder="Write a message…"
                aria-describedby="composer-status composer-keys"
                aria-invalid=move || problem().is_some().to_string()
                prop:value=move || draft.get()
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    keep(&text);
                    draft.set(text);
                    attempted.set(None);
                }
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() && !touch.get_untracked() {
                        ev.prevent_default();
                        submit();
                    }
                }
            ></textarea>
            <button type="submit" class="primary send" data-testid="send">
                "Send"
            </button>
            <p id="composer-keys" class="sr-only">
                {move || {
                    if touch.get() {
                        "Enter starts a new line; the Send button sends."
                    } else {
                        "Enter sends, Shift+Enter starts a new line."
                    }
                }}
            </p>
            <p
                id="composer-status"
                class="composer-status"
                class:error=move || problem().is_some()
                data-testid="composer-status"
                aria-live="polite"
            >
                {status}
            </p>
        </form>
    }
    .into_any()
}

/// What the composer of conversation `id` starts with: in the browser, text typed into the
/// server-rendered form before the WASM took over (the first render only), else the draft kept
/// for the conversation; on the server, nothing.
fn initial_draft(me: natter::protocol::UserId, id: ConversationId) -> String {
    #[cfg(feature = "hydrate")]
    {
        let hydrating = document()
            .body()
            .is_some_and(|body| !body.has_attribute("data-hydrated"));
        let typed = hydrating
            .then(|| document().get_element_by_id("composer-input"))
            .flatten()
            .filter(|el| el.get_attribute("data-conversation") == Some(id.0.to_string()))
            .and_then(|el| {
                use leptos::wasm_bindgen::JsCast;
                el.dyn_into::<leptos::web_sys::HtmlTextAreaElement>().ok()
            })
            .map(|el| el.value())
            .filter(|text| !text.trim().is_empty());
        typed
            .or_else(|| crate::storage::load_draft(me, id))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (me, id);
        String::new()
    }
}

/// Whether the primary pointer is a finger (a phone or tablet).
fn touch_screen() -> bool {
    #[cfg(feature = "hydrate")]
    {
        window()
            .match_media("(pointer: coarse)")
            .ok()
            .flatten()
            .is_some_and(|query| query.matches())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}
