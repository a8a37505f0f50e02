/* Schema migrations: the numbered SQL files a binary carries, applied once
 * each, in order, under an advisory lock, and checked against what the
 * database says it has applied before anything is changed. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/pg.h"
#include "cairn/pg_migrate.h"
#include "pg_conn.h"

static const struct cairn_pg_stmt stmt_lock = { "cairn_migrate_lock",
                                                "SELECT pg_advisory_lock($1::bigint)", false };
static const struct cairn_pg_stmt stmt_unlock = { "cairn_migrate_unlock",
                                                  "SELECT pg_advisory_unlock($1::bigint)", false };
static const struct cairn_pg_stmt stmt_table_exists = {
        "cairn_migrate_table_exists", "SELECT to_regclass('cairn_schema_migrations') IS NOT NULL",
        false
};
static const struct cairn_pg_stmt stmt_applied = {
        "cairn_migrate_applied",
        "SELECT version, name, checksum, applied_at FROM cairn_schema_migrations "
        "WHERE service = $1 ORDER BY version",
        false
};
static const struct cairn_pg_stmt stmt_record = {
        "cairn_migrate_record",
        "INSERT INTO cairn_schema_migrations (service, version, name, checksum) "
        "VALUES ($1, $2, $3, $4)",
        false
};

/* Services migrating the same database at once each hold their own lock;
 * CREATE TABLE IF NOT EXISTS racing itself can still fail, so the table is
 * created under one more lock that all of them share. */
static const char table_sql[] = "SELECT pg_advisory_xact_lock(%lld);\n"
                                "CREATE TABLE IF NOT EXISTS cairn_schema_migrations (\n"
                                "        service text NOT NULL,\n"
                                "        version integer NOT NULL,\n"
                                "        name text NOT NULL,\n"
                                "        checksum text NOT NULL,\n"
                                "        applied_at timestamptz NOT NULL DEFAULT now(),\n"
                                "        PRIMARY KEY (service, version)\n"
                                ");\n";

/* ---- the pure parts ---- */

static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

int64_t cairn_pg_migrate_lock_key(const char *service)
{
        return (int64_t)fnv1a(fnv1a(0xcbf29ce484222325ULL, "cairn_migrate:"), service);
}

static int64_t table_lock_key(void)
{
        return (int64_t)fnv1a(0xcbf29ce484222325ULL, "cairn_schema_migrations table");
}

int cairn_pg_migration_name_parse(const char *name, int *version)
{
        size_t len = strlen(name);
        int v = 0;

        /* "0001_" + at least one character + ".sql" */
        if (len < 10 || name[4] != '_' || strcmp(name + len - 4, ".sql") != 0)
                return -1;
        for (int i = 0; i < 4; i++) {
                if (name[i] < '0' || name[i] > '9')
                        return -1;
                v = v * 10 + (name[i] - '0');
        }
        for (const char *p = name + 5; p < name + len - 4; p++) {
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return -1;
        }
        if (v < 1)
                return -1;
        *version = v;
        return 0;
}

void cairn_pg_migration_checksum(const char *sql, char out[65])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;

        EVP_Digest(sql, strlen(sql), md, &mdlen, EVP_sha256(), NULL);
        for (unsigned int i = 0; i < mdlen && i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        out[64] = '\0';
}

int cairn_pg_migrations_check(const struct cairn_pg_migration *migrations, size_t n, char *errstr,
                              size_t errstr_size)
{
        for (size_t i = 0; i < n; i++) {
                const struct cairn_pg_migration *m = &migrations[i];
                int v;

                if (!m->name || cairn_pg_migration_name_parse(m->name, &v) != 0) {
                        snprintf(errstr, errstr_size,
                                 "migration %s: not named NNNN_<what>.sql (four digits from "
                                 "0001, then a-z, 0-9 and _)",
                                 m->name ? m->name : "(no name)");
                        return -1;
                }
                if (v != m->version) {
                        snprintf(errstr, errstr_size,
                                 "migration %s: version %d does not match its name", m->name,
                                 m->version);
                        return -1;
                }
                if (!m->sql) {
                        snprintf(errstr, errstr_size, "migration %s: no SQL", m->name);
                        return -1;
                }
                if (i > 0 && m->version <= migrations[i - 1].version) {
                        snprintf(errstr, errstr_size,
                                 "migration %s: comes after %s; versions must ascend, each "
                                 "used once",
                                 m->name, migrations[i - 1].name);
                        return -1;
                }
        }
        return 0;
}

/* The index of @p version in @p migrations, or -1. */
static long find_version(const struct cairn_pg_migration *migrations, size_t n, int version)
{
        for (size_t i = 0; i < n; i++)
                if (migrations[i].version == version)
                        return (long)i;
        return -1;
}

cairn_err_t cairn_pg_migrate_plan(const struct cairn_pg_migration *migrations, size_t n,
                                  const struct cairn_pg_applied *applied, size_t napplied,
                                  bool *pending, char *errstr, size_t errstr_size)
{
        int known = n ? migrations[n - 1].version : 0;

        for (size_t i = 0; i < n; i++)
                pending[i] = true;
        /* The newest applied version first: "ahead" is the likelier story
         * (a newer release ran here) than a file gone missing. */
        for (size_t j = 0; j < napplied; j++) {
                const struct cairn_pg_applied *a = &applied[j];

                if (a->version > known) {
                        snprintf(errstr, errstr_size,
                                 "database is ahead: version %d (%s) applied, this binary knows "
                                 "up to %d",
                                 a->version, a->name, known);
                        return CAIRN_ERR_PRECONDITION;
                }
        }
        for (size_t j = 0; j < napplied; j++) {
                const struct cairn_pg_applied *a = &applied[j];
                long i = find_version(migrations, n, a->version);
                char sum[65];

                if (i < 0) {
                        snprintf(errstr, errstr_size,
                                 "version %d (%s) is applied, but this binary has no such "
                                 "migration",
                                 a->version, a->name);
                        return CAIRN_ERR_PRECONDITION;
                }
                cairn_pg_migration_checksum(migrations[i].sql, sum);
                if (strcmp(sum, a->checksum) != 0) {
                        snprintf(errstr, errstr_size,
                                 "migration %s was changed after it was applied (SHA-256 "
                                 "%.12s... applied, %.12s... in this binary); add a new "
                                 "migration instead",
                                 migrations[i].name, a->checksum, sum);
                        return CAIRN_ERR_PRECONDITION;
                }
                pending[i] = false;
        }
        return CAIRN_OK;
}

const char *cairn_pg_migration_state_str(enum cairn_pg_migration_state state)
{
        switch (state) {
        case CAIRN_PG_MIGRATION_APPLIED:
                return "applied";
        case CAIRN_PG_MIGRATION_PENDING:
                return "pending";
        case CAIRN_PG_MIGRATION_CHANGED:
                return "changed";
        case CAIRN_PG_MIGRATION_UNKNOWN:
                return "unknown";
        }
        return "?";
}

/* ---- against the database ---- */

/* What the database says @p service has applied: @p *res holds the rows
 * that @p *applied points into; free both. No table: nothing applied. */
static cairn_err_t applied_read(struct cairn_pg_conn *conn, const char *service, PGresult **res,
                                struct cairn_pg_applied **applied, size_t *napplied, char *errstr,
                                size_t errstr_size)
{
        PGresult *r = NULL;
        cairn_err_t err;
        int rows;

        *res = NULL;
        *napplied = 0;
        *applied = calloc(1, sizeof(**applied));
        if (!*applied)
                abort();
        err = cairn_pg_conn_exec(conn, &stmt_table_exists, NULL, 0, &r, errstr, errstr_size);
        if (err)
                return err;
        bool exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (!exists)
                return CAIRN_OK;
        err = cairn_pg_conn_exec(conn, &stmt_applied, (const char *[]){ service }, 1, res, errstr,
                                 errstr_size);
        if (err)
                return err;
        rows = PQntuples(*res);
        free(*applied);
        *applied = calloc((size_t)rows + 1, sizeof(**applied));
        if (!*applied)
                abort();
        for (int i = 0; i < rows; i++) {
                (*applied)[i].version = atoi(PQgetvalue(*res, i, 0));
                (*applied)[i].name = PQgetvalue(*res, i, 1);
                (*applied)[i].checksum = PQgetvalue(*res, i, 2);
        }
        *napplied = (size_t)rows;
        return CAIRN_OK;
}

static cairn_err_t table_create(struct cairn_pg_conn *conn, char *errstr, size_t errstr_size)
{
        char sql[sizeof(table_sql) + 32];
        cairn_err_t err;

        snprintf(sql, sizeof(sql), table_sql, (long long)table_lock_key());
        err = cairn_pg_conn_begin(conn, CAIRN_PG_READ_COMMITTED, errstr, errstr_size);
        if (!err)
                err = cairn_pg_conn_script(conn, sql, "create cairn_schema_migrations", errstr,
                                           errstr_size);
        if (!err)
                err = cairn_pg_conn_commit(conn, errstr, errstr_size);
        if (err)
                cairn_pg_conn_rollback(conn);
        return err;
}

/* Applies @p m and records it, in one transaction. */
static cairn_err_t apply_one(struct cairn_pg_conn *conn, const char *service,
                             const struct cairn_pg_migration *m, char *errstr, size_t errstr_size)
{
        char version[16], sum[65], what[200];
        const char *params[4] = { service, version, m->name, sum };
        PGresult *r = NULL;
        cairn_err_t err;

        snprintf(version, sizeof(version), "%d", m->version);
        snprintf(what, sizeof(what), "migration %s of %s", m->name, service);
        cairn_pg_migration_checksum(m->sql, sum);
        cairn_log(INFO, "PG", "applying %s", what);
        err = cairn_pg_conn_begin(conn, CAIRN_PG_READ_COMMITTED, errstr, errstr_size);
        if (!err)
                err = cairn_pg_conn_script(conn, m->sql, what, errstr, errstr_size);
        if (!err)
                err = cairn_pg_conn_exec(conn, &stmt_record, params, 4, &r, errstr, errstr_size);
        PQclear(r);
        if (!err)
                err = cairn_pg_conn_commit(conn, errstr, errstr_size);
        if (err)
                cairn_pg_conn_rollback(conn);
        return err;
}

/* The part that runs with the service's lock held. */
static cairn_err_t migrate_locked(struct cairn_pg_conn *conn, const char *service,
                                  const struct cairn_pg_migration *migrations, size_t n,
                                  char *errstr, size_t errstr_size)
{
        struct cairn_pg_applied *applied = NULL;
        size_t napplied = 0, done = 0;
        PGresult *res = NULL;
        bool *pending;
        cairn_err_t err;

        err = table_create(conn, errstr, errstr_size);
        if (err)
                return err;
        pending = calloc(n + 1, sizeof(*pending));
        if (!pending)
                abort();
        err = applied_read(conn, service, &res, &applied, &napplied, errstr, errstr_size);
        if (!err)
                err = cairn_pg_migrate_plan(migrations, n, applied, napplied, pending, errstr,
                                            errstr_size);
        for (size_t i = 0; !err && i < n; i++) {
                if (!pending[i])
                        continue;
                err = apply_one(conn, service, &migrations[i], errstr, errstr_size);
                if (!err)
                        done++;
        }
        if (!err && done)
                cairn_log(INFO, "PG", "schema of %s migrated: %zu applied, now at version %d",
                          service, done, migrations[n - 1].version);
        else if (!err)
                cairn_log(DEBUG, "PG", "schema of %s is current (version %d)", service,
                          n ? migrations[n - 1].version : 0);
        PQclear(res);
        free(applied);
        free(pending);
        return err;
}

cairn_err_t cairn_pg_migrate(struct cairn_pg *pg, const char *service,
                             const struct cairn_pg_migration *migrations, size_t n, char *errstr,
                             size_t errstr_size)
{
        struct cairn_pg_conn *conn;
        PGresult *r = NULL;
        char key[24], ignored[256];
        cairn_err_t err;

        if (cairn_pg_migrations_check(migrations, n, errstr, errstr_size) != 0)
                return CAIRN_ERR_INTERNAL;
        snprintf(key, sizeof(key), "%lld", (long long)cairn_pg_migrate_lock_key(service));
        err = cairn_pg_conn_acquire(pg, 0, &conn, errstr, errstr_size);
        if (err)
                return err;
        /* No statement timeout: a migration may take long, and so may
         * waiting for another process's. */
        cairn_pg_conn_dedicate(conn);
        err = cairn_pg_conn_exec(conn, &stmt_lock, (const char *[]){ key }, 1, &r, errstr,
                                 errstr_size);
        PQclear(r);
        if (!err) {
                err = migrate_locked(conn, service, migrations, n, errstr, errstr_size);
                /* Closing the connection (it is dedicated) would release the
                 * lock too; this only says so sooner. */
                if (cairn_pg_conn_exec(conn, &stmt_unlock, (const char *[]){ key }, 1, &r, ignored,
                                       sizeof(ignored)) == CAIRN_OK)
                        PQclear(r);
        }
        cairn_pg_conn_release(conn);
        return err;
}

cairn_err_t cairn_pg_migrate_status(struct cairn_pg *pg, const char *service,
                                    const struct cairn_pg_migration *migrations, size_t n,
                                    struct cairn_pg_migration_status **rows, size_t *nrows,
                                    char *errstr, size_t errstr_size)
{
        struct cairn_pg_applied *applied = NULL;
        struct cairn_pg_migration_status *out;
        struct cairn_pg_conn *conn;
        size_t napplied = 0, i = 0, j = 0, k = 0;
        PGresult *res = NULL;
        cairn_err_t err;

        *rows = NULL;
        *nrows = 0;
        err = cairn_pg_conn_acquire(pg, 0, &conn, errstr, errstr_size);
        if (err)
                return err;
        err = applied_read(conn, service, &res, &applied, &napplied, errstr, errstr_size);
        if (err)
                goto out;
        out = calloc(n + napplied + 1, sizeof(*out));
        if (!out)
                abort();
        /* Both lists ascend by version: merge them. */
        while (i < n || j < napplied) {
                struct cairn_pg_migration_status *row = &out[k++];

                if (j == napplied || (i < n && migrations[i].version < applied[j].version)) {
                        row->version = migrations[i].version;
                        snprintf(row->name, sizeof(row->name), "%s", migrations[i].name);
                        row->state = CAIRN_PG_MIGRATION_PENDING;
                        i++;
                        continue;
                }
                row->version = applied[j].version;
                snprintf(row->applied_at, sizeof(row->applied_at), "%s",
                         PQgetvalue(res, (int)j, 3));
                if (i < n && migrations[i].version == applied[j].version) {
                        char sum[65];

                        cairn_pg_migration_checksum(migrations[i].sql, sum);
                        snprintf(row->name, sizeof(row->name), "%s", migrations[i].name);
                        row->state = strcmp(sum, applied[j].checksum) == 0
                                             ? CAIRN_PG_MIGRATION_APPLIED
                                             : CAIRN_PG_MIGRATION_CHANGED;
                        i++;
                } else {
                        snprintf(row->name, sizeof(row->name), "%s", applied[j].name);
                        row->state = CAIRN_PG_MIGRATION_UNKNOWN;
                }
                j++;
        }
        *rows = out;
        *nrows = k;
out:
        PQclear(res);
        free(applied);
        cairn_pg_conn_release(conn);
        return err;
}
