//! natter's user interface: the HTML shell, the router and every page. Rendered on the server
//! (`ssr`) and hydrated in the browser (`hydrate`); it reaches the chat core only through
//! server functions and the WebSocket, never directly.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    StaticSegment,
    components::{Route, Router, Routes},
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, after hydration: tests wait for this mark.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/natter.css" />
        <Title text="natter" />
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=StaticSegment("") view=HomePage />
            </Routes>
        </Router>
    }
}

/// The landing page: sign in or create an account.
#[component]
fn HomePage() -> impl IntoView {
    let (signing_up, set_signing_up) = signal(false);
    view! {
        <main class="landing" data-testid="app-shell">
            <h1 class="brand">"natter"</h1>
            <p class="tagline">"Real-time chat, in Rust."</p>
            <div class="auth-card">
                <div class="tabs" role="tablist">
                    <button
                        role="tab"
                        aria-selected=move || (!signing_up.get()).to_string()
                        on:click=move |_| set_signing_up.set(false)
                    >
                        "Sign in"
                    </button>
                    <button
                        role="tab"
                        aria-selected=move || signing_up.get().to_string()
                        on:click=move |_| set_signing_up.set(true)
                    >
                        "Create account"
                    </button>
                </div>
                <h2 data-testid="auth-heading">
                    {move || if signing_up.get() { "Create your account" } else { "Welcome back" }}
                </h2>
            </div>
        </main>
    }
}
