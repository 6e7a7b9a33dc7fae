//! `GET /api/openapi.json`: the REST API's OpenAPI 3.1 document, generated from the handlers'
//! annotations and the wire types, so it cannot drift from the code.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::{auth, conversations, health, users};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "natter", description = "Real-time chat: REST API. The live events travel over `/ws` (see docs/PROTOCOL.md) and Socket.IO."),
    paths(
        health::healthz,
        health::readyz,
        auth::register,
        auth::login,
        auth::logout,
        auth::me,
        users::search_users,
        conversations::list_conversations,
        conversations::create_conversation,
        conversations::get_conversation,
        conversations::list_messages,
        conversations::post_message,
        conversations::mark_read,
    ),
    modifiers(&Security),
)]
pub struct ApiDoc;

/// Bearer tokens (API and socket clients) and the session cookie (browsers).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(natter::auth::COOKIE_NAME))),
        );
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi))
}

/// `GET /api/openapi.json`: this API, described.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
