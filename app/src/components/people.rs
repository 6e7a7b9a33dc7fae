//! Picking a person by name, the same way everywhere (starting a conversation, starting a
//! group, adding someone to one): a username field that suggests matching people as one
//! types; the arrow keys move through the suggestions, Escape closes them, a click picks one.

use std::time::Duration;

use leptos::prelude::*;
use natter::protocol::UserView;

use crate::server_fns::find_users;

/// How long typing must pause before suggestions are fetched.
const SUGGEST_AFTER: Duration = Duration::from_millis(150);

/// The field (in a row with `children`, e.g. the form's button) and, under it, the people
/// whose name starts with what was typed. The suggestion list's id is `{id}-suggestions`.
#[component]
pub fn UserSearch(
    /// The input's id, for its label's `for`.
    id: &'static str,
    /// What is typed.
    value: RwSignal<String>,
    /// A suggestion was picked: its username.
    on_pick: Callback<String>,
    /// The id of the element that explains a refusal.
    described_by: &'static str,
    /// Whether the field holds a refused name.
    #[prop(into)]
    invalid: Signal<bool>,
    /// Names not to suggest (already picked).
    #[prop(optional, into)]
    exclude: Option<Signal<Vec<String>>>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let list_id = format!("{id}-suggestions");
    let suggestions = RwSignal::new(Vec::<UserView>::new());
    // Each keystroke bumps the generation; only the newest lookup may show its answer.
    let generation = StoredValue::new(0_u64);
    let close = move || {
        // A lookup still in flight must not bring the list back.
        generation.try_update_value(|g| *g += 1);
        suggestions.try_set(Vec::new());
    };
    // Emptied from outside (the form was sent): no list left over.
    Effect::new(move |_| {
        if value.with(|v| v.trim().is_empty()) {
            close();
        }
    });
    let on_input = move |ev| {
        let typed = event_target_value(&ev);
        value.set(typed.clone());
        generation.update_value(|g| *g += 1);
        let current = generation.get_value();
        let query = typed.trim().to_owned();
        if query.is_empty() {
            return;
        }
        set_timeout(
            move || {
                if generation.try_get_value() != Some(current) {
                    return;
                }
                leptos::task::spawn_local(async move {
                    let mut found = find_users(query).await.unwrap_or_default();
                    // Typed on since, or the field is gone (its form was sent and closed).
                    if generation.try_get_value() != Some(current) {
                        return;
                    }
                    if let Some(picked) = exclude.and_then(|e| e.try_get_untracked()) {
                        found.retain(|user| !picked.contains(&user.username));
                    }
                    suggestions.try_set(found);
                });
            },
            SUGGEST_AFTER,
        );
    };
    let list = list_id.clone();
    let items = list_id.clone();
    view! {
        <div class="row">
            <input
                id=id
                type="text"
                placeholder="Username"
                autocomplete="off"
                autocapitalize="none"
                spellcheck="false"
                aria-describedby=described_by
                aria-controls=list_id.clone()
                aria-invalid=move || invalid.get().to_string()
                prop:value=move || value.get()
                on:input=on_input
                on:keydown=move |ev| match ev.key().as_str() {
                    "ArrowDown" => {
                        ev.prevent_default();
                        focus_suggestion(&list, id, Step::First);
                    }
                    "Escape" => close(),
                    _ => {}
                }
            />
            {children.map(|children| children())}
        </div>
        <ul
            id=list_id.clone()
            class="suggestions"
            aria-label="Matching people"
            hidden=move || suggestions.with(Vec::is_empty)
        >
            <For
                each=move || suggestions.get()
                key=|user| user.id
                children=move |user| {
                    let username = user.username.clone();
                    let list = items.clone();
                    view! {
                        <li>
                            <button
                                type="button"
                                data-testid="suggestion"
                                on:keydown=move |ev| match ev.key().as_str() {
                                    "ArrowDown" => {
                                        ev.prevent_default();
                                        focus_suggestion(&list, id, Step::Next);
                                    }
                                    "ArrowUp" => {
                                        ev.prevent_default();
                                        focus_suggestion(&list, id, Step::Previous);
                                    }
                                    "Escape" => close(),
                                    _ => {}
                                }
                                on:click=move |_| {
                                    close();
                                    on_pick.run(username.clone());
                                }
                            >
                                {user.username}
                            </button>
                        </li>
                    }
                }
            />
        </ul>
    }
    // Erased: the pages that hold it stay within the compiler's depth limit.
    .into_any()
}

/// Where the arrow keys move the focus in the suggestions.
#[derive(Clone, Copy)]
enum Step {
    First,
    Next,
    Previous,
}

/// Moves the focus among the suggestion buttons of `list`; up from the first one goes back to
/// the `input`.
fn focus_suggestion(list: &str, input: &str, step: Step) {
    use leptos::wasm_bindgen::JsCast;
    let document = document();
    let sibling = |forward: bool| {
        let item = document.active_element()?.parent_element()?;
        let next = if forward {
            item.next_element_sibling()
        } else {
            item.previous_element_sibling()
        };
        next?.first_element_child()
    };
    let target = match step {
        Step::First => document
            .query_selector(&format!("#{list} button"))
            .ok()
            .flatten(),
        Step::Next => sibling(true),
        Step::Previous => sibling(false).or_else(|| document.get_element_by_id(input)),
    };
    if let Some(element) = target.and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}
