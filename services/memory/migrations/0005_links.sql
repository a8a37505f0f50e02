-- Links between two memories of one user, in either direction.
CREATE TABLE memory_links (
        tenant     text        NOT NULL,
        user_id    text        NOT NULL,
        from_id    uuid        NOT NULL,
        to_id      uuid        NOT NULL,
        kind       text        NOT NULL,
        strength   real        NOT NULL CHECK (strength >= 0 AND strength <= 1),
        created_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, from_id, to_id, kind),
        CHECK (from_id <> to_id)
);

CREATE INDEX memory_links_to ON memory_links (tenant, to_id);
CREATE INDEX memory_links_user ON memory_links (tenant, user_id);
