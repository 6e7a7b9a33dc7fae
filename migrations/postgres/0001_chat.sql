-- natter's schema on PostgreSQL. Times are Unix milliseconds (BIGINT) so that the same
-- queries run unchanged on SQLite (see migrations/sqlite).

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT   NOT NULL,
    -- lower-cased username: uniqueness is case-insensitive.
    username_key  TEXT   NOT NULL CONSTRAINT users_username_key UNIQUE,
    password_hash TEXT   NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    id         TEXT   PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE conversations (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- 'direct:<lower id>:<higher id>' for one-to-one conversations, NULL for groups (later):
    -- creating an existing direct conversation finds this row instead.
    direct_key TEXT   CONSTRAINT conversations_direct_key UNIQUE,
    -- the seq of the newest message; bumped in the same transaction as the insert, whose
    -- row lock serialises concurrent sends to one conversation and keeps seq gapless.
    last_seq   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

CREATE TABLE conversation_members (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at       BIGINT NOT NULL,
    last_read_seq   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user ON conversation_members (user_id);

CREATE TABLE messages (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    sender_id       BIGINT NOT NULL REFERENCES users (id),
    body            TEXT   NOT NULL,
    client_id       TEXT,
    created_at      BIGINT NOT NULL,
    CONSTRAINT messages_conversation_seq UNIQUE (conversation_id, seq),
    CONSTRAINT messages_sender_client_id UNIQUE (sender_id, client_id)
);
