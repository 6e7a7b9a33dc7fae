//! natter's user interface: the HTML shell, the router and every page. Rendered on the server
//! (`ssr`) and hydrated in the browser (`hydrate`); it reaches the chat core only through
//! server functions and the WebSocket, never directly.
//!
//! - `server_fns`: sign-in/out and data loading (server side, authenticated per call);
//! - `model`: the client's chat state as plain, unit-tested Rust;
//! - `store` and `account`: that state as signals; `socket` (browser only): the live link;
//!   `storage` (browser only): the outbox's saved copy, drafts and muted conversations;
//!   `notify` (browser only): notifications and the favicon's unread badge;
//! - `install` (server side): the service worker's address for this build;
//! - `pages` and `components`: the views.

pub mod account;
mod components;
pub mod error;
#[cfg(feature = "ssr")]
mod install;
pub mod model;
#[cfg(feature = "hydrate")]
mod notify;
mod pages;
pub mod server_fns;
#[cfg(feature = "hydrate")]
mod socket;
#[cfg(feature = "hydrate")]
mod storage;
pub mod store;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};

/// The HTML document the server renders around the app, with its Content-Security-Policy.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="theme-color" content="#0b5cd5" />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="apple-touch-icon" href="/icon-192.png" />
                <AutoReload options=options.clone() />
                // `/pkg/natter.<hash>.css`: the name changes with the content (hash-files).
                <HashedStylesheet options=options.clone() id="leptos" />
                <ServiceWorker options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Registers the service worker (`public/sw-register.js`, which reads the worker's address
/// from its own `data-sw`), once the page has loaded; nothing when this build has no worker.
/// `async`, not `defer`: deferred scripts run in document order with the hydration module, so
/// a deferred one (revalidated on every load, its name is not hashed) held hydration back by a
/// round trip — 2 s on slow 3G.
#[component]
fn ServiceWorker(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let url = install::service_worker_url(&options);
    #[cfg(not(feature = "ssr"))]
    let url: Option<&str> = {
        let _ = options;
        None
    };
    url.map(|url| view! { <script src="/sw-register.js" async data-sw=url></script> })
}

/// Sets the page's `Content-Security-Policy`: scripts only from this origin or inline with this
/// response's nonce (Leptos stamps it on its hydration and resource scripts), WebAssembly
/// compilation allowed (`wasm-unsafe-eval`, never `unsafe-eval`), nothing else inline, no
/// plugins, no framing. A script injected into the page through any hole would not run.
#[cfg(feature = "ssr")]
fn content_security_policy(options: &LeptosOptions) {
    use axum::http::{HeaderValue, header::CONTENT_SECURITY_POLICY};
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    // `cargo leptos watch` reloads the page through a socket of its own.
    let reload = match options.env {
        leptos::config::Env::DEV => {
            format!(" ws://{}:{}", options.site_addr.ip(), options.reload_port)
        }
        leptos::config::Env::PROD => String::new(),
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
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
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml" />
        <Meta name="description" content="natter: real-time chat, in Rust." />
        <Title text="natter" />
        <Router>
            <Routes fallback=pages::NotFound>
                // Rendered whole on the server (no streamed fallbacks): a reload shows the
                // person's conversations and messages at once, even before the WASM loads.
                <ParentRoute path=path!("") view=pages::Home ssr=SsrMode::Async>
                    <Route path=path!("") view=pages::chat::NoConversation />
                    <Route path=path!("c/:id") view=pages::chat::ConversationPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
