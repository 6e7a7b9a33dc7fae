//! The commands this tab has in flight on one socket, and what each server frame means for
//! them. Every command goes out with a fresh `ref`; the one frame that answers it carries the
//! same `ref`, so a `messageSent` or an `error` is matched to the send (by its client message
//! id) or join it answers. Frames are built and read only through `natter::protocol`.

use std::collections::HashMap;

use natter::protocol::{
    ClientCommand, ClientFrame, ConversationId, ConversationView, Cursor, ErrorView, MessageView,
    NewMessage, PresenceView, Seq, ServerEvent, ServerFrame, UserId,
};

/// What a command was for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Purpose {
    Send {
        conversation: ConversationId,
        client_id: String,
    },
    Join {
        conversation: ConversationId,
    },
    Resume,
    MarkRead {
        conversation: ConversationId,
    },
    /// A liveness check, answered by `pong`.
    Ping,
}

/// What a server frame means to this tab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inbound {
    /// A stored message: someone's `newMessage`, a replay after joining, or the
    /// acknowledgement of this tab's send.
    Message(MessageView),
    /// A conversation with this person exists now.
    Conversation(ConversationView),
    /// The answer to `resume`: every conversation of this person, with unread counts; the
    /// rooms are joined and the replay follows.
    Resumed(Vec<ConversationView>),
    /// A member's read mark moved.
    Read {
        conversation: ConversationId,
        user: UserId,
        seq: Seq,
    },
    /// The server refused one of this tab's sends.
    SendFailed {
        conversation: ConversationId,
        client_id: String,
        error: ErrorView,
    },
    /// The server refused to resume: the connection is of no use.
    ResumeFailed(ErrorView),
    /// The server refused another command (a join or read mark of a conversation that is
    /// gone, or a duplicate join); nothing to show.
    Refused(ErrorView),
    /// An error that answers nothing this tab is waiting for (for example an expired session).
    Problem(ErrorView),
    /// A member started or stopped typing.
    Typing {
        conversation: ConversationId,
        user: UserId,
        name: String,
        typing: bool,
    },
    /// Someone this person talks to came online or went offline.
    Presence(PresenceView),
    /// The person was removed from a group (or left it, in another tab).
    Removed(ConversationId),
    /// Nothing to do (room joined or left).
    Nothing,
}

#[derive(Debug)]
struct Waiting {
    purpose: Purpose,
    sent_at_ms: f64,
}

/// The in-flight commands of one socket; dropped with it.
#[derive(Debug, Default)]
pub struct Requests {
    next: u64,
    waiting: HashMap<String, Waiting>,
}

impl Requests {
    /// The frame that sends `text` to a conversation under the client message id.
    pub fn send(
        &mut self,
        conversation: ConversationId,
        client_id: &str,
        text: &str,
        now_ms: f64,
    ) -> String {
        let command = ClientCommand::SendMessage {
            conv_id: conversation,
            message: NewMessage {
                message: text.to_owned(),
            },
            client_id: Some(client_id.to_owned()),
            user_id: None,
        };
        let purpose = Purpose::Send {
            conversation,
            client_id: client_id.to_owned(),
        };
        self.frame(command, purpose, now_ms)
    }

    /// The frame that joins a room and replays every message after `last_seq`.
    pub fn join(&mut self, conversation: ConversationId, last_seq: Seq, now_ms: f64) -> String {
        let command = ClientCommand::JoinConversation {
            conv_id: conversation,
            last_seq: Some(last_seq),
            user_id: None,
        };
        self.frame(command, Purpose::Join { conversation }, now_ms)
    }

    /// The frame that joins every room of the person after a (re)connect, replaying what
    /// comes after each cursor (and everything of conversations it does not list).
    pub fn resume(&mut self, cursors: Vec<Cursor>, now_ms: f64) -> String {
        let command = ClientCommand::Resume {
            conversations: cursors,
        };
        self.frame(command, Purpose::Resume, now_ms)
    }

    /// The frame that moves the person's read mark of a conversation to `seq`.
    pub fn mark_read(&mut self, conversation: ConversationId, seq: Seq, now_ms: f64) -> String {
        let command = ClientCommand::MarkRead {
            conv_id: conversation,
            seq,
            user_id: None,
        };
        self.frame(command, Purpose::MarkRead { conversation }, now_ms)
    }

    /// The frame that asks the server for a `pong`.
    pub fn ping(&mut self, now_ms: f64) -> String {
        self.frame(ClientCommand::Ping {}, Purpose::Ping, now_ms)
    }

    /// A `typing` notice: never answered, so not waited for.
    pub fn typing(conversation: ConversationId, typing: bool) -> String {
        let command = ClientCommand::Typing {
            conv_id: conversation,
            typing,
        };
        ClientFrame::new(command, None).encode()
    }

    /// Whether a `ping` is waiting for its `pong`.
    pub fn pinging(&self) -> bool {
        self.waiting.values().any(|w| w.purpose == Purpose::Ping)
    }

    fn frame(&mut self, command: ClientCommand, purpose: Purpose, now_ms: f64) -> String {
        self.next += 1;
        let reference = format!("r{}", self.next);
        self.waiting.insert(
            reference.clone(),
            Waiting {
                purpose,
                sent_at_ms: now_ms,
            },
        );
        ClientFrame::new(command, Some(reference)).encode()
    }

    /// Reads one text frame from the server.
    pub fn receive(&mut self, text: &str) -> Result<Inbound, String> {
        let frame = ServerFrame::decode(text)?;
        let purpose = frame
            .reference
            .as_deref()
            .and_then(|r| self.waiting.remove(r))
            .map(|w| w.purpose);
        Ok(match (frame.event, purpose) {
            (ServerEvent::NewMessage { message } | ServerEvent::MessageSent { message }, _) => {
                Inbound::Message(message)
            }
            (
                ServerEvent::ConversationCreated { conversation }
                | ServerEvent::ConversationUpdated { conversation },
                _,
            ) => Inbound::Conversation(conversation),
            (ServerEvent::Resumed { conversations }, _) => Inbound::Resumed(conversations),
            (
                ServerEvent::Typing {
                    conv_id,
                    user_id,
                    username,
                    typing,
                },
                _,
            ) => Inbound::Typing {
                conversation: conv_id,
                user: user_id,
                name: username,
                typing,
            },
            (ServerEvent::Presence(view), _) => Inbound::Presence(view),
            (ServerEvent::RemovedFromConversation { conv_id }, _) => Inbound::Removed(conv_id),
            (
                ServerEvent::ConversationRead {
                    conv_id,
                    user_id,
                    last_read_seq,
                },
                _,
            ) => Inbound::Read {
                conversation: conv_id,
                user: user_id,
                seq: last_read_seq,
            },
            (
                ServerEvent::Error(error),
                Some(Purpose::Send {
                    conversation,
                    client_id,
                }),
            ) => Inbound::SendFailed {
                conversation,
                client_id,
                error,
            },
            (ServerEvent::Error(error), Some(Purpose::Resume)) => Inbound::ResumeFailed(error),
            (
                ServerEvent::Error(error),
                Some(Purpose::Join { .. } | Purpose::MarkRead { .. } | Purpose::Ping),
            ) => Inbound::Refused(error),
            (ServerEvent::Error(error), None) => Inbound::Problem(error),
            (
                ServerEvent::JoinedConversation { .. }
                | ServerEvent::LeftConversation { .. }
                | ServerEvent::Pong {},
                _,
            ) => Inbound::Nothing,
        })
    }

    /// Commands unanswered for longer than their limit (`limit_ms` of their purpose),
    /// forgotten.
    pub fn overdue(&mut self, now_ms: f64, limit_ms: impl Fn(&Purpose) -> f64) -> Vec<Purpose> {
        let late: Vec<String> = self
            .waiting
            .iter()
            .filter(|(_, w)| now_ms - w.sent_at_ms > limit_ms(&w.purpose))
            .map(|(r, _)| r.clone())
            .collect();
        late.iter()
            .filter_map(|r| self.waiting.remove(r))
            .map(|w| w.purpose)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use natter::protocol::{EntryKind, ErrorCode, MessageId};
    use serde_json::{Value, json};
    use time::OffsetDateTime;

    fn stored(seq: i64, client_id: Option<&str>) -> MessageView {
        let seq = Seq(seq);
        MessageView {
            id: MessageId(seq.0),
            conv_id: ConversationId(4),
            sender_id: UserId(1),
            sender_name: "alice".into(),
            message: "hi".into(),
            seq,
            created_at: OffsetDateTime::UNIX_EPOCH,
            client_id: client_id.map(str::to_owned),
            kind: EntryKind::Message,
            event: None,
        }
    }

    fn reference_of(frame: &str) -> String {
        let value: Value = serde_json::from_str(frame).expect("frames are JSON");
        value["ref"]
            .as_str()
            .expect("every command has a ref")
            .to_owned()
    }

    #[test]
    fn commands_are_protocol_frames_with_distinct_refs() {
        let mut requests = Requests::default();
        let send = requests.send(ConversationId(4), "c-1", "hello", 0.0);
        let join = requests.join(ConversationId(4), Seq(7), 0.0);
        let decoded = ClientFrame::decode(&send).expect("the server accepts it");
        assert_eq!(
            decoded.command,
            ClientCommand::SendMessage {
                conv_id: ConversationId(4),
                message: NewMessage {
                    message: "hello".into()
                },
                client_id: Some("c-1".into()),
                user_id: None,
            }
        );
        let join_value: Value = serde_json::from_str(&join).expect("JSON");
        assert_eq!(join_value["data"], json!({"convId": 4, "lastSeq": 7}));
        assert_ne!(reference_of(&send), reference_of(&join));
    }

    #[test]
    fn an_error_answering_a_send_names_the_send_it_answers() {
        let mut requests = Requests::default();
        let send = requests.send(ConversationId(4), "c-1", "hello", 0.0);
        let error = ErrorView::new(ErrorCode::MessageTooLong, "too long");
        let reply =
            ServerFrame::reply(ServerEvent::Error(error.clone()), Some(reference_of(&send)));
        assert_eq!(
            requests.receive(&reply.encode()),
            Ok(Inbound::SendFailed {
                conversation: ConversationId(4),
                client_id: "c-1".into(),
                error: error.clone(),
            })
        );
        // The same ref again answers nothing any more.
        assert_eq!(
            requests.receive(&reply.encode()),
            Ok(Inbound::Problem(error))
        );
    }

    #[test]
    fn acknowledgements_and_broadcasts_are_both_stored_messages() {
        let mut requests = Requests::default();
        let send = requests.send(ConversationId(4), "c-1", "hi", 0.0);
        let ack = ServerFrame::reply(
            ServerEvent::MessageSent {
                message: stored(3, Some("c-1")),
            },
            Some(reference_of(&send)),
        );
        assert_eq!(
            requests.receive(&ack.encode()),
            Ok(Inbound::Message(stored(3, Some("c-1"))))
        );
        let broadcast = ServerFrame::broadcast(ServerEvent::NewMessage {
            message: stored(4, None),
        });
        assert_eq!(
            requests.receive(&broadcast.encode()),
            Ok(Inbound::Message(stored(4, None)))
        );
        assert!(
            requests.overdue(f64::MAX, |_| 0.0).is_empty(),
            "both answered"
        );
    }

    #[test]
    fn unanswered_commands_are_handed_back_once_late_and_a_ping_is_late_sooner() {
        let limit = |purpose: &Purpose| match purpose {
            Purpose::Ping => 5_000.0,
            _ => 10_000.0,
        };
        let mut requests = Requests::default();
        requests.send(ConversationId(4), "c-1", "one", 0.0);
        requests.send(ConversationId(4), "c-2", "two", 5_000.0);
        let ping = requests.ping(6_000.0);
        let value: Value = serde_json::from_str(&ping).expect("JSON");
        assert_eq!(value["event"], "ping");
        assert!(requests.pinging());
        let late = requests.overdue(12_000.0, limit);
        assert_eq!(late.len(), 2, "{late:?}");
        assert!(late.contains(&Purpose::Ping));
        assert!(late.contains(&Purpose::Send {
            conversation: ConversationId(4),
            client_id: "c-1".into()
        }));
        assert!(!requests.pinging());
        assert!(
            requests.overdue(12_000.0, limit).is_empty(),
            "handed back once"
        );
        // A pong answers its ping.
        let again = requests.ping(13_000.0);
        let pong = ServerFrame::reply(ServerEvent::Pong {}, Some(reference_of(&again)));
        assert_eq!(requests.receive(&pong.encode()), Ok(Inbound::Nothing));
        assert!(!requests.pinging());
    }

    #[test]
    fn resume_lists_every_cursor_and_its_answer_carries_the_conversations() {
        let mut requests = Requests::default();
        let frame = requests.resume(
            vec![Cursor {
                conv_id: ConversationId(4),
                last_seq: Seq(9),
            }],
            0.0,
        );
        let value: Value = serde_json::from_str(&frame).expect("JSON");
        assert_eq!(value["event"], "resume");
        assert_eq!(
            value["data"],
            json!({"conversations": [{"convId": 4, "lastSeq": 9}]})
        );
        let refused = ServerFrame::reply(
            ServerEvent::Error(ErrorView::new(ErrorCode::Internal, "internal error")),
            Some(reference_of(&frame)),
        );
        assert!(matches!(
            requests.receive(&refused.encode()),
            Ok(Inbound::ResumeFailed(_))
        ));
        let read = ServerFrame::broadcast(ServerEvent::ConversationRead {
            conv_id: ConversationId(4),
            user_id: UserId(2),
            last_read_seq: Seq(9),
        });
        assert_eq!(
            requests.receive(&read.encode()),
            Ok(Inbound::Read {
                conversation: ConversationId(4),
                user: UserId(2),
                seq: Seq(9)
            })
        );
    }

    #[test]
    fn a_frame_that_is_not_protocol_is_reported() {
        let mut requests = Requests::default();
        assert!(requests.receive("{\"event\":\"fly\"}").is_err());
        assert!(requests.receive("not json").is_err());
    }
}
