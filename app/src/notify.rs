//! What the browser shows outside the page: a notification for a message arriving while the
//! tab is hidden (one per conversation, replaced as more arrive; a click opens the
//! conversation), and the unread count drawn on the favicon. The rules of when to notify live
//! in the store; this module only talks to the Notification API and the `<link rel="icon">`.
//! Browser only.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::wasm_bindgen::closure::Closure;
use leptos::web_sys::{Notification, NotificationOptions, NotificationPermission};
use natter::protocol::MessageView;

use crate::model::clock::preview;
use crate::model::markup;
use crate::store::{ChatStore, Permission};

/// The favicon as served (`public/favicon.svg`), restored when nothing is unread.
const FAVICON: &str = "/favicon.svg";

/// What the browser currently allows.
pub fn permission() -> Permission {
    let supported = js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false);
    if !supported {
        return Permission::Unsupported;
    }
    match Notification::permission() {
        NotificationPermission::Granted => Permission::Granted,
        NotificationPermission::Denied => Permission::Denied,
        _ => Permission::Ask,
    }
}

/// Asks the browser for permission (only ever from a click on "Turn on notifications") and
/// records the answer.
pub fn ask(store: ChatStore) {
    let Ok(promise) = Notification::request_permission() else {
        return;
    };
    leptos::task::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        store.permission.try_set(permission());
    });
}

/// Shows (or replaces) the notification of `message`'s conversation; `unread` is how many of
/// its messages are unread now.
pub fn message(store: ChatStore, message: &MessageView, unread: u32) {
    let id = message.conv_id;
    let title = if unread > 1 {
        format!("{} ({unread} new messages)", message.sender_name)
    } else {
        message.sender_name.clone()
    };
    let options = NotificationOptions::new();
    options.set_body(&preview(&markup::plain(&message.message), 160));
    options.set_tag(&format!("natter-conversation-{}", id.0));
    options.set_icon(FAVICON);
    let Ok(notification) = Notification::new_with_options(&title, &options) else {
        return;
    };
    let shown = notification.clone();
    let click = Closure::<dyn FnMut()>::new(move || {
        let _ = window().focus();
        shown.close();
        store.open_conversation(id);
    });
    notification.set_onclick(Some(click.as_ref().unchecked_ref()));
    // The handler lives as long as the notification may be clicked: the page's lifetime.
    click.forget();
}

/// Draws `unread` on the favicon (a red badge on the icon, "9+" beyond nine), or restores the
/// plain icon at zero.
pub fn badge(unread: u32) {
    let Ok(Some(link)) = document().query_selector("link[rel='icon']") else {
        return;
    };
    let href = if unread == 0 {
        FAVICON.to_owned()
    } else {
        let count = if unread > 9 {
            "9+".to_owned()
        } else {
            unread.to_string()
        };
        let svg = format!(
            "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'>\
             <path fill='#0b5cd5' d='M32 6C16.5 6 4 16.7 4 30c0 6.6 3.1 12.6 8.1 16.9L9 58l12.4-6.3\
             c3.3 1 6.9 1.6 10.6 1.6 15.5 0 28-10.7 28-24S47.5 6 32 6z'/>\
             <circle cx='46' cy='18' r='18' fill='#d93025'/>\
             <text x='46' y='26' font-family='Arial,sans-serif' font-weight='700' \
             font-size='{size}' text-anchor='middle' fill='#fff'>{count}</text></svg>",
            size = if count.len() > 1 { 19 } else { 24 },
        );
        format!(
            "data:image/svg+xml,{}",
            String::from(js_sys::encode_uri_component(&svg))
        )
    };
    let _ = link.set_attribute("href", &href);
}
