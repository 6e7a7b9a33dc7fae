//! The native WebSocket client of the tests and the bench, speaking `natter::protocol` on `/ws`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, Stream, StreamExt};
use natter::protocol::{ClientCommand, ClientFrame, ServerEvent, ServerFrame};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message, handshake::client::Request};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a client waits for a frame it expects.
pub const FRAME_WITHIN: Duration = Duration::from_secs(10);

/// How long [`WsClient::expect_silence`] listens.
const SILENCE: Duration = Duration::from_millis(300);

/// An upgrade request for `ws_url` carrying `token` as a bearer header.
pub fn upgrade_request(ws_url: &str, token: &str) -> Request {
    let mut request = ws_url.into_client_request().expect("a WebSocket URL");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .expect("a token fit for a header"),
    );
    request
}

/// The next server frame on `stream` and when it arrived (before decoding), skipping pings,
/// pongs and `presence` events (they come whenever someone the user talks to connects or
/// leaves); an error if none comes within [`FRAME_WITHIN`], the socket ends, or it is not one.
pub async fn next_frame<S>(stream: &mut S) -> anyhow::Result<(Instant, ServerFrame)>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        let (at, frame) = next_any_frame(stream).await?;
        if !matches!(frame.event, ServerEvent::Presence(_)) {
            return Ok((at, frame));
        }
    }
}

/// [`next_frame`], `presence` events included.
pub async fn next_any_frame<S>(stream: &mut S) -> anyhow::Result<(Instant, ServerFrame)>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(FRAME_WITHIN, stream.next())
            .await
            .with_context(|| format!("no frame within {FRAME_WITHIN:?}"))?
            .context("the server closed the socket")??;
        let at = Instant::now();
        match message {
            Message::Text(text) => {
                let frame = ServerFrame::decode(text.as_str())
                    .map_err(|e| anyhow::anyhow!("undecodable frame {text}: {e}"))?;
                return Ok((at, frame));
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => bail!("unexpected {other:?}"),
        }
    }
}

/// A signed-in `/ws` socket; every method panics on what a test would fail on.
pub struct WsClient {
    pub socket: Socket,
}

impl WsClient {
    /// Opens the socket with `TCP_NODELAY`, as browsers do: small frames go out at once.
    pub async fn open(request: Request) -> Result<Self, tungstenite::Error> {
        let (socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true).await?;
        Ok(Self { socket })
    }

    pub async fn send(&mut self, command: ClientCommand, reference: Option<&str>) {
        let frame = ClientFrame::new(command, reference.map(str::to_owned));
        self.send_text(&frame.encode()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket
            .send(Message::text(text))
            .await
            .expect("sending a frame");
    }

    /// The next frame, within [`FRAME_WITHIN`].
    pub async fn next(&mut self) -> ServerFrame {
        match next_frame(&mut self.socket).await {
            Ok((_, frame)) => frame,
            Err(e) => panic!("expected a server frame: {e:#}"),
        }
    }

    pub async fn next_event(&mut self) -> ServerEvent {
        self.next().await.event
    }

    /// Sends a command with a ref and returns the answer, which must be the next frame.
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

    /// The next frame, `presence` events included.
    pub async fn next_any(&mut self) -> ServerFrame {
        match next_any_frame(&mut self.socket).await {
            Ok((_, frame)) => frame,
            Err(e) => panic!("expected a server frame: {e:#}"),
        }
    }

    /// Asserts nothing but `presence` arrives for a short while.
    pub async fn expect_silence(&mut self) {
        let deadline = tokio::time::Instant::now() + SILENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.next_any()).await {
                Err(_) => return,
                Ok(frame) if matches!(frame.event, ServerEvent::Presence(_)) => {}
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Waits for the close frame and returns its code.
    pub async fn closed_with(&mut self) -> u16 {
        loop {
            let message = tokio::time::timeout(FRAME_WITHIN, self.socket.next())
                .await
                .expect("a close frame in time");
            match message {
                Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
                Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("socket error before close: {e}"),
            }
        }
    }
}
