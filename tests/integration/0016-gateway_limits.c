/* The gateway's limits that come from behind it, over real HTTP against
 * real processes (a dev broker, a Redis of the test's own, the embedding
 * service and a gateway whose producer's message.max.bytes is set small):
 *
 * - a body under http.max_body_bytes whose request is too large for one
 *   Kafka message is answered 413 in the route's error style, with no
 *   Retry-After and nothing of the bus (topic, broker text) in the body:
 *   before anything is produced when its encoded size is over the limit,
 *   and when the produce itself fails because key and headers push it
 *   over; requests that fit still go through afterwards;
 * - "dimensions" of the OpenAI embeddings request: the bounds the OpenAPI
 *   document states, the gateway's 400 outside them, and the embedding
 *   service's 400 naming the model and its range inside them. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cairn/embedding/v1/embedding.pb-c.h"
#include "gw_fixture.h"
#include "harness.h"

/* The gateway's kafka.message.max.bytes, and its http.max_body_bytes (the
 * default, 2 MiB): the bodies sent here lie between the two. */
#define MESSAGE_MAX 65536
#define BODY_MAX    2097152
#define KEY         "ck_it_limits_0123456789abcdef"
#define MODEL       "cairn-lexical-384"
/* Texts of this size stay under the service's embedding.max_input_bytes. */
#define TEXT_BYTES 20000

static struct harness_broker broker;
static struct harness_proc embedding, gateway, redis;
static int http_port;

/* ---- processes ---- */

static void setup(void)
{
        char e[10][700], keys[512];
        const char *env[11];
        int n = 0, redis_port;

        curl_global_init(CURL_GLOBAL_ALL);
        harness_broker_start(&broker, 1);
        redis_port = harness_free_port();
        harness_redis_start(&redis, broker.dir, redis_port);
        gwf_keys_write(broker.dir, NULL, &(struct gwf_api_key){ KEY, "it-limits", "acme", "owner" },
                       1);
        snprintf(keys, sizeof(keys), "%s/keys.yaml", broker.dir);
        harness_service_start(&embedding, &broker, "embedding", NULL);

        http_port = harness_free_port();
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", http_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_AUTH_KEYS_FILE=%s", keys);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_MAX_BODY_BYTES=%d", BODY_MAX);
        /* Read as kafka.message.max.bytes: the gateway's producer (and reply
         * consumer) only; the service keeps librdkafka's default. */
        snprintf(e[n++], sizeof(e[0]), "CAIRN_KAFKA_MESSAGE_MAX_BYTES=%d", MESSAGE_MAX);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_UPSTREAM_EMBEDDING_TOPIC=%s",
                 harness_topic("cairn.embedding.v1.requests"));
        snprintf(e[n++], sizeof(e[0]), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.gateway.replies"));
        for (int i = 0; i < n; i++)
                env[i] = e[i];
        env[n] = NULL;
        harness_service_start(&gateway, &broker, "gateway", env);
        ck_assert_msg(harness_wait_ready(&embedding, 30000), "embedding not ready (%s)",
                      embedding.log_path);
        ck_assert_msg(harness_wait_ready(&gateway, 30000), "gateway not ready (%s)",
                      gateway.log_path);
}

static void teardown(void)
{
        int st = harness_service_stop(&gateway, 15000);

        harness_service_stop(&embedding, 15000);
        harness_proc_kill(&redis);
        harness_broker_stop(&broker);
        curl_global_cleanup();
        ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                      "gateway did not exit cleanly (%d)", st);
}

/* ---- requests ---- */

/* @p method @p path with our API key; @p body (JSON) may be NULL. */
static long http(const char *method, const char *path, const char *body, struct gwf_resp *r)
{
        static const char *const headers[] = { "Content-Type: application/json",
                                               "Authorization: Bearer " KEY, NULL };

        return gwf_http(http_port, method, path, headers, body, body ? strlen(body) : 0, r);
}

/* ---- bodies ---- */

/* @p n texts of 'a's: TEXT_BYTES each, but the last @p last bytes long. */
static char **texts_new(size_t n, size_t last)
{
        char **t = calloc(n, sizeof(*t));

        ck_assert_ptr_nonnull(t);
        for (size_t i = 0; i < n; i++) {
                size_t len = i + 1 < n ? TEXT_BYTES : last;

                t[i] = malloc(len + 1);
                ck_assert_ptr_nonnull(t[i]);
                memset(t[i], 'a', len);
                t[i][len] = '\0';
        }
        return t;
}

static void texts_free(char **t, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(t[i]);
        free(t);
}

/* The size of the EmbedRequest the gateway builds from @p texts. */
static size_t packed_size(char **texts, size_t n)
{
        Cairn__Embedding__V1__EmbedRequest req = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;

        req.model = MODEL;
        req.inputs = texts;
        req.n_inputs = n;
        return protobuf_c_message_get_packed_size(&req.base);
}

/* A JSON body: {"<field>": [texts], "model": MODEL}. Malloc'ed. */
static char *body_new(const char *field, char **texts, size_t n)
{
        json_t *root = json_object(), *arr = json_array();
        char *s;

        for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_string(texts[i]));
        json_object_set_new(root, field, arr);
        json_object_set_new(root, "model", json_string(MODEL));
        s = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        ck_assert_ptr_nonnull(s);
        return s;
}

/* The 413 of a request too large for a Kafka message: no Retry-After, and
 * nothing of the bus in the body. */
static void expect_too_large(const struct gwf_resp *r)
{
        ck_assert_msg(r->status == 413, "status %ld, expected 413: %.300s", r->status,
                      r->body ? r->body : "");
        ck_assert_ptr_null(gwf_resp_header(r, "Retry-After"));
        ck_assert_ptr_nonnull(gwf_resp_header(r, "X-Request-ID"));
        ck_assert_str_eq(gwf_resp_header(r, "Content-Type"), "application/json");
        ck_assert_msg(!strstr(r->body, "cairn.") && !strstr(r->body, "requests") &&
                              !strstr(r->body, "replies") && !strstr(r->body, "Broker") &&
                              !strstr(r->body, "Local:") && !strstr(r->body, "max.bytes"),
                      "the bus shows through: %s", r->body);
}

/* The OpenAI route's shape of it; returns the message (borrowed from @p doc). */
static const char *expect_openai_too_large(const struct gwf_resp *r, json_t **doc)
{
        json_t *err;

        expect_too_large(r);
        *doc = json_loads(r->body, 0, NULL);
        ck_assert_msg(*doc != NULL, "not JSON: %s", r->body);
        err = json_object_get(*doc, "error");
        ck_assert_str_eq(json_string_value(json_object_get(err, "type")), "invalid_request_error");
        ck_assert_str_eq(json_string_value(json_object_get(err, "code")), "body_too_large");
        ck_assert(json_is_null(json_object_get(err, "param")));
        ck_assert(json_is_string(json_object_get(*doc, "request_id")));
        return json_string_value(json_object_get(err, "message"));
}

/* ---- a request too large for one Kafka message ---- */

START_TEST(test_over_message_limit_is_413_before_producing)
{
        size_t n = 10;
        char **texts = texts_new(n, TEXT_BYTES);
        char *body = body_new("input", texts, n), *native = body_new("inputs", texts, n);
        char want[64];
        struct gwf_resp r;
        json_t *doc;
        const char *msg;

        /* between the two limits */
        ck_assert_uint_gt(packed_size(texts, n), MESSAGE_MAX);
        ck_assert_uint_lt(strlen(body), BODY_MAX);

        /* OpenAI's route: its error shape, the sizes in the message */
        http("POST", "/v1/embeddings", body, &r);
        msg = expect_openai_too_large(&r, &doc);
        snprintf(want, sizeof(want), "%zu bytes once encoded", packed_size(texts, n));
        ck_assert_msg(strstr(msg, want) && strstr(msg, "over the 65536 bytes") &&
                              strstr(msg, "embedding service"),
                      "%s", msg);
        json_decref(doc);
        gwf_resp_free(&r);

        /* Cairn's own route: a cairn.v1.Status, INVALID_ARGUMENT */
        http("POST", "/v1/embedding/embed", native, &r);
        expect_too_large(&r);
        doc = json_loads(r.body, 0, NULL);
        ck_assert_msg(doc != NULL, "not JSON: %s", r.body);
        ck_assert_int_eq(json_integer_value(json_object_get(doc, "code")), 3);
        ck_assert_msg(strstr(json_string_value(json_object_get(doc, "message")), want), "%s",
                      r.body);
        json_decref(doc);
        gwf_resp_free(&r);

        free(body);
        free(native);
        texts_free(texts, n);
}
END_TEST

START_TEST(test_produce_refused_for_size_is_413)
{
        /* Encoded just under the limit, so the gateway sends it; the key,
         * the headers and the record's framing push it over, and the
         * producer refuses it. */
        const size_t n = 4, target = MESSAGE_MAX - 8;
        char **texts = texts_new(n, 0);
        size_t last = target - packed_size(texts, n);
        char *body;
        struct gwf_resp r;
        json_t *doc;
        const char *msg;

        texts_free(texts, n);
        for (;;) {
                texts = texts_new(n, last);
                if (packed_size(texts, n) <= target)
                        break;
                texts_free(texts, n);
                last--;
        }
        ck_assert_uint_eq(packed_size(texts, n), target);
        body = body_new("input", texts, n);

        http("POST", "/v1/embeddings", body, &r);
        msg = expect_openai_too_large(&r, &doc);
        ck_assert_msg(strstr(msg, "too large to send to the embedding service"), "%s", msg);
        json_decref(doc);
        gwf_resp_free(&r);

        free(body);
        texts_free(texts, n);
}
END_TEST

START_TEST(test_requests_that_fit_still_pass)
{
        const size_t n = 3;
        char **texts = texts_new(n, TEXT_BYTES);
        char *body = body_new("input", texts, n);
        struct gwf_resp r;
        json_t *doc;

        ck_assert_uint_lt(packed_size(texts, n), MESSAGE_MAX - 1024);
        /* a few times: nothing before (a refused produce, a 413) stuck */
        for (int i = 0; i < 3; i++) {
                http("POST", "/v1/embeddings", body, &r);
                ck_assert_msg(r.status == 200, "%ld %.300s", r.status, r.body);
                doc = json_loads(r.body, 0, NULL);
                ck_assert_ptr_nonnull(doc);
                ck_assert_int_eq(json_array_size(json_object_get(doc, "data")), n);
                json_decref(doc);
                gwf_resp_free(&r);
        }
        free(body);
        texts_free(texts, n);
}
END_TEST

/* ---- dimensions ---- */

/* The member of @p v at the keys given, ending with (const char *)NULL;
 * NULL when absent. */
static json_t *json_path(json_t *v, ...)
{
        va_list ap;

        va_start(ap, v);
        for (const char *key = va_arg(ap, const char *); v && key; key = va_arg(ap, const char *))
                v = json_object_get(v, key);
        va_end(ap);
        return v;
}

/* POST /v1/embeddings of one text with @p model and @p dims. */
static long embed_dims(const char *model, long long dims, struct gwf_resp *r)
{
        char body[256];

        snprintf(body, sizeof(body),
                 "{\"input\":\"hello world\",\"model\":\"%s\",\"dimensions\":%lld}", model, dims);
        return http("POST", "/v1/embeddings", body, r);
}

/* A 400 about dimensions whose message holds @p part (and @p part2). */
static void expect_dims_400(const struct gwf_resp *r, const char *code, const char *part,
                            const char *part2)
{
        json_t *doc, *err;
        const char *msg;

        ck_assert_msg(r->status == 400, "status %ld: %s", r->status, r->body ? r->body : "");
        doc = json_loads(r->body, 0, NULL);
        ck_assert_msg(doc != NULL, "not JSON: %s", r->body);
        err = json_object_get(doc, "error");
        ck_assert_str_eq(json_string_value(json_object_get(err, "param")), "dimensions");
        ck_assert_str_eq(json_string_value(json_object_get(err, "code")), code);
        msg = json_string_value(json_object_get(err, "message"));
        ck_assert_msg(strstr(msg, part) && (!part2 || strstr(msg, part2)), "%s", msg);
        json_decref(doc);
}

START_TEST(test_dimensions_bounds)
{
        static const long long ok[] = { 16, 100, 384 };
        struct gwf_resp r;
        json_t *doc, *dim;
        const char *desc;

        /* the model's range: vectors of that many floats */
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                embed_dims(MODEL, ok[i], &r);
                ck_assert_msg(r.status == 200, "dimensions %lld: %ld %s", ok[i], r.status, r.body);
                doc = json_loads(r.body, 0, NULL);
                ck_assert_ptr_nonnull(doc);
                ck_assert_int_eq(json_array_size(json_object_get(
                                         json_array_get(json_object_get(doc, "data"), 0),
                                         "embedding")),
                                 ok[i]);
                json_decref(doc);
                gwf_resp_free(&r);
        }

        /* outside it: the service's 400 names the model and its range,
         * the alias's too */
        embed_dims(MODEL, 15, &r);
        expect_dims_400(&r, "invalid_argument", "16..384", "model " MODEL);
        gwf_resp_free(&r);
        embed_dims("cairn-lexical", 385, &r);
        expect_dims_400(&r, "invalid_argument", "16..384", "model " MODEL);
        gwf_resp_free(&r);

        /* outside every model's: the gateway's own 400 */
        embed_dims(MODEL, 0, &r);
        expect_dims_400(&r, "invalid_value", "from 1 to 65536", "cairn-lexical-<N>: 16 to N");
        gwf_resp_free(&r);
        embed_dims(MODEL, 65537, &r);
        expect_dims_400(&r, "invalid_value", "from 1 to 65536", NULL);
        gwf_resp_free(&r);

        /* what the document says: those bounds, and each model's range */
        ck_assert_int_eq(http("GET", "/openapi.json", NULL, &r), 200);
        doc = json_loads(r.body, 0, NULL);
        ck_assert_ptr_nonnull(doc);
        dim = json_path(doc, "components", "schemas", "CreateEmbeddingRequest", "properties",
                        "dimensions", (const char *)NULL);
        ck_assert_int_eq(json_integer_value(json_object_get(dim, "minimum")), 1);
        ck_assert_int_eq(json_integer_value(json_object_get(dim, "maximum")), 65536);
        desc = json_string_value(json_object_get(dim, "description"));
        ck_assert_msg(desc && strstr(desc, "cairn-lexical-384 takes 16 to 384"), "%s",
                      desc ? desc : "(none)");
        json_decref(doc);
        gwf_resp_free(&r);

        /* and where it sends a reader for a model's own size */
        ck_assert_int_eq(http("GET", "/v1/embedding/models", NULL, &r), 200);
        doc = json_loads(r.body, 0, NULL);
        ck_assert_ptr_nonnull(doc);
        dim = json_array_get(json_object_get(doc, "models"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(dim, "name")), MODEL);
        ck_assert_int_eq(json_integer_value(json_object_get(dim, "dimensions")), 384);
        json_decref(doc);
        gwf_resp_free(&r);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_limits");
        TCase *tc = tcase_create("gateway");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_over_message_limit_is_413_before_producing);
        tcase_add_test(tc, test_produce_refused_for_size_is_413);
        tcase_add_test(tc, test_requests_that_fit_still_pass);
        tcase_add_test(tc, test_dimensions_bounds);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
