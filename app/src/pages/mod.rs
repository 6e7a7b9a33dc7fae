//! The pages: `Home` loads the first render's data once (who is signed in, their
//! conversations, the open conversation's newest messages) and decides between the landing
//! page (signed out) and the chat (signed in); `chat` holds the signed-in layout and its two
//! panes. No other component creates a resource: one created inside an async boundary can be
//! created a different number of times on the server than in the browser, and hydration then
//! reads another resource's data.

pub mod chat;
mod landing;

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::account::Account;
use crate::server_fns::{PageData, load_page};

/// The first render's data for the chat page, taken once by the first chat page shown (a chat
/// shown after signing in later loads its own).
#[derive(Clone, Copy)]
pub struct FirstRender(StoredValue<Option<PageData>>);

impl FirstRender {
    pub fn take() -> Option<PageData> {
        use_context::<Self>().and_then(|first| first.0.try_update_value(Option::take).flatten())
    }
}

/// `/` and `/c/:id`: the landing page or the chat, whichever fits the visitor.
#[component]
pub fn Home() -> impl IntoView {
    let open = chat::conversation_in_path(&use_location().pathname.get_untracked());
    let page = Resource::new(|| (), move |()| load_page(open));
    view! {
        <Suspense fallback=|| view! { <p class="splash">"Loading natter…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(data) => view! { <Gate data notice=None /> },
                    Err(error) => {
                        view! { <Gate data=PageData::default() notice=Some(error.message()) /> }
                    }
                }
            })}
        </Suspense>
    }
}

/// Switches between the landing page and the chat as the person signs in and out.
#[component]
fn Gate(data: PageData, notice: Option<String>) -> impl IntoView {
    let account = Account::provide(data.session.clone(), notice);
    provide_context(FirstRender(StoredValue::new(Some(data))));
    let signed_in = Memo::new(move |_| account.session.with(|s| s.as_ref().map(|s| s.user.id)));
    move || {
        let session = signed_in.get().and(account.session.get_untracked());
        // Built untracked: nothing a page reads while being built may rebuild it.
        untrack(move || match session {
            Some(session) => view! { <chat::ChatPage session /> }.into_any(),
            None => view! { <landing::Landing /> }.into_any(),
        })
    }
}

/// Any address the router does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="not-found">
            <h1>"Page not found"</h1>
            <p>
                <a href="/">"Back to natter"</a>
            </p>
        </main>
    }
}
