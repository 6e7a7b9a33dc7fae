//! `GET /api/openapi.json`: the REST API's OpenAPI 3.1 document, generated from the handlers'
//! annotations and the wire types, so it cannot drift from the code. The handlers annotate
//! what they decide; the modifiers here add, each once, what no single handler owns: the
//! security schemes, the rules of [`natter::protocol::limits`] on the request schemas
//! (utoipa's validation attributes take literals only, so they are written here from the
//! constants), the refusals every operation shares (from `credentials`, the extractors and
//! `guard`), and the links a client (or a stateful test) follows from what one call returns to
//! the next call.

use std::collections::BTreeMap;

use axum::routing::get;
use axum::{Json, Router};
use natter::protocol::Seq;
use natter::protocol::limits::{
    CLIENT_ID_MAX_LEN, DEFAULT_MAX_GROUP_MEMBERS, DEFAULT_MESSAGE_MAX_CHARS, DEFAULT_PAGE,
    GROUP_TITLE_MAX_CHARS, MAX_PAGE, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, USERNAME_MAX_CHARS,
    USERNAME_MIN_CHARS,
};
use serde_json::{Value, json};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{
    AdditionalProperties, Object, ObjectBuilder, OneOfBuilder, Schema, Type,
};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Ref, RefOr, Required, Response, ResponseBuilder,
};
use utoipa::{Modify, OpenApi};

use crate::http::{auth, conversations, health, push, users};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "natter", description = "Real-time chat: REST API. The live events travel over `/ws` (see docs/PROTOCOL.md) and Socket.IO.\n\nEvery error is `ErrorView` JSON (`{code, message}`), also where no operation below says so: an unknown path under `/api/` answers 404 `notFound`, a method a path does not support 405 `methodNotAllowed` with `Allow`, a request not read and answered within the server's timeout 408 `requestTimeout` (see `components.responses`)."),
    paths(
        health::healthz,
        health::readyz,
        auth::register,
        auth::login,
        auth::logout,
        auth::me,
        users::search_users,
        users::settings,
        users::set_settings,
        conversations::list_conversations,
        conversations::create_conversation,
        conversations::get_conversation,
        conversations::list_messages,
        conversations::post_message,
        conversations::mark_read,
        conversations::rename_conversation,
        conversations::add_member,
        conversations::remove_member,
        conversations::leave_group,
        conversations::make_admin,
        push::public_key,
        push::subscribe,
        push::unsubscribe,
    ),
    modifiers(&Security, &Rules, &Refusals, &Links),
)]
pub struct ApiDoc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi))
}

/// `GET /api/openapi.json`: this API, described.
async fn openapi() -> Json<Value> {
    Json(document())
}

/// The document as served, with two corrections utoipa 5.5 cannot make itself: every
/// response header listed is always sent with its response (`WWW-Authenticate` on a 401,
/// `Retry-After` on a 429 or 503), which its `Header` has no field to say, so it is marked
/// `required`; and its `Link` names its fields in snake case, which no client reads
/// (`operationId`, `requestBody`).
fn document() -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi())
        .expect("an OpenAPI document has string keys and plain values");
    let operations = doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for operation in operations {
        let responses = operation
            .get_mut("responses")
            .and_then(Value::as_object_mut);
        for response in responses.into_iter().flat_map(|r| r.values_mut()) {
            let headers = response.get_mut("headers").and_then(Value::as_object_mut);
            for header in headers.into_iter().flat_map(|h| h.values_mut()) {
                header["required"] = Value::Bool(true);
            }
            let links = response.get_mut("links").and_then(Value::as_object_mut);
            for link in links.into_iter().flat_map(|l| l.values_mut()) {
                let Some(link) = link.as_object_mut() else {
                    continue;
                };
                for (snake, camel) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(value) = link.remove(snake) {
                        link.insert(camel.to_owned(), value);
                    }
                }
            }
        }
    }
    doc
}

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

/// Unicode `White_Space`, what Rust's `str::trim` removes, spelled out so that every regex
/// dialect (ECMA-262, Python's, Rust's) reads the same set.
const WHITE_SPACE: &str =
    r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// Unicode `Cc`, what `char::is_control` means.
const CONTROL: &str = r"\x00-\x1F\x7F-\x9F";

/// Text of 1 to `max_chars` characters once trimmed, with only `inner` characters (each
/// counted as one) between its first and last visible ones; around them, any white space
/// (trimming removes it, controls included). The length is in the pattern, not in
/// `minLength`/`maxLength`: those would count the white space around the text, which the
/// server does not.
fn visible_text_pattern(inner: &str, max_chars: usize) -> String {
    let visible = format!("[^{WHITE_SPACE}{CONTROL}]");
    let rest = match max_chars {
        0 | 1 => String::new(),
        _ => format!("(?:{inner}{{0,{}}}{visible})?", max_chars - 2),
    };
    format!("^[{WHITE_SPACE}]*{visible}{rest}[{WHITE_SPACE}]*$")
}

/// `limits::check_message`: no control character but line break and tab (a `\r\n` counts as
/// one line break).
fn message_pattern(max_chars: usize) -> String {
    visible_text_pattern(r"(?:[^\x00-\x08\x0B-\x1F\x7F-\x9F]|\r\n)", max_chars)
}

/// The user search (`Chat::search_users`): no control character at all.
fn search_pattern(max_chars: usize) -> String {
    visible_text_pattern(&format!("[^{CONTROL}]"), max_chars)
}

/// `limits::check_username`: a letter or digit, then letters, digits, `_`, `-`, `.`.
const USERNAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]*$";
/// `limits::is_client_id`.
const CLIENT_ID_PATTERN: &str = "^[A-Za-z0-9_:.-]+$";

/// A user name as `limits::check_username` accepts it.
fn username(object: &mut Object) {
    object.min_length = Some(USERNAME_MIN_CHARS);
    object.max_length = Some(USERNAME_MAX_CHARS);
    object.pattern = Some(USERNAME_PATTERN.to_owned());
}

/// A query parameter of a handler's `Query` (its `IntoParams`).
pub(crate) fn query(name: &str, required: bool, description: &str, schema: Object) -> Parameter {
    let required = if required {
        Required::True
    } else {
        Required::False
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(required)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// `limit` of a page of history or of a user search: 1 to [`MAX_PAGE`].
pub(crate) fn page_size() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(1))
        .maximum(Some(MAX_PAGE))
        .build()
}

/// `limit` of a page of history: [`page_size`], [`DEFAULT_PAGE`] when absent.
pub(crate) fn history_page_size() -> Object {
    let mut object = page_size();
    object.default = Some(json!(DEFAULT_PAGE));
    object
}

/// `before` of a page of history: a message's `seq`, so 1 or more.
pub(crate) fn seq_before() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(Seq::ZERO.next().0))
        .build()
}

/// `q` of the user search: a name prefix, trimmed 1 to a name's length, no control
/// character.
pub(crate) fn search_prefix() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(search_pattern(USERNAME_MAX_CHARS)))
        .build()
}

/// The rules the server enforces, on the request schemas.
struct Rules;

impl Modify for Rules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let schemas = &mut openapi
            .components
            .get_or_insert_with(Default::default)
            .schemas;
        let credentials = object(schemas, "Credentials");
        username(property(credentials, "username"));
        let password = property(credentials, "password");
        password.min_length = Some(PASSWORD_MIN_CHARS);
        password.max_length = Some(PASSWORD_MAX_CHARS);
        password.description = Some(format!(
            "{PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters. To register, also not \
             the username, nor common or easy to guess (422 `invalidPassword`)"
        ));

        let post = object(schemas, "PostMessageRequest");
        let message = property(post, "message");
        message.pattern = Some(message_pattern(DEFAULT_MESSAGE_MAX_CHARS));
        message.description = Some(format!(
            "Stored trimmed, with `\\r\\n` as `\\n`; then 1 to {DEFAULT_MESSAGE_MAX_CHARS} \
             characters (the server's `--max-message-chars`; longer: 413 `messageTooLong`), \
             and no control character but line break and tab"
        ));
        let client_id = property(post, "clientId");
        client_id.min_length = Some(1);
        client_id.max_length = Some(CLIENT_ID_MAX_LEN);
        client_id.pattern = Some(CLIENT_ID_PATTERN.to_owned());
        client_id.description = Some(
            "The sender's id for this message (a UUID fits): a retry with the same id is \
             answered with the message already stored"
                .to_owned(),
        );

        let seq = object(schemas, "Seq");
        seq.minimum = Some(Seq::ZERO.0.into());

        let rename = object(schemas, "RenameRequest");
        title(property(rename, "title"));

        one_of_target(schemas);
        one_of_member(schemas);
    }
}

/// A group title as `limits::check_title` accepts it.
fn title(object: &mut Object) {
    object.pattern = Some(search_pattern(GROUP_TITLE_MAX_CHARS));
    object.description = Some(format!(
        "Stored trimmed; then 1 to {GROUP_TITLE_MAX_CHARS} characters, no control character \
         (else 422 `invalidTitle`)"
    ));
}

/// `AddMemberRequest` names the user by exactly one of `userId` and `username`.
fn one_of_member(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let request = object(schemas, "AddMemberRequest");
    let (description, examples) = (request.description.take(), request.examples.clone());
    let null = || ObjectBuilder::new().schema_type(Type::Null);
    let mut name = ObjectBuilder::new().schema_type(Type::String).build();
    username(&mut name);
    let by_id = ObjectBuilder::new()
        .property("userId", Ref::from_schema_name("UserId"))
        .required("userId")
        .property("username", null())
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let by_name = ObjectBuilder::new()
        .property("username", name)
        .required("username")
        .property("userId", null())
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    schemas.insert(
        "AddMemberRequest".to_owned(),
        OneOfBuilder::new()
            .description(description)
            .examples(examples)
            .item(by_id)
            .item(by_name)
            .into(),
    );
}

/// `CreateConversationRequest` names the other member by exactly one of `user2_id` and
/// `username` (the other absent or `null`), or is a group (`title`, and the members by
/// `memberIds` and/or `usernames`): three shapes, not one object with five optionals.
fn one_of_target(schemas: &mut BTreeMap<String, RefOr<Schema>>) {
    let request = object(schemas, "CreateConversationRequest");
    let (description, examples) = (request.description.take(), request.examples.clone());
    let null = || ObjectBuilder::new().schema_type(Type::Null);
    let mut name = ObjectBuilder::new().schema_type(Type::String).build();
    username(&mut name);
    // Each shape also takes the others' fields as `null` (absent, as the server reads them).
    let by_id = ObjectBuilder::new()
        .property("user2_id", Ref::from_schema_name("UserId"))
        .required("user2_id")
        .property("username", null())
        .property("title", null())
        .property("memberIds", null())
        .property("usernames", null())
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let by_name = ObjectBuilder::new()
        .property("username", name)
        .required("username")
        .property("user2_id", null())
        .property("title", null())
        .property("memberIds", null())
        .property("usernames", null())
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    let or_null = |schema: utoipa::openapi::schema::ArrayBuilder| {
        OneOfBuilder::new().item(schema).item(null())
    };
    let mut group_title = ObjectBuilder::new().schema_type(Type::String).build();
    title(&mut group_title);
    let mut member_name = ObjectBuilder::new().schema_type(Type::String).build();
    username(&mut member_name);
    let group = ObjectBuilder::new()
        .description(Some(format!(
            "A group: the caller and the users named (at least one other; unknown: 404 \
             `userNotFound`; none: 422 `invalidPayload`; more than the server's \
             `--max-group-members`, {DEFAULT_MAX_GROUP_MEMBERS} by default, with the caller: \
             422 `tooManyMembers`)"
        )))
        .property("title", group_title)
        .required("title")
        .property(
            "memberIds",
            or_null(
                utoipa::openapi::schema::ArrayBuilder::new().items(Ref::from_schema_name("UserId")),
            ),
        )
        .property(
            "usernames",
            or_null(utoipa::openapi::schema::ArrayBuilder::new().items(member_name)),
        )
        .property("user2_id", null())
        .property("username", null())
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    schemas.insert(
        "CreateConversationRequest".to_owned(),
        OneOfBuilder::new()
            .description(description)
            .examples(examples)
            .item(by_id)
            .item(by_name)
            .item(group)
            .into(),
    );
}

fn object<'a>(schemas: &'a mut BTreeMap<String, RefOr<Schema>>, name: &str) -> &'a mut Object {
    match schemas.get_mut(name) {
        Some(RefOr::T(Schema::Object(object))) => object,
        _ => panic!("the document has no object schema {name}"),
    }
}

fn property<'a>(object: &'a mut Object, name: &str) -> &'a mut Object {
    match object.properties.get_mut(name) {
        Some(RefOr::T(Schema::Object(property))) => property,
        _ => panic!("the schema has no plain property {name}"),
    }
}

/// What every operation may be refused with before its handler decides anything: a missing
/// or bad credential (`CurrentUser`), a cross-site cookie-authenticated write
/// (`guard::same_origin_writes`), a body that is too big, not JSON or not the request's
/// schema, a path or query that does not parse (the extractors, `error.rs`). Also the headers
/// that always come with a status.
struct Refusals;

impl Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let reads = [&mut item.get, &mut item.head, &mut item.options];
            for operation in reads.into_iter().flatten() {
                refuse_at_the_edge(operation);
            }
            let writes = [
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in writes.into_iter().flatten() {
                refusal(
                    operation,
                    403,
                    "`foreignOrigin`: a write riding on the session cookie, from another site",
                );
                refuse_at_the_edge(operation);
            }
        }
        let responses = &mut openapi
            .components
            .get_or_insert_with(Default::default)
            .responses;
        for (name, status, description) in [
            ("NotFound", 404, "`notFound`: no such path under `/api/`"),
            (
                "MethodNotAllowed",
                405,
                "`methodNotAllowed`: the path exists; `Allow` lists its methods",
            ),
            (
                "RequestTimeout",
                408,
                "`requestTimeout`: not read and answered within the server's request timeout",
            ),
        ] {
            let mut response = error_response(description);
            if status == 405 {
                response.headers.insert(
                    "Allow".to_owned(),
                    HeaderBuilder::new()
                        .schema(ObjectBuilder::new().schema_type(Type::String))
                        .description(Some("The methods the path supports"))
                        .build(),
                );
            }
            responses.insert(name.to_owned(), response.into());
        }
    }
}

fn refuse_at_the_edge(operation: &mut Operation) {
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        refusal(
            operation,
            401,
            "`unauthenticated`, `invalidToken`, `tokenExpired`",
        );
    }
    let parses_input = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
    if parses_input {
        refusal(
            operation,
            400,
            "`invalidQuery`: a path or query parameter that does not parse",
        );
    }
    if operation.request_body.is_some() {
        refusal(operation, 400, "`invalidPayload`: the body is not JSON");
        refusal(
            operation,
            413,
            "`payloadTooLarge`: the body is over the server's size limit",
        );
        refusal(
            operation,
            415,
            "`invalidPayload`: the body is not `application/json`",
        );
        refusal(
            operation,
            422,
            "`invalidPayload`: the body does not match the request schema",
        );
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let header = match status.as_str() {
            "401" => Some((
                "WWW-Authenticate",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^Bearer")),
                "`Bearer`: send a token (`Authorization: Bearer <token>`)",
            )),
            "429" | "503" => Some((
                "Retry-After",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1)),
                "Seconds to wait before trying again",
            )),
            _ => None,
        };
        if let Some((name, schema, description)) = header {
            response.headers.insert(
                name.to_owned(),
                HeaderBuilder::new()
                    .schema(schema)
                    .description(Some(description))
                    .build(),
            );
        }
    }
}

/// Lists `status` with the code `description` starts with, or adds that code to the response
/// already listed.
fn refusal(operation: &mut Operation, status: u16, description: &str) {
    let responses = &mut operation.responses.responses;
    match responses.get_mut(&status.to_string()) {
        Some(RefOr::T(listed)) => {
            let code = description.split(':').next().unwrap_or(description);
            if !listed.description.contains(code) {
                listed.description = format!("{}; {description}", listed.description);
            }
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            responses.insert(status.to_string(), error_response(description).into());
        }
    }
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorView")))
                .build(),
        )
        .build()
}

/// From a new account to signing in as it and to a conversation with it (as another user),
/// from a conversation to its operations, and from a posted message to reading up to it and
/// to the history before it.
struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let conversation_id = |operation_id: &str| {
            LinkBuilder::new()
                .operation_id(operation_id)
                .parameter("id", "$response.body#/id")
                .build()
        };
        let created = openapi
            .paths
            .paths
            .get_mut("/api/conversations")
            .and_then(|item| item.post.as_mut())
            .expect("POST /api/conversations is documented");
        for status in ["200", "201"] {
            if let Some(RefOr::T(response)) = created.responses.responses.get_mut(status) {
                for (name, target) in [
                    ("GetConversation", "get_conversation"),
                    ("ListMessages", "list_messages"),
                    ("PostMessage", "post_message"),
                    ("MarkRead", "mark_read"),
                    ("RenameConversation", "rename_conversation"),
                    ("AddMember", "add_member"),
                    ("MakeAdmin", "make_admin"),
                    ("LeaveGroup", "leave_group"),
                ] {
                    response
                        .links
                        .insert(name.to_owned(), conversation_id(target).into());
                }
                response.links.insert(
                    "RemoveMember".to_owned(),
                    LinkBuilder::new()
                        .operation_id("remove_member")
                        .parameter("id", "$response.body#/id")
                        .parameter("userId", "$response.body#/members/1/id")
                        .build()
                        .into(),
                );
            }
        }
        let registered = openapi
            .paths
            .paths
            .get_mut("/api/auth/register")
            .and_then(|item| item.post.as_mut())
            .expect("POST /api/auth/register is documented");
        if let Some(RefOr::T(response)) = registered.responses.responses.get_mut("201") {
            response.links.insert(
                "StartConversation".to_owned(),
                LinkBuilder::new()
                    .operation_id("create_conversation")
                    .request_body(Some(json!({"user2_id": "$response.body#/user/id"})))
                    .build()
                    .into(),
            );
            response.links.insert(
                "Login".to_owned(),
                LinkBuilder::new()
                    .operation_id("login")
                    .request_body(Some(json!({
                        "username": "$request.body#/username",
                        "password": "$request.body#/password",
                    })))
                    .build()
                    .into(),
            );
        }
        let posted = openapi
            .paths
            .paths
            .get_mut("/api/conversations/{id}/messages")
            .and_then(|item| item.post.as_mut())
            .expect("POST /api/conversations/{id}/messages is documented");
        for status in ["200", "201"] {
            if let Some(RefOr::T(response)) = posted.responses.responses.get_mut(status) {
                response.links.insert(
                    "MarkRead".to_owned(),
                    LinkBuilder::new()
                        .operation_id("mark_read")
                        .parameter("id", "$request.path.id")
                        .request_body(Some(json!({"seq": "$response.body#/seq"})))
                        .build()
                        .into(),
                );
                response.links.insert(
                    "ListMessagesBefore".to_owned(),
                    LinkBuilder::new()
                        .operation_id("list_messages")
                        .parameter("id", "$request.path.id")
                        .parameter("before", "$response.body#/seq")
                        .build()
                        .into(),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use natter::protocol::limits::{check_message, check_username, is_client_id};
    use regex::Regex;

    use super::*;

    /// Strings on both sides of each rule: around the trimming, the controls that are white
    /// space, `\r\n`, the first character of a name, the lengths (checked at 1, 2 and 5).
    const SAMPLES: &[&str] = &[
        "alice",
        "Al1ce_x.y-z",
        "_alice",
        ".a",
        "a b",
        "ab",
        "bob<script>",
        " alice",
        "alice\n",
        "é",
        "héllo",
        "  hi \n",
        " \n\t ",
        "",
        "a\r\nb\tc",
        "a\rb",
        "\ra",
        "a\r",
        "a\0b",
        "\u{1b}[31mred",
        "x\u{7f}",
        "a\u{85}b",
        "\u{85}a\u{85}",
        "\u{b}a\u{c}",
        "a\u{b}b",
        "\u{a0}a\u{3000}",
        "\u{feff}",
        "\u{200b}",
        "a\u{2028}b",
        "\u{1c}a",
        "6f1c3a52-8f7e",
        "urn:x.y_z",
        "has space",
        "<x>",
        "x",
    ];

    fn matches(pattern: &str, text: &str) -> bool {
        Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn the_message_pattern_accepts_exactly_what_check_message_accepts() {
        for max in [1, 2, 5] {
            let pattern = message_pattern(max);
            for sample in SAMPLES {
                assert_eq!(
                    matches(&pattern, sample),
                    check_message(sample, max).is_ok(),
                    "{sample:?} within {max}"
                );
            }
        }
    }

    #[test]
    fn the_search_pattern_accepts_exactly_a_trimmed_prefix_without_controls() {
        for max in [1, 2, 5] {
            let pattern = search_pattern(max);
            for sample in SAMPLES {
                let trimmed = sample.trim();
                let accepted = (1..=max).contains(&trimmed.chars().count())
                    && !trimmed.chars().any(char::is_control);
                assert_eq!(
                    matches(&pattern, sample),
                    accepted,
                    "{sample:?} within {max}"
                );
            }
        }
    }

    #[test]
    fn the_username_and_client_id_patterns_spell_their_rules() {
        for sample in SAMPLES {
            let length = (USERNAME_MIN_CHARS..=USERNAME_MAX_CHARS).contains(&sample.len());
            assert_eq!(
                matches(USERNAME_PATTERN, sample) && length,
                check_username(sample) == Ok(*sample),
                "{sample:?}"
            );
            assert_eq!(
                matches(CLIENT_ID_PATTERN, sample) && sample.len() <= CLIENT_ID_MAX_LEN,
                is_client_id(sample),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn the_document_is_complete_without_panicking() {
        let doc = document();
        assert!(doc["paths"]["/api/users"]["get"].is_object());
    }
}
