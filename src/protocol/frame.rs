//! Frames: `{"event": "<name>", "data": {…}, "ref": "<optional client string>"}`, decoded with
//! a precise reason when they do not fit. A command that carries `ref` is answered by exactly
//! one frame with the same `ref`; broadcasts carry none.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::errors::{ErrorCode, ErrorView};
use super::events::{ClientCommand, ServerEvent};

/// A decoded client frame: the command and its optional `ref`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFrame {
    pub command: ClientCommand,
    pub reference: Option<String>,
}

/// Why a text frame could not be decoded; carries the `ref` when it could be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    pub error: ErrorView,
    pub reference: Option<String>,
}

impl FrameError {
    /// An event name this server does not know (native frames and Socket.IO events alike).
    pub fn unknown_event(event: &str, reference: Option<String>) -> Self {
        Self {
            error: ErrorView::new(
                ErrorCode::UnknownEvent,
                format!(
                    "unknown event {event:?}; expected one of {}",
                    ClientCommand::EVENTS.join(", ")
                ),
            ),
            reference,
        }
    }

    /// A binary WebSocket frame: the protocol is JSON text.
    pub fn binary() -> Self {
        Self {
            error: ErrorView::new(
                ErrorCode::BinaryFrame,
                "frames must be JSON text, not binary",
            ),
            reference: None,
        }
    }
}

impl ClientFrame {
    pub fn new(command: ClientCommand, reference: Option<String>) -> Self {
        Self { command, reference }
    }

    /// Decodes one text frame, telling a malformed frame, an unknown event and a bad payload apart.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        let malformed = |detail: String| FrameError {
            error: ErrorView::new(ErrorCode::MalformedFrame, detail),
            reference: None,
        };
        let value: Value =
            serde_json::from_str(text).map_err(|e| malformed(format!("frame is not JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(malformed("frame must be a JSON object".into()));
        };
        let reference = match map.remove("ref") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) if r.len() <= MAX_REF_LEN => Some(r),
            Some(_) => {
                return Err(malformed(format!(
                    "`ref` must be a string of at most {MAX_REF_LEN} bytes"
                )));
            }
        };
        let fail = |code, message: String| FrameError {
            error: ErrorView::new(code, message),
            reference: reference.clone(),
        };
        let event = match map.get("event") {
            Some(Value::String(event)) => event.clone(),
            _ => {
                return Err(fail(
                    ErrorCode::MalformedFrame,
                    "frame needs a string `event`".into(),
                ));
            }
        };
        if !ClientCommand::EVENTS.contains(&event.as_str()) {
            return Err(FrameError::unknown_event(&event, reference));
        }
        if let Some(extra) = map.keys().find(|k| *k != "event" && *k != "data") {
            return Err(fail(
                ErrorCode::InvalidPayload,
                format!("unexpected frame field {extra:?}"),
            ));
        }
        let command = ClientCommand::from_parts(&event, map.remove("data"))
            .map_err(|message| fail(ErrorCode::InvalidPayload, message))?;
        Ok(Self { command, reference })
    }

    /// Encodes the frame as the JSON text a server accepts.
    pub fn encode(&self) -> String {
        encode_with_ref(&self.command, self.reference.as_deref())
    }
}

/// A server frame: the event and the `ref` of the command it answers.
#[derive(Clone, Debug)]
pub struct ServerFrame {
    pub event: ServerEvent,
    pub reference: Option<String>,
    /// The frame already encoded, shared by every connection that sends it as is (a room's
    /// `newMessage` is encoded once, not once per recipient).
    encoded: Option<Arc<str>>,
}

impl PartialEq for ServerFrame {
    fn eq(&self, other: &Self) -> bool {
        self.event == other.event && self.reference == other.reference
    }
}

impl Eq for ServerFrame {}

impl ServerFrame {
    pub fn broadcast(event: ServerEvent) -> Self {
        Self {
            event,
            reference: None,
            encoded: None,
        }
    }

    pub fn reply(event: ServerEvent, reference: Option<String>) -> Self {
        Self {
            event,
            reference,
            encoded: None,
        }
    }

    /// A broadcast whose encoding (`encoded`, which must be `event` encoded) is shared.
    pub fn shared(event: ServerEvent, encoded: Arc<str>) -> Self {
        Self {
            event,
            reference: None,
            encoded: Some(encoded),
        }
    }

    pub fn encode(&self) -> String {
        match (&self.encoded, &self.reference) {
            (Some(encoded), None) => encoded.to_string(),
            _ => encode_with_ref(&self.event, self.reference.as_deref()),
        }
    }

    /// Decodes a frame sent by a natter server.
    pub fn decode(text: &str) -> Result<Self, String> {
        let mut value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let reference = match value.as_object_mut().and_then(|m| m.remove("ref")) {
            Some(Value::String(r)) => Some(r),
            _ => None,
        };
        let event = serde_json::from_value(value).map_err(|e| e.to_string())?;
        Ok(Self::reply(event, reference))
    }
}

/// The longest `ref` a client may attach, in bytes.
pub const MAX_REF_LEN: usize = 128;

fn encode_with_ref<T: Serialize>(body: &T, reference: Option<&str>) -> String {
    let mut value = serde_json::to_value(body).unwrap_or(Value::Null);
    if let (Some(map), Some(reference)) = (value.as_object_mut(), reference) {
        map.insert("ref".into(), Value::String(reference.to_owned()));
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ConversationId, NewMessage, UserId};

    #[test]
    fn a_seed_send_message_frame_decodes_with_its_ref() {
        let frame = ClientFrame::decode(
            r#"{"event":"sendMessage","data":{"convId":1,"message":{"message":"Hello!"},"userId":456},"ref":"r1"}"#,
        )
        .unwrap();
        assert_eq!(frame.reference.as_deref(), Some("r1"));
        assert_eq!(
            frame.command,
            ClientCommand::SendMessage {
                conv_id: ConversationId(1),
                message: NewMessage {
                    message: "Hello!".into()
                },
                client_id: None,
                user_id: Some(UserId(456)),
            }
        );
    }

    #[test]
    fn the_seed_create_conversation_dto_keeps_its_snake_case_field() {
        let frame = ClientFrame::decode(
            r#"{"event":"createConversation","data":{"createConvDto":{"user2_id":123},"userId":456}}"#,
        )
        .unwrap();
        let ClientCommand::CreateConversation {
            create_conv_dto, ..
        } = frame.command
        else {
            panic!("wrong command");
        };
        assert_eq!(create_conv_dto.unwrap().user2_id, Some(UserId(123)));
    }

    #[test]
    fn ping_has_an_empty_object_for_data_both_ways() {
        let frame = ClientFrame::decode(r#"{"event":"ping","ref":"p"}"#).unwrap();
        assert_eq!(frame.command, ClientCommand::Ping {});
        let pong = ServerFrame::reply(ServerEvent::Pong {}, frame.reference).encode();
        assert_eq!(
            serde_json::from_str::<Value>(&pong).unwrap(),
            serde_json::json!({"event":"pong","data":{},"ref":"p"})
        );
    }

    #[test]
    fn bad_frames_are_told_apart_by_code() {
        let code = |text: &str| ClientFrame::decode(text).unwrap_err().error.code;
        assert_eq!(code("not json"), ErrorCode::MalformedFrame);
        assert_eq!(code("[1,2]"), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"data":{}}"#), ErrorCode::MalformedFrame);
        assert_eq!(code(r#"{"event":"fly"}"#), ErrorCode::UnknownEvent);
        assert_eq!(
            code(r#"{"event":"joinConversation","data":{}}"#),
            ErrorCode::InvalidPayload
        );
        assert_eq!(
            code(r#"{"event":"joinConversation","data":{"convId":"one"}}"#),
            ErrorCode::InvalidPayload
        );
        assert_eq!(
            code(r#"{"event":"joinConversation","data":{"convId":1,"extra":true}}"#),
            ErrorCode::InvalidPayload
        );
    }

    #[test]
    fn an_error_keeps_the_ref_of_the_frame_it_answers() {
        let err = ClientFrame::decode(r#"{"event":"fly","ref":"abc"}"#).unwrap_err();
        assert_eq!(err.reference.as_deref(), Some("abc"));
    }

    #[test]
    fn server_frames_round_trip_with_and_without_ref() {
        let event = ServerEvent::JoinedConversation {
            conv_id: ConversationId(7),
            room: ConversationId(7).room(),
        };
        let text = ServerFrame::reply(event.clone(), Some("x".into())).encode();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            serde_json::json!({"event":"joinedConversation","data":{"convId":7,"room":"conversation_7"},"ref":"x"})
        );
        let back = ServerFrame::decode(&text).unwrap();
        assert_eq!(back.event, event);
        assert_eq!(back.reference.as_deref(), Some("x"));
        assert!(!ServerFrame::broadcast(event).encode().contains("ref"));
    }
}
