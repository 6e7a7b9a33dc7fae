//! `TestApp`: a running natter server on its own port and database, and clients for it.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use leptos::config::LeptosOptions;
use natter::protocol::{
    AuthResponse, ClientCommand, ClientFrame, ConversationView, ServerEvent, ServerFrame, UserId,
};
use natter::store::Engine;
use natter::testdb::TestDb;
use serde_json::{Value, json};
use server::config::Config;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub addr: SocketAddr,
    /// The server's chat core, to observe its state (live topics) from tests.
    pub chat: natter::Chat,
    pub http: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _data: tempfile::TempDir,
    _db: TestDb,
}

/// A signed-in test user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub token: String,
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> Self {
        Self::spawn_with(engine, |_| {}).await
    }

    pub async fn spawn_with(engine: Engine, configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new(engine).await;
        let data = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.addr = Some("127.0.0.1:0".parse().unwrap());
        config.database_url = db.url.clone();
        config.data_dir = data.path().to_owned();
        config.jwt_secret = None;
        config.allowed_origins = vec!["https://chat.example.com".into()];
        config.shutdown_grace_secs = 5;
        // Tests sign many people up, and open many conversations, from one address; the
        // limits on both have tests of their own, which turn them back on.
        config.signup_rate = 0;
        config.signup_total_rate = 0;
        config.conversation_rate = 0;
        configure(&mut config);
        let leptos = LeptosOptions::builder().output_name("natter").build();
        let app = server::Application::build(config, leptos)
            .await
            .expect("build the app");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let chat = app.state.chat.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            chat,
            http: reqwest::Client::new(),
            stop: Some(stop),
            server: Some(server),
            _data: data,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Registers `name` and returns its token.
    pub async fn user(&self, name: &str) -> User {
        let response = self
            .http
            .post(self.url("/api/auth/register"))
            .json(&json!({"username": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "registering {name}");
        let body: AuthResponse = response.json().await.unwrap();
        User {
            id: body.user.id,

            token: body.token,
        }
    }

    /// Signs `user` out over REST: its token stops working everywhere.
    pub async fn logout(&self, user: &User) {
        let (status, _) = self
            .call(reqwest::Method::POST, "/api/auth/logout", Some(user), None)
            .await;
        assert_eq!(status, 204, "logging out");
    }

    /// A conversation between `a` and `b`, created over REST.
    pub async fn conversation(&self, a: &User, b: &User) -> ConversationView {
        let response = self
            .http
            .post(self.url("/api/conversations"))
            .bearer_auth(&a.token)
            .json(&json!({"user2_id": b.id}))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.json().await.unwrap()
    }

    /// A REST call as `user` (None: anonymous); returns status and JSON body (Null if none).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        user: Option<&User>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(user) = user {
            request = request.bearer_auth(&user.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn ws(&self, user: &User) -> WsClient {
        let mut request = format!("ws://{}/ws", self.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", user.token).parse().unwrap(),
        );
        self.ws_request(request).await.expect("websocket upgrade")
    }

    pub async fn ws_request(
        &self,
        request: tungstenite::handshake::client::Request,
    ) -> Result<WsClient, tungstenite::Error> {
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        Ok(WsClient { socket })
    }

    /// Stops the server as SIGTERM would and waits for it to finish.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Waits until `condition` holds, checking it every 20 ms, for at most `limit`; panics after.
pub async fn until<F, Fut>(limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A native WebSocket client speaking `natter::protocol`.
pub struct WsClient {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    pub async fn send(&mut self, command: ClientCommand, reference: Option<&str>) {
        let frame = ClientFrame::new(command, reference.map(str::to_owned));
        self.send_text(&frame.encode()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::text(text)).await.unwrap();
    }

    /// The next frame, within 5 s.
    pub async fn next(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("a frame within 5 s")
                .expect("the socket is open")
                .expect("a readable frame");
            match message {
                Message::Text(text) => {
                    return ServerFrame::decode(text.as_str()).expect("a valid server frame");
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    pub async fn next_event(&mut self) -> ServerEvent {
        self.next().await.event
    }

    /// Sends a command with a ref and returns the one answer carrying that ref.
    pub async fn request(&mut self, command: ClientCommand, reference: &str) -> ServerEvent {
        self.send(command, Some(reference)).await;
        let frame = self.next().await;
        assert_eq!(
            frame.reference.as_deref(),
            Some(reference),
            "answer out of turn: {frame:?}"
        );
        frame.event
    }

    /// Asserts nothing arrives for a short while.
    pub async fn expect_silence(&mut self) {
        match tokio::time::timeout(Duration::from_millis(300), self.socket.next()).await {
            Err(_) => {}
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn closed_with(&mut self) -> u16 {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(5), self.socket.next())
                .await
                .expect("a close within 5 s");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before close: {e}"),
            }
        }
    }
}
