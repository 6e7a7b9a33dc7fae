//! A Socket.IO client on Engine.IO v4 long-polling, namespace `/chat`, written against the
//! protocol documents, which can upgrade to a WebSocket as socket.io-client does: the API tests
//! speak Socket.IO at the packet level with it, the cluster tests go through a sticky load
//! balancer with it (it keeps cookies, as a browser does, and sends them on the upgrade).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::cookie::{CookieStore, Jar};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::api::Api;
use super::ws::Socket;

/// One Socket.IO packet of namespace `/chat`, as the server sent it.
#[derive(Debug, PartialEq)]
pub enum Packet {
    Connect,
    ConnectError(String),
    Event(String, Value),
    Ack(u64, Value),
    Disconnect,
}

/// A Socket.IO client, written against the protocol documents: long-polling first, upgraded to
/// a WebSocket on request (as socket.io-client does); every packet method works on either.
pub struct SocketIoClient {
    http: reqwest::Client,
    cookies: Arc<Jar>,
    url: String,
    /// After [`SocketIoClient::upgrade`], the WebSocket every Engine.IO packet travels on.
    upgraded: Option<Socket>,
    received: VecDeque<Packet>,
}

impl SocketIoClient {
    /// Opens an Engine.IO session and asks to join `/chat` with `auth`; returns the client and
    /// the server's answer (`Connect` or `ConnectError`).
    pub async fn connect(api: &Api, auth: Value) -> (Self, Packet) {
        Self::connect_from(api, auth, None).await
    }

    /// `connect` from a browser page at `origin`.
    pub async fn connect_from(api: &Api, auth: Value, origin: Option<&str>) -> (Self, Packet) {
        // With cookies, as a browser: a sticky load balancer pins the session by one.
        let cookies = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(Arc::clone(&cookies))
            .build()
            .expect("an HTTP client");
        let base = api.url("/socket.io/?EIO=4&transport=polling");
        let mut handshake = http.get(&base);
        if let Some(origin) = origin {
            handshake = handshake.header("origin", origin);
        }
        let open = handshake
            .send()
            .await
            .expect("the Engine.IO handshake")
            .text()
            .await
            .expect("the handshake's body");
        let handshake: Value =
            serde_json::from_str(open.strip_prefix('0').expect("an open packet"))
                .expect("the open packet's JSON");
        let sid = handshake["sid"].as_str().expect("a session id");
        let mut client = Self {
            http,
            cookies,
            url: format!("{base}&sid={sid}"),
            upgraded: None,
            received: VecDeque::new(),
        };
        client.post(&format!("40/chat,{auth}")).await;
        let answer = client.next().await;
        (client, answer)
    }

    pub async fn post(&self, payload: &str) {
        let response = self
            .http
            .post(&self.url)
            .body(payload.to_owned())
            .send()
            .await
            .expect("a POST to the session");
        assert!(response.status().is_success(), "POST {payload}");
    }

    /// Emits `event` with `data`, asking for an acknowledgement when `ack` is given.
    pub async fn emit(&mut self, event: &str, data: Value, ack: Option<u64>) {
        let id = ack.map(|id| id.to_string()).unwrap_or_default();
        self.send_raw(&format!("42/chat,{id}{}", json!([event, data])))
            .await;
    }

    /// The next `/chat` packet, within 5 s; answers Engine.IO pings on the way.
    /// The next packet within 5 s, skipping `presence` events (they come whenever someone
    /// the user talks to connects or leaves).
    pub async fn next(&mut self) -> Packet {
        loop {
            let packet = self.next_any().await;
            if !matches!(&packet, Packet::Event(name, _) if name == "presence") {
                return packet;
            }
        }
    }

    /// The next packet within 5 s, `presence` events included.
    pub async fn next_any(&mut self) -> Packet {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Some(packet) = self.received.pop_front() {
                    return packet;
                }
                match self.upgraded {
                    Some(_) => {
                        let text = self.read_raw().await;
                        self.take(&text).await;
                    }
                    None => {
                        self.poll().await;
                    }
                }
            }
        })
        .await
        .expect("a Socket.IO packet within 5 s")
    }

    /// Handles one Engine.IO packet the server sent: answers a ping, queues a Socket.IO packet;
    /// `false` for a close.
    async fn take(&mut self, packet: &str) -> bool {
        match packet.as_bytes().first() {
            Some(b'2') => self.send_raw("3").await,
            Some(b'1') => return false,
            Some(b'4') => self.received.push_back(parse(&packet[1..])),
            _ => {}
        }
        true
    }

    /// Sends one Engine.IO packet on the current transport.
    async fn send_raw(&mut self, text: &str) {
        match &mut self.upgraded {
            Some(socket) => socket
                .send(Message::text(text))
                .await
                .expect("sending on the upgraded socket"),
            None => self.post(text).await,
        }
    }

    /// The next Engine.IO packet on the upgraded socket.
    async fn read_raw(&mut self) -> String {
        let socket = self.upgraded.as_mut().expect("an upgraded session");
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("the upgraded socket ended: {other:?}"),
            }
        }
    }

    /// One long-poll; `false` once the server has closed the session.
    pub async fn poll(&mut self) -> bool {
        let Ok(response) = self.http.get(&self.url).send().await else {
            return false;
        };
        if !response.status().is_success() {
            return false;
        }
        let Ok(body) = response.text().await else {
            return false;
        };
        let mut open = true;
        for packet in body.split('\u{1e}') {
            open &= self.take(packet).await;
        }
        open
    }

    pub async fn next_event(&mut self) -> (String, Value) {
        match self.next().await {
            Packet::Event(name, data) => (name, data),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Emits with acknowledgement id `id` and returns what the server acknowledged with.
    pub async fn request(&mut self, event: &str, data: Value, id: u64) -> Value {
        self.emit(event, data, Some(id)).await;
        match self.next().await {
            Packet::Ack(answered, data) if answered == id => data,
            other => panic!("expected ack {id}, got {other:?}"),
        }
    }

    /// Polls until the server closes the Engine.IO session.
    pub async fn closed(&mut self) {
        tokio::time::timeout(Duration::from_secs(5), async { while self.poll().await {} })
            .await
            .expect("the session closed within 5 s");
    }
}

impl SocketIoClient {
    /// Upgrades the session to a WebSocket as socket.io-client does (`2probe`, `3probe`, `5`),
    /// sending the cookies the polling requests got (a sticky front routes by them).
    pub async fn upgrade(&mut self) {
        let url = self
            .url
            .replacen("http://", "ws://", 1)
            .replace("transport=polling", "transport=websocket");
        let mut request = url.into_client_request().expect("a WebSocket URL");
        let polled = reqwest::Url::parse(&self.url).expect("the polling URL");
        if let Some(cookie) = self.cookies.cookies(&polled) {
            let value = cookie.to_str().expect("a cookie header").parse();
            request
                .headers_mut()
                .insert("cookie", value.expect("a cookie header"));
        }
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket upgrade");
        self.upgraded = Some(socket);
        self.send_raw("2probe").await;
        tokio::time::timeout(Duration::from_secs(5), async {
            while self.read_raw().await != "3probe" {}
        })
        .await
        .expect("the probe answered within 5 s");
        self.send_raw("5").await;
    }
}

/// Parses a Socket.IO packet (the Engine.IO `4` stripped) of namespace `/chat`.
pub fn parse(text: &str) -> Packet {
    let (kind, rest) = text.split_at(1);
    let rest = rest.strip_prefix("/chat,").expect("a /chat packet");
    let json_at = rest.find(['[', '{']).unwrap_or(rest.len());
    let (id, body) = rest.split_at(json_at);
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).expect("a packet's JSON")
    };
    match kind {
        "0" => Packet::Connect,
        "1" => Packet::Disconnect,
        "2" => {
            let [name, data] =
                <[Value; 2]>::try_from(body.as_array().expect("an event array").clone())
                    .expect("an event name and its data");
            Packet::Event(name.as_str().expect("an event name").to_owned(), data)
        }
        "3" => Packet::Ack(id.parse().expect("an ack id"), body[0].clone()),
        "4" => Packet::ConnectError(body["message"].as_str().expect("a message").to_owned()),
        other => panic!("unexpected packet type {other}"),
    }
}
