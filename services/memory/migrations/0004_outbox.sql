-- Events waiting to be published on cairn.memory.v1.events, written in the
-- transaction of the change they describe, deleted once the broker has
-- them: a change committed is never without its event.
CREATE TABLE memory_outbox (
        seq        bigserial   PRIMARY KEY,
        event_id   uuid        NOT NULL DEFAULT gen_random_uuid(),
        type       text        NOT NULL
                   CHECK (type IN ('STORED', 'UPDATED', 'DELETED', 'ERASED', 'EXPIRED')),
        tenant     text        NOT NULL,
        user_id    text        NOT NULL,
        memory_id  uuid,
        version    integer,
        memories   bigint,
        request_id text        NOT NULL,
        at         timestamptz NOT NULL
);
