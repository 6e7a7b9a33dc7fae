//! Who is signed in in this tab. The server renders the right page from the session cookie
//! (so a signed-in reload never flashes the sign-in form), then this context switches between
//! the landing page and the chat as the person signs in, signs out, or their session ends.

use leptos::prelude::*;

use crate::server_fns::Session;

#[derive(Clone, Copy)]
pub struct Account {
    /// The signed-in person, if any.
    pub session: RwSignal<Option<Session>>,
    /// A message for the landing page, such as why the person was signed out.
    pub notice: RwSignal<Option<String>>,
}

impl Account {
    /// Creates the context for this tab.
    pub fn provide(initial: Option<Session>, notice: Option<String>) -> Self {
        let account = Self {
            session: RwSignal::new(initial),
            notice: RwSignal::new(notice),
        };
        provide_context(account);
        account
    }

    pub fn expect() -> Self {
        expect_context::<Self>()
    }

    pub fn signed_in(&self, session: Session) {
        self.notice.set(None);
        self.session.set(Some(session));
    }

    /// Back to the landing page, with a reason when the person did not ask for it.
    pub fn signed_out(&self, notice: Option<String>) {
        self.notice.try_set(notice);
        self.session.try_set(None);
    }
}
