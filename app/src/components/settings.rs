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
    let save_wanted = Callback::new(move |wanted: Settings| {
        save.dispatch(wanted);
    });
    view! {
        <fieldset class="sharing" data-testid="sharing">
            <legend>"Let others see"</legend>
            <Toggle
                settings
                field=|s| &mut s.share_presence
                on_change=save_wanted
                testid="share-presence"
                label="When I'm online"
            />
            <Toggle
                settings
                field=|s| &mut s.share_typing
                on_change=save_wanted
                testid="share-typing"
                label="When I'm typing"
            />
            <p class="hint">"Hiding when you are online hides it for everyone else too."</p>
            <p class="form-error" role="alert">{move || problem.get()}</p>
        </fieldset>
    }
    .into_any()
}

/// One thing the person shares, as a checkbox: disabled until the settings have loaded; a
/// change asks `on_change` to save the settings with that one field changed.
#[component]
fn Toggle(
    settings: RwSignal<Option<Settings>>,
    field: fn(&mut Settings) -> &mut bool,
    on_change: Callback<Settings>,
    testid: &'static str,
    label: &'static str,
) -> impl IntoView {
    view! {
        <label>
            <input
                type="checkbox"
                data-testid=testid
                disabled=move || settings.get().is_none()
                prop:checked=move || settings.get().is_some_and(|mut s| *field(&mut s))
                on:change=move |ev| {
                    if let Some(mut wanted) = settings.get_untracked() {
                        *field(&mut wanted) = event_target_checked(&ev);
                        on_change.run(wanted);
                    }
                }
            />
            " "
            {label}
        </label>
    }
}
