//! Conversations and their messages. The same `Chat` calls as the sockets: a message posted
//! here is broadcast to the room exactly like one sent over a socket.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use natter::protocol::{
    AddMemberRequest, ConversationId, ConversationView, CreateConversationRequest, ErrorView,
    MakeAdminRequest, MarkReadRequest, MessagePage, MessageView, PostMessageRequest, ReadMark,
    RenameRequest, Seq, UserId,
};
use natter::{Opening, Target};
use serde::Deserialize;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::credentials::CurrentUser;
use crate::http::body::JsonBody;
use crate::http::error::ApiError;
use crate::http::openapi;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/conversations",
            get(list_conversations).post(create_conversation),
        )
        .route(
            "/api/conversations/{id}",
            get(get_conversation).patch(rename_conversation),
        )
        .route("/api/conversations/{id}/members", post(add_member))
        .route("/api/conversations/{id}/members/me", delete(leave_group))
        .route(
            "/api/conversations/{id}/members/{user_id}",
            delete(remove_member),
        )
        .route("/api/conversations/{id}/admins", post(make_admin))
        .route("/api/conversations/{id}/read", post(mark_read))
        .route(
            "/api/conversations/{id}/messages",
            get(list_messages).post(post_message),
        )
}

/// `GET /api/conversations`: the caller's conversations, most recently active first, each with
/// its members and last message.
#[utoipa::path(get, path = "/api/conversations", tag = "conversations", security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The caller's conversations", body = [ConversationView]),
    ))]
pub(crate) async fn list_conversations(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
) -> Result<Json<Vec<ConversationView>>, ApiError> {
    Ok(Json(state.chat.conversations(&me).await?))
}

/// `POST /api/conversations` with `{"user2_id": n}` or `{"username": "…"}`: 201 with a new
/// conversation (announced to both members), 200 with the existing one; 404 unknown user, 422
/// for yourself. With `{"title": "…", "memberIds": […]}` (and/or `"usernames"`): 201 with a new
/// group of the caller (its admin) and those members, announced to all of them.
#[utoipa::path(post, path = "/api/conversations", tag = "conversations", request_body = CreateConversationRequest,
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Created and announced to every member (a one-to-one conversation or a group)", body = ConversationView),
        (status = 200, description = "The existing one-to-one conversation of the two users", body = ConversationView),
        (status = 404, description = "`userNotFound`", body = ErrorView),
        (status = 422, description = "`cannotMessageSelf`, `invalidTitle`, `tooManyMembers`, `invalidPayload`", body = ErrorView),
        (status = 429, description = "`rateLimited`: too many new conversations", body = ErrorView),
    ))]
pub(crate) async fn create_conversation(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    body: Result<JsonBody<CreateConversationRequest>, ApiError>,
) -> Result<(StatusCode, Json<ConversationView>), ApiError> {
    let JsonBody(request) = body?;
    let opening = Opening::from_parts(
        request.user2_id,
        request.username,
        request.title,
        request.member_ids,
        request.usernames,
    )?;
    let opened = state.chat.open(&me, opening).await?;
    let status = if opened.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(opened.conversation)))
}

/// `GET /api/conversations/{id}`: one conversation; 403 if the caller is not a member, 404 if
/// it does not exist.
#[utoipa::path(get, path = "/api/conversations/{id}", tag = "conversations", params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 403, description = "`notMember`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`", body = ErrorView),
    ))]
pub(crate) async fn get_conversation(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<ConversationView>, ApiError> {
    let Path(id) = id?;
    Ok(Json(
        state.chat.conversation(&me, ConversationId(id)).await?,
    ))
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    before: Option<i64>,
    limit: Option<i64>,
}

impl utoipa::IntoParams for PageQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            openapi::query(
                "before",
                false,
                "Only messages with a smaller `seq` (default: the newest)",
                openapi::seq_before(),
            ),
            openapi::query(
                "limit",
                false,
                "At most this many",
                openapi::history_page_size(),
            ),
        ]
    }
}

/// `GET /api/conversations/{id}/messages?before=<seq>&limit=<n>`: up to `limit` (default 50,
/// at most 200) messages older than `before` (newest when absent), oldest first, and `hasMore`.
#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "messages",
    params(("id" = i64, Path, description = "Conversation id"), PageQuery),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "A page of history, oldest first", body = MessagePage),
        (status = 400, description = "`invalidQuery`: `before` or `limit` out of range", body = ErrorView),
        (status = 403, description = "`notMember`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`", body = ErrorView),
    ))]
pub(crate) async fn list_messages(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let (Path(id), Query(page)) = (id?, query?);
    Ok(Json(
        state
            .chat
            .history(&me, ConversationId(id), page.before.map(Seq), page.limit)
            .await?,
    ))
}

/// `POST /api/conversations/{id}/messages` with `{"message": "…", "clientId": "…"}`: stores and
/// broadcasts; 201 with the message, or 200 with the original when `clientId` was already used
/// for it (a retry); 422 empty, 413 too long, 403 not a member, 409 `clientIdReused`.
#[utoipa::path(post, path = "/api/conversations/{id}/messages", tag = "messages", request_body = PostMessageRequest,
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 201, description = "Stored and broadcast to the room", body = MessageView),
        (status = 200, description = "A retry: the message first stored with this clientId", body = MessageView),
        (status = 403, description = "`notMember`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`", body = ErrorView),
        (status = 409, description = "`clientIdReused`", body = ErrorView),
        (status = 413, description = "`messageTooLong`, `payloadTooLarge`", body = ErrorView),
        (status = 422, description = "`emptyMessage`, `invalidClientId`, `invalidPayload`", body = ErrorView),
        (status = 429, description = "`rateLimited`", body = ErrorView),
    ))]
pub(crate) async fn post_message(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
    body: Result<JsonBody<PostMessageRequest>, ApiError>,
) -> Result<(StatusCode, Json<MessageView>), ApiError> {
    let (Path(id), JsonBody(request)) = (id?, body?);
    let posted = state
        .chat
        .send(
            &me,
            ConversationId(id),
            &request.message,
            request.client_id.as_deref(),
        )
        .await?;
    let status = if posted.fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(posted.message)))
}

/// `POST /api/conversations/{id}/read` with `{"seq": n}`: moves the caller's read mark forward
/// to `seq` (capped at the newest message, never back); the other members' connections get
/// `conversationRead`. Answers the mark as it now stands.
#[utoipa::path(post, path = "/api/conversations/{id}/read", tag = "conversations", request_body = MarkReadRequest,
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The caller's read mark", body = ReadMark),
        (status = 403, description = "`notMember`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`", body = ErrorView),
        (status = 422, description = "`invalidPayload` (negative seq)", body = ErrorView),
    ))]
pub(crate) async fn mark_read(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
    body: Result<JsonBody<MarkReadRequest>, ApiError>,
) -> Result<Json<ReadMark>, ApiError> {
    let (Path(id), JsonBody(request)) = (id?, body?);
    Ok(Json(
        state
            .chat
            .mark_read(&me, ConversationId(id), request.seq)
            .await?,
    ))
}

/// `PATCH /api/conversations/{id}` with `{"title": "…"}`: an admin renames a group (the
/// members' timeline gets a `renamed` entry). Answers the group.
#[utoipa::path(patch, path = "/api/conversations/{id}", tag = "groups", request_body = RenameRequest,
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The group, renamed", body = ConversationView),
        (status = 403, description = "`notMember`, `notAdmin`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`", body = ErrorView),
        (status = 409, description = "`notGroup`: a one-to-one conversation has no title", body = ErrorView),
        (status = 422, description = "`invalidTitle`", body = ErrorView),
    ))]
pub(crate) async fn rename_conversation(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
    body: Result<JsonBody<RenameRequest>, ApiError>,
) -> Result<Json<ConversationView>, ApiError> {
    let (Path(id), JsonBody(request)) = (id?, body?);
    Ok(Json(
        state
            .chat
            .rename_group(&me, ConversationId(id), &request.title)
            .await?,
    ))
}

/// `POST /api/conversations/{id}/members` with `{"userId": n}` or `{"username": "…"}`: an admin
/// adds a user to a group; the new member's connections get `conversationCreated`. Answers
/// the group.
#[utoipa::path(post, path = "/api/conversations/{id}/members", tag = "groups", request_body = AddMemberRequest,
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The group, with the new member", body = ConversationView),
        (status = 403, description = "`notMember`, `notAdmin`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`, `userNotFound`", body = ErrorView),
        (status = 409, description = "`notGroup`, `alreadyMember`", body = ErrorView),
        (status = 422, description = "`tooManyMembers`, `invalidPayload`", body = ErrorView),
    ))]
pub(crate) async fn add_member(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
    body: Result<JsonBody<AddMemberRequest>, ApiError>,
) -> Result<Json<ConversationView>, ApiError> {
    let (Path(id), JsonBody(request)) = (id?, body?);
    let target = Target::from_parts(request.user_id, request.username).map_err(|_| {
        natter::ChatError::InvalidPayload(
            "name the user to add: either `userId` or `username`".into(),
        )
    })?;
    Ok(Json(
        state
            .chat
            .add_member(&me, ConversationId(id), target)
            .await?,
    ))
}

/// `DELETE /api/conversations/{id}/members/{userId}`: an admin removes a member (naming
/// oneself is leaving); the removed member's connections leave the room and get
/// `removedFromConversation`. 204.
#[utoipa::path(delete, path = "/api/conversations/{id}/members/{userId}", tag = "groups",
    params(("id" = i64, Path, description = "Conversation id"), ("userId" = i64, Path, description = "The member to remove")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "`notMember`, `notAdmin`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`, `memberNotFound`", body = ErrorView),
        (status = 409, description = "`notGroup`", body = ErrorView),
    ))]
pub(crate) async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    ids: Result<Path<(i64, i64)>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path((id, user)) = ids?;
    state
        .chat
        .remove_member(&me, ConversationId(id), UserId(user))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/conversations/{id}/members/me`: the caller leaves a group; when they were its
/// last admin, the longest-standing member left becomes one. 204.
#[utoipa::path(delete, path = "/api/conversations/{id}/members/me", tag = "groups",
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Left"),
        (status = 403, description = "`notMember`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`", body = ErrorView),
        (status = 409, description = "`notGroup`: a one-to-one conversation cannot be left", body = ErrorView),
    ))]
pub(crate) async fn leave_group(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    state.chat.leave_group(&me, ConversationId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/conversations/{id}/admins` with `{"userId": n}`: an admin makes a member an admin
/// too. Answers the group.
#[utoipa::path(post, path = "/api/conversations/{id}/admins", tag = "groups", request_body = MakeAdminRequest,
    params(("id" = i64, Path, description = "Conversation id")),
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The group", body = ConversationView),
        (status = 403, description = "`notMember`, `notAdmin`", body = ErrorView),
        (status = 404, description = "`conversationNotFound`, `memberNotFound`", body = ErrorView),
        (status = 409, description = "`notGroup`", body = ErrorView),
    ))]
pub(crate) async fn make_admin(
    State(state): State<AppState>,
    CurrentUser(me): CurrentUser,
    id: Result<Path<i64>, PathRejection>,
    body: Result<JsonBody<MakeAdminRequest>, ApiError>,
) -> Result<Json<ConversationView>, ApiError> {
    let (Path(id), JsonBody(request)) = (id?, body?);
    Ok(Json(
        state
            .chat
            .make_admin(&me, ConversationId(id), request.user_id)
            .await?,
    ))
}
