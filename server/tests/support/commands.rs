//! Client commands as the tests send them, built in one place.

use natter::protocol::{ClientCommand, ConversationId, CreateConvDto, NewMessage, Seq, UserId};

/// Join `conv`'s room, from now on.
pub fn join(conv: ConversationId) -> ClientCommand {
    ClientCommand::JoinConversation {
        conv_id: conv,
        last_seq: None,
        user_id: None,
    }
}

/// Join `conv`'s room and replay what came after `last_seq`.
pub fn rejoin(conv: ConversationId, last_seq: Seq) -> ClientCommand {
    ClientCommand::JoinConversation {
        conv_id: conv,
        last_seq: Some(last_seq),
        user_id: None,
    }
}

/// Send `text` to `conv`, with a client id for retries when given.
pub fn send(conv: ConversationId, text: &str, client_id: Option<&str>) -> ClientCommand {
    ClientCommand::SendMessage {
        conv_id: conv,
        message: NewMessage {
            message: text.into(),
        },
        client_id: client_id.map(str::to_owned),
        user_id: None,
    }
}

/// Open a conversation with `user2_id`.
pub fn create(user2_id: UserId) -> ClientCommand {
    create_with(CreateConvDto {
        user2_id: Some(user2_id),
        ..CreateConvDto::default()
    })
}

/// Create a group titled `title` with `member_ids`, inside `createConvDto` as the seed nests it.
pub fn create_group(title: &str, member_ids: Vec<UserId>) -> ClientCommand {
    create_with(CreateConvDto {
        title: Some(title.into()),
        member_ids: Some(member_ids),
        ..CreateConvDto::default()
    })
}

/// `createConversation` with everything inside `createConvDto`, nothing beside it.
pub fn create_with(dto: CreateConvDto) -> ClientCommand {
    ClientCommand::CreateConversation {
        create_conv_dto: Some(dto),
        username: None,
        title: None,
        member_ids: None,
        usernames: None,
        user_id: None,
    }
}
