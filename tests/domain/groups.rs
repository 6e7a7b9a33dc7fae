//! Group conversations: creating one, its rules (titles, limits, admins), its changes as
//! timeline entries with their own `seq`, and what a removed or added member's connections see.

use std::time::Duration;

use natter::protocol::{
    Change, ClientCommand, ConversationId, ConversationKind, CreateConvDto, EntryKind, ErrorCode,
    MessageView, Seq, ServerEvent, UserId,
};
use natter::store::Engine;
use natter::{AuthUser, ChatConfig, ChatError, NewGroup, Target};

use crate::commands::{join, send};
use crate::support::{Fixture, next_not_presence as next_frame, quiet, unlimited};

fn group(title: &str, members: &[&AuthUser]) -> NewGroup {
    NewGroup {
        title: title.into(),
        member_ids: members.iter().map(|m| m.id()).collect(),
        usernames: Vec::new(),
    }
}

/// alice (admin), bob and carol in "Launch".
async fn trio(f: &Fixture) -> (AuthUser, AuthUser, AuthUser, ConversationId) {
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let carol = f.user("carol").await;
    let opened = f
        .chat
        .create_group(&alice, group("Launch", &[&bob, &carol]))
        .await
        .unwrap();
    (alice, bob, carol, opened.conversation.id)
}

fn changes(entries: &[MessageView]) -> Vec<(i64, Option<Change>)> {
    entries
        .iter()
        .map(|m| (m.seq.0, m.event.as_ref().map(|e| e.change)))
        .collect()
}

async fn a_group_is_created_with_its_title_members_and_admin_and_announced(engine: Engine) {
    let f = Fixture::new(engine).await;
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let carol = f.user("carol").await;
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let mut carol_conn = f.chat.connect(carol.clone()).await.unwrap();
    let opened = f
        .chat
        .create_group(
            &alice,
            NewGroup {
                title: "  Launch \n".into(),
                member_ids: vec![bob.id(), alice.id(), bob.id()],
                usernames: vec!["CAROL".into()],
            },
        )
        .await
        .unwrap();
    assert!(opened.fresh);
    let view = opened.conversation;
    assert_eq!(view.kind, ConversationKind::Group);
    assert_eq!(view.title.as_deref(), Some("Launch"));
    let names: Vec<_> = view.members.iter().map(|m| m.username.as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(view.admins, [alice.id()]);
    // The creator has read the `created` entry; the others have not.
    assert_eq!(view.unread, 0);
    for conn in [&mut bob_conn, &mut carol_conn] {
        let ServerEvent::ConversationCreated { conversation } = next_frame(conn).await.event else {
            panic!()
        };
        assert_eq!(conversation.id, view.id);
        assert_eq!(conversation.kind, ConversationKind::Group);
        assert_eq!(conversation.unread, 1);
    }
    let entries = f.stored(&bob, view.id).await;
    assert_eq!(entries.len(), 1);
    let created = &entries[0];
    assert_eq!(created.seq, Seq(1));
    assert_eq!(created.kind, EntryKind::Event);
    assert_eq!(created.sender_id, alice.id());
    assert_eq!(
        created.message,
        "alice created the group \u{201c}Launch\u{201d}"
    );
    let event = created.event.as_ref().unwrap();
    assert_eq!(event.change, Change::Created);
    assert_eq!(event.actor.id, alice.id());
    assert_eq!(event.title.as_deref(), Some("Launch"));

    // One-to-one conversations are still found again, and say they are direct.
    let direct = f
        .chat
        .open_conversation(&alice, Target::Id(bob.id()))
        .await
        .unwrap();
    assert!(direct.fresh);
    assert_ne!(direct.conversation.id, view.id);
    assert_eq!(direct.conversation.kind, ConversationKind::Direct);
    assert_eq!(direct.conversation.title, None);
    assert!(direct.conversation.admins.is_empty());
    let again = f
        .chat
        .open_conversation(&bob, Target::Name("alice".into()))
        .await
        .unwrap();
    assert_eq!(
        (again.conversation.id, again.fresh),
        (direct.conversation.id, false)
    );
}

async fn a_group_needs_a_title_another_member_existing_users_and_room(engine: Engine) {
    let f = Fixture::with_config(
        engine,
        ChatConfig {
            max_group_members: 3,
            ..unlimited()
        },
    )
    .await;
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let carol = f.user("carol").await;
    let dave = f.user("dave").await;
    let refused =
        |result: Result<natter::chat::Opened, ChatError>| result.map(|_| ()).unwrap_err().code();
    for title in ["", "   \n ", &"x".repeat(101), "bad\u{7}title"] {
        assert_eq!(
            refused(f.chat.create_group(&alice, group(title, &[&bob])).await),
            ErrorCode::InvalidTitle,
            "{title:?}"
        );
    }
    assert!(
        f.chat
            .create_group(&alice, group(&"é".repeat(100), &[&bob]))
            .await
            .is_ok()
    );
    assert_eq!(
        refused(f.chat.create_group(&alice, group("Solo", &[])).await),
        ErrorCode::InvalidPayload
    );
    assert_eq!(
        refused(f.chat.create_group(&alice, group("Solo", &[&alice])).await),
        ErrorCode::InvalidPayload
    );
    let mut ghost = group("Ghosts", &[&bob]);
    ghost.member_ids.push(UserId(999_999));
    assert_eq!(
        refused(f.chat.create_group(&alice, ghost).await),
        ErrorCode::UserNotFound
    );
    let mut nobody = group("Ghosts", &[&bob]);
    nobody.usernames.push("nobody".into());
    assert_eq!(
        refused(f.chat.create_group(&alice, nobody).await),
        ErrorCode::UserNotFound
    );
    assert_eq!(
        refused(
            f.chat
                .create_group(&alice, group("Crowd", &[&bob, &carol, &dave]))
                .await
        ),
        ErrorCode::TooManyMembers
    );
    // Three with the creator is the limit: full, nobody more may be added.
    let full = f
        .chat
        .create_group(&alice, group("Three", &[&bob, &carol]))
        .await
        .unwrap()
        .conversation
        .id;
    assert!(matches!(
        f.chat.add_member(&alice, full, Target::Id(dave.id())).await,
        Err(ChatError::TooManyMembers { max: 3 })
    ));
    // Nothing refused was written: alice has the two groups that were created.
    let groups = f.chat.conversations(&alice).await.unwrap();
    assert_eq!(groups.len(), 2);
}

async fn only_admins_change_a_group_and_strangers_learn_nothing(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, carol, conv) = trio(&f).await;
    let dave = f.user("dave").await;
    let code = |result: Result<(), ChatError>| result.unwrap_err().code();
    let view = |result: Result<natter::protocol::ConversationView, ChatError>| result.map(|_| ());
    // A member who is not an admin.
    assert_eq!(
        code(view(f.chat.rename_group(&bob, conv, "Mine").await)),
        ErrorCode::NotAdmin
    );
    assert_eq!(
        code(view(
            f.chat.add_member(&bob, conv, Target::Id(dave.id())).await
        )),
        ErrorCode::NotAdmin
    );
    assert_eq!(
        code(f.chat.remove_member(&bob, conv, carol.id()).await),
        ErrorCode::NotAdmin
    );
    assert_eq!(
        code(view(f.chat.make_admin(&bob, conv, bob.id()).await)),
        ErrorCode::NotAdmin
    );
    // A stranger: not a member, before anything else.
    assert_eq!(
        code(view(f.chat.rename_group(&dave, conv, "Mine").await)),
        ErrorCode::NotMember
    );
    assert_eq!(
        code(view(
            f.chat.add_member(&dave, conv, Target::Id(dave.id())).await
        )),
        ErrorCode::NotMember
    );
    // …whoever they name, even nobody: they learn nothing about who exists either.
    assert_eq!(
        code(view(
            f.chat
                .add_member(&dave, conv, Target::Id(UserId(999_999)))
                .await
        )),
        ErrorCode::NotMember
    );
    assert_eq!(
        code(f.chat.remove_member(&dave, conv, bob.id()).await),
        ErrorCode::NotMember
    );
    assert_eq!(
        code(view(f.chat.make_admin(&dave, conv, dave.id()).await)),
        ErrorCode::NotMember
    );
    assert_eq!(
        code(f.chat.leave_group(&dave, conv).await),
        ErrorCode::NotMember
    );
    // A conversation that does not exist.
    let missing = ConversationId(424_242);
    assert_eq!(
        code(view(f.chat.rename_group(&alice, missing, "X").await)),
        ErrorCode::ConversationNotFound
    );
    assert_eq!(
        code(f.chat.leave_group(&alice, missing).await),
        ErrorCode::ConversationNotFound
    );
    // An admin's mistakes.
    assert_eq!(
        code(view(
            f.chat
                .add_member(&alice, conv, Target::Name("bob".into()))
                .await
        )),
        ErrorCode::AlreadyMember
    );
    assert_eq!(
        code(view(
            f.chat
                .add_member(&alice, conv, Target::Id(UserId(999_999)))
                .await
        )),
        ErrorCode::UserNotFound
    );
    assert_eq!(
        code(f.chat.remove_member(&alice, conv, dave.id()).await),
        ErrorCode::MemberNotFound
    );
    assert_eq!(
        code(view(f.chat.make_admin(&alice, conv, dave.id()).await)),
        ErrorCode::MemberNotFound
    );
    assert_eq!(
        code(view(f.chat.rename_group(&alice, conv, " ").await)),
        ErrorCode::InvalidTitle
    );
    // A one-to-one conversation has no admins, title or member changes.
    let direct = f
        .chat
        .open_conversation(&alice, Target::Id(bob.id()))
        .await
        .unwrap()
        .conversation
        .id;
    assert_eq!(
        code(view(f.chat.rename_group(&alice, direct, "Us").await)),
        ErrorCode::NotGroup
    );
    assert_eq!(
        code(view(
            f.chat
                .add_member(&alice, direct, Target::Id(carol.id()))
                .await
        )),
        ErrorCode::NotGroup
    );
    assert_eq!(
        code(f.chat.leave_group(&bob, direct).await),
        ErrorCode::NotGroup
    );
    assert_eq!(
        code(view(f.chat.rename_group(&carol, direct, "Us").await)),
        ErrorCode::NotMember
    );
    // Nothing refused left a trace in either timeline.
    assert_eq!(f.stored(&alice, conv).await.len(), 1);
    assert!(f.stored(&alice, direct).await.is_empty());
    // The refusals have their HTTP statuses.
    assert_eq!(ErrorCode::NotAdmin.http_status(), 403);
    assert_eq!(ErrorCode::NotGroup.http_status(), 409);
    assert_eq!(ErrorCode::MemberNotFound.http_status(), 404);
}

async fn each_change_is_a_timeline_entry_with_its_seq(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, carol, conv) = trio(&f).await;
    let dave = f.user("dave").await;
    f.chat.send(&alice, conv, "hello", None).await.unwrap();
    let renamed = f
        .chat
        .rename_group(&alice, conv, "Launch week")
        .await
        .unwrap();
    assert_eq!(renamed.title.as_deref(), Some("Launch week"));
    // The same title again changes nothing.
    f.chat
        .rename_group(&alice, conv, "Launch week ")
        .await
        .unwrap();
    let added = f
        .chat
        .add_member(&alice, conv, Target::Name("dave".into()))
        .await
        .unwrap();
    assert_eq!(added.members.len(), 4);
    let admins = f.chat.make_admin(&alice, conv, bob.id()).await.unwrap();
    assert_eq!(admins.admins, [alice.id(), bob.id()]);
    // Making an admin an admin again changes nothing.
    f.chat.make_admin(&bob, conv, alice.id()).await.unwrap();
    f.chat.remove_member(&bob, conv, carol.id()).await.unwrap();
    f.chat.send(&dave, conv, "hi all", None).await.unwrap();

    let entries = f.stored(&alice, conv).await;
    assert_eq!(
        changes(&entries),
        [
            (1, Some(Change::Created)),
            (2, None),
            (3, Some(Change::Renamed)),
            (4, Some(Change::Added)),
            (5, Some(Change::MadeAdmin)),
            (6, Some(Change::Removed)),
            (7, None),
        ]
    );
    let sentences: Vec<_> = entries.iter().map(|m| m.message.as_str()).collect();
    assert_eq!(
        sentences,
        [
            "alice created the group \u{201c}Launch\u{201d}",
            "hello",
            "alice renamed the group to \u{201c}Launch week\u{201d}",
            "alice added dave",
            "alice made bob an admin",
            "bob removed carol",
            "hi all",
        ]
    );
    assert_eq!(
        entries[5]
            .event
            .as_ref()
            .unwrap()
            .subject
            .as_ref()
            .unwrap()
            .id,
        carol.id()
    );
    assert!(
        entries
            .iter()
            .all(|m| (m.kind == EntryKind::Event) == m.event.is_some())
    );
    // A member added later reads the whole history.
    assert_eq!(changes(&f.stored(&dave, conv).await), changes(&entries));
    // What a client after seq 3 missed, in order.
    let missed = f.chat.missed(&bob, conv, Seq(3)).await.unwrap();
    assert_eq!(
        missed.iter().map(|m| m.seq.0).collect::<Vec<_>>(),
        [4, 5, 6, 7]
    );
    // Unread counts take the entries as messages: bob read up to his own change (6); dave
    // was added after 3 (the rest of the history is there, not unread) and sent 7.
    let bob_view = f.chat.conversation(&bob, conv).await.unwrap();
    assert_eq!(bob_view.unread, 1);
    let dave_view = f.chat.conversation(&dave, conv).await.unwrap();
    assert_eq!(dave_view.unread, 0);
    assert_eq!(
        dave_view.last_message.as_ref().map(|m| m.message.as_str()),
        Some("hi all")
    );

    // A resuming connection gets the entries in order, after its cursor.
    let mut conn = f.chat.connect(bob.clone()).await.unwrap();
    let resume = ClientCommand::Resume {
        conversations: vec![natter::protocol::Cursor {
            conv_id: conv,
            last_seq: Seq(4),
        }],
    };
    let ServerEvent::Resumed { conversations } = conn.handle(resume, None).await.unwrap().event
    else {
        panic!()
    };
    assert_eq!(conversations[0].title.as_deref(), Some("Launch week"));
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let ServerEvent::NewMessage { message } = next_frame(&mut conn).await.event else {
            panic!()
        };
        replayed.push((message.seq.0, message.event.map(|e| e.change)));
    }
    assert_eq!(
        replayed,
        [
            (5, Some(Change::MadeAdmin)),
            (6, Some(Change::Removed)),
            (7, None)
        ]
    );
}

async fn a_removed_member_leaves_the_room_at_once_and_is_refused(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, bob, carol, conv) = trio(&f).await;
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let mut carol_room = f.chat.connect(carol.clone()).await.unwrap();
    let mut carol_elsewhere = f.chat.connect(carol.clone()).await.unwrap();
    for conn in [&mut bob_conn, &mut carol_room] {
        let ServerEvent::JoinedConversation { .. } =
            conn.handle(join(conv), None).await.unwrap().event
        else {
            panic!()
        };
    }
    f.chat
        .remove_member(&alice, conv, carol.id())
        .await
        .unwrap();
    // Every connection of carol's hears it, in the room or not.
    for conn in [&mut carol_room, &mut carol_elsewhere] {
        let ServerEvent::RemovedFromConversation { conv_id } = next_frame(conn).await.event else {
            panic!()
        };
        assert_eq!(conv_id, conv);
    }
    assert_eq!(carol_room.joined().count(), 0);
    // The others see the entry, and go on talking.
    let ServerEvent::NewMessage { message } = next_frame(&mut bob_conn).await.event else {
        panic!()
    };
    assert_eq!(message.event.unwrap().change, Change::Removed);
    f.chat
        .send(&alice, conv, "without carol", None)
        .await
        .unwrap();
    let ServerEvent::NewMessage { message } = next_frame(&mut bob_conn).await.event else {
        panic!()
    };
    assert_eq!(message.message, "without carol");
    // carol gets nothing more of it, and may no longer read, send or join.
    assert!(quiet(&mut carol_room, Duration::from_millis(300)).await);
    assert!(matches!(
        f.chat.send(&carol, conv, "hello?", None).await,
        Err(ChatError::NotMember(_))
    ));
    assert!(matches!(
        f.chat.history(&carol, conv, None, None).await,
        Err(ChatError::NotMember(_))
    ));
    assert!(matches!(
        f.chat.conversation(&carol, conv).await,
        Err(ChatError::NotMember(_))
    ));
    let ServerEvent::Error(error) = carol_room.handle(join(conv), None).await.unwrap().event else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::NotMember);
    carol_room
        .handle(send(conv, "let me in", None), Some("s".into()))
        .await;
    let ServerEvent::Error(error) = next_frame(&mut carol_room).await.event else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::NotMember);
    assert!(f.chat.conversations(&carol).await.unwrap().is_empty());
    // A new connection of hers resumes without it.
    let mut fresh = f.chat.connect(carol.clone()).await.unwrap();
    let resume = ClientCommand::Resume {
        conversations: Vec::new(),
    };
    let ServerEvent::Resumed { conversations } = fresh.handle(resume, None).await.unwrap().event
    else {
        panic!()
    };
    assert!(conversations.is_empty());
    // Nor change the group: each admin action is refused, adding herself back too.
    let before = f.stored(&alice, conv).await.len();
    assert_eq!(
        admin_actions(&f, &carol, conv, bob.id()).await,
        [ErrorCode::NotMember; 4]
    );
    // An admin removed by another admin is refused the same way.
    f.chat.make_admin(&alice, conv, bob.id()).await.unwrap();
    f.chat.remove_member(&bob, conv, alice.id()).await.unwrap();
    assert_eq!(
        admin_actions(&f, &alice, conv, bob.id()).await,
        [ErrorCode::NotMember; 4]
    );
    let group = f.chat.conversation(&bob, conv).await.unwrap();
    assert_eq!(group.title.as_deref(), Some("Launch"));
    assert_eq!(group.admins, [bob.id()]);
    let members: Vec<_> = group.members.iter().map(|m| m.id).collect();
    assert_eq!(members, [bob.id()]);
    assert_eq!(
        f.stored(&bob, conv).await.len(),
        before + 2,
        "made admin and removed, nothing refused"
    );
}

/// The codes of `who` renaming the group, adding themselves, removing `member` and making
/// `member` an admin.
async fn admin_actions(
    f: &Fixture,
    who: &AuthUser,
    conv: ConversationId,
    member: UserId,
) -> [ErrorCode; 4] {
    let chat = &f.chat;
    [
        chat.rename_group(who, conv, "Mine").await.map(drop),
        chat.add_member(who, conv, Target::Id(who.id()))
            .await
            .map(drop),
        chat.remove_member(who, conv, member).await,
        chat.make_admin(who, conv, member).await.map(drop),
    ]
    .map(|result| result.unwrap_err().code())
}

async fn an_added_member_hears_of_it_on_every_connection(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, _bob, _carol, conv) = trio(&f).await;
    let dave = f.user("dave").await;
    f.chat
        .send(&alice, conv, "before dave", None)
        .await
        .unwrap();
    let mut first = f.chat.connect(dave.clone()).await.unwrap();
    let mut second = f.chat.connect(dave.clone()).await.unwrap();
    f.chat
        .add_member(&alice, conv, Target::Id(dave.id()))
        .await
        .unwrap();
    for conn in [&mut first, &mut second] {
        let ServerEvent::ConversationCreated { conversation } = next_frame(conn).await.event else {
            panic!()
        };
        assert_eq!(conversation.id, conv);
        assert_eq!(conversation.title.as_deref(), Some("Launch"));
        assert_eq!(conversation.unread, 1);
    }
    // Joining from the start replays everything, the entries included.
    let rejoin = ClientCommand::JoinConversation {
        conv_id: conv,
        last_seq: Some(Seq::ZERO),
        user_id: None,
    };
    first.handle(rejoin, None).await.unwrap();
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let ServerEvent::NewMessage { message } = next_frame(&mut first).await.event else {
            panic!()
        };
        seqs.push(message.seq.0);
    }
    assert_eq!(seqs, [1, 2, 3]);
}

async fn the_last_admin_leaving_promotes_the_longest_standing_member(engine: Engine) {
    let f = Fixture::new(engine).await;
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let carol = f.user("carol").await;
    let dave = f.user("dave").await;
    // carol joins first (with the creator); dave and bob later, in that order.
    let conv = f
        .chat
        .create_group(&alice, group("Relay", &[&carol]))
        .await
        .unwrap()
        .conversation
        .id;
    // Joins are stamped with the wall clock in milliseconds: each one after the clock has moved
    // on, so the order of joining decides (not the user ids, which would put bob first).
    after_this_millisecond().await;
    f.chat
        .add_member(&alice, conv, Target::Id(dave.id()))
        .await
        .unwrap();
    after_this_millisecond().await;
    f.chat
        .add_member(&alice, conv, Target::Id(bob.id()))
        .await
        .unwrap();
    let mut alice_conn = f.chat.connect(alice.clone()).await.unwrap();
    let reply = alice_conn
        .handle(
            ClientCommand::LeaveGroup { conv_id: conv },
            Some("l".into()),
        )
        .await
        .unwrap();
    assert_eq!(reply.reference.as_deref(), Some("l"));
    assert!(matches!(
        reply.event,
        ServerEvent::RemovedFromConversation { conv_id } if conv_id == conv
    ));
    // Answered once: the personal event does not come again on this connection.
    assert!(quiet(&mut alice_conn, Duration::from_millis(200)).await);
    let view = f.chat.conversation(&carol, conv).await.unwrap();
    assert_eq!(view.admins, [carol.id()]);
    assert_eq!(view.members.len(), 3);
    let entries = f.stored(&carol, conv).await;
    let tail = &entries[entries.len() - 2..];
    assert_eq!(
        changes(tail),
        [(4, Some(Change::Left)), (5, Some(Change::Promoted))]
    );
    assert_eq!(tail[1].message, "carol is now an admin");
    assert_eq!(tail[1].event.as_ref().unwrap().actor.id, alice.id());
    // Another admin left: nobody is promoted when an admin stays.
    f.chat.make_admin(&carol, conv, bob.id()).await.unwrap();
    f.chat.leave_group(&carol, conv).await.unwrap();
    let view = f.chat.conversation(&dave, conv).await.unwrap();
    assert_eq!(view.admins, [bob.id()]);
    // A member who is not an admin just leaves.
    f.chat.leave_group(&dave, conv).await.unwrap();
    let view = f.chat.conversation(&bob, conv).await.unwrap();
    assert_eq!(view.admins, [bob.id()]);
    assert_eq!(view.members.len(), 1);
    // The last one leaves too: an empty group, nobody to promote.
    f.chat.leave_group(&bob, conv).await.unwrap();
    assert!(f.chat.conversations(&bob).await.unwrap().is_empty());
}

async fn the_socket_commands_create_and_change_a_group(engine: Engine) {
    let f = Fixture::new(engine).await;
    let alice = f.user("alice").await;
    let bob = f.user("bob").await;
    let carol = f.user("carol").await;
    let mut conn = f.chat.connect(alice.clone()).await.unwrap();
    // Bare, like `username` today.
    let create = ClientCommand::CreateConversation {
        create_conv_dto: None,
        username: None,
        title: Some("Launch".into()),
        member_ids: Some(vec![bob.id()]),
        usernames: None,
        user_id: None,
    };
    assert!(conn.handle(create, Some("c".into())).await.is_none());
    let reply = next_frame(&mut conn).await;
    assert_eq!(reply.reference.as_deref(), Some("c"));
    let ServerEvent::ConversationCreated { conversation } = reply.event else {
        panic!()
    };
    let conv = conversation.id;
    assert_eq!(conversation.kind, ConversationKind::Group);
    // The creating connection is in the room: it sees its own changes there.
    let rename = ClientCommand::RenameConversation {
        conv_id: conv,
        title: "Launch week".into(),
    };
    let ServerEvent::ConversationUpdated { conversation } =
        conn.handle(rename, None).await.unwrap().event
    else {
        panic!()
    };
    assert_eq!(conversation.title.as_deref(), Some("Launch week"));
    let ServerEvent::NewMessage { message } = next_frame(&mut conn).await.event else {
        panic!()
    };
    assert_eq!((message.seq, message.kind), (Seq(2), EntryKind::Event));
    let add = ClientCommand::AddMember {
        conv_id: conv,
        member_id: None,
        username: Some("carol".into()),
    };
    let ServerEvent::ConversationUpdated { conversation } =
        conn.handle(add, None).await.unwrap().event
    else {
        panic!()
    };
    assert_eq!(conversation.members.len(), 3);
    let make = ClientCommand::MakeAdmin {
        conv_id: conv,
        member_id: carol.id(),
    };
    let ServerEvent::ConversationUpdated { conversation } =
        conn.handle(make, None).await.unwrap().event
    else {
        panic!()
    };
    assert_eq!(conversation.admins, [alice.id(), carol.id()]);
    let remove = ClientCommand::RemoveMember {
        conv_id: conv,
        member_id: bob.id(),
    };
    let ServerEvent::ConversationUpdated { conversation } =
        conn.handle(remove, None).await.unwrap().event
    else {
        panic!()
    };
    assert_eq!(conversation.members.len(), 2);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let ServerEvent::NewMessage { message } = next_frame(&mut conn).await.event else {
            panic!()
        };
        seen.push((message.seq.0, message.event.map(|e| e.change)));
    }
    assert_eq!(
        seen,
        [
            (3, Some(Change::Added)),
            (4, Some(Change::MadeAdmin)),
            (5, Some(Change::Removed))
        ]
    );
    // Inside `createConvDto`, and the refusals as `error` frames.
    let inside = |dto: CreateConvDto| ClientCommand::CreateConversation {
        create_conv_dto: Some(dto),
        username: None,
        title: None,
        member_ids: None,
        usernames: None,
        user_id: None,
    };
    let cases = [
        (
            CreateConvDto {
                title: Some("x".repeat(101)),
                usernames: Some(vec!["bob".into()]),
                ..CreateConvDto::default()
            },
            ErrorCode::InvalidTitle,
        ),
        (
            CreateConvDto {
                usernames: Some(vec!["bob".into()]),
                ..CreateConvDto::default()
            },
            ErrorCode::InvalidTitle,
        ),
        (
            CreateConvDto {
                title: Some("Pair".into()),
                user2_id: Some(bob.id()),
                member_ids: Some(vec![carol.id()]),
                ..CreateConvDto::default()
            },
            ErrorCode::InvalidPayload,
        ),
    ];
    for (dto, expected) in cases {
        let ServerEvent::Error(error) = conn.handle(inside(dto), None).await.unwrap().event else {
            panic!()
        };
        assert_eq!(error.code, expected);
    }
    let mut bob_conn = f.chat.connect(bob.clone()).await.unwrap();
    let ServerEvent::Error(error) = bob_conn
        .handle(ClientCommand::LeaveGroup { conv_id: conv }, None)
        .await
        .unwrap()
        .event
    else {
        panic!()
    };
    assert_eq!(error.code, ErrorCode::NotMember);
    let created = inside(CreateConvDto {
        title: Some("Second".into()),
        usernames: Some(vec!["bob".into(), "carol".into()]),
        ..CreateConvDto::default()
    });
    assert!(conn.handle(created, None).await.is_none());
    let ServerEvent::ConversationCreated { conversation } = next_frame(&mut conn).await.event
    else {
        panic!()
    };
    assert_eq!(conversation.title.as_deref(), Some("Second"));
    assert_eq!(conversation.members.len(), 3);
}

async fn a_member_added_back_reads_their_removal_in_the_history_and_stays(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, _bob, carol, conv) = trio(&f).await;
    f.chat
        .remove_member(&alice, conv, carol.id())
        .await
        .unwrap();
    f.chat
        .add_member(&alice, conv, Target::Id(carol.id()))
        .await
        .unwrap();
    let mut conn = f.chat.connect(carol.clone()).await.unwrap();
    let rejoin = ClientCommand::JoinConversation {
        conv_id: conv,
        last_seq: Some(Seq::ZERO),
        user_id: None,
    };
    conn.handle(rejoin, None).await.unwrap();
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let ServerEvent::NewMessage { message } = next_frame(&mut conn).await.event else {
            panic!()
        };
        replayed.push((message.seq.0, message.event.map(|e| e.change)));
    }
    assert_eq!(
        replayed,
        [
            (1, Some(Change::Created)),
            (2, Some(Change::Removed)),
            (3, Some(Change::Added))
        ]
    );
    // The old removal in the replay does not end the room: what comes next arrives.
    assert_eq!(conn.joined().collect::<Vec<_>>(), [conv]);
    f.chat
        .send(&alice, conv, "welcome back", None)
        .await
        .unwrap();
    let ServerEvent::NewMessage { message } = next_frame(&mut conn).await.event else {
        panic!()
    };
    assert_eq!(message.message, "welcome back");
}

/// A caller that stops waiting for a connection's next frame half-way (as a socket's loop does
/// when its client speaks first) loses no personal event: "added to a group" needs a query to
/// become a frame, and a dropped call leaves it to the next one, which delivers it once.
async fn a_frame_abandoned_half_way_comes_on_the_next_call(engine: Engine) {
    let f = Fixture::new(engine).await;
    let (alice, _bob, _carol, conv) = trio(&f).await;
    let dave = f.user("dave").await;
    let mut conn = f.chat.connect(dave.clone()).await.unwrap();
    f.chat
        .add_member(&alice, conv, Target::Id(dave.id()))
        .await
        .unwrap();
    // Each call is polled once, then dropped if it has to wait (for the query).
    let mut created = 0;
    while let Ok(frame) = tokio::time::timeout(Duration::ZERO, conn.next_frame()).await {
        match frame.event {
            ServerEvent::ConversationCreated { conversation } if conversation.id == conv => {
                created += 1;
            }
            ServerEvent::Presence(_) => {}
            other => panic!("{other:?}"),
        }
    }
    if created == 0 {
        let ServerEvent::ConversationCreated { conversation } = next_frame(&mut conn).await.event
        else {
            panic!("the event was lost with the dropped call")
        };
        assert_eq!(conversation.id, conv);
    }
    assert!(quiet(&mut conn, Duration::from_millis(200)).await);
}

natter::on_both_engines!(
    a_frame_abandoned_half_way_comes_on_the_next_call,
    a_member_added_back_reads_their_removal_in_the_history_and_stays,
    a_group_is_created_with_its_title_members_and_admin_and_announced,
    a_group_needs_a_title_another_member_existing_users_and_room,
    only_admins_change_a_group_and_strangers_learn_nothing,
    each_change_is_a_timeline_entry_with_its_seq,
    a_removed_member_leaves_the_room_at_once_and_is_refused,
    an_added_member_hears_of_it_on_every_connection,
    the_last_admin_leaving_promotes_the_longest_standing_member,
    the_socket_commands_create_and_change_a_group,
);

/// Returns once the wall clock reads a later millisecond than when called.
async fn after_this_millisecond() {
    let now = natter::clock::system_now();
    while natter::clock::system_now() <= now {
        tokio::task::yield_now().await;
    }
}
