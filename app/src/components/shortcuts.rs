//! Keyboard shortcuts of the signed-in page and the conversation switcher they open:
//! Ctrl/Cmd+K opens the switcher (type part of a name, Enter opens the first match),
//! Alt+↑ / Alt+↓ open the previous / next conversation of the list, and Esc marks the open
//! conversation read up to its newest message (and shows it).

use leptos::html;
use leptos::prelude::*;
use natter::protocol::ConversationId;

#[cfg(feature = "hydrate")]
use crate::model::directory::Step;
use crate::store::ChatStore;

/// The shortcuts (browser only) and the switcher dialog.
#[component]
pub fn Shortcuts() -> impl IntoView {
    let store = ChatStore::expect();
    let dialog = NodeRef::<html::Dialog>::new();
    let query = RwSignal::new(String::new());
    let input = NodeRef::<html::Input>::new();
    let matches = Memo::new(move |_| {
        let wanted = query.get().trim().to_lowercase();
        store.directory.with(|d| {
            d.entries()
                .iter()
                .filter(|e| e.partner.to_lowercase().contains(&wanted))
                .take(8)
                .map(|e| (e.id(), e.partner.clone()))
                .collect::<Vec<_>>()
        })
    });
    let close = move || {
        if let Some(d) = dialog.get_untracked() {
            d.close();
        }
    };
    let open = move |id: ConversationId| {
        close();
        store.open_conversation(id);
    };
    #[cfg(feature = "hydrate")]
    {
        let listener = window_event_listener(leptos::ev::keydown, move |ev| {
            let key = ev.key();
            if (ev.ctrl_key() || ev.meta_key()) && key.eq_ignore_ascii_case("k") {
                ev.prevent_default();
                if let Some(d) = dialog.get_untracked() {
                    query.set(String::new());
                    let _ = d.show_modal();
                    if let Some(i) = input.get_untracked() {
                        let _ = i.focus();
                    }
                }
            } else if ev.alt_key() && (key == "ArrowUp" || key == "ArrowDown") {
                ev.prevent_default();
                let step = if key == "ArrowUp" {
                    Step::Previous
                } else {
                    Step::Next
                };
                let open = store.open.get_untracked();
                if let Some(id) = store.directory.with_untracked(|d| d.neighbour(open, step)) {
                    store.open_conversation(id);
                }
            } else if key == "Escape"
                && !ev.default_prevented()
                && !dialog.get_untracked().is_some_and(|d| d.open())
                && let Some(id) = store.open.get_untracked()
            {
                store.mark_read(id, store.last_seq(id));
                if let Ok(Some(scroller)) = document().query_selector(".scroller") {
                    scroller.set_scroll_top(0);
                }
            }
        });
        on_cleanup(move || listener.remove());
    }
    view! {
        <dialog class="switcher" node_ref=dialog aria-labelledby="switcher-title" data-testid="switcher">
            <form
                method="dialog"
                on:submit=move |ev| {
                    ev.prevent_default();
                    if let Some((id, _)) = matches.get_untracked().first() {
                        open(*id);
                    }
                }
            >
                <h2 id="switcher-title" class="sr-only">"Go to a conversation"</h2>
                <label for="switcher-input" class="sr-only">"Name"</label>
                <input
                    id="switcher-input"
                    type="text"
                    node_ref=input
                    placeholder="Go to conversation…"
                    autocomplete="off"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))
                />
                <ul aria-label="Matching conversations">
                    <For
                        each=move || matches.get()
                        key=|(id, _)| *id
                        children=move |(id, name)| {
                            view! {
                                <li>
                                    <button type="button" on:click=move |_| open(id)>
                                        {name}
                                    </button>
                                </li>
                            }
                        }
                    />
                </ul>
                <p class="hint">"Enter opens the first · Esc closes · Alt+↑/↓ moves through the list"</p>
            </form>
        </dialog>
    }
}
