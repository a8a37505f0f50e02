/* The dev stack and the test harness work from any checkout path: a
 * PostgreSQL started from a folder the postgres user cannot enter (as a
 * clone under /root, mode 0700), with spaces in its name, keeps its data
 * where its server can reach it; `stack.sh up|status|down` runs the whole
 * stack from such a path and `down` removes the data it made. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static char private_dir[600]; /* mode 0700: others cannot enter it */
static char checkout[700];    /* a folder with spaces inside it */

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(private_dir, sizeof(private_dir), "%s/dev stack %d (0700)", tmp ? tmp : "/tmp",
                 (int)getpid());
        ck_assert_int_eq(mkdir(private_dir, 0700), 0);
        snprintf(checkout, sizeof(checkout), "%s/my checkout", private_dir);
        ck_assert_int_eq(mkdir(checkout, 0755), 0);
}

static void teardown(void)
{
        char cmd[800];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", private_dir);
        harness_sh(NULL, 0, cmd);
}

/* The data directory that pg.sh status names, which must lie outside the
 * private folder and be private itself. */
static void pg_datadir(const char *state, char *dir, size_t size)
{
        char cmd[1200], out[1024], *sp, *nl;
        struct stat st;

        snprintf(cmd, sizeof(cmd), "'%s/deploy/dev/pg.sh' status '%s'", harness_root(), state);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "pg.sh status: %s", out);
        sp = strchr(out, ' ');
        ck_assert_msg(sp && atoi(out) > 0, "pg.sh status printed %s", out);
        nl = strchr(sp, '\n');
        if (nl)
                *nl = '\0';
        snprintf(dir, size, "%s", sp + 1);
        ck_assert_msg(strncmp(dir, private_dir, strlen(private_dir)) != 0,
                      "data directory %s inside the private folder", dir);
        ck_assert_int_eq(stat(dir, &st), 0);
        ck_assert_msg((st.st_mode & 0777) == 0700, "data directory mode %o", st.st_mode & 0777);
}

START_TEST(test_pg_start_from_untraversable_path)
{
        struct harness_pg pg;
        char state[800], dir[512], cmd[1200], out[512];

        snprintf(state, sizeof(state), "%s/run/pg", checkout);
        /* from inside the private folder, as a shell in a clone under /root is */
        ck_assert_int_eq(chdir(checkout), 0);
        harness_pg_start(&pg, state);
        ck_assert_int_eq(chdir(harness_root()), 0);
        pg_datadir(state, dir, sizeof(dir));
        snprintf(cmd, sizeof(cmd), "psql '%s' -XtAc 'select 40 + 2'", pg.url);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "psql: %s", out);
        ck_assert_str_eq(out, "42\n");
        harness_pg_stop(&pg);
        ck_assert_msg(access(dir, F_OK) != 0, "%s left behind", dir);
}
END_TEST

START_TEST(test_stack_up_status_down)
{
        char env[2400], cmd[4400], out[8192], dir[512], state[800], bin[600];
        /* admin ports in a row (the stack gives each service the next one),
         * none of them the API's */
        int admin = harness_free_ports(8), api = harness_free_port();

        while (api >= admin && api < admin + 8)
                api = harness_free_port();
        /* the build directory from the root, as the commands run elsewhere */
        if (harness_build_dir()[0] == '/')
                snprintf(bin, sizeof(bin), "%s/bin", harness_build_dir());
        else
                snprintf(bin, sizeof(bin), "%s/%s/bin", harness_root(), harness_build_dir());
        snprintf(env, sizeof(env),
                 "CAIRN_RUN_DIR='%s/run' CAIRN_BIN_DIR='%s' CAIRN_DEV_PG_PORT=%d "
                 "CAIRN_DEV_REDIS_PORT=%d CAIRN_DEV_API_PORT=%d CAIRN_DEV_ADMIN_PORT=%d",
                 checkout, bin, harness_free_port(), harness_free_port(), api, admin);
        snprintf(cmd, sizeof(cmd), "cd '%s' && %s '%s/deploy/dev/stack.sh' up", checkout, env,
                 harness_root());
        if (harness_sh(out, sizeof(out), cmd) != 0) {
                char logs[4096];

                /* keep the stack's logs (the private folder goes at teardown) */
                snprintf(cmd, sizeof(cmd),
                         "cp -r '%s/run/logs' \"${TMPDIR:-/tmp}/0005-stack-logs-%d\"; "
                         "tail -n 5 '%s/run/logs/'*.log",
                         checkout, (int)getpid(), checkout);
                harness_sh(logs, sizeof(logs), cmd);
                snprintf(cmd, sizeof(cmd), "%s '%s/deploy/dev/stack.sh' down", env, harness_root());
                harness_sh(NULL, 0, cmd);
                ck_abort_msg("stack.sh up failed: %s\nlogs:\n%s", out, logs);
        }
        ck_assert_msg(strstr(out, "removed by make down"), "up printed: %s", out);
        snprintf(state, sizeof(state), "%s/run/pg", checkout);
        pg_datadir(state, dir, sizeof(dir));

        /* the gateway answers with the dev key through the whole stack */
        snprintf(cmd, sizeof(cmd),
                 "curl -fsS -m 10 http://127.0.0.1:%d/v1/embeddings "
                 "-H 'Authorization: Bearer ck_dev_local_key_0123456789' "
                 "-H 'Content-Type: application/json' "
                 "-d '{\"input\": \"hello\", \"model\": \"cairn-lexical-384\"}'",
                 api);
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "embeddings call: %s", out);
        ck_assert_msg(strstr(out, "\"embedding\""), "embeddings reply: %s", out);

        snprintf(cmd, sizeof(cmd), "%s '%s/deploy/dev/stack.sh' status", env, harness_root());
        ck_assert_int_eq(harness_sh(out, sizeof(out), cmd), 0);
        ck_assert_msg(strstr(out, dir), "status does not name the data directory: %s", out);

        snprintf(cmd, sizeof(cmd), "%s '%s/deploy/dev/stack.sh' down", env, harness_root());
        ck_assert_msg(harness_sh(out, sizeof(out), cmd) == 0, "stack.sh down: %s", out);
        ck_assert_msg(strstr(out, "stopped postgres"), "down printed: %s", out);
        ck_assert_msg(access(dir, F_OK) != 0, "%s left behind by down", dir);
        snprintf(cmd, sizeof(cmd), "%s '%s/deploy/dev/stack.sh' status", env, harness_root());
        harness_sh(out, sizeof(out), cmd);
        ck_assert_msg(!strstr(out, "pid"), "something still runs after down: %s", out);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0005-dev_stack_paths");
        TCase *tc = tcase_create("paths");

        /* The dev stack runs its own dev broker: once is enough. */
        if (harness_apache()) {
                printf("0005-dev_stack_paths: not run in the Apache pass (no broker of the pass)\n");
                printf("0 passed, 0 failed\n");
                return 0;
        }
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_pg_start_from_untraversable_path);
        tcase_add_test(tc, test_stack_up_status_down);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
