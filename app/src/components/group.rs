//! Groups in the sidebar and the conversation's header: a form that starts one (a title and
//! the members' usernames), the member count under a group's name, and leaving it.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use natter::protocol::ConversationId;

use crate::server_fns::{leave_group, start_group};
use crate::store::ChatStore;

/// "New group": a title and the members' usernames; the new group opens.
#[component]
pub fn NewGroup() -> impl IntoView {
    let store = ChatStore::expect();
    let navigate = use_navigate();
    let title = RwSignal::new(String::new());
    let members = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let open = RwSignal::new(false);
    let create = Action::new(|(title, members): &(String, String)| {
        start_group(title.clone(), members.clone())
    });
    Effect::new(move |_| match create.value().get() {
        Some(Ok(conversation)) => {
            let id = conversation.id;
            store.add_conversation(conversation);
            title.set(String::new());
            members.set(String::new());
            open.set(false);
            navigate(&format!("/c/{id}"), Default::default());
        }
        Some(Err(refused)) => error.set(Some(refused.message())),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        create.dispatch((title.get_untracked(), members.get_untracked()));
    };
    let form = move || {
        open.get().then(|| {
            view! {
                <form class="new-group" id="new-group" on:submit=submit data-testid="new-group">
                    <label for="new-group-title">"Title"</label>
                    <input
                        id="new-group-title"
                        type="text"
                        maxlength="100"
                        autocomplete="off"
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))
                    />
                    <label for="new-group-members">"Members"</label>
                    <input
                        id="new-group-members"
                        type="text"
                        placeholder="Usernames, separated by commas"
                        autocomplete="off"
                        autocapitalize="none"
                        spellcheck="false"
                        aria-describedby="new-group-error"
                        prop:value=move || members.get()
                        on:input=move |ev| members.set(event_target_value(&ev))
                    />
                    <button type="submit" class="primary" disabled=move || create.pending().get()>
                        "Create group"
                    </button>
                    <p
                        id="new-group-error"
                        class="form-error"
                        role="alert"
                        data-testid="new-group-error"
                    >
                        {move || error.get()}
                    </p>
                </form>
            }
        })
    };
    view! {
        <div class="new-group-area">
            <button
                type="button"
                class="icon-button new-group-toggle"
                aria-expanded=move || open.get().to_string()
                aria-controls="new-group"
                data-testid="new-group-toggle"
                on:click=move |_| open.update(|o| *o = !*o)
            >
                "New group"
            </button>
            {form}
        </div>
    }
    // Erased: the chat page's view type stays within the compiler's depth limit.
    .into_any()
}

/// Under a group's name: how many members it has (their names on hover).
#[component]
pub fn GroupMembers(id: ConversationId) -> impl IntoView {
    let store = ChatStore::expect();
    let members = Memo::new(move |_| {
        store.directory.with(|d| {
            d.get(id).filter(|e| e.is_group()).map(|e| {
                e.conversation
                    .members
                    .iter()
                    .map(|m| m.username.clone())
                    .collect::<Vec<_>>()
            })
        })
    });
    move || {
        members.get().map(|names| {
            view! {
                <p class="presence" data-testid="group-members" title=names.join(", ")>
                    {format!("{} members", names.len())}
                </p>
            }
        })
    }
}

/// Leaving a group, after a confirmation; the server tells every connection of the person
/// (`removedFromConversation`), which closes the conversation.
#[component]
pub fn LeaveGroup(id: ConversationId) -> impl IntoView {
    let store = ChatStore::expect();
    let group = Memo::new(move |_| {
        store
            .directory
            .with(|d| d.get(id).is_some_and(|e| e.is_group()))
    });
    let leave = Action::new(move |(): &()| leave_group(id));
    let problem = move || match leave.value().get() {
        Some(Err(refused)) => Some(refused.message()),
        _ => None,
    };
    let ask = move |_| {
        #[cfg(feature = "hydrate")]
        let sure = window()
            .confirm_with_message("Leave this group? You will no longer see its messages.")
            .unwrap_or(false);
        #[cfg(not(feature = "hydrate"))]
        let sure = false;
        if sure {
            leave.dispatch(());
        }
    };
    move || {
        group.get().then(|| {
            view! {
                <button type="button" class="icon-button leave" data-testid="leave-group" on:click=ask>
                    "Leave"
                </button>
                <p class="form-error" role="alert">{problem}</p>
            }
        })
    }
}
