-- natter's schema on SQLite. Times are Unix milliseconds (INTEGER) so that the same
-- queries run unchanged on PostgreSQL (see migrations/postgres).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    -- lower-cased username: uniqueness is case-insensitive.
    username_key  TEXT    NOT NULL CONSTRAINT users_username_key UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE conversations (
    id         INTEGER PRIMARY KEY,
    -- 'direct:<lower id>:<higher id>' for one-to-one conversations, NULL for groups (later):
    -- creating an existing direct conversation finds this row instead.
    direct_key TEXT    CONSTRAINT conversations_direct_key UNIQUE,
    -- the seq of the newest message; bumped in the same transaction as the insert.
    last_seq   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

CREATE TABLE conversation_members (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at       INTEGER NOT NULL,
    last_read_seq   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members (user_id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    sender_id       INTEGER NOT NULL REFERENCES users (id),
    body            TEXT    NOT NULL,
    client_id       TEXT,
    created_at      INTEGER NOT NULL,
    CONSTRAINT messages_conversation_seq UNIQUE (conversation_id, seq),
    CONSTRAINT messages_sender_client_id UNIQUE (sender_id, client_id)
);
