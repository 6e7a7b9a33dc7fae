-- Each user's personal feed (conversations started with them, read marks of their
-- conversations, their sessions ending) as a durable, gapless log: a connection that missed
-- an event — on another node, or while the relay between nodes was down — reads it from here.
ALTER TABLE users ADD COLUMN last_event_pos INTEGER NOT NULL DEFAULT 0;

CREATE TABLE user_events (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- 1, 2, 3… per user, assigned with users.last_event_pos in the change's transaction.
    pos        INTEGER NOT NULL,
    -- the event as JSON (natter::hub::PersonalEvent).
    event      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, pos)
);
CREATE INDEX user_events_created ON user_events (created_at);
