/* cairn-admin migrate status|up SERVICE: the same runner the services use
 * at start (cairn_pg_migrate()), run by hand, with what it finds printed
 * one migration per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"

static const struct cairn_pg_migrations *set_find(const char *service)
{
        for (size_t i = 0; migration_sets[i]; i++)
                if (strcmp(migration_sets[i]->service, service) == 0)
                        return migration_sets[i];
        return NULL;
}

static void no_such_set(const char *service)
{
        fprintf(stderr, "cairn-admin: no migrations for service %s (", service);
        if (!migration_sets[0])
                fprintf(stderr, "no service of this build has a migrations/ folder");
        for (size_t i = 0; migration_sets[i]; i++)
                fprintf(stderr, "%s%s",
                        i ? ", " : "services with migrations: ", migration_sets[i]->service);
        fprintf(stderr, ")\n");
}

/* Prints @p rows; returns how many are in each state. */
static void rows_print(const struct cairn_pg_migration_status *rows, size_t nrows, size_t count[4])
{
        memset(count, 0, 4 * sizeof(*count));
        for (size_t i = 0; i < nrows; i++) {
                const struct cairn_pg_migration_status *r = &rows[i];

                count[r->state]++;
                printf("%-10s%s%s%s\n", cairn_pg_migration_state_str(r->state), r->name,
                       r->applied_at[0] ? "  " : "", r->applied_at);
        }
}

static int status_cmd(struct cairn_pg *pg, const struct cairn_pg_migrations *set)
{
        struct cairn_pg_migration_status *rows;
        size_t nrows, count[4];
        char errstr[1024];
        int version = 0;

        if (cairn_pg_migrate_status(pg, set->service, set->list, set->n, &rows, &nrows, errstr,
                                    sizeof(errstr)) != CAIRN_OK) {
                fprintf(stderr, "cairn-admin: migrate status %s: %s\n", set->service, errstr);
                return 2;
        }
        rows_print(rows, nrows, count);
        for (size_t i = 0; i < nrows; i++)
                if (rows[i].state != CAIRN_PG_MIGRATION_PENDING)
                        version = rows[i].version;
        free(rows);
        printf("status: %s at version %d of %d; %zu applied, %zu pending", set->service, version,
               set->n ? set->list[set->n - 1].version : 0, count[CAIRN_PG_MIGRATION_APPLIED],
               count[CAIRN_PG_MIGRATION_PENDING]);
        if (count[CAIRN_PG_MIGRATION_CHANGED] + count[CAIRN_PG_MIGRATION_UNKNOWN]) {
                printf("; %zu changed since applied, %zu unknown to this binary: the service "
                       "refuses this database\n",
                       count[CAIRN_PG_MIGRATION_CHANGED], count[CAIRN_PG_MIGRATION_UNKNOWN]);
                return 2;
        }
        printf("\n");
        return count[CAIRN_PG_MIGRATION_PENDING] ? 1 : 0;
}

static int up_cmd(struct cairn_pg *pg, const struct cairn_pg_migrations *set)
{
        struct cairn_pg_migration_status *before = NULL, *after = NULL;
        size_t nbefore = 0, nafter = 0, applied = 0;
        char errstr[1024];
        cairn_err_t err;

        err = cairn_pg_migrate_status(pg, set->service, set->list, set->n, &before, &nbefore,
                                      errstr, sizeof(errstr));
        if (!err)
                err = cairn_pg_migrate(pg, set->service, set->list, set->n, errstr, sizeof(errstr));
        if (!err)
                err = cairn_pg_migrate_status(pg, set->service, set->list, set->n, &after, &nafter,
                                              errstr, sizeof(errstr));
        if (err) {
                fprintf(stderr, "cairn-admin: migrate up %s: %s\n", set->service, errstr);
                free(before);
                return 2;
        }
        /* What was pending before and is applied now: this run's, or a
         * process's that migrated at the same time. */
        for (size_t i = 0; i < nafter; i++) {
                bool was_pending = false;

                for (size_t j = 0; j < nbefore; j++)
                        if (before[j].version == after[i].version &&
                            before[j].state == CAIRN_PG_MIGRATION_PENDING)
                                was_pending = true;
                if (was_pending && after[i].state == CAIRN_PG_MIGRATION_APPLIED) {
                        printf("%-10s%s\n", "applied", after[i].name);
                        applied++;
                }
        }
        printf("up: %s at version %d; %zu applied now\n", set->service,
               set->n ? set->list[set->n - 1].version : 0, applied);
        free(before);
        free(after);
        return 0;
}

int migrate_cmd(const struct cairn_pg_conf *pconf, bool up, const char *service)
{
        const struct cairn_pg_migrations *set = set_find(service);
        struct cairn_pg *pg;
        char errstr[1024];
        int rc;

        if (!set) {
                no_such_set(service);
                return 2;
        }
        pg = cairn_pg_new(pconf, NULL, errstr, sizeof(errstr));
        if (!pg) {
                fprintf(stderr, "cairn-admin: %s\n", errstr);
                return 2;
        }
        rc = up ? up_cmd(pg, set) : status_cmd(pg, set);
        cairn_pg_free(pg);
        return rc;
}
