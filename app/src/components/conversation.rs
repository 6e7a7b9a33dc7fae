//! One open conversation: its history (newest at the bottom; older pages load when the reader
//! scrolls up), live messages grouped by sender (one name line per group; the time and the
//! delivery state, a clock, a tick or "Seen", inside each bubble), the "New messages" line
//! where the reader left off, the person's unconfirmed messages from the outbox (pending, or
//! refused with the reason and a way to discard them), the mute switch and the composer.
//! Message text goes through the markdown subset of `model::markup`: the elements are the
//! ones named here, the person's characters only ever text nodes, never HTML.

use leptos::html;
use leptos::prelude::*;
use natter::protocol::{ConversationId, EntryKind, MessageView, Seq};

use crate::components::group::{GroupMembers, LeaveGroup};
use crate::components::sidebar::{bell, bell_off, hue};
use crate::model::around::presence_line;
use crate::model::clock::iso;
use crate::model::draft::{self, DraftProblem};
use crate::model::markup::{self, Node};
use crate::model::timeline::{Item, Outgoing, Receipt, Row, SendState, Timeline, layout};
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
    // A one-to-one conversation shows the partner's presence; a group its member count.
    let partner_id = Memo::new(move |_| {
        store
            .directory
            .with(|d| d.get(id).filter(|e| !e.is_group()).map(|e| e.partner_id))
    });
    let presence = move || {
        let user = partner_id.get()?;
        let clock = store.clock.get();
        store.around.with(|a| presence_line(a.of(user), &clock))
    };
    // Leaving the conversation ends the person's typing notice there.
    on_cleanup(move || store.stop_composing(false));
    // What was unread when the conversation was opened (reading it clears the count at once):
    // the "New messages" line goes above the first of those.
    let unread_at_open = store.directory.with_untracked(|d| {
        d.get(id)
            .filter(|e| e.unread > 0)
            .map(|e| (e.unread, e.last_seq()))
    });
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
            untrack(|| {
                view! {
                    <Messages id partner unread_at_open />
                    <Composer id partner />
                }
                .into_any()
            })
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
                <div class="conversation-name">
                    <h2 id="conversation-title" data-testid="conversation-title">
                        {move || partner.get().unwrap_or_else(|| "Conversation".to_owned())}
                    </h2>
                    <p class="presence" data-testid="presence" aria-live="polite">
                        {presence}
                    </p>
                    <GroupMembers id />
                </div>
                <MuteButton id />
                <LeaveGroup id />
            </header>
            {body}
        </section>
    }
    .into_any()
}

#[component]
fn Messages(
    id: ConversationId,
    partner: Memo<Option<String>>,
    /// The unread count and the newest `seq` when the conversation was opened, if any was unread.
    unread_at_open: Option<(u32, Seq)>,
) -> impl IntoView {
    let store = ChatStore::expect();
    let clock = store.clock;
    let first_unread = Memo::new(move |_| {
        let (unread, up_to) = unread_at_open?;
        store.timelines.with(|t| {
            t.get(&id)
                .and_then(|timeline| timeline.first_unread(store.me, unread, up_to))
        })
    });
    let items = Memo::new(move |_| {
        let outgoing = store.outbox.with(|o| o.outgoing(id));
        let rows = store.timelines.with(|t| match t.get(&id) {
            Some(timeline) => timeline.rows(outgoing),
            None => Vec::new(),
        });
        let clock = clock.get();
        layout(rows, store.me, first_unread.get(), |at| {
            clock.local_date(at)
        })
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
    // Opened with unread messages: start at the first of them, not at the bottom.
    Effect::new(move |scrolled: Option<bool>| {
        if scrolled == Some(true) || first_unread.get().is_none() {
            return scrolled.unwrap_or(false);
        }
        #[cfg(feature = "hydrate")]
        request_animation_frame(move || {
            if let Some(el) = scroller.get_untracked()
                && let Ok(Some(line)) = el.query_selector("[data-testid=new-messages]")
            {
                let options = leptos::web_sys::ScrollIntoViewOptions::new();
                options.set_block(leptos::web_sys::ScrollLogicalPosition::Start);
                line.scroll_into_view_with_scroll_into_view_options(&options);
            }
        });
        true
    });

    view! {
        <div class="timeline">
        <div
            class="scroller"
            node_ref=scroller
            on:scroll=on_scroll
            data-testid="scroller"
            tabindex="0"
            role="region"
            aria-label=move || format!("Messages with {}", partner_name())
        >
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
                                    {move || {
                                        let group = store
                                            .directory
                                            .with(|d| d.get(id).is_some_and(|e| e.is_group()));
                                        if group {
                                            "This is the beginning of "
                                        } else {
                                            "This is the beginning of your conversation with "
                                        }
                                    }}
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
        Item::NewMessages => view! {
            <li class="new-messages" data-testid="new-messages">
                <span>"New messages"</span>
            </li>
        }
        .into_any(),
        // A group's change ("alice added carol"): a small centred line, styled as the day
        // headings are.
        Item::Row {
            row: Row::Stored(message),
            ..
        } if message.kind == EntryKind::Event => view! {
            <li class="day timeline-event" data-testid="timeline-event" data-seq=message.seq.0>
                <span>{message.message}</span>
            </li>
        }
        .into_any(),
        Item::Row {
            row: Row::Stored(message),
            first,
        } => view! { <StoredMessage message first partner_read seen /> }.into_any(),
        Item::Row {
            row: Row::Outgoing(outgoing),
            first,
        } => view! { <OutgoingMessage outgoing first /> }.into_any(),
    }
}

/// The name line above the first of a group of the other member's messages.
#[component]
fn SenderLine(name: String) -> impl IntoView {
    let initial = name
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    view! {
        <div class="sender" aria-hidden="true" data-testid="sender">
            <span class=format!("avatar small hue-{}", hue(&name))>{initial}</span>
            <span class="sender-name">{name}</span>
        </div>
    }
}

#[component]
fn StoredMessage(
    message: MessageView,
    first: bool,
    partner_read: Memo<Seq>,
    seen: Memo<Seq>,
) -> impl IntoView {
    let store = ChatStore::expect();
    let clock = store.clock;
    let mine = message.sender_id == store.me;
    let at = message.created_at;
    let seq = message.seq;
    let conversation = message.conv_id;
    // In a group, "Seen" says by whom: "Seen by 2", the names on hover or a tap (`SeenBy`).
    let seen_by = move |seen: bool| {
        if !seen {
            return None;
        }
        store.directory.with(|d| {
            d.get(conversation)
                .is_some_and(|e| e.is_group())
                .then(|| d.seen_by(conversation, seq))
        })
    };
    let sender = if mine {
        "You".to_owned()
    } else {
        message.sender_name.clone()
    };
    let name_line =
        (first && !mine).then(|| view! { <SenderLine name=message.sender_name.clone() /> });
    let big = markup::is_emoji_only(&message.message);
    view! {
        <li
            class="message"
            class:mine=mine
            class:first=first
            data-testid="message"
            data-state="sent"
            data-seq=message.seq.0
        >
            {name_line}
            <div class="bubble" class:emoji=big>
                <span class="sr-only">{sender} " said: "</span>
                <div class="text" dir="auto" data-testid="message-text">
                    <RichText text=message.message />
                </div>
                <span class="meta">
                    <time datetime=iso(at) title=move || clock.get().full(at)>
                        {move || clock.get().time_of_day(at)}
                    </time>
                    {move || {
                        let receipt = mine
                            .then(|| Receipt::of(seq, partner_read.get(), seen.get()))?;
                        let seen = receipt == Receipt::Seen;
                        if let Some(names) = seen_by(seen) {
                            return Some(view! { <SeenBy names /> }.into_any());
                        }
                        let label = receipt.label()?;
                        Some(
                            view! {
                                <span
                                    class="state"
                                    class:seen=seen
                                    data-testid="receipt"
                                    title=label
                                >
                                    {if seen { Icon::DoubleTick } else { Icon::Tick }.view()}
                                    <span class:sr-only=!seen>{label}</span>
                                </span>
                            }
                                .into_any(),
                        )
                    }}
                </span>
            </div>
        </li>
    }
    .into_any()
}

/// "Seen by 2" under one's message in a group; a tap (or click, or Enter) shows who — a title
/// alone would leave phones and keyboards without the names.
#[component]
fn SeenBy(names: Vec<String>) -> impl IntoView {
    let open = RwSignal::new(false);
    let count = format!("Seen by {}", names.len());
    let all = format!("Seen by {}", names.join(", "));
    let title = all.clone();
    view! {
        <button
            type="button"
            class="state seen seen-by"
            data-testid="receipt"
            title=title
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)
        >
            {Icon::DoubleTick.view()}
            <span>{move || if open.get() { all.clone() } else { count.clone() }}</span>
        </button>
    }
}

#[component]
fn OutgoingMessage(outgoing: Outgoing, first: bool) -> impl IntoView {
    let store = ChatStore::expect();
    let Outgoing {
        client_id,
        text,
        state,
    } = outgoing;
    let big = markup::is_emoji_only(&text);
    let (name, inside, under) = match &state {
        SendState::Pending => {
            let connected = move || store.status.get() == ConnectionStatus::Connected;
            let label = move || {
                if connected() {
                    "Sending…"
                } else {
                    "Waiting for connection"
                }
            };
            (
                "pending",
                view! {
                    <span class="meta">
                        <span class="state" data-testid="send-state" title=label>
                            {Icon::Clock.view()}
                            // While connected the clock says it all; offline, say why it waits.
                            <span class:sr-only=connected>{label}</span>
                        </span>
                    </span>
                }
                .into_any(),
                None,
            )
        }
        SendState::Failed(reason) => (
            "failed",
            ().into_any(),
            Some(view! {
                <div class="meta-under">
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
                </div>
            }),
        ),
    };
    view! {
        <li class=format!("message mine {name}") class:first=first data-testid="message" data-state=name>
            <div class="bubble" class:emoji=big>
                <span class="sr-only">"You said: "</span>
                <div class="text" dir="auto" data-testid="message-text">
                    <RichText text />
                </div>
                {inside}
            </div>
            {under}
        </li>
    }
    .into_any()
}

/// Message text through the markdown subset (`model::markup`): every element here is one this
/// function names; the person's characters only ever become text nodes.
#[component]
fn RichText(text: String) -> impl IntoView {
    nodes_view(markup::render(&text))
}

fn nodes_view(nodes: Vec<Node>) -> AnyView {
    nodes.into_iter().map(node_view).collect_view().into_any()
}

fn node_view(node: Node) -> AnyView {
    match node {
        Node::Text(text) => text.into_any(),
        Node::Strong(children) => view! { <strong>{nodes_view(children)}</strong> }.into_any(),
        Node::Emphasis(children) => view! { <em>{nodes_view(children)}</em> }.into_any(),
        Node::Code(code) => view! { <code>{code}</code> }.into_any(),
        Node::Link { href, children } => view! {
            <a href=href target="_blank" rel="noopener noreferrer">
                {nodes_view(children)}
            </a>
        }
        .into_any(),
        Node::Paragraph(children) => view! { <p>{nodes_view(children)}</p> }.into_any(),
        Node::Quote(children) => {
            view! { <blockquote>{nodes_view(children)}</blockquote> }.into_any()
        }
        Node::CodeBlock(code) => view! {
            <pre>
                <code>{code}</code>
            </pre>
        }
        .into_any(),
    }
}

/// The small pictures of a message's delivery state.
#[derive(Clone, Copy)]
enum Icon {
    Clock,
    Tick,
    DoubleTick,
}

impl Icon {
    fn view(self) -> AnyView {
        let path = match self {
            Self::Clock => "M8 1.5a6.5 6.5 0 1 0 0 13a6.5 6.5 0 0 0 0-13zM8 4v4.3l2.8 1.7",
            Self::Tick => "M2.5 8.5l3.5 3.5l7.5-7.5",
            Self::DoubleTick => "M0.5 8.5l3.5 3.5l7.5-7.5M7 11l1 1l7.5-7.5",
        };
        view! {
            <svg class="icon" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <path
                    d=path
                    fill="none"
                    stroke="currentColor"
                    stroke-width="1.6"
                    stroke-linecap="round"
                    stroke-linejoin="round"
                />
            </svg>
        }
        .into_any()
    }
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
                store.stop_composing(true);
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
                    store.composing(id, text.trim().is_empty());
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
            <p class="typing" data-testid="typing" aria-hidden="true">
                {move || store.around.with(|a| a.typing_line(id))}
            </p>
            <p class="sr-only" aria-live="polite" data-testid="typing-announcement">
                {move || store.around.with(|a| a.typing_announcement(id))}
            </p>
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

/// Mutes or unmutes the conversation's notifications (remembered in this browser only).
#[component]
fn MuteButton(id: ConversationId) -> impl IntoView {
    let store = ChatStore::expect();
    let muted = Memo::new(move |_| store.muted.with(|m| m.contains(&id)));
    view! {
        <button
            type="button"
            class="icon-button mute"
            data-testid="mute"
            aria-label="Mute notifications"
            aria-pressed=move || muted.get().to_string()
            title=move || {
                if muted.get() {
                    "Notifications for this conversation are off"
                } else {
                    "Notifications for this conversation are on"
                }
            }
            on:click=move |_| store.set_muted(id, !muted.get_untracked())
        >
            {move || if muted.get() { bell_off().into_any() } else { bell().into_any() }}
            <span class="label">"Mute"</span>
        </button>
    }
}
