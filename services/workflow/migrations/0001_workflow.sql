-- Workflow types, one row per version. A run keeps the version it started
-- with, so a definition registered again never changes a run under way.
CREATE TABLE workflow_definitions (
        type        text        NOT NULL,
        version     integer     NOT NULL CHECK (version >= 1),
        description text        NOT NULL DEFAULT '',
        -- packed cairn.workflow.v1.WorkflowDefinition
        definition  bytea       NOT NULL,
        builtin     boolean     NOT NULL DEFAULT false,
        created_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (type, version)
);

-- Runs. The state column is the whole run (cairn.workflow.v1.Run in its
-- proto3 JSON form, its steps included): one row to lock and rewrite per
-- change. The other columns are copies for finding runs.
CREATE TABLE workflow_runs (
        run_id        uuid        PRIMARY KEY,
        tenant        text        NOT NULL,
        workflow_id   text        NOT NULL,
        type          text        NOT NULL,
        version       integer     NOT NULL,
        status        text        NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED',
                                                  'CANCELLED', 'TERMINATED', 'TIMED_OUT')),
        -- the ce_id of the StartRunRequest: a redelivered start finds its run
        start_request text        NOT NULL,
        -- who started it: the steps' calls are made for them
        principal     text        NOT NULL DEFAULT '',
        role          text        NOT NULL DEFAULT '',
        started_at    timestamptz NOT NULL,
        closed_at     timestamptz,
        -- when the engine must look at the run again (a timer, a retry, an
        -- attempt's timeout, the run's timeout); NULL: only a reply or a
        -- signal moves it
        wake_at       timestamptz,
        state         jsonb       NOT NULL,
        FOREIGN KEY (type, version) REFERENCES workflow_definitions
);

-- one running run per workflow id and tenant, whatever the policies say
CREATE UNIQUE INDEX workflow_runs_running ON workflow_runs (tenant, workflow_id)
        WHERE status = 'RUNNING';
CREATE INDEX workflow_runs_by_id ON workflow_runs (tenant, workflow_id, started_at DESC);
CREATE UNIQUE INDEX workflow_runs_start ON workflow_runs (tenant, start_request);
CREATE INDEX workflow_runs_list ON workflow_runs (tenant, started_at DESC, run_id);
CREATE INDEX workflow_runs_due ON workflow_runs (wake_at) WHERE wake_at IS NOT NULL;

-- Each run's history, append-only: packed cairn.workflow.v1.WorkflowEvent.
CREATE TABLE workflow_history (
        run_id uuid    NOT NULL REFERENCES workflow_runs ON DELETE CASCADE,
        seq    integer NOT NULL CHECK (seq >= 1),
        event  bytea   NOT NULL,
        PRIMARY KEY (run_id, seq)
);

-- Signals sent to running runs, buffered until a step waiting for their
-- name takes them (taken_by); once per request id (the signal's ce_id).
CREATE TABLE workflow_signals (
        run_id      uuid        NOT NULL REFERENCES workflow_runs ON DELETE CASCADE,
        seq         bigserial,
        name        text        NOT NULL,
        payload     jsonb       NOT NULL,
        request_id  text        NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        taken_by    text,
        PRIMARY KEY (run_id, seq),
        UNIQUE (run_id, request_id)
);

-- Messages written in the transaction of the change that made them (a
-- step's dispatch, an event), published after it commits and deleted once
-- the broker has them. A dispatch carries a ce_id made of run, step and
-- attempt, so publishing it twice (after a crash) is deduplicated by the
-- service it calls.
CREATE TABLE workflow_outbox (
        seq         bigserial   PRIMARY KEY,
        topic       text        NOT NULL,
        key         text        NOT NULL,
        ce_id       text        NOT NULL,
        ce_type     text        NOT NULL,
        payload     bytea       NOT NULL,
        -- a dispatch: its reply comes back to the service; NULL: an event
        deadline_ms bigint,
        principal   text        NOT NULL DEFAULT '',
        role        text        NOT NULL DEFAULT '',
        created_at  timestamptz NOT NULL DEFAULT now()
);
