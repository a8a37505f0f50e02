/* Unit tests for secret references: the parse of "<path>#<field>", the
 * field's extraction from a secret's JSON, and the cache kept fresh by its
 * refresher (TTL, serving the last value while a refresh is under way or
 * failing, hard expiry, deadlines), with a fetch function of the test's
 * own instead of the secrets service. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/secret_ref.h"
#include "../unit.h"

#define KEY "embedding.models.1.api_key_secret"

static void msleep(int ms)
{
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

/* ---- cairn_secret_ref_parse ---- */

START_TEST(test_cairn_secret_ref_parse_splits_path_and_field)
{
        struct cairn_secret_ref_spec spec;
        char errstr[256];

        ck_assert_int_eq(cairn_secret_ref_parse(KEY, "services/embedding/openai#api_key", &spec,
                                                errstr, sizeof(errstr)),
                         0);
        ck_assert_str_eq(spec.path, "services/embedding/openai");
        ck_assert_str_eq(spec.field, "api_key");
        ck_assert_int_eq(cairn_secret_ref_parse(KEY, "one#f.with-dots", &spec, errstr,
                                                sizeof(errstr)),
                         0);
        ck_assert_str_eq(spec.path, "one");
        ck_assert_str_eq(spec.field, "f.with-dots");
}
END_TEST

START_TEST(test_cairn_secret_ref_parse_names_the_key)
{
        static const struct {
                const char *text, *says;
        } bad[] = {
                { "", "empty" },
                { "services/embedding/openai", "no '#'" },
                { "#api_key", "path before '#' is empty" },
                { "services/embedding/openai#", "field after '#' is empty" },
                { "a#b#c", "more than one '#'" },
                { "/services/x#k", "start or end with '/'" },
                { "services/x/#k", "start or end with '/'" },
                { "services//x#k", "empty segment" },
                { "services/../x#k", "\"..\"" },
                { "services/./x#k", "\".\"" },
                { "services/x#k\n", "control character" },
                { "services/\tx#k", "control character" },
        };
        struct cairn_secret_ref_spec spec;
        char errstr[512], longer[CAIRN_SECRET_PATH_MAX + 16];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_int_eq(cairn_secret_ref_parse(KEY, bad[i].text, &spec, errstr,
                                                        sizeof(errstr)),
                                 -1);
                ck_assert_msg(strncmp(errstr, "config: " KEY ": ", strlen("config: " KEY ": ")) ==
                                      0,
                              "%s", errstr);
                ck_assert_msg(strstr(errstr, bad[i].says), "\"%s\": %s", bad[i].text, errstr);
        }
        ck_assert_int_eq(cairn_secret_ref_parse(KEY, NULL, &spec, errstr, sizeof(errstr)), -1);
        memset(longer, 'p', sizeof(longer));
        snprintf(longer + CAIRN_SECRET_PATH_MAX + 1, 15, "#k");
        ck_assert_int_eq(cairn_secret_ref_parse(KEY, longer, &spec, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "longer than"), "%s", errstr);
}
END_TEST

/* ---- cairn_secret_ref_extract ---- */

static int extract(const char *json, unsigned flags, char **value, char *why, size_t size)
{
        struct cairn_secret_ref_spec spec = { "services/embedding/openai", "api_key" };
        size_t vlen;

        return cairn_secret_ref_extract(&spec, json, strlen(json), flags, value, &vlen, why, size);
}

START_TEST(test_cairn_secret_ref_extract_gives_the_string)
{
        char why[512], *value;

        ck_assert_int_eq(extract("{\"api_key\":\"sk-1\",\"org\":\"o\"}", 0, &value, why,
                                 sizeof(why)),
                         0);
        ck_assert_str_eq(value, "sk-1");
        free(value);
        /* without the token check, any string */
        ck_assert_int_eq(extract("{\"api_key\":\"two words\\n\"}", 0, &value, why, sizeof(why)), 0);
        ck_assert_str_eq(value, "two words\n");
        free(value);
        /* a token: blanks around it dropped */
        ck_assert_int_eq(extract("{\"api_key\":\"  sk-2\\r\\n\"}", CAIRN_SECRET_TOKEN, &value, why,
                                 sizeof(why)),
                         0);
        ck_assert_str_eq(value, "sk-2");
        free(value);
}
END_TEST

START_TEST(test_cairn_secret_ref_extract_names_the_field_never_the_value)
{
        static const struct {
                const char *json;
                unsigned flags;
                const char *says;
        } bad[] = {
                { "{\"other\":\"sk-secret\"}", 0,
                  "field \"api_key\" is missing from "
                  "services/embedding/openai" },
                { "{\"api_key\":42}", 0,
                  "field \"api_key\" of services/embedding/openai is an "
                  "integer, not a string" },
                { "{\"api_key\":{\"k\":\"sk-secret\"}}", 0, "is an object, not a string" },
                { "{\"api_key\":null}", 0, "is null, not a string" },
                { "{\"api_key\":true}", 0, "is a boolean" },
                { "[\"sk-secret\"]", 0, "is an array, not a JSON object" },
                { "{\"api_key\":\"sk-secret", 0, "is not JSON (line 1" },
                { "{\"api_key\":\"sk-secret\",\"api_key\":\"x\"}", 0, "is not JSON" },
                { "{\"api_key\":\"sk secret\"}", CAIRN_SECRET_TOKEN, "not one token" },
                { "{\"api_key\":\"sk-secret\\u00e9\"}", CAIRN_SECRET_TOKEN, "not one token" },
                { "{\"api_key\":\"sk-\\nsecret\"}", CAIRN_SECRET_TOKEN, "not one token" },
                { "{\"api_key\":\" \\n\"}", CAIRN_SECRET_TOKEN, "is empty" },
        };
        char why[512], *value = (char *)"unset";

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                ck_assert_int_eq(extract(bad[i].json, bad[i].flags, &value, why, sizeof(why)), -1);
                ck_assert_ptr_null(value);
                ck_assert_msg(strstr(why, bad[i].says), "%s: %s", bad[i].json, why);
                ck_assert_msg(!strstr(why, "secret\"") && !strstr(why, "sk-"), "%s", why);
        }
}
END_TEST

/* ---- references kept fresh, with a fetch of the test's own ---- */

struct fake {
        pthread_mutex_t lock;
        char json[256];
        uint64_t version;
        bool fail;
        int delay_ms;
        unsigned calls;
};

static cairn_err_t fake_fetch(void *opaque, const char *path, char **json, size_t *len,
                              uint64_t *version, struct cairn_status *st)
{
        struct fake *f = opaque;
        int delay;
        cairn_err_t err = CAIRN_OK;

        pthread_mutex_lock(&f->lock);
        f->calls++;
        delay = f->delay_ms;
        pthread_mutex_unlock(&f->lock);
        msleep(delay);
        pthread_mutex_lock(&f->lock);
        if (f->fail) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                       "the secrets service is down (%s)", path);
        } else {
                *json = strdup(f->json);
                *len = strlen(f->json);
                *version = f->version;
        }
        pthread_mutex_unlock(&f->lock);
        return err;
}

static void fake_set(struct fake *f, const char *key, uint64_t version, bool fail, int delay_ms)
{
        pthread_mutex_lock(&f->lock);
        if (key)
                snprintf(f->json, sizeof(f->json), "{\"api_key\":\"%s\"}", key);
        if (version)
                f->version = version;
        f->fail = fail;
        f->delay_ms = delay_ms;
        pthread_mutex_unlock(&f->lock);
}

static unsigned fake_calls(struct fake *f)
{
        unsigned n;

        pthread_mutex_lock(&f->lock);
        n = f->calls;
        pthread_mutex_unlock(&f->lock);
        return n;
}

static struct fake fake;
static struct cairn_secret_ref_conf conf;

static void setup(void)
{
        memset(&fake, 0, sizeof(fake));
        pthread_mutex_init(&fake.lock, NULL);
        fake_set(&fake, "sk-one", 1, false, 0);
        conf = (struct cairn_secret_ref_conf){
                .topic = "cairn.secrets.v1.requests",
                .tenant = "cairn",
                .principal = "",
                .ttl_ms = 100,
                .expire_ms = 400,
                .retry_ms = 20,
                .timeout_ms = 1000,
        };
}

static void teardown(void)
{
        pthread_mutex_destroy(&fake.lock);
}

/* A value got within @p within_ms, copied into @p out. */
static cairn_err_t get(struct cairn_secret_ref *ref, int within_ms, char *out, size_t size,
                       struct cairn_status *st)
{
        return cairn_secret_ref_get(ref, cairn_now_ms() + within_ms, out, size, st);
}

START_TEST(test_cairn_secret_ref_get_fetches_and_caches)
{
        struct cairn_secret_refs *refs = cairn_secret_refs_new_with(&conf, fake_fetch, &fake, NULL);
        struct cairn_secret_ref *ref, *again;
        struct cairn_status st;
        char errstr[256], out[64];
        unsigned calls;

        ref = cairn_secret_ref_add(refs, KEY, "services/embedding/openai#api_key",
                                   CAIRN_SECRET_TOKEN, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(ref);
        ck_assert_str_eq(cairn_secret_ref_name(ref), "services/embedding/openai#api_key");
        again = cairn_secret_ref_add(refs, "other.key", "services/embedding/openai#api_key",
                                     CAIRN_SECRET_TOKEN, errstr, sizeof(errstr));
        ck_assert_ptr_eq(again, ref);
        ck_assert_ptr_null(
                cairn_secret_ref_add(refs, "other.key", "nohash", 0, errstr, sizeof(errstr)));
        ck_assert_msg(strstr(errstr, "other.key"), "%s", errstr);
        ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
        ck_assert_str_eq(out, "sk-one");
        ck_assert_uint_eq(cairn_secret_ref_version(ref), 1);
        /* within the TTL: from the cache */
        calls = fake_calls(&fake);
        for (int i = 0; i < 100; i++)
                ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
        ck_assert_uint_le(fake_calls(&fake), calls + 1);
        /* too small a buffer */
        ck_assert_int_eq(get(ref, 1000, out, 4, &st), CAIRN_ERR_EXHAUSTED);
        ck_assert_ptr_null(strstr(st.message, "sk-"));
        cairn_secret_refs_free(refs);
}
END_TEST

START_TEST(test_cairn_secret_ref_get_picks_up_a_new_version_after_the_ttl)
{
        struct cairn_secret_refs *refs = cairn_secret_refs_new_with(&conf, fake_fetch, &fake, NULL);
        struct cairn_secret_ref *ref = cairn_secret_ref_add(refs, KEY, "a/b#api_key", 0, NULL, 0);
        struct cairn_status st;
        char out[64];
        int64_t until;

        ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
        ck_assert_str_eq(out, "sk-one");
        /* a slow secrets service: the refresh takes 300 ms */
        fake_set(&fake, "sk-two", 2, false, 300);
        msleep(150); /* past the TTL: the refresh is under way */
        for (int i = 0; i < 20; i++) {
                int64_t t0 = cairn_mono_us();

                ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
                /* served from the cache, not after the refresh */
                ck_assert_int_lt(cairn_mono_us() - t0, 50000);
                ck_assert_str_eq(out, "sk-one");
                msleep(5);
        }
        until = cairn_mono_us() + 2000000;
        while (strcmp(out, "sk-two") != 0 && cairn_mono_us() < until) {
                ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
                msleep(10);
        }
        ck_assert_str_eq(out, "sk-two");
        ck_assert_uint_eq(cairn_secret_ref_version(ref), 2);
        cairn_secret_refs_free(refs);
}
END_TEST

START_TEST(test_cairn_secret_ref_get_keeps_the_last_value_until_it_expires)
{
        struct cairn_metrics *metrics = cairn_metrics_new();
        struct cairn_secret_refs *refs = cairn_secret_refs_new_with(&conf, fake_fetch, &fake,
                                                                    metrics);
        struct cairn_secret_ref *ref = cairn_secret_ref_add(refs, KEY, "a/b#api_key",
                                                            CAIRN_SECRET_TOKEN, NULL, 0);
        struct cairn_status st;
        char out[64], *text;
        int64_t t0;

        ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
        t0 = cairn_mono_us();
        fake_set(&fake, NULL, 0, true, 0);
        msleep(200); /* past the TTL: refreshes fail */
        ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
        ck_assert_str_eq(out, "sk-one");
        /* a new version that is not a token is a failure too: sk-one stays */
        fake_set(&fake, "sk two", 2, false, 0);
        msleep(60);
        ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_OK);
        ck_assert_str_eq(out, "sk-one");
        fake_set(&fake, NULL, 0, true, 0);
        /* past expire_ms: no value, at once, naming the reference */
        while (cairn_mono_us() - t0 < 450000)
                msleep(10);
        t0 = cairn_mono_us();
        ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_lt(cairn_mono_us() - t0, 200000);
        ck_assert_str_eq(st.reason, "SECRET_UNAVAILABLE");
        ck_assert_msg(strstr(st.message, "secret a/b#api_key is not available") &&
                              strstr(st.message, "secrets service is down"),
                      "%s", st.message);
        ck_assert_uint_eq(cairn_secret_ref_version(ref), 0);
        text = cairn_metrics_render(metrics, NULL);
        ck_assert_msg(strstr(text, "cairn_secret_fetches_total{secret=\"a/b#api_key\",outcome="
                                   "\"error\"}"),
                      "%s", text);
        ck_assert_msg(strstr(text, "cairn_secret_fetches_total{secret=\"a/b#api_key\",outcome="
                                   "\"ok\"} 1"),
                      "%s", text);
        ck_assert_ptr_null(strstr(text, "sk-"));
        free(text);
        /* it comes back */
        fake_set(&fake, "sk-three", 3, false, 0);
        t0 = cairn_mono_us();
        while (get(ref, 1000, out, sizeof(out), &st) != CAIRN_OK && cairn_mono_us() - t0 < 2000000)
                msleep(10);
        ck_assert_str_eq(out, "sk-three");
        cairn_secret_refs_free(refs);
        cairn_metrics_free(metrics);
}
END_TEST

START_TEST(test_cairn_secret_ref_get_waits_no_longer_than_its_deadline)
{
        struct cairn_secret_refs *refs;
        struct cairn_secret_ref *ref;
        struct cairn_status st;
        char out[64];
        int64_t t0;

        fake_set(&fake, NULL, 0, false, 1500); /* the secrets service does not answer */
        refs = cairn_secret_refs_new_with(&conf, fake_fetch, &fake, NULL);
        ref = cairn_secret_ref_add(refs, KEY, "a/b#api_key", 0, NULL, 0);
        t0 = cairn_mono_us();
        ck_assert_int_eq(get(ref, 100, out, sizeof(out), &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_lt(cairn_mono_us() - t0, 600000);
        ck_assert_int_ge(cairn_mono_us() - t0, 80000);
        ck_assert_msg(strstr(st.message, "a/b#api_key") && strstr(st.message, "deadline"), "%s",
                      st.message);
        /* once it answers, the waiting caller gets the value */
        ck_assert_int_eq(get(ref, 3000, out, sizeof(out), &st), CAIRN_OK);
        ck_assert_str_eq(out, "sk-one");
        cairn_secret_refs_free(refs);
}
END_TEST

START_TEST(test_cairn_secret_ref_get_fails_fast_after_a_failure)
{
        struct cairn_secret_refs *refs;
        struct cairn_secret_ref *ref;
        struct cairn_status st;
        char out[64];
        int64_t t0;

        conf.retry_ms = 1000;
        conf.ttl_ms = 5000;
        conf.expire_ms = 10000;
        fake_set(&fake, NULL, 0, true, 0);
        refs = cairn_secret_refs_new_with(&conf, fake_fetch, &fake, NULL);
        ref = cairn_secret_ref_add(refs, KEY, "a/b#api_key", 0, NULL, 0);
        ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_ERR_UNAVAILABLE);
        /* within retry_ms of that failure: answered at once, nothing fetched */
        t0 = cairn_mono_us();
        for (int i = 0; i < 50; i++)
                ck_assert_int_eq(get(ref, 1000, out, sizeof(out), &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_lt(cairn_mono_us() - t0, 100000);
        ck_assert_uint_eq(fake_calls(&fake), 1);
        cairn_secret_refs_free(refs);
}
END_TEST

struct reader {
        struct cairn_secret_ref *ref;
        int bad;
};

static void *read_loop(void *arg)
{
        struct reader *r = arg;
        struct cairn_status st;
        char out[64];

        for (int i = 0; i < 2000; i++) {
                if (get(r->ref, 2000, out, sizeof(out), &st) != CAIRN_OK ||
                    (strcmp(out, "sk-one") != 0 && strcmp(out, "sk-two") != 0))
                        r->bad++;
                if (i % 100 == 0)
                        msleep(1);
        }
        return NULL;
}

START_TEST(test_cairn_secret_ref_get_from_many_threads)
{
        struct cairn_secret_refs *refs;
        struct cairn_secret_ref *ref;
        struct reader r[4];
        pthread_t t[4];

        conf.ttl_ms = 100;
        refs = cairn_secret_refs_new_with(&conf, fake_fetch, &fake, NULL);
        ref = cairn_secret_ref_add(refs, KEY, "a/b#api_key", 0, NULL, 0);
        for (int i = 0; i < 4; i++) {
                r[i] = (struct reader){ ref, 0 };
                pthread_create(&t[i], NULL, read_loop, &r[i]);
        }
        msleep(30);
        fake_set(&fake, "sk-two", 2, false, 0);
        for (int i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                ck_assert_int_eq(r[i].bad, 0);
        }
        cairn_secret_refs_free(refs);
}
END_TEST

START_TEST(test_cairn_secret_ref_conf_check)
{
        struct cairn_secret_ref_conf c = conf;
        struct cairn_conf_section sec = cairn_secret_ref_conf_section(&c);
        char errstr[256];

        ck_assert_int_eq(sec.check(&c, errstr, sizeof(errstr)), 0);
        c.expire_ms = 50;
        ck_assert_int_eq(sec.check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "secrets_client.expire_ms"), "%s", errstr);
        c.expire_ms = 400;
        c.tenant = "";
        ck_assert_int_eq(sec.check(&c, errstr, sizeof(errstr)), -1);
        ck_assert_msg(strstr(errstr, "secrets_client.tenant"), "%s", errstr);
}
END_TEST

START_TEST(test_cairn_api_key_conf_check)
{
        char errstr[300];

        ck_assert_int_eq(cairn_api_key_conf_check("x.remote", "", NULL, NULL, errstr,
                                                  sizeof(errstr)),
                         0);
        ck_assert_int_eq(cairn_api_key_conf_check("x.remote", "", "/k", NULL, errstr,
                                                  sizeof(errstr)),
                         -1);
        ck_assert_str_eq(errstr, "config: x.remote.api_key_file: set, but x.remote.url is empty "
                                 "(no provider to send it to)");
        ck_assert_int_eq(cairn_api_key_conf_check("x.remote", "http://h", "/k", "a/b#k", errstr,
                                                  sizeof(errstr)),
                         -1);
        ck_assert_str_eq(errstr, "config: x.remote.api_key_secret: set api_key_file or "
                                 "api_key_secret, not both");
        ck_assert_int_eq(cairn_api_key_conf_check("x.remote", "http://h", NULL, "a/b", errstr,
                                                  sizeof(errstr)),
                         -1);
        ck_assert_msg(strstr(errstr, "config: x.remote.api_key_secret: "), "%s", errstr);
        ck_assert_int_eq(cairn_api_key_conf_check("x.remote", "http://h", NULL, "a/b#k", errstr,
                                                  sizeof(errstr)),
                         0);
}
END_TEST

START_TEST(test_cairn_api_key_from_a_secret)
{
        struct cairn_secret_refs *refs = cairn_secret_refs_new_with(&conf, fake_fetch, &fake, NULL);
        struct cairn_api_key k, none;
        struct cairn_status st;
        char out[64], errstr[256];

        ck_assert_int_eq(cairn_api_key_init(&none, "x.remote", "", NULL, refs, errstr,
                                            sizeof(errstr)),
                         0);
        ck_assert_ptr_null(cairn_api_key_setting(&none));
        ck_assert_int_eq(cairn_api_key_header(&none, "prov", 0, out, sizeof(out), &st), CAIRN_OK);
        ck_assert_str_eq(out, "");
        ck_assert_int_eq(cairn_api_key_init(&k, "x.remote", NULL, "a/b#k", NULL, errstr,
                                            sizeof(errstr)),
                         -1);
        ck_assert_str_eq(errstr, "config: x.remote.api_key_secret: no client of the secrets "
                                 "service to fetch it with");
        ck_assert_int_eq(cairn_api_key_init(&k, "x.remote", NULL, "a/b#api_key", refs, errstr,
                                            sizeof(errstr)),
                         0);
        ck_assert_str_eq(cairn_api_key_setting(&k), "x.remote.api_key_secret");
        ck_assert_int_eq(cairn_api_key_header(&k, "prov", cairn_now_ms() + 2000, out, sizeof(out),
                                              &st),
                         CAIRN_OK);
        ck_assert_str_eq(out, "Authorization: Bearer sk-one");
        /* too long for the buffer: unusable, and the message names the provider */
        ck_assert_int_eq(cairn_api_key_get(&k, "prov", cairn_now_ms() + 2000, out, 4, &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(st.code, CAIRN_ERR_UNAVAILABLE);
        ck_assert_msg(strncmp(st.message, "provider prov: ", 15) == 0, "%s", st.message);
        cairn_api_key_clear(&k);
        cairn_api_key_clear(&none);
        cairn_secret_refs_free(refs);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("secret_ref");
        TCase *tc;

        tc = tcase_create("cairn_secret_ref_parse");
        tcase_add_test(tc, test_cairn_secret_ref_parse_splits_path_and_field);
        tcase_add_test(tc, test_cairn_secret_ref_parse_names_the_key);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_secret_ref_extract");
        tcase_add_test(tc, test_cairn_secret_ref_extract_gives_the_string);
        tcase_add_test(tc, test_cairn_secret_ref_extract_names_the_field_never_the_value);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_secret_ref_get");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_cairn_secret_ref_get_fetches_and_caches);
        tcase_add_test(tc, test_cairn_secret_ref_get_picks_up_a_new_version_after_the_ttl);
        tcase_add_test(tc, test_cairn_secret_ref_get_keeps_the_last_value_until_it_expires);
        tcase_add_test(tc, test_cairn_secret_ref_get_waits_no_longer_than_its_deadline);
        tcase_add_test(tc, test_cairn_secret_ref_get_fails_fast_after_a_failure);
        tcase_add_test(tc, test_cairn_secret_ref_get_from_many_threads);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_secret_ref_conf_section");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cairn_secret_ref_conf_check);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_api_key");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_cairn_api_key_conf_check);
        tcase_add_test(tc, test_cairn_api_key_from_a_secret);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
