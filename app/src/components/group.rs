//! Groups in the sidebar and the conversation's header: a form that starts one (a title and
//! the members' usernames), the member count under a group's name opening the group's panel
//! (members and roles; for admins: rename, add, remove, make admin), and leaving it.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use natter::protocol::{ConversationId, ConversationView, Seq, UserId};

use crate::error::AppError;
use crate::server_fns::{
    add_group_member, leave_group, make_group_admin, remove_group_member, rename_group, start_group,
};
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

/// Under a group's name: how many members it has, as a button that opens the group's panel.
#[component]
pub fn GroupMembers(id: ConversationId) -> impl IntoView {
    let store = ChatStore::expect();
    let count = Memo::new(move |_| {
        store.directory.with(|d| {
            d.get(id)
                .filter(|e| e.is_group())
                .map(|e| e.conversation.members.len())
        })
    });
    let open = RwSignal::new(false);
    view! {
        {move || {
            count
                .get()
                .map(|n| {
                    view! {
                        <button
                            type="button"
                            class="members-toggle"
                            data-testid="group-members"
                            aria-expanded=move || open.get().to_string()
                            aria-controls="group-panel"
                            on:click=move |_| open.update(|o| *o = !*o)
                        >
                            {format!("{n} members")}
                        </button>
                    }
                })
        }}
        {move || (open.get() && count.get().is_some()).then(|| view! { <GroupPanel id open /> })}
    }
    .into_any()
}

/// One member as the panel lists them.
#[derive(Clone, PartialEq)]
struct Member {
    id: UserId,
    name: String,
    admin: bool,
}

/// A group's members, admins first; for an admin, the group's name to change, a person to add,
/// and "Make admin" and "Remove" beside each other member. Every change is decided by the
/// server (an admin who was demoted meanwhile is refused) and comes back to every member as
/// a timeline entry, which updates this panel everywhere.
#[component]
fn GroupPanel(id: ConversationId, open: RwSignal<bool>) -> impl IntoView {
    let store = ChatStore::expect();
    let me = store.me;
    let members = Memo::new(move |_| {
        store.directory.with(|d| {
            let Some(entry) = d.get(id) else {
                return Vec::new();
            };
            let group = &entry.conversation;
            let mut members: Vec<Member> = group
                .members
                .iter()
                .map(|m| Member {
                    id: m.id,
                    name: m.username.clone(),
                    admin: group.admins.contains(&m.id),
                })
                .collect();
            members.sort_by_key(|m| !m.admin);
            members
        })
    });
    let am_admin =
        Memo::new(move |_| members.with(|all| all.iter().any(|m| m.id == me && m.admin)));
    let title = RwSignal::new(store.directory.with_untracked(|d| {
        d.get(id)
            .and_then(|e| e.conversation.title.clone())
            .unwrap_or_default()
    }));
    let new_member = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);

    // Every change answers with the group as it is now (or nothing, for a removal).
    let changed = move |answer: Option<Result<Option<ConversationView>, AppError>>| match answer {
        Some(Ok(group)) => {
            problem.set(None);
            if let Some(group) = group {
                let seq = group.last_message.as_ref().map_or(Seq::ZERO, |m| m.seq);
                store.directory.update(|d| {
                    // Not over a newer state the timeline already brought.
                    if d.get(id).is_none_or(|e| e.last_seq() <= seq) {
                        d.upsert(group);
                    }
                });
            }
        }
        Some(Err(refused)) => problem.set(Some(refused.message())),
        None => {}
    };
    let rename = Action::new(move |title: &String| {
        let title = title.clone();
        async move { rename_group(id, title).await.map(Some) }
    });
    let add = Action::new(move |name: &String| {
        let name = name.clone();
        async move { add_group_member(id, name).await.map(Some) }
    });
    let remove = Action::new(move |user: &UserId| {
        let user = *user;
        async move { remove_group_member(id, user).await.map(|()| None) }
    });
    let promote = Action::new(move |user: &UserId| {
        let user = *user;
        async move { make_group_admin(id, user).await.map(Some) }
    });
    Effect::new(move |_| changed(rename.value().get()));
    Effect::new(move |_| {
        let answer = add.value().get();
        if matches!(answer, Some(Ok(_))) {
            new_member.set(String::new());
        }
        changed(answer);
    });
    Effect::new(move |_| changed(remove.value().get()));
    Effect::new(move |_| changed(promote.value().get()));
    let busy = move || {
        rename.pending().get()
            || add.pending().get()
            || remove.pending().get()
            || promote.pending().get()
    };

    let admin_forms = move || {
        am_admin.get().then(|| {
            view! {
                <form
                    class="group-form"
                    data-testid="rename-group"
                    on:submit=move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        rename.dispatch(title.get_untracked());
                    }
                >
                    <label for="group-title">"Group name"</label>
                    <input
                        id="group-title"
                        type="text"
                        maxlength="100"
                        autocomplete="off"
                        prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev))
                    />
                    <button type="submit" disabled=busy>"Rename"</button>
                </form>
                <form
                    class="group-form"
                    data-testid="add-member"
                    on:submit=move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        add.dispatch(new_member.get_untracked());
                    }
                >
                    <label for="group-add">"Add someone"</label>
                    <input
                        id="group-add"
                        type="text"
                        placeholder="Username"
                        autocomplete="off"
                        autocapitalize="none"
                        spellcheck="false"
                        prop:value=move || new_member.get()
                        on:input=move |ev| new_member.set(event_target_value(&ev))
                    />
                    <button type="submit" disabled=busy>"Add"</button>
                </form>
            }
        })
    };
    let rows = move || {
        let admin = am_admin.get();
        members
            .get()
            .into_iter()
            .map(|member| {
                let Member {
                    id: user,
                    name,
                    admin: is_admin,
                } = member;
                let actions = (admin && user != me).then(|| {
                    view! {
                        {(!is_admin)
                            .then(|| {
                                view! {
                                    <button
                                        type="button"
                                        data-testid="make-admin"
                                        aria-label=format!("Make {name} an admin")
                                        disabled=busy
                                        on:click=move |_| {
                                            promote.dispatch(user);
                                        }
                                    >
                                        "Make admin"
                                    </button>
                                }
                            })}
                        <button
                            type="button"
                            class="danger"
                            data-testid="remove-member"
                            aria-label=format!("Remove {name}")
                            disabled=busy
                            on:click=move |_| {
                                remove.dispatch(user);
                            }
                        >
                            "Remove"
                        </button>
                    }
                });
                view! {
                    <li data-testid="member">
                        <span class="member-name">
                            {name.clone()}
                            {(user == me).then_some(" (you)")}
                        </span>
                        {is_admin.then(|| view! { <span class="badge">"admin"</span> })}
                        <span class="member-actions">{actions}</span>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section
            id="group-panel"
            class="group-panel"
            aria-label="Group members"
            data-testid="group-panel"
            on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                if ev.key() == "Escape" {
                    open.set(false);
                }
            }
        >
            {admin_forms}
            <ul class="members">{rows}</ul>
            <p class="form-error" role="alert" data-testid="group-error">{move || problem.get()}</p>
            <button type="button" class="close" on:click=move |_| open.set(false)>
                "Close"
            </button>
        </section>
    }
    .into_any()
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
