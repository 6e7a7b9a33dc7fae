-- Group conversations. A conversation is 'direct' (one-to-one, found again by direct_key) or
-- 'group' (a title, any number of members, direct_key NULL). A member is an 'admin' (renames,
-- adds, removes, makes admins) or a plain 'member'; direct conversations have no admins.
ALTER TABLE conversations ADD COLUMN kind TEXT NOT NULL DEFAULT 'direct'
    CONSTRAINT conversations_kind CHECK (kind IN ('direct', 'group'));
ALTER TABLE conversations ADD COLUMN title TEXT;
ALTER TABLE conversation_members ADD COLUMN role TEXT NOT NULL DEFAULT 'member'
    CONSTRAINT conversation_members_role CHECK (role IN ('admin', 'member'));
-- A timeline entry is a 'message' or an 'event' (a membership change or a rename), which takes
-- its seq like a message: history, resume, ordering and unread counts treat both alike. An
-- event's sender is its actor, its body the sentence a client without groups shows ("alice
-- added carol"), and `event` the change as JSON (natter::protocol::TimelineEvent).
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'
    CONSTRAINT messages_kind CHECK (kind IN ('message', 'event'));
ALTER TABLE messages ADD COLUMN event TEXT;
