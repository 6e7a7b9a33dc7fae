//! The HTTP face of a running server, in-process or a child process: its address, one
//! `reqwest` client, and the account and conversation helpers every harness needs.

use std::net::SocketAddr;

use natter::protocol::{AuthResponse, ConversationView};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite;

use super::ws::{WsClient, upgrade_request};

/// The password of every account the harness registers.
pub const PASSWORD: &str = "correct horse battery";

/// A registered user and its bearer token.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: natter::protocol::UserId,
    pub token: String,
}

/// A server's address and a client for it.
#[derive(Clone, Debug)]
pub struct Api {
    pub addr: SocketAddr,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A REST call as `account` (None: anonymous); returns status and JSON body (Null if none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        account: Option<&Account>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method.clone(), self.url(path));
        if let Some(account) = account {
            request = request.bearer_auth(&account.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let text = response.text().await.expect("a response body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET path` as `account`, which must answer 200 with a `T`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, account: &Account) -> T {
        let (status, body) = self
            .call(reqwest::Method::GET, path, Some(account), None)
            .await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_value(body).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Registers `name` (with [`PASSWORD`]) and returns its account.
    pub async fn register(&self, name: &str) -> Account {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 201, "registering {name}: {body}");
        let body: AuthResponse = serde_json::from_value(body).expect("an auth response");
        Account {
            id: body.user.id,
            token: body.token,
        }
    }

    /// Signs `name` in (with [`PASSWORD`]): the status, and the new session's account on 200.
    pub async fn login(&self, name: &str) -> (u16, Option<Account>) {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"username": name, "password": PASSWORD})),
            )
            .await;
        let account = (status == 200).then(|| {
            let body: AuthResponse = serde_json::from_value(body).expect("an auth response");
            Account {
                id: body.user.id,
                token: body.token,
            }
        });
        (status, account)
    }

    /// Signs `account` out over REST: its token stops working everywhere.
    pub async fn logout(&self, account: &Account) {
        let (status, _) = self
            .call(
                reqwest::Method::POST,
                "/api/auth/logout",
                Some(account),
                None,
            )
            .await;
        assert_eq!(status, 204, "logging out");
    }

    /// A conversation between `a` and `b`, opened by `a` over REST.
    pub async fn conversation(&self, a: &Account, b: &Account) -> ConversationView {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/api/conversations",
                Some(a),
                Some(json!({"user2_id": b.id})),
            )
            .await;
        assert!(
            (200..300).contains(&status),
            "opening a conversation: {body}"
        );
        serde_json::from_value(body).expect("a conversation")
    }

    /// A `/ws` socket signed in as `account`.
    pub async fn ws(&self, account: &Account) -> WsClient {
        self.ws_request(upgrade_request(&self.ws_url(), &account.token))
            .await
            .expect("websocket upgrade")
    }

    /// A `/ws` upgrade with a request the test wrote itself (a token in the query, an Origin…).
    pub async fn ws_request(
        &self,
        request: tungstenite::handshake::client::Request,
    ) -> Result<WsClient, tungstenite::Error> {
        WsClient::open(request).await
    }
}
