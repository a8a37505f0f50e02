/* cairn-secrets refuses to start (exit 1, the reason on stderr and in its
 * log) when its root key cannot be trusted, and never prints the key:
 *   - secrets.root_key_file open to others (0644), missing, empty, holding
 *     a key that is not base64 or of 31, 33 or 48 bytes;
 *   - both secrets.root_key_file and secrets.root_key set, or neither; an
 *     inline key of the wrong length;
 *   - a keyring in PostgreSQL made with another root key (started once with
 *     key A, then with key B of the same id, or of another id): the KEK
 *     version and the root key id are named. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"

/* "0123456789abcdef0123456789abcdef", a public test key (SFX_ROOT_KEY's) */
#define KEY_A "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
/* "fedcba9876543210fedcba9876543210" */
#define KEY_B "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="
/* 31, 33 and 48 bytes */
#define KEY_31 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZQ=="
#define KEY_33 "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWZY"
#define KEY_48 "enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6enp6"

static struct harness_broker broker;
static char pg_url[512];
static int runs;

static void setup(void)
{
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
}

static void teardown(void)
{
        harness_broker_stop(&broker);
}

/* A key file in the broker's directory holding @p text, of @p mode. */
static const char *key_file(const char *name, const char *text, mode_t mode)
{
        static char path[8][600];
        static int n;
        char *p = path[n++ % 8];

        snprintf(p, sizeof(path[0]), "%s/%s", broker.dir, name);
        harness_write_file(p, text);
        ck_assert_int_eq(chmod(p, mode), 0);
        return p;
}

/* The whole of @p path, malloc'ed. */
static char *slurp(const char *path)
{
        FILE *fp = fopen(path, "r");
        char *buf;
        long n;

        ck_assert_msg(fp != NULL, "cannot open %s", path);
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        buf = calloc(1, (size_t)n + 1);
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
        return buf;
}

/* Starts cairn-secrets on the test's database with @p env (NULL-terminated)
 * and checks that it exits 1 saying @p want on stderr ("cairn-secrets: ...")
 * and in its log, without @p secret (the key's text) anywhere. */
static void start_refused(const char *const *env, const char *want, const char *secret)
{
        struct harness_proc p;
        char name[32], bin[600], pg[600], line[1024];
        const char *all[8] = { pg };
        size_t n = 1;
        char *log;
        int status;

        snprintf(name, sizeof(name), "secrets-refused-%d", ++runs);
        snprintf(bin, sizeof(bin), "%s/bin/cairn-secrets", harness_build_dir());
        snprintf(pg, sizeof(pg), "CAIRN_PG_URL=%s", pg_url);
        for (size_t i = 0; env[i] && n < 7; i++)
                all[n++] = env[i];
        all[n] = NULL;
        harness_service_start_bin(&p, &broker, "secrets", name, bin, all);
        status = harness_proc_wait(&p, 60000);
        if (status == -1)
                harness_proc_kill(&p);
        log = slurp(p.log_path);
        ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1,
                      "status %d, expected exit 1: %s", status, log);
        snprintf(line, sizeof(line), "cairn-secrets: %s", want);
        ck_assert_msg(strstr(log, line) != NULL, "no \"%s\" in: %s", line, log);
        /* the log line (JSON) says it too */
        ck_assert_msg(harness_count_in_file(p.log_path, "\"level\":\"error\"") >= 1, "%s", log);
        if (secret)
                ck_assert_msg(strstr(log, secret) == NULL, "the key is in the output: %s", log);
        free(log);
}

static const char *env_file(const char *path)
{
        static char e[8][700];
        static int n;
        char *p = e[n++ % 8];

        snprintf(p, sizeof(e[0]), "CAIRN_SECRETS_ROOT_KEY_FILE=%s", path);
        return p;
}

START_TEST(test_root_key_file_refused)
{
        char want[1024];
        const char *path;

        path = key_file("open.key", "k1 " KEY_A "\n", 0644);
        snprintf(want, sizeof(want),
                 "secrets.root_key_file: %s has mode 0644, open to its group or others; a "
                 "secret file must be mode 0600 or 0400",
                 path);
        start_refused((const char *const[]){ env_file(path), NULL }, want, KEY_A);

        snprintf(want, sizeof(want), "secrets.root_key_file: cannot open %s/none.key: No such file",
                 broker.dir);
        snprintf(want + 600, sizeof(want) - 600, "%s/none.key", broker.dir);
        start_refused((const char *const[]){ env_file(want + 600), NULL }, want, NULL);

        path = key_file("empty.key", "", 0600);
        start_refused((const char *const[]){ env_file(path), NULL },
                      "secrets.root_key_file holds no root key", NULL);

        path = key_file("text.key", "k1 not-base64-at-all!\n", 0600);
        start_refused((const char *const[]){ env_file(path), NULL },
                      "secrets.root_key_file: line 1: key k1 is not base64", "not-base64");

        path = key_file("short.key", "# the root key\nk1 " KEY_31 "\n", 0600);
        start_refused((const char *const[]){ env_file(path), NULL },
                      "secrets.root_key_file: line 2: key k1 is 31 bytes; a root key is 32 random "
                      "bytes in base64",
                      KEY_31);

        path = key_file("long.key", "k1 " KEY_33 "\n", 0400);
        start_refused((const char *const[]){ env_file(path), NULL },
                      "secrets.root_key_file: line 1: key k1 is 33 bytes; a root key is 32 random "
                      "bytes in base64",
                      KEY_33);

        path = key_file("longer.key", "k1 " KEY_48 "\n", 0600);
        start_refused((const char *const[]){ env_file(path), NULL },
                      "secrets.root_key_file: line 1: key k1 is 48 bytes", KEY_48);
}
END_TEST

START_TEST(test_root_key_settings_refused)
{
        const char *path = key_file("both.key", "k1 " KEY_A "\n", 0600);

        start_refused((const char *const[]){ env_file(path), "CAIRN_SECRETS_ROOT_KEY=k1 " KEY_A,
                                             NULL },
                      "set one of secrets.root_key_file and secrets.root_key, not both", KEY_A);
        start_refused((const char *const[]){ NULL },
                      "secrets.root_key_file (or secrets.root_key) is required", NULL);
        start_refused((const char *const[]){ "CAIRN_SECRETS_ROOT_KEY=k1 " KEY_33, NULL },
                      "secrets.root_key: line 1: key k1 is 33 bytes", KEY_33);
}
END_TEST

/* Starts cairn-secrets with the key file @p path until ready, then stops it. */
static void start_and_stop(const char *path)
{
        struct harness_proc p;
        char pg[600];

        snprintf(pg, sizeof(pg), "CAIRN_PG_URL=%s", pg_url);
        harness_service_start(&p, &broker, "secrets",
                              (const char *const[]){ pg, env_file(path), NULL });
        ck_assert_msg(harness_wait_ready(&p, 30000), "secrets not ready (%s)", p.log_path);
        ck_assert_int_eq(harness_service_stop(&p, 10000), 0);
}

START_TEST(test_keyring_of_another_root_key_refused)
{
        const char *a = key_file("a.key", "k1 " KEY_A "\n", 0600);
        const char *b = key_file("b.key", "k1 " KEY_B "\n", 0600);
        const char *c = key_file("c.key", "k2 " KEY_B "\n", 0600);

        /* key A makes the keyring: KEK version 1 wrapped by root key k1 */
        start_and_stop(a);
        /* key B under the same id: the wrap does not open */
        start_refused((const char *const[]){ env_file(b), NULL },
                      "keyring: KEK version 1 does not unwrap with root key k1: the key is not the "
                      "one it was wrapped with",
                      KEY_B);
        /* key B under another id: k1 is not held */
        start_refused((const char *const[]){ env_file(c), NULL },
                      "keyring: KEK version 1 is wrapped by root key k1, which", KEY_B);
        /* key A still opens it: the refusals changed nothing */
        start_and_stop(a);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secrets_root_key_start");
        TCase *tc = tcase_create("start");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_root_key_file_refused);
        tcase_add_test(tc, test_root_key_settings_refused);
        tcase_add_test(tc, test_keyring_of_another_root_key_refused);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
