//! What the person shares with the people they talk to: when they are online (and when they
//! were last seen) and when they are typing. Kept on the server, so every device and node obeys
//! it; hiding one's presence also hides everyone else's (shown both ways or not at all).

use leptos::prelude::*;
use natter::protocol::Settings;

use crate::server_fns::{load_settings, save_settings};
use crate::store::ChatStore;

#[component]
pub fn SharingSettings() -> impl IntoView {
    let store = ChatStore::expect();
    let settings = RwSignal::new(None::<Settings>);
    let problem = RwSignal::new(None::<String>);
    // Read when the page starts in the browser (effects run only there).
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            match load_settings().await {
                Ok(loaded) => {
                    settings.try_set(Some(loaded));
                    store.set_sharing(loaded);
                }
                Err(error) => {
                    problem.try_set(Some(error.message()));
                }
            }
        });
    });
    let save = Action::new(|wanted: &Settings| {
        let wanted = *wanted;
        async move { save_settings(wanted.share_presence, wanted.share_typing).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => {
            settings.set(Some(saved));
            store.set_sharing(saved);
            problem.set(None);
        }
        Some(Err(error)) => problem.set(Some(error.message())),
        None => {}
    });
    let change = move |presence: bool, on: bool| {
        if let Some(mut wanted) = settings.get_untracked() {
            if presence {
                wanted.share_presence = on;
            } else {
                wanted.share_typing = on;
            }
            save.dispatch(wanted);
        }
    };
    view! {
        <fieldset class="sharing" data-testid="sharing">
            <legend>"Let others see"</legend>
            <label>
                <input
                    type="checkbox"
                    data-testid="share-presence"
                    disabled=move || settings.get().is_none()
                    prop:checked=move || settings.get().is_some_and(|s| s.share_presence)
                    on:change=move |ev| change(true, event_target_checked(&ev))
                />
                " When I'm online"
            </label>
            <label>
                <input
                    type="checkbox"
                    data-testid="share-typing"
                    disabled=move || settings.get().is_none()
                    prop:checked=move || settings.get().is_some_and(|s| s.share_typing)
                    on:change=move |ev| change(false, event_target_checked(&ev))
                />
                " When I'm typing"
            </label>
            <p class="hint">"Hiding when you are online hides it for everyone else too."</p>
            <p class="form-error" role="alert">{move || problem.get()}</p>
        </fieldset>
    }
    .into_any()
}
