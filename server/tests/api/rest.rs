//! The REST API: round trips, cookies, statuses and error bodies.

use natter::protocol::limits::{
    CLIENT_ID_MAX_LEN, DEFAULT_MESSAGE_MAX_CHARS, MAX_PAGE, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS,
    USERNAME_MAX_CHARS, USERNAME_MIN_CHARS,
};
use natter::store::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::api::PASSWORD;
use crate::support::app::TestApp;

async fn accounts_register_log_in_and_out(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let register = |name: &str, password: &str| {
        let body = json!({"username": name, "password": password});
        let app = &app;
        async move {
            app.call(Method::POST, "/api/auth/register", None, Some(body))
                .await
        }
    };
    let (status, body) = register("Alice", PASSWORD).await;
    assert_eq!(status, 201);
    assert_eq!(body["user"]["username"], "Alice");
    assert!(body["token"].as_str().unwrap().len() > 20);
    let (status, body) = register("alice", PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("usernameTaken"))
    );
    let (status, body) = register("a!", PASSWORD).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalidUsername"))
    );
    let (status, body) = register("carol", "short").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalidPassword"))
    );

    // Browser flow: the cookie alone authenticates, and logout ends it.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = browser
        .post(app.url("/api/auth/login"))
        .json(&json!({"username": "ALICE", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("natter_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let me: Value = browser
        .get(app.url("/api/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "Alice");
    assert_eq!(
        browser
            .post(app.url("/api/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        browser
            .get(app.url("/api/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let (status, body) = app
        .call(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"username": "alice", "password": "wrong password"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("wrongCredentials"))
    );
    let (status, body) = app.call(Method::GET, "/api/me", None, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
}

async fn conversations_and_messages_round_trip(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let (status, created) = app
        .call(
            Method::POST,
            "/api/conversations",
            Some(&alice),
            Some(json!({"username": "Bob"})),
        )
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_i64().unwrap();
    assert_eq!(created["room"], format!("conversation_{id}"));
    let (status, again) = app
        .call(
            Method::POST,
            "/api/conversations",
            Some(&bob),
            Some(json!({"user2_id": alice.id})),
        )
        .await;
    assert_eq!((status, again["id"].as_i64()), (200, Some(id)));

    let messages = format!("/api/conversations/{id}/messages");
    for i in 1..=5 {
        let (status, posted) = app
            .call(
                Method::POST,
                &messages,
                Some(&alice),
                Some(json!({"message": format!("m{i}")})),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(posted["seq"], i);
        assert_eq!(posted["convId"], id);
        assert!(posted["createdAt"].as_str().unwrap().contains('T'));
        assert!(posted.get("clientId").is_none());
    }
    let (status, page) = app
        .call(
            Method::GET,
            &format!("{messages}?limit=2"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let seqs = |page: &Value| {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["seq"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (seqs(&page), page["hasMore"].as_bool()),
        (vec![4, 5], Some(true))
    );
    let (_, older) = app
        .call(
            Method::GET,
            &format!("{messages}?before=4&limit=10"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(
        (seqs(&older), older["hasMore"].as_bool()),
        (vec![1, 2, 3], Some(false))
    );

    let (_, list) = app
        .call(Method::GET, "/api/conversations", Some(&bob), None)
        .await;
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["lastMessage"]["message"], "m5");
    let names: Vec<_> = list[0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["username"].clone())
        .collect();
    assert_eq!(names, [json!("alice"), json!("bob")]);
    let (status, one) = app
        .call(
            Method::GET,
            &format!("/api/conversations/{id}"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!((status, one["id"].as_i64()), (200, Some(id)));

    let (_, found) = app
        .call(Method::GET, "/api/users?q=b", Some(&alice), None)
        .await;
    assert_eq!(found, json!([{"id": bob.id, "username": "bob"}]));
}

async fn a_stranger_can_neither_read_nor_post(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (alice, bob, eve) = (
        app.register("alice").await,
        app.register("bob").await,
        app.register("eve").await,
    );
    let id = app.conversation(&alice, &bob).await.id.0;
    for (method, path, body) in [
        (Method::GET, format!("/api/conversations/{id}"), None),
        (
            Method::GET,
            format!("/api/conversations/{id}/messages"),
            None,
        ),
        (
            Method::POST,
            format!("/api/conversations/{id}/messages"),
            Some(json!({"message": "hi"})),
        ),
    ] {
        let (status, error) = app.call(method, &path, Some(&eve), body).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (403, Some("notMember")),
            "{path}"
        );
    }
    let (_, list) = app
        .call(Method::GET, "/api/conversations", Some(&eve), None)
        .await;
    assert_eq!(list, json!([]));
}

async fn bad_requests_get_clear_errors(engine: Engine) {
    let app = TestApp::spawn_with(engine, |c| {
        c.max_frame_bytes = 2048;
        c.max_message_chars = 100;
    })
    .await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let id = app.conversation(&alice, &bob).await.id.0;
    let messages = format!("/api/conversations/{id}/messages");
    let cases = [
        (
            Method::POST,
            messages.clone(),
            json!({"message": "  "}),
            422,
            "emptyMessage",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"message": "x".repeat(101)}),
            413,
            "messageTooLong",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"message": "x".repeat(3000)}),
            413,
            "payloadTooLarge",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"text": "wrong field"}),
            422,
            "invalidPayload",
        ),
        (
            Method::POST,
            messages.clone(),
            json!({"message": 5}),
            422,
            "invalidPayload",
        ),
        (
            Method::POST,
            "/api/conversations/999999/messages".into(),
            json!({"message": "hi"}),
            404,
            "conversationNotFound",
        ),
        (
            Method::POST,
            "/api/conversations".into(),
            json!({"user2_id": alice.id}),
            422,
            "cannotMessageSelf",
        ),
        (
            Method::POST,
            "/api/conversations".into(),
            json!({"username": "nobody"}),
            404,
            "userNotFound",
        ),
        (
            Method::POST,
            "/api/conversations".into(),
            json!({}),
            422,
            "invalidPayload",
        ),
    ];
    for (method, path, body, status, code) in cases {
        let (got, error) = app.call(method, &path, Some(&alice), Some(body)).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{path}"
        );
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    for (path, code) in [
        (format!("{messages}?limit=0"), "invalidQuery"),
        (format!("{messages}?limit=ten"), "invalidQuery"),
        ("/api/conversations/abc".to_owned(), "invalidQuery"),
        ("/api/users?q=".to_owned(), "invalidQuery"),
    ] {
        let (status, error) = app.call(Method::GET, &path, Some(&alice), None).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (400, Some(code)),
            "{path}"
        );
    }
    let malformed = app
        .http
        .post(app.url(&messages))
        .bearer_auth(&alice.token)
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let (status, error) = app
        .call(Method::GET, "/api/conversations", None, None)
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let forged = app
        .http
        .get(app.url("/api/me"))
        .bearer_auth("eyJhbGciOiJIUzI1NiJ9.e30.x")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
}

async fn healthz_reports_the_version(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (status, body) = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
}

async fn the_openapi_document_describes_every_endpoint(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (status, doc) = app.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    // (path, method, authenticated)
    let expected = [
        ("/healthz", "get", false),
        ("/api/auth/register", "post", false),
        ("/api/auth/login", "post", false),
        ("/api/auth/logout", "post", true),
        ("/api/me", "get", true),
        ("/api/users", "get", true),
        ("/api/conversations", "get", true),
        ("/api/conversations", "post", true),
        ("/api/conversations/{id}", "get", true),
        ("/api/conversations/{id}/messages", "get", true),
        ("/api/conversations/{id}/messages", "post", true),
        ("/api/conversations/{id}/read", "post", true),
        ("/api/push/key", "get", false),
        ("/api/push/subscription", "put", true),
        ("/api/push/subscription", "delete", true),
    ];
    for (path, method, authenticated) in expected {
        let operation = &doc["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let responses = &operation["responses"];
        // Parameters are where the server reads them: `{name}` in the path, the rest in the
        // query.
        for parameter in operation["parameters"].as_array().into_iter().flatten() {
            let name = parameter["name"].as_str().unwrap();
            let location = if path.contains(&format!("{{{name}}}")) {
                "path"
            } else {
                "query"
            };
            assert_eq!(parameter["in"], location, "{name} of {method} {path}");
            assert_eq!(
                parameter["required"] == json!(true),
                location == "path" || name == "q",
                "{name} of {method} {path}"
            );
        }
        assert_eq!(
            operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty()),
            authenticated,
            "{method} {path}"
        );
        if authenticated {
            assert_eq!(
                required_header(&responses["401"], "WWW-Authenticate"),
                Some("string"),
                "401 of {method} {path}"
            );
        }
        if method == "post" {
            assert!(
                responses["403"].is_object(),
                "{method} {path}: foreignOrigin"
            );
        }
        if operation["requestBody"].is_object() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses[status].is_object(), "{status} of {method} {path}");
            }
        }
        for (status, response) in responses.as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorView",
                    "{status} of {method} {path}"
                );
            }
            if status == "429" || status == "503" {
                assert_eq!(
                    required_header(response, "Retry-After"),
                    Some("integer"),
                    "{status} of {method} {path}"
                );
            }
        }
    }
    let parameters = |path: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        parameters("/api/users"),
        [("q", "query"), ("limit", "query")]
    );
    assert_eq!(
        parameters("/api/conversations/{id}/messages"),
        [("id", "path"), ("before", "query"), ("limit", "query")]
    );
    let statuses = |path: &str| {
        doc["paths"][path]["post"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    for status in ["200", "401", "422", "429", "503"] {
        assert!(
            statuses("/api/auth/login").contains(&status.to_owned()),
            "login {status}"
        );
    }
    for status in ["201", "409", "422", "429", "503"] {
        assert!(
            statuses("/api/auth/register").contains(&status.to_owned()),
            "register {status}"
        );
    }

    // The request schemas carry the rules the server enforces.
    let schemas = &doc["components"]["schemas"];
    let username = &schemas["Credentials"]["properties"]["username"];
    assert_eq!(
        (&username["minLength"], &username["maxLength"]),
        (&json!(USERNAME_MIN_CHARS), &json!(USERNAME_MAX_CHARS))
    );
    assert!(username["pattern"].is_string());
    let password = &schemas["Credentials"]["properties"]["password"];
    assert_eq!(
        (&password["minLength"], &password["maxLength"]),
        (&json!(PASSWORD_MIN_CHARS), &json!(PASSWORD_MAX_CHARS))
    );
    let post = &schemas["PostMessageRequest"]["properties"];
    // Lengths after trimming are counted in the patterns (1 visible character, up to max - 2
    // of any, 1 visible).
    let counted = |max: usize| format!("{{0,{}}}", max - 2);
    let message = post["message"]["pattern"].as_str().unwrap();
    assert!(
        message.contains(&counted(DEFAULT_MESSAGE_MAX_CHARS)),
        "{message}"
    );
    assert_eq!(post["clientId"]["maxLength"], json!(CLIENT_ID_MAX_LEN));
    assert!(post["clientId"]["pattern"].is_string());
    let shapes = schemas["CreateConversationRequest"]["oneOf"]
        .as_array()
        .unwrap();
    let required: Vec<_> = shapes.iter().map(|s| s["required"].clone()).collect();
    assert_eq!(
        required,
        [json!(["user2_id"]), json!(["username"]), json!(["title"])]
    );
    let title = &schemas["RenameRequest"]["properties"]["title"]["pattern"];
    assert!(
        title
            .as_str()
            .unwrap()
            .contains(&counted(natter::protocol::limits::GROUP_TITLE_MAX_CHARS)),
        "{title}"
    );
    assert_eq!(schemas["Seq"]["minimum"], json!(0));
    let query = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    let messages = "/api/conversations/{id}/messages";
    for (path, name) in [("/api/users", "limit"), (messages, "limit")] {
        let limit = query(path, name);
        assert_eq!(
            (&limit["minimum"], &limit["maximum"]),
            (&json!(1), &json!(MAX_PAGE))
        );
    }
    assert_eq!(query(messages, "before")["minimum"], json!(1));
    let q = query("/api/users", "q");
    let pattern = q["pattern"].as_str().unwrap();
    assert!(pattern.contains(&counted(USERNAME_MAX_CHARS)), "{q}");

    // A created conversation links to its operations (for clients and stateful tests).
    let links = &doc["paths"]["/api/conversations"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["GetConversation"]["operationId"], "get_conversation");
    assert_eq!(
        links["GetConversation"]["parameters"]["id"],
        "$response.body#/id"
    );
    assert_eq!(links["AddMember"]["operationId"], "add_member");
    assert_eq!(
        links["RemoveMember"]["parameters"]["userId"],
        "$response.body#/members/1/id"
    );

    for schema in [
        "MessageView",
        "ConversationView",
        "ErrorView",
        "ErrorCode",
        "AuthResponse",
    ] {
        assert!(schemas[schema].is_object(), "schema {schema} missing");
    }
    let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
    assert!(codes.contains(&json!("notMember")) && codes.contains(&json!("spoofedUser")));

    // What the document says of every path holds: a 401 names its scheme, an unknown path
    // and an unsupported method answer `{code, message}` JSON.
    let unauthenticated = app.http.get(app.url("/api/me")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    assert_eq!(unauthenticated.headers()["www-authenticate"], "Bearer");
    let unknown = app
        .http
        .get(app.url("/api/nothing/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(
        unknown.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(unknown.json::<Value>().await.unwrap()["code"], "notFound");
    let wrong_method = app.http.delete(app.url("/api/me")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "GET,HEAD");
    assert_eq!(
        wrong_method.json::<Value>().await.unwrap()["code"],
        "methodNotAllowed"
    );
    for (name, code) in [
        ("NotFound", "`notFound`"),
        ("MethodNotAllowed", "`methodNotAllowed`"),
    ] {
        let description = &doc["components"]["responses"][name]["description"];
        assert!(
            description.as_str().is_some_and(|d| d.contains(code)),
            "{name}"
        );
    }
}

/// The schema type of `name` when `response` lists it as always sent, else None.
fn required_header<'a>(response: &'a Value, name: &str) -> Option<&'a str> {
    let header = &response["headers"][name];
    (header["required"] == json!(true))
        .then(|| header["schema"]["type"].as_str())
        .flatten()
}

async fn responses_are_compressed_for_clients_that_accept_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let response = app
        .http
        .get(app.url("/api/openapi.json"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-encoding"], "br");
    let plain = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
}

async fn repeated_sign_in_attempts_get_429_with_retry_after(engine: Engine) {
    let app = TestApp::spawn_with(engine, |config| config.login_rate = 2).await;
    app.register("alice").await;
    let attempt = || {
        app.http
            .post(app.url("/api/auth/login"))
            .json(&json!({"username": "alice", "password": "a guess"}))
            .send()
    };
    for _ in 0..2 {
        assert_eq!(attempt().await.unwrap().status(), 401);
    }
    let refused = attempt().await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "Retry-After: {wait}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rateLimited");
    assert!(
        body["message"].as_str().unwrap().contains("try again in"),
        "{body}"
    );
}

natter::on_both_engines!(
    repeated_sign_in_attempts_get_429_with_retry_after,
    responses_are_compressed_for_clients_that_accept_it,
    the_openapi_document_describes_every_endpoint,
    accounts_register_log_in_and_out,
    conversations_and_messages_round_trip,
    a_stranger_can_neither_read_nor_post,
    bad_requests_get_clear_errors,
    healthz_reports_the_version,
);
