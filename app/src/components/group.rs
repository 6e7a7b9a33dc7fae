//! Groups in the sidebar and the conversation's header: a form that starts one (a title and
//! the members' usernames), the member count under a group's name opening the group's panel
//! (members and roles; for admins: rename, add, remove, make admin), and leaving it.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use natter::protocol::{ConversationId, ConversationView, Seq, UserId};

use crate::components::people::UserSearch;
use crate::error::AppError;
use crate::server_fns::{
    add_group_member, leave_group, make_group_admin, remove_group_member, rename_group, start_group,
};
use crate::store::{ChatStore, ConnectionStatus};

/// "New group": a title and its members, picked with the same search as a conversation (or
/// typed, separated by commas); the new group opens.
#[component]
pub fn NewGroup() -> impl IntoView {
    let store = ChatStore::expect();
    let navigate = use_navigate();
    let title = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let picked = RwSignal::new(Vec::<String>::new());
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
            typed.set(String::new());
            picked.set(Vec::new());
            open.set(false);
            navigate(&format!("/c/{id}"), Default::default());
        }
        Some(Err(refused)) => error.set(Some(refused.message())),
        None => {}
    });
    let pick = Callback::new(move |name: String| {
        picked.update(|names| {
            if !names.contains(&name) {
                names.push(name);
            }
        });
        typed.set(String::new());
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let mut members = picked.get_untracked().join(" ");
        members.push(' ');
        members.push_str(&typed.get_untracked());
        create.dispatch((title.get_untracked(), members));
    };
    let chips = move || {
        picked
            .get()
            .into_iter()
            .map(|name| {
                let label = format!("Remove {name} from the group");
                let gone = name.clone();
                view! {
                    <li class="chip" data-testid="picked-member">
                        {name}
                        <button
                            type="button"
                            aria-label=label
                            on:click=move |_| picked.update(|names| names.retain(|n| *n != gone))
                        >
                            "×"
                        </button>
                    </li>
                }
            })
            .collect_view()
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
                    <ul class="chips" aria-label="Picked people" hidden=move || picked.with(Vec::is_empty)>
                        {chips}
                    </ul>
                    <UserSearch
                        id="new-group-members"
                        value=typed
                        on_pick=pick
                        described_by="new-group-error"
                        invalid=Signal::derive(move || error.with(Option::is_some))
                        exclude=Signal::derive(move || picked.get())
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
                store
                    .around
                    .update(|a| a.absorb(std::slice::from_ref(&group)));
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
                    <UserSearch
                        id="group-add"
                        value=new_member
                        on_pick=Callback::new(move |name: String| {
                            new_member.set(name.clone());
                            add.dispatch(name);
                        })
                        described_by="group-error"
                        invalid=Signal::derive(move || problem.with(Option::is_some))
                        exclude=Signal::derive(move || {
                            members.with(|all| all.iter().map(|m| m.name.clone()).collect())
                        })
                    >
                        <button type="submit" disabled=busy>"Add"</button>
                    </UserSearch>
                </form>
            }
            .into_any()
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
                // The person themself is online while connected; the others as the server says.
                let online = move || {
                    if user == me {
                        store.status.get() == ConnectionStatus::Connected
                    } else {
                        store.around.with(|a| a.of(user).is_some_and(|p| p.online))
                    }
                };
                let actions = (admin && user != me).then(|| {
                    view! {
                        {(!is_admin)
                            .then(|| {
                                view! {
                                    <MemberAction
                                        label="Make admin"
                                        testid="make-admin"
                                        named=format!("Make {name} an admin")
                                        question=format!(
                                            "Make {name} an admin of this group? Admins can rename it and add or remove people.",
                                        )
                                        busy=Signal::derive(busy)
                                        on_yes=Callback::new(move |()| {
                                            promote.dispatch(user);
                                        })
                                    />
                                }
                            })}
                        <MemberAction
                            label="Remove"
                            testid="remove-member"
                            danger=true
                            named=format!("Remove {name}")
                            question=format!(
                                "Remove {name} from this group? They will no longer see its messages.",
                            )
                            busy=Signal::derive(busy)
                            on_yes=Callback::new(move |()| {
                                remove.dispatch(user);
                            })
                        />
                    }
                });
                view! {
                    <li data-testid="member">
                        <span class="member-dot" class:online=online aria-hidden="true"></span>
                        <span class="member-name">
                            {name.clone()}
                            {(user == me).then_some(" (you)")}
                        </span>
                        {move || online().then(|| view! { <span class="sr-only">" (online)"</span> })}
                        {is_admin.then(|| view! { <span class="badge">"admin"</span> })}
                        <span class="member-actions">{actions}</span>
                    </li>
                }
                .into_any()
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

/// One of an admin's buttons beside a member: it asks `question` first and runs `on_yes` only
/// on a yes. `named` says which member it is about (for screen readers and tests).
#[component]
fn MemberAction(
    label: &'static str,
    testid: &'static str,
    named: String,
    question: String,
    busy: Signal<bool>,
    on_yes: Callback<()>,
    /// Shown in the error colour: it takes something away.
    #[prop(optional)]
    danger: bool,
) -> impl IntoView {
    let class = danger.then_some("danger");
    view! {
        <button
            type="button"
            class=class
            data-testid=testid
            aria-label=named
            disabled=move || busy.get()
            on:click=move |_| {
                if confirmed(&question) {
                    on_yes.run(());
                }
            }
        >
            {label}
        </button>
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
        if confirmed("Leave this group? You will no longer see its messages.") {
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

/// Asks the browser's own confirmation dialog; no on the server, where nothing is clicked.
fn confirmed(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    return window().confirm_with_message(question).unwrap_or(false);
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        false
    }
}
