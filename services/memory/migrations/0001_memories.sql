-- Every version of every memory. The current version of a memory is the row
-- whose valid_to is NULL; an update closes it and inserts version + 1, a
-- delete closes it, so a search as of a past time reads what was true then.
CREATE TABLE memories (
        id           uuid        NOT NULL,
        version      integer     NOT NULL CHECK (version >= 1),
        tenant       text        NOT NULL,
        user_id      text        NOT NULL,
        agent_id     text        NOT NULL DEFAULT '',
        run_id       text        NOT NULL DEFAULT '',
        content      text        NOT NULL,
        metadata     jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
        model        text        NOT NULL,
        -- dimensions x float32, little-endian
        embedding    bytea       NOT NULL,
        -- sha256 of the normalised content: exact duplicates in one scope
        content_hash bytea       NOT NULL,
        -- to_tsvector(memory.fts_language, content)
        fts          tsvector    NOT NULL,
        created_at   timestamptz NOT NULL,
        updated_at   timestamptz NOT NULL,
        valid_from   timestamptz NOT NULL,
        valid_to     timestamptz,
        expires_at   timestamptz,
        PRIMARY KEY (id, version)
);

CREATE UNIQUE INDEX memories_current ON memories (id) WHERE valid_to IS NULL;
-- one current memory per content and scope: concurrent identical stores
-- meet here
CREATE UNIQUE INDEX memories_scope_content ON memories (tenant, user_id, agent_id, run_id, content_hash)
        WHERE valid_to IS NULL;
CREATE INDEX memories_user ON memories (tenant, user_id, created_at DESC, id) WHERE valid_to IS NULL;
CREATE INDEX memories_fts ON memories USING gin (fts) WHERE valid_to IS NULL;
CREATE INDEX memories_expiry ON memories (expires_at) WHERE valid_to IS NULL AND expires_at IS NOT NULL;

-- Append-only: every ADD, UPDATE and DELETE with the content before and after.
CREATE TABLE memory_history (
        seq          bigserial   PRIMARY KEY,
        tenant       text        NOT NULL,
        user_id      text        NOT NULL,
        memory_id    uuid        NOT NULL,
        event        text        NOT NULL CHECK (event IN ('ADD', 'UPDATE', 'DELETE')),
        version      integer     NOT NULL,
        old_content  text,
        new_content  text,
        old_metadata jsonb,
        new_metadata jsonb,
        request_id   text        NOT NULL,
        at           timestamptz NOT NULL
);

CREATE INDEX memory_history_memory ON memory_history (tenant, memory_id, seq);
CREATE INDEX memory_history_user ON memory_history (tenant, user_id);

-- The reply of every write request, by ce_id: a redelivered request gets the
-- same reply and changes nothing.
CREATE TABLE memory_requests (
        tenant     text        NOT NULL,
        request_id text        NOT NULL,
        reply      bytea       NOT NULL,
        at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, request_id)
);
