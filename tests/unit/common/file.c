/* Unit tests for reading small files whole and for the secret-file policy:
 * sizes, line endings, modes, and messages that never hold the secret. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/file.h"
#include "../unit.h"

static char dir[256];

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/cairn-file-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

/* Writes @p len bytes of @p text to @p name in the test folder with @p mode;
 * returns the path (static). */
static const char *put(const char *name, const char *text, size_t len, mode_t mode)
{
        static char path[400];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "wb");
        ck_assert_ptr_nonnull(fp);
        ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
        fclose(fp);
        ck_assert_int_eq(chmod(path, mode), 0);
        /* as root, the owner a service would have: the owner-only rule */
        if (geteuid() == 0)
                ck_assert_int_eq(chown(path, 65534, 65534), 0);
        return path;
}

START_TEST(test_cairn_file_read_whole_file)
{
        char errstr[256], *big = malloc(10000), *buf;
        const char *path;
        size_t len = 0;

        path = put("a.yaml", "a: 1\n", 5, 0644);
        buf = cairn_file_read(path, 100, &len, errstr, sizeof(errstr));
        ck_assert_msg(buf != NULL, "%s", errstr);
        ck_assert_uint_eq(len, 5);
        ck_assert_str_eq(buf, "a: 1\n");
        free(buf);

        path = put("empty", "", 0, 0644);
        buf = cairn_file_read(path, 100, &len, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(len, 0);
        ck_assert_str_eq(buf, "");
        free(buf);

        /* larger than one read, exactly at the limit */
        for (size_t i = 0; i < 10000; i++)
                big[i] = (char)('a' + i % 26);
        path = put("big", big, 10000, 0644);
        buf = cairn_file_read(path, 10000, &len, errstr, sizeof(errstr));
        ck_assert_msg(buf != NULL, "%s", errstr);
        ck_assert_uint_eq(len, 10000);
        ck_assert(memcmp(buf, big, 10000) == 0);
        ck_assert_int_eq(buf[10000], '\0');
        free(buf);
        free(big);
}
END_TEST

START_TEST(test_cairn_file_read_refuses_larger_than_max)
{
        char errstr[256], want[512];
        const char *path = put("a.txt", "0123456789", 10, 0644);

        ck_assert_ptr_null(cairn_file_read(path, 9, &(size_t){ 0 }, errstr, sizeof(errstr)));
        snprintf(want, sizeof(want), "%s: larger than 9 bytes", path);
        ck_assert_str_eq(errstr, want);
        ck_assert_ptr_null(cairn_file_read(path, 0, &(size_t){ 0 }, errstr, sizeof(errstr)));
}
END_TEST

START_TEST(test_cairn_file_read_names_missing_file)
{
        char errstr[256], want[512], path[300];

        snprintf(path, sizeof(path), "%s/absent.yaml", dir);
        ck_assert_ptr_null(cairn_file_read(path, 100, &(size_t){ 0 }, errstr, sizeof(errstr)));
        snprintf(want, sizeof(want), "cannot open %s: No such file or directory", path);
        ck_assert_str_eq(errstr, want);
}
END_TEST

START_TEST(test_cairn_secret_file_read_trims_line_endings)
{
        char out[64], errstr[256];

        ck_assert_int_eq(cairn_secret_file_read(put("k1", "sk-abc\n", 7, 0600), out, sizeof(out),
                                                errstr, sizeof(errstr)),
                         6);
        ck_assert_str_eq(out, "sk-abc");
        ck_assert_int_eq(cairn_secret_file_read(put("k2", "sk-abc\r\n\n", 9, 0400), out,
                                                sizeof(out), errstr, sizeof(errstr)),
                         6);
        ck_assert_str_eq(out, "sk-abc");
        /* only line endings at the end go; spaces are the secret's */
        ck_assert_int_eq(cairn_secret_file_read(put("k3", " a b \n", 6, 0600), out, sizeof(out),
                                                errstr, sizeof(errstr)),
                         5);
        ck_assert_str_eq(out, " a b ");
        ck_assert_int_eq(cairn_secret_file_read(put("k4", "", 0, 0600), out, sizeof(out), errstr,
                                                sizeof(errstr)),
                         0);
        ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_cairn_secret_file_read_refuses_open_modes)
{
        static const mode_t modes[] = { 0644, 0640, 0620, 0604, 0610, 0601, 0660, 0666 };
        char out[64], errstr[512], mode[16];

        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                const char *path = put("key", "sk-secret-value\n", 16, modes[i]);

                memset(out, 'x', sizeof(out));
                ck_assert_int_eq(cairn_secret_file_read(path, out, sizeof(out), errstr,
                                                        sizeof(errstr)),
                                 -1);
                snprintf(mode, sizeof(mode), "mode %04o", (unsigned)modes[i]);
                ck_assert_msg(strstr(errstr, path) && strstr(errstr, mode) &&
                                      strstr(errstr, "0600") && strstr(errstr, "chmod 600"),
                              "%s", errstr);
                ck_assert_ptr_null(strstr(errstr, "sk-secret"));
                for (size_t j = 0; j < sizeof(out); j++)
                        ck_assert_int_eq(out[j], 0);
        }
}
END_TEST

/* A file root owns may be read by its group (a Kubernetes Secret with an
 * fsGroup), never written or executed by it, nor opened by others. */
START_TEST(test_cairn_secret_file_read_root_owned_group_readable)
{
        static const mode_t ok[] = { 0440, 0640 }, refused[] = { 0460, 0450, 0444, 0644 };
        char out[64], errstr[512];

        if (geteuid() != 0)
                return; /* only root can give a file to root */
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                const char *path = put("key", "sk-secret-value\n", 16, ok[i]);

                ck_assert_int_eq(chown(path, 0, 65534), 0);
                ck_assert_int_eq(cairn_secret_file_read(path, out, sizeof(out), errstr,
                                                        sizeof(errstr)),
                                 15);
        }
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                const char *path = put("key", "sk-secret-value\n", 16, refused[i]);

                ck_assert_int_eq(chown(path, 0, 65534), 0);
                ck_assert_int_eq(cairn_secret_file_read(path, out, sizeof(out), errstr,
                                                        sizeof(errstr)),
                                 -1);
                ck_assert_ptr_nonnull(strstr(errstr, "open to its group or others"));
        }
}
END_TEST

START_TEST(test_cairn_secret_file_read_follows_links_to_regular_files)
{
        char out[64], errstr[512], link[300];
        const char *path = put("target", "sk-linked\n", 10, 0600);

        snprintf(link, sizeof(link), "%s/link", dir);
        ck_assert_int_eq(symlink(path, link), 0);
        ck_assert_int_eq(cairn_secret_file_read(link, out, sizeof(out), errstr, sizeof(errstr)), 9);
        ck_assert_str_eq(out, "sk-linked");
        /* the target's mode is what counts */
        ck_assert_int_eq(chmod(path, 0644), 0);
        ck_assert_int_eq(cairn_secret_file_read(link, out, sizeof(out), errstr, sizeof(errstr)),
                         -1);
        ck_assert_ptr_nonnull(strstr(errstr, "mode 0644"));
        /* a folder is not a secret file */
        ck_assert_int_eq(cairn_secret_file_read(dir, out, sizeof(out), errstr, sizeof(errstr)), -1);
        ck_assert_ptr_nonnull(strstr(errstr, "not a regular file"));
}
END_TEST

START_TEST(test_cairn_secret_file_read_refuses_too_large)
{
        char out[8], errstr[512];

        ck_assert_int_eq(cairn_secret_file_read(put("k", "1234567", 7, 0600), out, sizeof(out),
                                                errstr, sizeof(errstr)),
                         7);
        ck_assert_int_eq(cairn_secret_file_read(put("k", "12345678", 8, 0600), out, sizeof(out),
                                                errstr, sizeof(errstr)),
                         -1);
        ck_assert_ptr_nonnull(strstr(errstr, "larger than 7 bytes"));
        ck_assert_ptr_null(strstr(errstr, "1234"));
}
END_TEST

START_TEST(test_cairn_secret_file_read_names_missing_file)
{
        char out[8], errstr[512], path[300], want[600];

        snprintf(path, sizeof(path), "%s/absent.key", dir);
        ck_assert_int_eq(cairn_secret_file_read(path, out, sizeof(out), errstr, sizeof(errstr)),
                         -1);
        snprintf(want, sizeof(want), "cannot open %s: No such file or directory", path);
        ck_assert_str_eq(errstr, want);
}
END_TEST

START_TEST(test_cairn_secret_file_token_checks_file_and_token)
{
        char errstr[512];
        const char *path;
        char *key;

        path = put("k1", "sk-abc123\n", 10, 0644);
        key = cairn_secret_file_token("embedding.models.1.api_key_file", path, errstr,
                                      sizeof(errstr));
        ck_assert_ptr_null(key);
        ck_assert_msg(strstr(errstr, "config: embedding.models.1.api_key_file: ") == errstr &&
                              strstr(errstr, "chmod 600"),
                      "%s", errstr);
        ck_assert_ptr_null(strstr(errstr, "sk-abc123"));
        path = put("k2", "sk-abc123 \r\n", 12, 0400);
        key = cairn_secret_file_token("k", path, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(key);
        ck_assert_str_eq(key, "sk-abc123");
        free(key);
        /* one token: a second line or a space inside is refused, unquoted */
        path = put("k3", "sk-abc\nsecond\n", 14, 0600);
        ck_assert_ptr_null(cairn_secret_file_token("k", path, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "more than one line"), "%s", errstr);
        ck_assert_ptr_null(strstr(errstr, "second"));
        path = put("k4", "sk abc", 6, 0600);
        ck_assert_ptr_null(cairn_secret_file_token("k", path, errstr, sizeof(errstr)));
        path = put("k5", " \n", 2, 0600);
        ck_assert_ptr_null(cairn_secret_file_token("k", path, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "is empty"), "%s", errstr);
        ck_assert_ptr_null(
                cairn_secret_file_token("k", "/nonexistent/key", errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "cannot open"), "%s", errstr);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("file");
        TCase *tc = tcase_create("cairn_file_read");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_file_read_whole_file);
        tcase_add_test(tc, test_cairn_file_read_refuses_larger_than_max);
        tcase_add_test(tc, test_cairn_file_read_names_missing_file);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_secret_file_read");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_secret_file_read_trims_line_endings);
        tcase_add_test(tc, test_cairn_secret_file_read_refuses_open_modes);
        tcase_add_test(tc, test_cairn_secret_file_read_root_owned_group_readable);
        tcase_add_test(tc, test_cairn_secret_file_read_follows_links_to_regular_files);
        tcase_add_test(tc, test_cairn_secret_file_read_refuses_too_large);
        tcase_add_test(tc, test_cairn_secret_file_read_names_missing_file);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_secret_file_token");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_secret_file_token_checks_file_and_token);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
