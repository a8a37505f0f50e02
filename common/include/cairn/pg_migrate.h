/* Schema migrations: numbered SQL files compiled into the binary
 * (services/<name>/migrations/NNNN_<what>.sql; the Makefile turns each
 * folder into a struct cairn_pg_migrations named <name>_migrations), applied
 * in order, each in its own transaction, recorded with a checksum in the
 * table cairn_schema_migrations, under an advisory lock so that replicas
 * starting together apply each migration exactly once.
 *
 * A binary refuses a database whose applied migrations it does not agree
 * with: a file changed after it was applied, or a version it does not know
 * (the database is ahead: a newer release ran against it). */
#ifndef CAIRN_PG_MIGRATE_H
#define CAIRN_PG_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"

struct cairn_pg;

/* One migration: its version (the file name's leading number), its file
 * name, and its SQL (any number of statements; no BEGIN/COMMIT of its own,
 * nothing that cannot run in a transaction, such as CREATE INDEX
 * CONCURRENTLY). */
struct cairn_pg_migration {
        int version;
        const char *name;
        const char *sql;
};

/* A service's set, in ascending order of version. */
struct cairn_pg_migrations {
        const char *service;
        const struct cairn_pg_migration *list;
        size_t n;
};

/* Brings @p service's schema up to date with @p migrations (@p n of them,
 * borrowed): takes an advisory lock for the service (waiting while another
 * process migrates it), creates cairn_schema_migrations if missing, checks
 * what is applied against @p migrations, then applies each missing one in
 * its own transaction and records it with the SHA-256 of its SQL.
 * Statements run without a statement timeout.
 *
 * Returns CAIRN_OK once the schema is current; CAIRN_ERR_PRECONDITION,
 * applying nothing, when an applied migration's checksum differs from this
 * binary's file (the message names the file) or the database holds a
 * version this binary does not know ("database is ahead: ..."); the error of
 * the failed statement (naming the file) when a migration fails, which is
 * rolled back, the ones before it staying applied; CAIRN_ERR_INTERNAL when
 * @p migrations are not a valid set. @locality any thread; blocks. */
cairn_err_t cairn_pg_migrate(struct cairn_pg *pg, const char *service,
                             const struct cairn_pg_migration *migrations, size_t n, char *errstr,
                             size_t errstr_size);

enum cairn_pg_migration_state {
        CAIRN_PG_MIGRATION_APPLIED,
        CAIRN_PG_MIGRATION_PENDING,
        CAIRN_PG_MIGRATION_CHANGED, /* applied, but the file differs now */
        CAIRN_PG_MIGRATION_UNKNOWN, /* applied, and this binary has no such version */
};

struct cairn_pg_migration_status {
        int version;
        char name[128];
        enum cairn_pg_migration_state state;
        char applied_at[64]; /* as the server prints it; empty when pending */
};

/* "applied", "pending", "changed", "unknown". */
const char *cairn_pg_migration_state_str(enum cairn_pg_migration_state state);

/* What cairn_pg_migrate() would find: one row per version, of the binary
 * or of the database, in ascending order, in a malloc'ed array the caller
 * frees with free() (@p *nrows rows). Changes nothing and takes no lock. */
cairn_err_t cairn_pg_migrate_status(struct cairn_pg *pg, const char *service,
                                    const struct cairn_pg_migration *migrations, size_t n,
                                    struct cairn_pg_migration_status **rows, size_t *nrows,
                                    char *errstr, size_t errstr_size);

/* ---- the pure parts, for tests and tools ---- */

/* Parses a migration file name, NNNN_<what>.sql (four digits, at least
 * 0001, then lower-case letters, digits and underscores): 0 with
 * @p version set, or -1. */
int cairn_pg_migration_name_parse(const char *name, int *version);

/* The lower-case hex SHA-256 of @p sql, as recorded in
 * cairn_schema_migrations.checksum. */
void cairn_pg_migration_checksum(const char *sql, char out[65]);

/* Checks @p migrations: names parse, versions match their names and
 * ascend strictly. 0, or -1 naming the file in @p errstr. */
int cairn_pg_migrations_check(const struct cairn_pg_migration *migrations, size_t n, char *errstr,
                              size_t errstr_size);

/* A migration the database says is applied. */
struct cairn_pg_applied {
        int version;
        const char *name;
        const char *checksum;
};

/* Compares what is applied (@p applied, ascending by version) with the
 * binary's set: CAIRN_ERR_PRECONDITION with the reason in @p errstr when a
 * checksum differs or a version is unknown; else CAIRN_OK with
 * @p pending[i] true for each migration still to apply. */
cairn_err_t cairn_pg_migrate_plan(const struct cairn_pg_migration *migrations, size_t n,
                                  const struct cairn_pg_applied *applied, size_t napplied,
                                  bool *pending, char *errstr, size_t errstr_size);

/* The pg_advisory_lock key of @p service's migrations: a 64-bit FNV-1a hash
 * of "cairn_migrate:" and the name, the same in every process and release. */
int64_t cairn_pg_migrate_lock_key(const char *service);

#endif
