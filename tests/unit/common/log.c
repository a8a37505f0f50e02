/* Unit tests for structured logging: the JSON shape of a line, levels,
 * request fields, redaction, bad UTF-8 and concurrent writers. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/log.h"
#include "../unit.h"

static char dir[64];
static char path[128];
static FILE *fp;

static void setup(void)
{
        strcpy(dir, "/tmp/cairn-log-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/out.log", dir);
        fp = fopen(path, "w+");
        ck_assert_ptr_nonnull(fp);
        cairn_log_init("testsvc", CAIRN_LOG_INFO);
        cairn_log_set_stream(fp);
        cairn_log_ctx_set(NULL);
}

static void teardown(void)
{
        cairn_log_set_stream(NULL);
        if (fp)
                fclose(fp);
        fp = NULL;
        unlink(path);
        rmdir(dir);
}

/* Everything written so far, from the start of the file. */
static char *output(void)
{
        long size;
        char *text;

        fflush(fp);
        size = ftell(fp);
        ck_assert_int_ge(size, 0);
        text = malloc((size_t)size + 1);
        ck_assert_ptr_nonnull(text);
        rewind(fp);
        ck_assert_uint_eq(fread(text, 1, (size_t)size, fp), (size_t)size);
        text[size] = '\0';
        fseek(fp, 0, SEEK_END);
        return text;
}

static size_t line_count(const char *text)
{
        size_t n = 0;

        for (; *text; text++)
                n += *text == '\n';
        return n;
}

/* The only line written so far, parsed; the raw text goes to @p raw. */
static json_t *only_line(char **raw)
{
        char *text = output();
        json_error_t jerr;
        json_t *obj;

        ck_assert_msg(line_count(text) == 1, "want one line, got: %s", text);
        obj = json_loads(text, JSON_ALLOW_NUL, &jerr);
        ck_assert_msg(obj != NULL, "invalid JSON (%s): %s", jerr.text, text);
        ck_assert(json_is_object(obj));
        if (raw)
                *raw = text;
        else
                free(text);
        return obj;
}

/* The msg field of the one line written for @p msg. */
static char *logged_msg(const char *msg)
{
        json_t *obj;
        char *copy;

        ck_assert_int_eq(ftruncate(fileno(fp), 0), 0);
        rewind(fp);
        cairn_log_write(CAIRN_LOG_INFO, "T", "%s", msg);
        obj = only_line(NULL);
        ck_assert(json_is_string(json_object_get(obj, "msg")));
        copy = strdup(json_string_value(json_object_get(obj, "msg")));
        json_decref(obj);
        return copy;
}

START_TEST(test_cairn_log_write_emits_fields_in_order)
{
        json_t *obj;
        char *raw;
        regex_t re;
        const char *keys[] = { "\"ts\":", "\"level\":", "\"service\":", "\"fac\":", "\"msg\":" };
        const char *prev = NULL;

        cairn_log_write(CAIRN_LOG_WARN, "PG", "insert memory %s failed: %d", "m-1", 42);
        obj = only_line(&raw);
        ck_assert_str_eq(json_string_value(json_object_get(obj, "level")), "warn");
        ck_assert_str_eq(json_string_value(json_object_get(obj, "service")), "testsvc");
        ck_assert_str_eq(json_string_value(json_object_get(obj, "fac")), "PG");
        ck_assert_str_eq(json_string_value(json_object_get(obj, "msg")),
                         "insert memory m-1 failed: 42");
        ck_assert_int_eq(json_object_size(obj), 5);

        ck_assert_int_eq(regcomp(&re,
                                 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
                                 "\\.[0-9]{3}Z$",
                                 REG_EXTENDED | REG_NOSUB),
                         0);
        ck_assert_msg(regexec(&re, json_string_value(json_object_get(obj, "ts")), 0, NULL, 0) == 0,
                      "ts: %s", json_string_value(json_object_get(obj, "ts")));
        regfree(&re);

        ck_assert_int_eq(strncmp(raw, "{\"ts\":", 6), 0);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                const char *at = strstr(raw, keys[i]);

                ck_assert_msg(at != NULL && at > prev, "%s out of order in %s", keys[i], raw);
                prev = at;
        }
        ck_assert_int_eq(raw[strlen(raw) - 1], '\n');
        free(raw);
        json_decref(obj);
}
END_TEST

START_TEST(test_cairn_log_write_escapes_special_characters)
{
        char *msg = logged_msg("quote \" backslash \\ newline \n tab \t bell \a end");

        ck_assert_str_eq(msg, "quote \" backslash \\ newline \n tab \t bell \a end");
        free(msg);
}
END_TEST

START_TEST(test_cairn_log_write_keeps_embedded_nul)
{
        json_t *obj;

        cairn_log_write(CAIRN_LOG_INFO, "T", "a%cb", 0);
        obj = only_line(NULL);
        ck_assert_uint_eq(json_string_length(json_object_get(obj, "msg")), 3);
        ck_assert_int_eq(memcmp(json_string_value(json_object_get(obj, "msg")), "a\0b", 3), 0);
        json_decref(obj);
}
END_TEST

START_TEST(test_cairn_log_write_replaces_invalid_utf8)
{
        char *msg;

        msg = logged_msg("bad \xff\xfe byte, truncated \xe2\x82, good \xe2\x82\xac, lone \x80");
        ck_assert_str_eq(msg, "bad \xef\xbf\xbd\xef\xbf\xbd byte, truncated "
                              "\xef\xbf\xbd\xef\xbf\xbd, good \xe2\x82\xac, lone \xef\xbf\xbd");
        free(msg);
        msg = logged_msg("surrogate \xed\xa0\x80 overlong \xc0\xaf");
        ck_assert_ptr_null(strstr(msg, "\xed\xa0\x80"));
        ck_assert_ptr_nonnull(strstr(msg, "surrogate \xef\xbf\xbd"));
        free(msg);
}
END_TEST

START_TEST(test_cairn_log_write_replaces_invalid_utf8_in_fields)
{
        struct cairn_log_ctx c = { .key = "k\xff" };
        json_t *obj;

        cairn_log_ctx_set(&c);
        cairn_log_write(CAIRN_LOG_INFO, "F\xc3", "x");
        obj = only_line(NULL);
        ck_assert_str_eq(json_string_value(json_object_get(obj, "key")), "k\xef\xbf\xbd");
        ck_assert_str_eq(json_string_value(json_object_get(obj, "fac")), "F\xef\xbf\xbd");
        json_decref(obj);
        cairn_log_ctx_set(NULL);
}
END_TEST

START_TEST(test_cairn_log_write_truncates_long_messages)
{
        char *big = malloc(10001);
        char *msg;

        memset(big, 'a', 10000);
        big[10000] = '\0';
        msg = logged_msg(big);
        ck_assert_uint_eq(strlen(msg), 4096 + 3);
        ck_assert_str_eq(msg + 4096, "\xe2\x80\xa6");
        free(msg);

        /* The cut never splits a character: 2-byte é from byte 1 on. */
        big[0] = 'x';
        for (size_t i = 1; i + 1 < 10000; i += 2) {
                big[i] = '\xc3';
                big[i + 1] = '\xa9';
        }
        big[9999] = '\0';
        msg = logged_msg(big);
        ck_assert_uint_eq(strlen(msg), 4095 + 3);
        ck_assert_ptr_null(strstr(msg, "\xef\xbf\xbd"));
        free(msg);

        /* Replacement characters count against the limit too. */
        memset(big, '\xff', 9999);
        msg = logged_msg(big);
        ck_assert_uint_eq(strlen(msg), 4095 + 3);
        free(msg);

        memset(big, 'b', 4096);
        big[4096] = '\0';
        msg = logged_msg(big);
        ck_assert_str_eq(msg, big); /* exactly the limit: kept whole */
        free(msg);
        free(big);
}
END_TEST

START_TEST(test_cairn_log_write_redacts_secrets)
{
        static const char *const cases[][2] = {
                { "auth header Bearer abc.def-123 rejected",
                  "auth header Bearer [REDACTED] rejected" },
                { "BEARER xyz", "BEARER [REDACTED]" },
                { "authorization=Basic dXNlcjpwYXNz next", "authorization=[REDACTED] next" },
                { "Authorization: Bearer tok123", "Authorization: [REDACTED]" },
                { "authorization:opaque-value, more", "authorization:[REDACTED], more" },
                { "dsn host=db password=hunter2 user=x", "dsn host=db password=[REDACTED] user=x" },
                { "PASSWORD=\"two words\" after", "PASSWORD=[REDACTED] after" },
                { "client_secret=s3cr3t&grant=x", "client_secret=[REDACTED]&grant=x" },
                { "url ?access_token=abc;x", "url ?access_token=[REDACTED];x" },
                { "api_key=k1 apikey=k2 ApiKey=k3", "api_key=[REDACTED] apikey=[REDACTED] "
                                                    "ApiKey=[REDACTED]" },
                { "key ck_live_12345678 used", "key [REDACTED] used" },
                { "(ck_ABCDEFGHijkl)", "([REDACTED])" },
                { "short ck_1234567 kept", "short ck_1234567 kept" },
                { "stack_abcdefghijk kept", "stack_abcdefghijk kept" },
                { "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_nature done",
                  "jwt [REDACTED] done" },
                { "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. end", "unsigned [REDACTED] end" },
                { "not a jwt eyJhbGciOiJIUzI1NiJ9 alone", "not a jwt eyJhbGciOiJIUzI1NiJ9 alone" },
                { "token= nothing", "token= [REDACTED]" },
                { "token=", "token=" },
                { "plain message, no secrets", "plain message, no secrets" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *msg = logged_msg(cases[i][0]);

                ck_assert_msg(strcmp(msg, cases[i][1]) == 0, "case %zu: got \"%s\", want \"%s\"", i,
                              msg, cases[i][1]);
                free(msg);
        }
}
END_TEST

/* Regression: the gateway's own help text came out as "send Authorization:
 * [REDACTED] or API key>". Only credential values are masked, never the
 * service's words around them. */
START_TEST(test_cairn_log_write_redacts_values_not_words)
{
        static const char *const kept[] = {
                "no credentials: send Authorization: Bearer <token or API key>",
                "/v1/embeddings: credentials refused: no credentials: send Authorization: "
                "Bearer <token or API key>",
                "authorization: Bearer",
                "Authorization: Basic <base64 of user:password>",
                "the bearer is gone",
        };
        static const char *const cases[][2] = {
                /* a real credential beside the help text is still masked */
                { "send Authorization: Bearer <token>; got Bearer abc123def",
                  "send Authorization: Bearer <token>; got Bearer [REDACTED]" },
                { "Authorization: Bearer abc+/def== next", "Authorization: [REDACTED] next" },
                { "Bearer <eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig>", "Bearer <[REDACTED]>" },
                { "Bearer <ck_live_12345678>", "Bearer <[REDACTED]>" },
        };

        for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
                char *msg = logged_msg(kept[i]);

                ck_assert_msg(strcmp(msg, kept[i]) == 0, "kept %zu: got \"%s\"", i, msg);
                free(msg);
        }
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *msg = logged_msg(cases[i][0]);

                ck_assert_msg(strcmp(msg, cases[i][1]) == 0, "case %zu: got \"%s\", want \"%s\"", i,
                              msg, cases[i][1]);
                free(msg);
        }
}
END_TEST

START_TEST(test_cairn_log_write_redacts_before_truncating)
{
        char *big = malloc(8192);
        char *msg;

        memset(big, 'a', 8191);
        big[8191] = '\0';
        memcpy(big + 4080, " token=", 7);
        msg = logged_msg(big);
        ck_assert_ptr_nonnull(strstr(msg, " token=[REDA"));
        ck_assert_ptr_null(strstr(msg, "token=a"));
        free(msg);
        free(big);
}
END_TEST

struct writer {
        int id;
        int lines;
};

#define WRITERS 4
#define LINES   500

static void *writer_run(void *opaque)
{
        struct writer *w = opaque;
        char pad[300];

        memset(pad, 'a' + w->id, sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = '\0';
        for (int i = 0; i < w->lines; i++)
                cairn_log_write(CAIRN_LOG_INFO, "T", "writer %d line %d %s", w->id, i, pad);
        return NULL;
}

START_TEST(test_cairn_log_write_concurrent_writers)
{
        pthread_t threads[WRITERS];
        struct writer writers[WRITERS];
        int next[WRITERS] = { 0 };
        char *text, *line, *save = NULL;
        size_t n = 0;

        for (int i = 0; i < WRITERS; i++) {
                writers[i] = (struct writer){ i, LINES };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, writer_run, &writers[i]), 0);
        }
        for (int i = 0; i < WRITERS; i++)
                pthread_join(threads[i], NULL);

        text = output();
        ck_assert_uint_eq(line_count(text), WRITERS * LINES);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                json_error_t jerr;
                json_t *obj = json_loads(line, 0, &jerr);
                int id, seq;

                ck_assert_msg(obj != NULL, "line %zu invalid: %s", n, jerr.text);
                ck_assert_int_eq(sscanf(json_string_value(json_object_get(obj, "msg")),
                                        "writer %d line %d", &id, &seq),
                                 2);
                ck_assert(id >= 0 && id < WRITERS);
                ck_assert_int_eq(seq, next[id]); /* each thread's lines stay in order */
                next[id]++;
                json_decref(obj);
                n++;
        }
        ck_assert_uint_eq(n, WRITERS * LINES);
        free(text);
}
END_TEST

START_TEST(test_cairn_log_ctx_set_adds_request_fields)
{
        struct cairn_log_ctx c = {
                .ce_id = "ce-1",
                .ce_type = "cairn.memory.v1.StoreRequest",
                .key = "", /* empty: left out */
                .request_id = "req-9",
                .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                .span_id = NULL, /* NULL: left out */
        };
        const char *order[] = { "\"msg\":", "\"ce_id\":", "\"ce_type\":", "\"request_id\":",
                                "\"trace_id\":" };
        const char *prev = NULL;
        json_t *obj;
        char *raw;

        cairn_log_ctx_set(&c);
        ck_assert_ptr_eq(cairn_log_ctx_get(), &c);
        cairn_log_write(CAIRN_LOG_ERROR, "BUS", "handler failed");
        obj = only_line(&raw);
        ck_assert_int_eq(json_object_size(obj), 9);
        ck_assert_str_eq(json_string_value(json_object_get(obj, "ce_id")), "ce-1");
        ck_assert_str_eq(json_string_value(json_object_get(obj, "request_id")), "req-9");
        ck_assert_ptr_null(json_object_get(obj, "key"));
        ck_assert_ptr_null(json_object_get(obj, "span_id"));
        for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
                const char *at = strstr(raw, order[i]);

                ck_assert_msg(at != NULL && at > prev, "%s out of order in %s", order[i], raw);
                prev = at;
        }
        free(raw);
        json_decref(obj);
        cairn_log_ctx_set(NULL);
        ck_assert_ptr_null(cairn_log_ctx_get());
}
END_TEST

static void *ctx_probe(void *opaque)
{
        (void)opaque;
        return (void *)cairn_log_ctx_get();
}

START_TEST(test_cairn_log_ctx_set_is_per_thread)
{
        struct cairn_log_ctx c = { .ce_id = "mine" };
        pthread_t t;
        void *seen = &c;
        json_t *obj;

        cairn_log_ctx_set(&c);
        ck_assert_int_eq(pthread_create(&t, NULL, ctx_probe, NULL), 0);
        pthread_join(t, &seen);
        ck_assert_ptr_null(seen);

        cairn_log_ctx_set(NULL);
        cairn_log_write(CAIRN_LOG_INFO, "T", "no request");
        obj = only_line(NULL);
        ck_assert_int_eq(json_object_size(obj), 5);
        json_decref(obj);
}
END_TEST

static int evaluated;

static int side_effect(void)
{
        return ++evaluated;
}

START_TEST(test_cairn_log_filters_below_level)
{
        char *text;

        evaluated = 0;
        cairn_log(DEBUG, "T", "debug %d", side_effect());
        ck_assert_int_eq(evaluated, 0); /* filtered before the arguments run */
        cairn_log_write(CAIRN_LOG_DEBUG, "T", "direct debug");
        text = output();
        ck_assert_str_eq(text, "");
        free(text);

        cairn_log(INFO, "T", "info %d", side_effect());
        ck_assert_int_eq(evaluated, 1);
        cairn_log_set_level(CAIRN_LOG_ERROR);
        cairn_log(WARN, "T", "warn %d", side_effect());
        ck_assert_int_eq(evaluated, 1);
        cairn_log(ERROR, "T", "error %d", side_effect());
        cairn_log_set_level(CAIRN_LOG_DEBUG);
        cairn_log(DEBUG, "T", "debug %d", side_effect());
        ck_assert_int_eq(evaluated, 3);
        text = output();
        ck_assert_uint_eq(line_count(text), 3);
        ck_assert_ptr_nonnull(strstr(text, "\"msg\":\"info 1\""));
        ck_assert_ptr_nonnull(strstr(text, "\"level\":\"error\""));
        ck_assert_ptr_nonnull(strstr(text, "\"level\":\"debug\""));
        ck_assert_ptr_null(strstr(text, "warn"));
        free(text);
}
END_TEST

START_TEST(test_cairn_log_set_level_round_trips)
{
        cairn_log_set_level(CAIRN_LOG_WARN);
        ck_assert_int_eq(cairn_log_get_level(), CAIRN_LOG_WARN);
        cairn_log_set_level(CAIRN_LOG_DEBUG);
        ck_assert_int_eq(cairn_log_get_level(), CAIRN_LOG_DEBUG);
        cairn_log_init("other", CAIRN_LOG_ERROR);
        ck_assert_int_eq(cairn_log_get_level(), CAIRN_LOG_ERROR);
}
END_TEST

START_TEST(test_cairn_log_level_parse_names)
{
        ck_assert_int_eq(cairn_log_level_parse("debug"), CAIRN_LOG_DEBUG);
        ck_assert_int_eq(cairn_log_level_parse("info"), CAIRN_LOG_INFO);
        ck_assert_int_eq(cairn_log_level_parse("warn"), CAIRN_LOG_WARN);
        ck_assert_int_eq(cairn_log_level_parse("error"), CAIRN_LOG_ERROR);
        ck_assert_int_eq(cairn_log_level_parse("INFO"), CAIRN_LOG_INFO);
        ck_assert_int_eq(cairn_log_level_parse("warning"), -1);
        ck_assert_int_eq(cairn_log_level_parse(""), -1);
        ck_assert_int_eq(cairn_log_level_parse(NULL), -1);
}
END_TEST

START_TEST(test_cairn_log_level_str_names)
{
        ck_assert_str_eq(cairn_log_level_str(CAIRN_LOG_DEBUG), "debug");
        ck_assert_str_eq(cairn_log_level_str(CAIRN_LOG_INFO), "info");
        ck_assert_str_eq(cairn_log_level_str(CAIRN_LOG_WARN), "warn");
        ck_assert_str_eq(cairn_log_level_str(CAIRN_LOG_ERROR), "error");
        ck_assert_str_eq(cairn_log_level_str((enum cairn_log_level)9), "unknown");
}
END_TEST

START_TEST(test_cairn_log_init_copies_service)
{
        char name[] = "embedding";
        json_t *obj;

        cairn_log_init(name, CAIRN_LOG_INFO);
        name[0] = 'X';
        cairn_log_write(CAIRN_LOG_INFO, "T", "hello");
        obj = only_line(NULL);
        ck_assert_str_eq(json_string_value(json_object_get(obj, "service")), "embedding");
        json_decref(obj);
}
END_TEST

static Suite *log_suite(void)
{
        Suite *s = suite_create("log");
        TCase *tc;

        tc = tcase_create("cairn_log_write");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_log_write_emits_fields_in_order);
        tcase_add_test(tc, test_cairn_log_write_escapes_special_characters);
        tcase_add_test(tc, test_cairn_log_write_keeps_embedded_nul);
        tcase_add_test(tc, test_cairn_log_write_replaces_invalid_utf8);
        tcase_add_test(tc, test_cairn_log_write_replaces_invalid_utf8_in_fields);
        tcase_add_test(tc, test_cairn_log_write_truncates_long_messages);
        tcase_add_test(tc, test_cairn_log_write_redacts_secrets);
        tcase_add_test(tc, test_cairn_log_write_redacts_values_not_words);
        tcase_add_test(tc, test_cairn_log_write_redacts_before_truncating);
        tcase_add_test(tc, test_cairn_log_write_concurrent_writers);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_log_ctx_set");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_log_ctx_set_adds_request_fields);
        tcase_add_test(tc, test_cairn_log_ctx_set_is_per_thread);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_log");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_log_filters_below_level);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_log_set_level");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_log_set_level_round_trips);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_log_level_parse");
        tcase_add_test(tc, test_cairn_log_level_parse_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_log_level_str");
        tcase_add_test(tc, test_cairn_log_level_str_names);
        suite_add_tcase(s, tc);

        tc = tcase_create("cairn_log_init");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_log_init_copies_service);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(log_suite());
}
