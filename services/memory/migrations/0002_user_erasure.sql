-- Stored replies hold content: they are the user's too, and go with an
-- erasure. Rows from before this migration have user_id ''.
ALTER TABLE memory_requests ADD COLUMN user_id text NOT NULL DEFAULT '';
CREATE INDEX memory_requests_user ON memory_requests (tenant, user_id);

-- Every erasure, without what was erased: who asked, when, how much.
CREATE TABLE memory_erasures (
        seq             bigserial   PRIMARY KEY,
        tenant          text        NOT NULL,
        user_id         text        NOT NULL,
        request_id      text        NOT NULL,
        requested_by    text        NOT NULL,
        memories        bigint      NOT NULL,
        versions        bigint      NOT NULL,
        history_entries bigint      NOT NULL,
        requests        bigint      NOT NULL,
        at              timestamptz NOT NULL
);
