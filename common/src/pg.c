/* The PostgreSQL pool: lazy connects bounded in time, a "down" window after
 * a failed connect so callers fail fast, per-connection prepared statements
 * and statement_timeout, and the transaction helper.
 *
 * Threads: every function may be called from any thread; the pool's lock
 * is held only to take or return a connection, never across I/O. */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/breaker.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"
#include "cairn/resilience.h"
#include "cairn/retry.h"
#include "cairn/status.h"
#include "pg_conn.h"

/* clang-format off */
#define ITEM(name, type, def, min, max, flags, field, desc) \
        { name, type, def, min, max, flags, offsetof(struct cairn_pg_conf, field), desc }
/* clang-format on */

const struct cairn_conf_item cairn_pg_conf_items[] = {
        ITEM("pg.url", CAIRN_CONF_STRING, "", 0, -1, CAIRN_CONF_SECRET, url,
             "libpq connection URI, postgresql://user:password@host:port/database?sslmode=...; "
             "empty: not configured"),
        ITEM("pg.pool_size", CAIRN_CONF_INT, "4", 1, 256, 0, pool_size,
             "connections kept open at most; more concurrent calls wait for one"),
        ITEM("pg.connect_timeout_ms", CAIRN_CONF_INT, "10000", 1, 600000, 0, connect_timeout_ms,
             "time a connect (TCP, TLS, authentication) may take; a busy server can take "
             "seconds to start a backend"),
        ITEM("pg.statement_timeout_ms", CAIRN_CONF_INT, "5000", 1, 86400000, 0,
             statement_timeout_ms,
             "statement_timeout of calls without a deadline; a call with one gets the time it has left"),
        ITEM("pg.retry_interval_ms", CAIRN_CONF_INT, "1000", 10, 600000, 0, retry_interval_ms,
             "after a failed connect, calls fail at once for this long before a reconnect is tried"),
        ITEM("pg.startup_wait_ms", CAIRN_CONF_INT, "60000", 0, 3600000, 0, startup_wait_ms,
             "at start, how long a service waits for an unreachable server before it exits; "
             "0: exit at the first failed connect"),
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

/* A transaction that lost a race runs again soon: the race is usually over. */
static const struct cairn_retry_policy tx_retry = {
        .max_attempts = 10,
        .base_ms = 5,
        .cap_ms = 200,
        .retry_on = CAIRN_RETRY_BIT(CAIRN_ERR_ABORTED),
};

/* No retry starts with less than this left before the deadline. */
#define MIN_ATTEMPT_MS 10

static const struct cairn_pg_stmt stmt_set_timeout = {
        "cairn_statement_timeout", "SELECT set_config('statement_timeout', $1, $2)", false
};
static const struct cairn_pg_stmt stmt_begin[] = {
        [CAIRN_PG_READ_COMMITTED] = { "cairn_begin", "BEGIN", false },
        [CAIRN_PG_REPEATABLE_READ] = { "cairn_begin_repeatable_read",
                                       "BEGIN ISOLATION LEVEL REPEATABLE READ", false },
        [CAIRN_PG_SERIALIZABLE] = { "cairn_begin_serializable",
                                    "BEGIN ISOLATION LEVEL SERIALIZABLE", false },
};
static const struct cairn_pg_stmt stmt_commit = { "cairn_commit", "COMMIT", false };
static const struct cairn_pg_stmt stmt_ping = { "cairn_ping", "SELECT 1", false };

struct cairn_pg_conn {
        struct cairn_pg *pg;
        PGconn *pq;
        const struct cairn_pg_stmt **prepared; /* prepared on this connection */
        size_t nprepared;
        size_t prepared_cap;
        long long timeout_ms; /* statement_timeout in effect; -1: not known */
        long long
                session_timeout_ms; /* the session's own, back after a transaction; -1: not known */
        int64_t deadline_us;        /* of the call or transaction it serves; 0: none */
        bool dedicated;             /* no statement_timeout; closed when released */
        bool broken;                /* closed when released */
};

struct cairn_pg {
        const struct cairn_pg_conf *pconf;
        char target[256]; /* user@host:port/database: never the password */
        struct cairn_dependency *dep;

        pthread_mutex_t lock;
        pthread_cond_t returned; /* a connection went back, or a slot opened */
        struct cairn_pg_conn **idle;
        size_t nidle;
        size_t nopen;          /* idle + lent out + connecting */
        size_t nlent;          /* lent out + connecting */
        int64_t down_until_us; /* monotonic; 0 when up */
        bool down_logged;

        struct cairn_series *s_in_use;
        struct cairn_series *s_waits;
        struct cairn_series *s_retries;
        struct cairn_metric *m_duration;
        struct cairn_metric *m_errors;
};

/* ---- small helpers ---- */

/* Copies libpq's (often multi-line) message as one line, without the
 * trailing newline. */
static void one_line(char *out, size_t size, const char *msg)
{
        size_t n = 0;

        if (size == 0)
                return;
        for (const char *p = msg ? msg : ""; *p && n + 1 < size; p++) {
                char c = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : *p;

                if (c == ' ' && (n == 0 || out[n - 1] == ' '))
                        continue;
                out[n++] = c;
        }
        while (n > 0 && out[n - 1] == ' ')
                n--;
        out[n] = '\0';
}

static void count_error(struct cairn_pg *pg, const char *cls)
{
        if (pg->m_errors)
                cairn_metric_inc_l(pg->m_errors, (const char *[]){ cls });
}

/* Called with the lock held. */
static void lent_add(struct cairn_pg *pg, int delta)
{
        pg->nlent = (size_t)((long)pg->nlent + delta);
        if (pg->s_in_use)
                cairn_series_set(pg->s_in_use, (double)pg->nlent);
}

/* Milliseconds poll() may wait until @p until_us; -1 for no limit. */
static int poll_ms(int64_t until_us)
{
        int64_t left;

        if (until_us == 0)
                return -1;
        left = until_us - cairn_mono_us();
        if (left <= 0)
                return 0;
        left = (left + 999) / 1000;
        return left > INT_MAX ? INT_MAX : (int)left;
}

/* Waits until @p fd is ready for @p events or @p until_us (0: no limit)
 * passes. 1: ready, or failed (the next libpq call says how); 0: timed out. */
static int wait_fd(int fd, short events, int64_t until_us)
{
        if (fd < 0)
                return 1;
        for (;;) {
                struct pollfd p = { fd, events, 0 };
                int ms = poll_ms(until_us);
                int rc;

                if (ms == 0)
                        return 0;
                rc = poll(&p, 1, ms);
                if (rc > 0)
                        return 1;
                if (rc < 0 && errno != EINTR)
                        return 1;
        }
}

/* ---- the pool ---- */

static void notice_log(void *opaque, const char *message)
{
        char line[512];

        (void)opaque;
        one_line(line, sizeof(line), message);
        cairn_log(DEBUG, "PG", "server notice: %s", line);
}

/* Where @p url points, for messages: user@host:port/database. -1 when
 * libpq cannot parse it (its message is not repeated: it may quote the
 * password). */
static int target_describe(const char *url, char *out, size_t size)
{
        const char *host = NULL, *hostaddr = NULL, *port = NULL, *db = NULL, *user = NULL;
        char *msg = NULL;
        PQconninfoOption *opts = PQconninfoParse(url, &msg);

        if (msg)
                PQfreemem(msg);
        if (!opts)
                return -1;
        for (PQconninfoOption *o = opts; o->keyword; o++) {
                if (!o->val || !o->val[0])
                        continue;
                if (strcmp(o->keyword, "host") == 0)
                        host = o->val;
                else if (strcmp(o->keyword, "hostaddr") == 0)
                        hostaddr = o->val;
                else if (strcmp(o->keyword, "port") == 0)
                        port = o->val;
                else if (strcmp(o->keyword, "dbname") == 0)
                        db = o->val;
                else if (strcmp(o->keyword, "user") == 0)
                        user = o->val;
        }
        snprintf(out, size, "%s@%s:%s/%s", user ? user : "(default user)",
                 host       ? host
                 : hostaddr ? hostaddr
                            : "(local socket)",
                 port ? port : "5432", db ? db : "(default database)");
        PQconninfoFree(opts);
        return 0;
}

struct cairn_pg *cairn_pg_new(const struct cairn_pg_conf *pconf, struct cairn_metrics *metrics,
                              char *errstr, size_t errstr_size)
{
        struct cairn_resilience_conf rc;
        pthread_condattr_t ca;
        struct cairn_pg *pg;
        char target[256];

        if (!pconf->url || !pconf->url[0]) {
                snprintf(errstr, errstr_size,
                         "config: pg.url is not set (set it in the file or CAIRN_PG_URL)");
                return NULL;
        }
        if (target_describe(pconf->url, target, sizeof(target)) != 0) {
                snprintf(errstr, errstr_size,
                         "config: pg.url is not a connection string libpq can parse "
                         "(postgresql://user:password@host:port/database?param=value)");
                return NULL;
        }
        pg = calloc(1, sizeof(*pg));
        if (!pg)
                abort();
        pg->pconf = pconf;
        snprintf(pg->target, sizeof(pg->target), "%s", target);
        pg->idle = calloc((size_t)pconf->pool_size, sizeof(*pg->idle));
        if (!pg->idle)
                abort();
        pthread_mutex_init(&pg->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&pg->returned, &ca);
        pthread_condattr_destroy(&ca);
        if (pconf->resilience)
                rc = *pconf->resilience;
        else
                cairn_resilience_conf_init(&rc, "pg");
        pg->dep = cairn_dependency_new(&rc, metrics);
        if (metrics) {
                pg->s_in_use = cairn_metric_series(
                        cairn_metrics_gauge(metrics, "cairn_pg_pool_connections_in_use",
                                            "PostgreSQL connections lent out to calls and "
                                            "transactions (or connecting for them)",
                                            NULL),
                        NULL);
                pg->s_waits = cairn_metric_series(
                        cairn_metrics_counter(metrics, "cairn_pg_pool_waits_total",
                                              "calls that found every pooled PostgreSQL "
                                              "connection busy and waited for one",
                                              NULL),
                        NULL);
                pg->m_duration = cairn_metrics_histogram(
                        metrics, "cairn_pg_query_duration_seconds",
                        "time from sending a PostgreSQL statement to its result, by prepared "
                        "statement name",
                        (const char *[]){ "statement", NULL }, cairn_metrics_latency_buckets,
                        cairn_metrics_latency_nbuckets);
                pg->m_errors = cairn_metrics_counter(
                        metrics, "cairn_pg_errors_total",
                        "failed PostgreSQL statements and connects, by SQLSTATE class "
                        "(connection: unreachable or lost)",
                        (const char *[]){ "class", NULL });
                pg->s_retries = cairn_metric_series(
                        cairn_metrics_counter(metrics, "cairn_retries_total",
                                              "Attempts repeated after a retryable failure, by "
                                              "dependency",
                                              (const char *[]){ "dependency", NULL }),
                        (const char *[]){ cairn_dependency_name(pg->dep) });
                cairn_series_set(pg->s_in_use, 0);
        }
        return pg;
}

static void conn_close(struct cairn_pg_conn *conn)
{
        PQfinish(conn->pq);
        free(conn->prepared);
        free(conn);
}

void cairn_pg_free(struct cairn_pg *pg)
{
        if (!pg)
                return;
        /* A connection still lent out would be used after this. */
        assert(pg->nlent == 0);
        for (size_t i = 0; i < pg->nidle; i++)
                conn_close(pg->idle[i]);
        free(pg->idle);
        cairn_dependency_free(pg->dep);
        pthread_cond_destroy(&pg->returned);
        pthread_mutex_destroy(&pg->lock);
        free(pg);
}

bool cairn_pg_down(struct cairn_pg *pg)
{
        bool down;

        pthread_mutex_lock(&pg->lock);
        down = pg->down_until_us > cairn_mono_us();
        pthread_mutex_unlock(&pg->lock);
        return down;
}

/* Records a failed connect: calls fail fast until the retry interval passed. */
static void mark_down(struct cairn_pg *pg, const char *why)
{
        bool first;

        pthread_mutex_lock(&pg->lock);
        pg->down_until_us = cairn_mono_us() + pg->pconf->retry_interval_ms * 1000;
        first = !pg->down_logged;
        pg->down_logged = true;
        pthread_mutex_unlock(&pg->lock);
        if (first)
                cairn_log(WARN, "PG", "postgresql %s unreachable: %s; retrying every %lld ms",
                          pg->target, why, pg->pconf->retry_interval_ms);
}

static void mark_up(struct cairn_pg *pg)
{
        bool was_down;

        pthread_mutex_lock(&pg->lock);
        was_down = pg->down_logged;
        pg->down_logged = false;
        pg->down_until_us = 0;
        pthread_mutex_unlock(&pg->lock);
        if (was_down)
                cairn_log(INFO, "PG", "postgresql %s reachable again", pg->target);
}

/* Connects without blocking past @p until_us: libpq's own connect_timeout
 * counts whole seconds, so the handshake is driven here with poll().
 * NULL with @p errstr set on failure; @p timed_out says whether time ran out. */
static PGconn *connect_one(struct cairn_pg *pg, int64_t until_us, bool *timed_out, char *errstr,
                           size_t errstr_size)
{
        static const char *const keys[] = { "dbname", "fallback_application_name", NULL };
        const char *vals[] = { pg->pconf->url, "cairn", NULL };
        PostgresPollingStatusType st = PGRES_POLLING_WRITING;
        int64_t start = cairn_mono_us();
        char msg[400];
        PGconn *pq;

        *timed_out = false;
        pq = PQconnectStartParams(keys, vals, 1);
        if (!pq) {
                snprintf(errstr, errstr_size, "connect: out of memory");
                return NULL;
        }
        PQsetNoticeProcessor(pq, notice_log, NULL);
        if (PQstatus(pq) == CONNECTION_BAD)
                st = PGRES_POLLING_FAILED;
        while (st != PGRES_POLLING_OK) {
                if (st == PGRES_POLLING_FAILED) {
                        one_line(msg, sizeof(msg), PQerrorMessage(pq));
                        snprintf(errstr, errstr_size, "connect: %s", msg);
                        PQfinish(pq);
                        return NULL;
                }
                if (!wait_fd(PQsocket(pq), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                             until_us)) {
                        *timed_out = true;
                        snprintf(errstr, errstr_size, "connect: no answer within %lld ms",
                                 (long long)((cairn_mono_us() - start) / 1000));
                        PQfinish(pq);
                        return NULL;
                }
                st = PQconnectPoll(pq);
        }
        return pq;
}

/* True when a pooled connection still works. A server that shut down or
 * restarted while the connection sat idle has sent it a farewell and closed
 * it: both are waiting on the socket, so they are read here, without
 * blocking, before anything is sent on a dead connection. */
static bool conn_alive(struct cairn_pg_conn *conn)
{
        PGnotify *note;

        for (int i = 0; i < 8; i++) {
                struct pollfd p = { PQsocket(conn->pq), POLLIN, 0 };

                if (PQstatus(conn->pq) != CONNECTION_OK || p.fd < 0)
                        return false;
                if (poll(&p, 1, 0) <= 0)
                        break;
                if (!PQconsumeInput(conn->pq))
                        return false;
                while ((note = PQnotifies(conn->pq)) != NULL)
                        PQfreemem(note);
        }
        return PQstatus(conn->pq) == CONNECTION_OK && PQtransactionStatus(conn->pq) == PQTRANS_IDLE;
}

static struct cairn_pg_conn *conn_new(struct cairn_pg *pg, PGconn *pq)
{
        struct cairn_pg_conn *conn = calloc(1, sizeof(*conn));

        if (!conn)
                abort();
        conn->pg = pg;
        conn->pq = pq;
        conn->timeout_ms = -1;
        conn->session_timeout_ms = -1;
        return conn;
}

cairn_err_t cairn_pg_conn_acquire(struct cairn_pg *pg, int64_t deadline_us,
                                  struct cairn_pg_conn **out, char *errstr, size_t errstr_size)
{
        const struct cairn_pg_conf *pc = pg->pconf;
        int64_t now = cairn_mono_us();
        int64_t wait_until = deadline_us ? deadline_us : now + pc->statement_timeout_ms * 1000;
        int64_t until;
        bool waited = false, cut = false, timed_out;
        PGconn *pq;

        *out = NULL;
        pthread_mutex_lock(&pg->lock);
        for (;;) {
                now = cairn_mono_us();
                if (pg->nidle > 0) {
                        struct cairn_pg_conn *conn = pg->idle[--pg->nidle];

                        lent_add(pg, 1);
                        pthread_mutex_unlock(&pg->lock);
                        if (conn_alive(conn)) {
                                conn->deadline_us = deadline_us;
                                *out = conn;
                                return CAIRN_OK;
                        }
                        cairn_log(DEBUG, "PG", "pooled connection to %s was closed while idle",
                                  pg->target);
                        conn_close(conn);
                        pthread_mutex_lock(&pg->lock);
                        pg->nopen--;
                        lent_add(pg, -1);
                        continue;
                }
                if (pg->down_until_us > now) {
                        pthread_mutex_unlock(&pg->lock);
                        snprintf(errstr, errstr_size,
                                 "postgresql %s is down: the last connect failed (next attempt "
                                 "within %lld ms)",
                                 pg->target, pc->retry_interval_ms);
                        return CAIRN_ERR_UNAVAILABLE;
                }
                if (pg->nopen < (size_t)pc->pool_size) {
                        pg->nopen++;
                        lent_add(pg, 1);
                        break;
                }
                if (!waited) {
                        waited = true;
                        if (pg->s_waits)
                                cairn_series_inc(pg->s_waits);
                }
                if (now >= wait_until) {
                        pthread_mutex_unlock(&pg->lock);
                        if (deadline_us) {
                                snprintf(errstr, errstr_size,
                                         "deadline passed waiting for one of %lld busy "
                                         "postgresql connections",
                                         pc->pool_size);
                                return CAIRN_ERR_DEADLINE;
                        }
                        snprintf(errstr, errstr_size,
                                 "all %lld postgresql connections stayed busy for %lld ms",
                                 pc->pool_size, pc->statement_timeout_ms);
                        return CAIRN_ERR_EXHAUSTED;
                }
                struct timespec ts = { (time_t)(wait_until / 1000000),
                                       (long)(wait_until % 1000000) * 1000 };
                pthread_cond_timedwait(&pg->returned, &pg->lock, &ts);
        }
        pthread_mutex_unlock(&pg->lock);

        until = now + pc->connect_timeout_ms * 1000;
        if (deadline_us && deadline_us < until) {
                until = deadline_us;
                cut = true;
        }
        pq = connect_one(pg, until, &timed_out, errstr, errstr_size);
        if (!pq) {
                pthread_mutex_lock(&pg->lock);
                pg->nopen--;
                lent_add(pg, -1);
                pthread_cond_signal(&pg->returned);
                pthread_mutex_unlock(&pg->lock);
                /* Out of the caller's time, not the connect's: says nothing
                 * about the server. */
                if (timed_out && cut)
                        return CAIRN_ERR_DEADLINE;
                count_error(pg, "connection");
                mark_down(pg, errstr);
                return CAIRN_ERR_UNAVAILABLE;
        }
        mark_up(pg);
        *out = conn_new(pg, pq);
        (*out)->deadline_us = deadline_us;
        return CAIRN_OK;
}

void cairn_pg_conn_release(struct cairn_pg_conn *conn)
{
        struct cairn_pg *pg = conn->pg;
        bool keep = !conn->broken && !conn->dedicated && PQstatus(conn->pq) == CONNECTION_OK &&
                    PQtransactionStatus(conn->pq) == PQTRANS_IDLE;

        conn->deadline_us = 0;
        pthread_mutex_lock(&pg->lock);
        lent_add(pg, -1);
        if (keep)
                pg->idle[pg->nidle++] = conn;
        else
                pg->nopen--;
        pthread_cond_signal(&pg->returned);
        pthread_mutex_unlock(&pg->lock);
        if (!keep)
                conn_close(conn);
}

void cairn_pg_conn_dedicate(struct cairn_pg_conn *conn)
{
        conn->dedicated = true;
}

/* ---- statements ---- */

int64_t cairn_pg_statement_timeout_ms(int64_t deadline_us, int64_t now_us, int64_t cap_ms)
{
        int64_t left_ms, unit = 1;

        if (deadline_us == 0)
                return cap_ms;
        if (deadline_us - now_us < 1000)
                return 0;
        left_ms = (deadline_us - now_us) / 1000;
        for (int64_t v = left_ms; v >= 100; v /= 10)
                unit *= 10;
        return left_ms - left_ms % unit;
}

/* Collects what the server answers to what was sent: the first error, else
 * the last result. NULL when it did not finish by @p until_us (0: no limit;
 * @p timed_out is set and the connection is broken: its state is unknown). */
static PGresult *results_wait(struct cairn_pg_conn *conn, int64_t until_us, bool *timed_out)
{
        PGresult *keep = NULL, *r;

        *timed_out = false;
        for (;;) {
                while (PQisBusy(conn->pq)) {
                        if (!wait_fd(PQsocket(conn->pq), POLLIN, until_us)) {
                                *timed_out = true;
                                conn->broken = true;
                                PQclear(keep);
                                return NULL;
                        }
                        if (!PQconsumeInput(conn->pq))
                                break; /* PQgetResult() reports it without blocking */
                }
                r = PQgetResult(conn->pq);
                if (!r)
                        break;
                if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
                        PQclear(r);
                } else {
                        PQclear(keep);
                        keep = r;
                }
        }
        return keep;
}

/* Turns what results_wait() returned into an error code and message
 * (naming @p what) and counts it; @p sqlstate gets the code ("" without). */
static cairn_err_t result_check(struct cairn_pg_conn *conn, const PGresult *r, bool timed_out,
                                const char *what, char sqlstate[6], char *errstr,
                                size_t errstr_size)
{
        struct cairn_pg *pg = conn->pg;
        const char *state, *constraint, *msg;
        char line[400], cls[16];
        bool lost;
        cairn_err_t err;

        sqlstate[0] = '\0';
        if (timed_out || !r) {
                conn->broken = true;
                count_error(pg, "connection");
                snprintf(errstr, errstr_size, "%s: no answer from postgresql %s in time", what,
                         pg->target);
                return CAIRN_ERR_UNAVAILABLE;
        }
        switch (PQresultStatus(r)) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
                return CAIRN_OK;
        case PGRES_FATAL_ERROR:
        case PGRES_NONFATAL_ERROR:
        case PGRES_BAD_RESPONSE:
                break;
        default:
                /* COPY and the like: the connection is now in a state
                 * nothing here can finish. */
                conn->broken = true;
                count_error(pg, "XX");
                snprintf(errstr, errstr_size, "%s: unsupported result %s", what,
                         PQresStatus(PQresultStatus(r)));
                return CAIRN_ERR_INTERNAL;
        }
        state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        lost = PQstatus(conn->pq) == CONNECTION_BAD;
        err = cairn_pg_err_from_sqlstate(state, lost);
        cairn_pg_err_class(state, lost, cls, sizeof(cls));
        count_error(pg, cls);
        if (err == CAIRN_ERR_UNAVAILABLE)
                conn->broken = true;
        msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        one_line(line, sizeof(line), msg ? msg : PQresultErrorMessage(r));
        constraint = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
        if (state && state[0]) {
                snprintf(sqlstate, 6, "%s", state);
                snprintf(errstr, errstr_size, "%s: %s (SQLSTATE %s%s%s)", what, line, state,
                         constraint ? ", constraint " : "", constraint ? constraint : "");
        } else {
                snprintf(errstr, errstr_size, "%s: %s (connection to %s lost)", what, line,
                         pg->target);
        }
        return err;
}

/* libpq refused to send: the connection is gone, or the call was wrong. */
static cairn_err_t send_failed(struct cairn_pg_conn *conn, const char *what, char *errstr,
                               size_t errstr_size)
{
        bool lost = PQstatus(conn->pq) == CONNECTION_BAD;
        char line[400];

        conn->broken = true;
        one_line(line, sizeof(line), PQerrorMessage(conn->pq));
        snprintf(errstr, errstr_size, "%s: %s", what, line);
        if (!lost)
                return CAIRN_ERR_INTERNAL;
        count_error(conn->pg, "connection");
        return CAIRN_ERR_UNAVAILABLE;
}

static bool prepared_has(const struct cairn_pg_conn *conn, const struct cairn_pg_stmt *stmt)
{
        for (size_t i = 0; i < conn->nprepared; i++)
                if (conn->prepared[i] == stmt)
                        return true;
        return false;
}

static void prepared_add(struct cairn_pg_conn *conn, const struct cairn_pg_stmt *stmt)
{
        if (conn->nprepared == conn->prepared_cap) {
                conn->prepared_cap = conn->prepared_cap ? conn->prepared_cap * 2 : 16;
                conn->prepared = realloc(conn->prepared,
                                         conn->prepared_cap * sizeof(*conn->prepared));
                if (!conn->prepared)
                        abort();
        }
        conn->prepared[conn->nprepared++] = stmt;
}

/* Prepares @p stmt (unless done already on this connection, or planned at
 * each call), runs it and waits for the result until @p until_us (0: no
 * limit). */
static cairn_err_t run_prepared(struct cairn_pg_conn *conn, const struct cairn_pg_stmt *stmt,
                                const char *const *params, int nparams, int64_t until_us,
                                PGresult **res, char sqlstate[6], char *errstr, size_t errstr_size)
{
        PGresult *r;
        bool timed_out;
        int64_t start;
        cairn_err_t err;

        sqlstate[0] = '\0';
        if (!stmt->plan_each && !prepared_has(conn, stmt)) {
                if (!PQsendPrepare(conn->pq, stmt->name, stmt->sql, 0, NULL))
                        return send_failed(conn, stmt->name, errstr, errstr_size);
                r = results_wait(conn, until_us, &timed_out);
                err = result_check(conn, r, timed_out, stmt->name, sqlstate, errstr, errstr_size);
                PQclear(r);
                if (err)
                        return err;
                prepared_add(conn, stmt);
        }
        start = cairn_mono_us();
        if (!(stmt->plan_each
                      ? PQsendQueryParams(conn->pq, stmt->sql, nparams, NULL, params, NULL, NULL, 0)
                      : PQsendQueryPrepared(conn->pq, stmt->name, nparams, params, NULL, NULL, 0)))
                return send_failed(conn, stmt->name, errstr, errstr_size);
        r = results_wait(conn, until_us, &timed_out);
        if (conn->pg->m_duration)
                cairn_metric_observe_l(conn->pg->m_duration, (const char *[]){ stmt->name },
                                       (double)(cairn_mono_us() - start) / 1e6);
        err = result_check(conn, r, timed_out, stmt->name, sqlstate, errstr, errstr_size);
        if (err) {
                PQclear(r);
                return err;
        }
        *res = r;
        return CAIRN_OK;
}

/* Makes statement_timeout @p want_ms (0: none) on @p conn, unless it is
 * already. Outside a transaction it is the session's setting; inside, a
 * local one, which ends with the transaction (a session-wide change made in
 * a transaction that rolls back would be undone behind the cache's back). */
static cairn_err_t timeout_set(struct cairn_pg_conn *conn, long long want_ms, int64_t until_us,
                               char *errstr, size_t errstr_size)
{
        PGTransactionStatusType ts = PQtransactionStatus(conn->pq);
        bool in_tx = ts != PQTRANS_IDLE;
        PGresult *r = NULL;
        char value[24], state[6];
        const char *params[2] = { value, in_tx ? "true" : "false" };
        cairn_err_t err;

        if (!in_tx)
                conn->timeout_ms = conn->session_timeout_ms;
        /* In a failed transaction only ROLLBACK runs; nothing to set. */
        if (ts == PQTRANS_INERROR || want_ms == conn->timeout_ms)
                return CAIRN_OK;
        snprintf(value, sizeof(value), "%lld", want_ms);
        err = run_prepared(conn, &stmt_set_timeout, params, 2, until_us, &r, state, errstr,
                           errstr_size);
        PQclear(r);
        if (err) {
                conn->timeout_ms = -1;
                if (!in_tx)
                        conn->session_timeout_ms = -1;
                return err;
        }
        conn->timeout_ms = want_ms;
        if (!in_tx)
                conn->session_timeout_ms = want_ms;
        return CAIRN_OK;
}

/* The statement_timeout a statement on @p conn gets now and the time its
 * answer must have come by (0 for both on a dedicated connection). The
 * server cancels the statement at the timeout, so an answer that has not
 * come a connect timeout later will not come. */
static cairn_err_t budget(struct cairn_pg_conn *conn, const char *what, long long *timeout_ms,
                          int64_t *until_us, char *errstr, size_t errstr_size)
{
        const struct cairn_pg_conf *pc = conn->pg->pconf;
        int64_t now = cairn_mono_us();

        *timeout_ms = 0;
        *until_us = 0;
        if (conn->dedicated)
                return CAIRN_OK;
        *timeout_ms = cairn_pg_statement_timeout_ms(conn->deadline_us, now,
                                                    pc->statement_timeout_ms);
        if (*timeout_ms <= 0) {
                snprintf(errstr, errstr_size, "%s: deadline passed before it was sent", what);
                return CAIRN_ERR_DEADLINE;
        }
        *until_us = now + (*timeout_ms + pc->connect_timeout_ms) * 1000;
        return CAIRN_OK;
}

static cairn_err_t exec_on(struct cairn_pg_conn *conn, const struct cairn_pg_stmt *stmt,
                           const char *const *params, int nparams, PGresult **res, char *errstr,
                           size_t errstr_size)
{
        long long timeout_ms;
        int64_t until_us;
        char state[6];
        cairn_err_t err;

        *res = NULL;
        err = budget(conn, stmt->name, &timeout_ms, &until_us, errstr, errstr_size);
        if (err)
                return err;
        err = timeout_set(conn, timeout_ms, until_us, errstr, errstr_size);
        if (err)
                return err;
        err = run_prepared(conn, stmt, params, nparams, until_us, res, state, errstr, errstr_size);
        if (err && strcmp(state, "26000") == 0 && PQtransactionStatus(conn->pq) == PQTRANS_IDLE) {
                /* The session lost its prepared statements (DISCARD ALL by
                 * a pooler in between): prepare them again, once. */
                conn->nprepared = 0;
                err = run_prepared(conn, stmt, params, nparams, until_us, res, state, errstr,
                                   errstr_size);
        }
        return err;
}

cairn_err_t cairn_pg_conn_exec(struct cairn_pg_conn *conn, const struct cairn_pg_stmt *stmt,
                               const char *const *params, int nparams, PGresult **res, char *errstr,
                               size_t errstr_size)
{
        PGresult *unread = NULL;
        cairn_err_t err = exec_on(conn, stmt, params, nparams, res ? res : &unread, errstr,
                                  errstr_size);

        PQclear(unread);
        return err;
}

cairn_err_t cairn_pg_conn_script(struct cairn_pg_conn *conn, const char *sql, const char *what,
                                 char *errstr, size_t errstr_size)
{
        long long timeout_ms;
        int64_t until_us;
        PGresult *r;
        bool timed_out;
        char state[6];
        cairn_err_t err;

        err = budget(conn, what, &timeout_ms, &until_us, errstr, errstr_size);
        if (err)
                return err;
        err = timeout_set(conn, timeout_ms, until_us, errstr, errstr_size);
        if (err)
                return err;
        if (!PQsendQuery(conn->pq, sql))
                return send_failed(conn, what, errstr, errstr_size);
        r = results_wait(conn, until_us, &timed_out);
        err = result_check(conn, r, timed_out, what, state, errstr, errstr_size);
        PQclear(r);
        return err;
}

/* ---- the resilience layer: bulkhead per call, breaker per attempt ---- */

static cairn_err_t guard_enter(struct cairn_pg *pg, char *errstr, size_t errstr_size)
{
        struct cairn_status st;
        cairn_err_t err = cairn_dependency_enter(pg->dep, &st);

        if (err)
                snprintf(errstr, errstr_size, "%s", st.message);
        return err;
}

static cairn_err_t guard_attempt(struct cairn_pg *pg, struct cairn_breaker_ticket *ticket,
                                 char *errstr, size_t errstr_size)
{
        struct cairn_status st;
        cairn_err_t err = cairn_dependency_attempt(pg->dep, ticket, &st);

        if (err)
                snprintf(errstr, errstr_size, "%s", st.message);
        return err;
}

/* Only an unreachable server counts against it: a DEADLINE here is the
 * caller's budget running out (or a slow statement), not the server's
 * health, and constraint errors are the caller's own. */
static void guard_attempt_done(struct cairn_pg *pg, const struct cairn_breaker_ticket *ticket,
                               cairn_err_t err)
{
        cairn_breaker_record(cairn_dependency_breaker(pg->dep), ticket,
                             err == CAIRN_ERR_UNAVAILABLE);
}

cairn_err_t cairn_pg_exec(struct cairn_pg *pg, int64_t deadline_us,
                          const struct cairn_pg_stmt *stmt, const char *const *params, int nparams,
                          PGresult **res, char *errstr, size_t errstr_size)
{
        struct cairn_breaker_ticket ticket;
        struct cairn_pg_conn *conn;
        cairn_err_t err;

        *res = NULL;
        if (deadline_us && deadline_us - cairn_mono_us() < 1000) {
                snprintf(errstr, errstr_size, "%s: deadline passed before it was sent", stmt->name);
                return CAIRN_ERR_DEADLINE;
        }
        err = guard_enter(pg, errstr, errstr_size);
        if (err)
                return err;
        err = guard_attempt(pg, &ticket, errstr, errstr_size);
        if (!err) {
                err = cairn_pg_conn_acquire(pg, deadline_us, &conn, errstr, errstr_size);
                if (!err) {
                        err = exec_on(conn, stmt, params, nparams, res, errstr, errstr_size);
                        cairn_pg_conn_release(conn);
                }
                guard_attempt_done(pg, &ticket, err);
        }
        cairn_dependency_leave(pg->dep);
        return err;
}

bool cairn_pg_ready(void *opaque, char *why, size_t why_size)
{
        struct cairn_pg *pg = opaque;
        PGresult *r = NULL;
        cairn_err_t err;

        /* A readiness probe is allowed one real attempt even while down. */
        pthread_mutex_lock(&pg->lock);
        pg->down_until_us = 0;
        pthread_mutex_unlock(&pg->lock);
        err = cairn_pg_exec(pg, cairn_mono_us() + 1000000, &stmt_ping, NULL, 0, &r, why, why_size);
        PQclear(r);
        return err == CAIRN_OK;
}

/* ---- transactions ---- */

cairn_err_t cairn_pg_conn_begin(struct cairn_pg_conn *conn, enum cairn_pg_isolation iso,
                                char *errstr, size_t errstr_size)
{
        PGresult *r = NULL;
        cairn_err_t err;

        assert(iso >= CAIRN_PG_READ_COMMITTED && iso <= CAIRN_PG_SERIALIZABLE);
        err = exec_on(conn, &stmt_begin[iso], NULL, 0, &r, errstr, errstr_size);
        PQclear(r);
        return err;
}

cairn_err_t cairn_pg_conn_commit(struct cairn_pg_conn *conn, char *errstr, size_t errstr_size)
{
        PGresult *r = NULL;
        cairn_err_t err;

        /* COMMIT of a failed transaction "succeeds" as a ROLLBACK: the
         * function went on after an error it should have returned. */
        if (PQtransactionStatus(conn->pq) == PQTRANS_INERROR) {
                snprintf(errstr, errstr_size,
                         "transaction failed earlier: a statement's error was not returned");
                return CAIRN_ERR_INTERNAL;
        }
        err = exec_on(conn, &stmt_commit, NULL, 0, &r, errstr, errstr_size);
        if (!err && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
                snprintf(errstr, errstr_size, "COMMIT answered %s", PQcmdStatus(r));
                err = CAIRN_ERR_INTERNAL;
        }
        PQclear(r);
        return err;
}

void cairn_pg_conn_rollback(struct cairn_pg_conn *conn)
{
        const struct cairn_pg_conf *pc = conn->pg->pconf;
        PGresult *r;
        bool timed_out;

        if (conn->broken || PQstatus(conn->pq) != CONNECTION_OK ||
            PQtransactionStatus(conn->pq) == PQTRANS_IDLE)
                return;
        /* Runs whatever the deadline says: the transaction must end. */
        if (!PQsendQuery(conn->pq, "ROLLBACK")) {
                conn->broken = true;
                return;
        }
        r = results_wait(conn,
                         cairn_mono_us() +
                                 (pc->statement_timeout_ms + pc->connect_timeout_ms) * 1000,
                         &timed_out);
        if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
                conn->broken = true;
        PQclear(r);
}

/* One attempt: BEGIN, fn, COMMIT on a connection of its own. */
static cairn_err_t tx_once(struct cairn_pg *pg, int64_t deadline_us, enum cairn_pg_isolation iso,
                           cairn_pg_tx_fn fn, void *opaque, char *errstr, size_t errstr_size)
{
        struct cairn_pg_conn *conn;
        cairn_err_t err;

        err = cairn_pg_conn_acquire(pg, deadline_us, &conn, errstr, errstr_size);
        if (err)
                return err;
        err = cairn_pg_conn_begin(conn, iso, errstr, errstr_size);
        if (!err) {
                err = fn(conn, opaque, errstr, errstr_size);
                if (!err)
                        err = cairn_pg_conn_commit(conn, errstr, errstr_size);
        }
        if (err)
                cairn_pg_conn_rollback(conn);
        cairn_pg_conn_release(conn);
        return err;
}

cairn_err_t cairn_pg_tx_isolation(struct cairn_pg *pg, int64_t deadline_us,
                                  enum cairn_pg_isolation iso, cairn_pg_tx_fn fn, void *opaque,
                                  char *errstr, size_t errstr_size)
{
        struct cairn_breaker_ticket ticket;
        int attempts = 0;
        cairn_err_t err;

        errstr[0] = '\0';
        err = guard_enter(pg, errstr, errstr_size);
        if (err)
                return err;
        for (;;) {
                int64_t now, left_ms, delay;

                if (deadline_us && deadline_us - cairn_mono_us() < 1000) {
                        if (!attempts)
                                snprintf(errstr, errstr_size,
                                         "deadline passed before the transaction began");
                        err = attempts ? err : CAIRN_ERR_DEADLINE;
                        break;
                }
                err = guard_attempt(pg, &ticket, errstr, errstr_size);
                if (err)
                        break;
                attempts++;
                err = tx_once(pg, deadline_us, iso, fn, opaque, errstr, errstr_size);
                guard_attempt_done(pg, &ticket, err);
                if (err != CAIRN_ERR_ABORTED)
                        break;
                now = cairn_mono_us();
                left_ms = deadline_us ? (deadline_us - now) / 1000 : INT64_MAX;
                delay = cairn_retry_next(&tx_retry, attempts, err, left_ms, MIN_ATTEMPT_MS,
                                         cairn_retry_rand, NULL);
                if (delay < 0)
                        break;
                if (pg->s_retries)
                        cairn_series_inc(pg->s_retries);
                cairn_log(DEBUG, "PG", "transaction attempt %d aborted (%s); again in %lld ms",
                          attempts, errstr, (long long)delay);
                struct timespec ts = { (time_t)(delay / 1000), (long)(delay % 1000) * 1000000L };
                while (nanosleep(&ts, &ts) != 0)
                        ;
        }
        cairn_dependency_leave(pg->dep);
        return err;
}

cairn_err_t cairn_pg_tx(struct cairn_pg *pg, int64_t deadline_us, cairn_pg_tx_fn fn, void *opaque,
                        char *errstr, size_t errstr_size)
{
        return cairn_pg_tx_isolation(pg, deadline_us, CAIRN_PG_READ_COMMITTED, fn, opaque, errstr,
                                     errstr_size);
}
