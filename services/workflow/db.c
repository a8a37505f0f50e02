/* The workflow service's statements (db.h). */
#include "db.h"

#define MS(col) "(extract(epoch from " col ") * 1000)::bigint"
#define TS(p)   "to_timestamp(" p "::bigint / 1000.0)"

#define RUN_COLS \
        "run_id::text, type, version, principal, role, status, state::text, " MS("started_at")

const struct cairn_pg_stmt wf_sql[WQ__COUNT] = {
        [WQ_DEF_GET] = { "wf_def_get",
                         "SELECT version, encode(definition, 'hex'), builtin, " MS(
                                 "created_at") " FROM workflow_definitions WHERE type = $1 AND ($2::integer = 0 OR "
                                               "version = $2::integer) ORDER BY version DESC LIMIT 1",
                         false },
        [WQ_DEF_LOCK] = { "wf_def_lock",
                          "SELECT pg_advisory_xact_lock(hashtext('cairn.workflow.definition:' "
                          "|| $1))",
                          false },
        [WQ_DEF_LATEST] = { "wf_def_latest",
                            "SELECT version, encode(definition, 'hex'), builtin, " MS(
                                    "created_at") " FROM workflow_definitions WHERE type = $1 ORDER BY version DESC "
                                                  "LIMIT 1",
                            false },
        [WQ_DEF_INSERT] = { "wf_def_insert",
                            "INSERT INTO workflow_definitions (type, version, description, "
                            "definition, builtin) SELECT $1, coalesce(max(version), 0) + 1, $2, "
                            "decode($3, 'hex'), $4::boolean FROM workflow_definitions WHERE type "
                            "= $1 RETURNING version, " MS("created_at"),
                            false },
        [WQ_DEF_LIST] = { "wf_def_list",
                          "SELECT DISTINCT ON (type) type, version, description, builtin, " MS(
                                  "created_at") " FROM workflow_definitions WHERE type > $1 "
                                                "ORDER BY type, version DESC LIMIT $2::integer",
                          false },
        [WQ_RUN_LOCK] = { "wf_run_lock",
                          "SELECT " RUN_COLS " FROM workflow_runs WHERE run_id = $1::uuid FOR "
                          "UPDATE",
                          false },
        [WQ_RUN_SAVE] = { "wf_run_save",
                          "UPDATE workflow_runs SET status = $2, closed_at = CASE WHEN "
                          "$3::bigint > 0 THEN " TS("$3") " END, wake_at = CASE WHEN $4::bigint "
                                                          "> 0 THEN " TS("$4") " END, state = "
                                                                               "$5::jsonb "
                                                                               "WHERE run_id = "
                                                                               "$1::uuid",
                          false },
        [WQ_RUN_INSERT] = { "wf_run_insert",
                            "INSERT INTO workflow_runs (run_id, tenant, workflow_id, type, "
                            "version, status, start_request, principal, role, started_at, "
                            "wake_at, state) VALUES ($1::uuid, $2, $3, $4, $5::integer, 'RUNNING', "
                            "$6, $7, $8, " TS("$9") ", CASE WHEN $10::bigint > 0 THEN " TS(
                                    "$10") " END, $11::jsonb)",
                            false },
        [WQ_ID_LOCK] = { "wf_id_lock",
                         "SELECT pg_advisory_xact_lock(hashtext('cairn.workflow.id:' || $1 || "
                         "'/' || $2))",
                         false },
        [WQ_RUN_BY_START] = { "wf_run_by_start",
                              "SELECT workflow_id, run_id::text FROM workflow_runs WHERE tenant "
                              "= $1 AND start_request = $2",
                              false },
        [WQ_RUN_LATEST] = { "wf_run_latest",
                            "SELECT run_id::text, status FROM workflow_runs WHERE tenant = $1 "
                            "AND workflow_id = $2 ORDER BY started_at DESC, run_id LIMIT 1 FOR "
                            "UPDATE",
                            false },
        [WQ_RUN_GET] = { "wf_run_get",
                         "SELECT " RUN_COLS " FROM workflow_runs WHERE tenant = $1 AND "
                         "workflow_id = $2 AND ($3 = '' OR run_id::text = $3) ORDER BY "
                         "started_at DESC, run_id LIMIT 1",
                         false },
        /* clang-format off */
        [WQ_RUN_LIST] = { "wf_run_list",
                          "SELECT " RUN_COLS " FROM workflow_runs WHERE tenant = $1"
                          " AND ($2 = '' OR type = $2) AND ($3 = '' OR status = $3)"
                          " AND ($4::bigint = 0 OR started_at > " TS("$4") ")"
                          " AND ($5::bigint = 0 OR started_at < " TS("$5") ")"
                          " AND ($6::bigint = 0 OR (started_at, run_id) < (" TS("$6") ", $7::uuid))"
                          " ORDER BY started_at DESC, run_id DESC LIMIT $8::integer",
                          false },
        /* clang-format on */
        [WQ_HISTORY_ADD] = { "wf_history_add",
                             "INSERT INTO workflow_history (run_id, seq, event) SELECT "
                             "$1::uuid, s, e FROM unnest($2::integer[], $3::bytea[]) AS x(s, e)",
                             false },
        [WQ_HISTORY_PAGE] = { "wf_history_page",
                              "SELECT seq, encode(event, 'hex') FROM workflow_history WHERE "
                              "run_id = $1::uuid AND seq > $2::integer ORDER BY seq LIMIT "
                              "$3::integer",
                              false },
        [WQ_SIGNALS_OPEN] = { "wf_signals_open",
                              "SELECT seq, name, payload::text FROM workflow_signals WHERE "
                              "run_id = $1::uuid AND taken_by IS NULL ORDER BY seq",
                              false },
        [WQ_SIGNALS_TAKE] = { "wf_signals_take",
                              "UPDATE workflow_signals s SET taken_by = x.step FROM "
                              "unnest($2::bigint[], $3::text[]) AS x(seq, step) WHERE s.run_id "
                              "= $1::uuid AND s.seq = x.seq",
                              false },
        [WQ_SIGNAL_ADD] = { "wf_signal_add",
                            "INSERT INTO workflow_signals (run_id, name, payload, request_id) "
                            "VALUES ($1::uuid, $2, $3::jsonb, $4) ON CONFLICT (run_id, "
                            "request_id) DO NOTHING",
                            false },
        [WQ_OUTBOX_ADD] = { "wf_outbox_add",
                            "INSERT INTO workflow_outbox (topic, key, ce_id, ce_type, payload, "
                            "deadline_ms, principal, role) SELECT t, k, i, y, p, "
                            "nullif(d, 0), pr, ro FROM unnest($1::text[], $2::text[], $3::text[], "
                            "$4::text[], $5::bytea[], $6::bigint[], $7::text[], $8::text[]) WITH "
                            "ORDINALITY AS x(t, k, i, y, p, d, pr, ro, n) ORDER BY n",
                            false },
        [WQ_OUTBOX_TAKE] = { "wf_outbox_take",
                             "SELECT seq, topic, key, ce_id, ce_type, encode(payload, 'hex'), "
                             "coalesce(deadline_ms, 0), principal, role, " MS(
                                     "created_at") " FROM workflow_outbox ORDER BY seq LIMIT $1::integer FOR UPDATE "
                                                   "SKIP LOCKED",
                             false },
        [WQ_OUTBOX_DELETE] = { "wf_outbox_delete",
                               "DELETE FROM workflow_outbox WHERE seq = ANY($1::bigint[])", false },
        [WQ_DUE] = { "wf_due",
                     "SELECT run_id::text, " MS(
                             "wake_at") " FROM workflow_runs WHERE "
                                        "wake_at <= now() ORDER BY wake_at LIMIT $1::integer",
                     false },
        [WQ_RUN_LOCK_DUE] = { "wf_run_lock_due",
                              "SELECT " RUN_COLS " FROM workflow_runs WHERE run_id = $1::uuid "
                              "AND wake_at <= now() FOR UPDATE SKIP LOCKED",
                              false },
        [WQ_GAUGES] = { "wf_gauges",
                        "SELECT (SELECT count(*) FROM workflow_runs WHERE status = 'RUNNING'), "
                        "(SELECT count(*) FROM workflow_runs WHERE wake_at <= now()), (SELECT "
                        "count(*) FROM workflow_outbox)",
                        false },
};
