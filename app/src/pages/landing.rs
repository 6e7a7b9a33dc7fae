//! The landing page: sign in, or create an account. Both forms post to their server function
//! (so they work before the WASM has loaded); once hydrated they submit in place, keep what
//! was typed when the server refuses, and show the server's reason inline.

use leptos::prelude::*;
use natter::protocol::ErrorCode;
use natter::protocol::limits::{PASSWORD_MIN_CHARS, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS};

use crate::account::Account;
use crate::error::AppError;
use crate::server_fns::{SignIn, SignUp};

#[component]
pub fn Landing() -> impl IntoView {
    let account = Account::expect();
    let (signing_up, set_signing_up) = signal(false);
    let sign_in = ServerAction::<SignIn>::new();
    let sign_up = ServerAction::<SignUp>::new();
    Effect::new(move |_| {
        if let Some(Ok(session)) = sign_in.value().get() {
            account.signed_in(session);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(session)) = sign_up.value().get() {
            account.signed_in(session);
        }
    });
    let sign_in_error = Signal::derive(move || sign_in.value().get().and_then(Result::err));
    let sign_up_error = Signal::derive(move || sign_up.value().get().and_then(Result::err));

    view! {
        <main class="landing" data-testid="app-shell">
            <header class="landing-head">
                <h1 class="brand">"natter"</h1>
                <p class="tagline">"Real-time chat, in Rust."</p>
            </header>
            <div class="auth-card">
                {move || {
                    account
                        .notice
                        .get()
                        .map(|notice| {
                            view! {
                                <p class="notice" role="status" data-testid="auth-notice">
                                    {notice}
                                </p>
                            }
                        })
                }}
                <div class="tabs" role="tablist" aria-label="Sign in or create an account">
                    <button
                        type="button"
                        role="tab"
                        id="tab-sign-in"
                        aria-controls="panel-sign-in"
                        aria-selected=move || (!signing_up.get()).to_string()
                        on:click=move |_| set_signing_up.set(false)
                    >
                        "Sign in"
                    </button>
                    <button
                        type="button"
                        role="tab"
                        id="tab-sign-up"
                        aria-controls="panel-sign-up"
                        aria-selected=move || signing_up.get().to_string()
                        on:click=move |_| set_signing_up.set(true)
                    >
                        "Create account"
                    </button>
                </div>
                <h2 data-testid="auth-heading">
                    {move || if signing_up.get() { "Create your account" } else { "Welcome back" }}
                </h2>
                <div
                    role="tabpanel"
                    id="panel-sign-in"
                    aria-labelledby="tab-sign-in"
                    hidden=move || signing_up.get()
                >
                    <ActionForm action=sign_in>
                        <Fields form="sign-in" error=sign_in_error new_password=false />
                        <button type="submit" class="primary" disabled=move || sign_in.pending().get()>
                            {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                        </button>
                    </ActionForm>
                </div>
                <div
                    role="tabpanel"
                    id="panel-sign-up"
                    aria-labelledby="tab-sign-up"
                    hidden=move || !signing_up.get()
                >
                    <ActionForm action=sign_up>
                        <Fields form="sign-up" error=sign_up_error new_password=true />
                        <button type="submit" class="primary" disabled=move || sign_up.pending().get()>
                            {move || {
                                if sign_up.pending().get() { "Creating account…" } else { "Create account" }
                            }}
                        </button>
                    </ActionForm>
                </div>
            </div>
        </main>
    }
    .into_any()
}

/// The name and password fields of one form, with the server's refusal under them.
#[component]
fn Fields(
    /// Prefix of the element ids.
    form: &'static str,
    error: Signal<Option<AppError>>,
    /// Sign-up: a new password (rules shown, password managers offer to generate one).
    new_password: bool,
) -> impl IntoView {
    let code = move || error.get().and_then(|e| e.code());
    let name_wrong = move || {
        matches!(
            code(),
            Some(
                ErrorCode::UsernameTaken | ErrorCode::InvalidUsername | ErrorCode::WrongCredentials
            )
        )
    };
    let password_wrong = move || {
        matches!(
            code(),
            Some(ErrorCode::InvalidPassword | ErrorCode::WrongCredentials)
        )
    };
    let error_id = format!("{form}-error");
    let hint_id = format!("{form}-password-hint");
    view! {
        <div class="field">
            <label for=format!("{form}-username")>"Username"</label>
            <input
                id=format!("{form}-username")
                name="username"
                type="text"
                required
                autocomplete="username"
                autocapitalize="none"
                spellcheck="false"
                aria-invalid=move || name_wrong().to_string()
                aria-describedby=error_id.clone()
            />
        </div>
        <div class="field">
            <label for=format!("{form}-password")>"Password"</label>
            <input
                id=format!("{form}-password")
                name="password"
                type="password"
                required
                minlength=if new_password { "8" } else { "1" }
                autocomplete=if new_password { "new-password" } else { "current-password" }
                aria-invalid=move || password_wrong().to_string()
                aria-describedby=if new_password { format!("{error_id} {hint_id}") } else { error_id.clone() }
            />
            {new_password
                .then(|| {
                    view! {
                        <p class="hint" id=hint_id.clone()>
                            {format!(
                                "At least {PASSWORD_MIN_CHARS} characters, and not a common password: a few unrelated words work well. Names: {USERNAME_MIN_CHARS} to {USERNAME_MAX_CHARS} letters, digits, '.', '-' or '_'.",
                            )}
                        </p>
                    }
                })}
        </div>
        <p class="form-error" id=error_id.clone() role="alert" data-testid=error_id>
            {move || error.get().map(|e| e.message())}
        </p>
    }
    .into_any()
}
