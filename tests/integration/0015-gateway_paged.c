/* A paged route end to end: a gateway in this process over a route table of
 * the test's own, a service in this process that answers ListThingsRequest
 * a page at a time, and a real HTTP client. The export arrives as NDJSON,
 * one thing per line, every page asked for with the previous page's token;
 * a page that fails after the first ends the stream with an error line; a
 * failing first page is an ordinary error answer; query parameters bind to
 * the request by name. A route the gateway answers itself that is not
 * public asks for credentials first. A drain refuses new connections at once
 * and waits for the request in flight, which gets its whole answer. */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cairn/arena.h"
#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/metrics.h"
#include "cairn/status.h"
#include "cairn/testing/v1/paging.pb-c.h"
#include "gateway/auth.h"
#include "gateway/conf.h"
#include "gateway/server.h"
#include "gw_fixture.h"
#include "harness.h"

#define KEY "ck_it_pages_0123456789abcdef"

static const struct gw_class things_read = {
        .name = "things.read",
        .allowed = { true, true, true, true },
        .limits_key = "things",
};

static const struct gw_route routes[] = {
        {
                .method = "GET",
                .path = "/v1/things",
                .cls = &things_read,
                .operation = "exportThings",
                .summary = "Every thing, as NDJSON",
                .service = "pagetest",
                .request = &cairn__testing__v1__list_things_request__descriptor,
                .reply = &cairn__testing__v1__list_things_reply__descriptor,
                .timeout_key = "things",
                .timeout_ms = 5000,
                .page_field = "things",
        },
        {
                .method = "GET",
                .path = "/v1/things/version",
                .cls = &things_read,
                .operation = "thingsVersion",
                .summary = "The gateway's version, for callers with a key",
                .local = gw_serve_version,
                .local_schema = "{\"type\":\"object\"}",
        },
        { .method = NULL },
};

static struct harness_broker broker;
static struct harness_client client;
static struct cairn_conf *svc_conf, *gw_conf_loaded;
static struct cairn_bus_conf svc_bconf;
static struct cairn_metrics *svc_metrics;
static struct cairn_bus *svc;
static pthread_t svc_thread;
static struct gateway_conf gconf;
static struct gw_auth *auth;
static struct gateway *gw;
static struct cairn_metrics *gw_metrics;
static atomic_int calls;
static atomic_int delay_ms; /* the service's answer waits this long */
static char tokens_seen[64][32];

/* The service: things 0..total-1, page_size at a time; the token is the
 * offset of the next page. */
static cairn_err_t list_things(struct cairn_request *req, const ProtobufCMessage *msg,
                               ProtobufCMessage **reply, struct cairn_status *st)
{
        const Cairn__Testing__V1__ListThingsRequest *in =
                (const Cairn__Testing__V1__ListThingsRequest *)msg;
        Cairn__Testing__V1__ListThingsReply *out = cairn_arena_alloc(req->arena, sizeof(*out));
        int call = atomic_fetch_add(&calls, 1);
        int from = in->page_token[0] ? atoi(in->page_token) : 0;
        int size = in->page_size > 0 ? in->page_size : 10;
        int n = from + size <= in->total ? size : in->total - from;

        if (atomic_load(&delay_ms))
                usleep((useconds_t)atomic_load(&delay_ms) * 1000);
        if (call < 64)
                snprintf(tokens_seen[call], sizeof(tokens_seen[call]), "%s", in->page_token);
        if (in->fail_at_page > 0 && from / size + 1 == in->fail_at_page)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "STORE_DOWN",
                                        "the store is down");
        cairn__testing__v1__list_things_reply__init(out);
        if (n < 0)
                n = 0;
        out->things = cairn_arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof(*out->things));
        for (int i = 0; i < n; i++) {
                Cairn__Testing__V1__Thing *t = cairn_arena_alloc(req->arena, sizeof(*t));

                cairn__testing__v1__thing__init(t);
                t->name = cairn_arena_alloc(req->arena, 32);
                snprintf(t->name, 32, "thing-%d", from + i);
                t->serial = 1000000000000LL + from + i;
                out->things[i] = t;
        }
        out->n_things = (size_t)n;
        if (from + n < in->total) {
                out->next_page_token = cairn_arena_alloc(req->arena, 16);
                snprintf(out->next_page_token, 16, "%d", from + n);
        }
        *reply = &out->base;
        return CAIRN_OK;
}

static const struct cairn_handler handlers[] = {
        { &cairn__testing__v1__list_things_request__descriptor, list_things },
        { NULL, NULL },
};

static void *svc_main(void *arg)
{
        (void)arg;
        cairn_bus_run(svc);
        return NULL;
}

static void keys_file(char *path, size_t size)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        char hex[65];
        FILE *fp;

        EVP_Digest(KEY, strlen(KEY), md, &n, EVP_sha256(), NULL);
        for (unsigned int i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        snprintf(path, size, "%s/keys.yaml", broker.dir);
        fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        fprintf(fp,
                "api_keys:\n  - {sha256: %s, principal: it-pages, tenant: acme, role: viewer}\n",
                hex);
        fclose(fp);
}

static void setup(void)
{
        struct cairn_conf_section sections[GATEWAY_CONF_SECTIONS];
        char errstr[512], keys[600], topic_env[300], keys_env[700];
        const char *topic = harness_topic("cairn.pagetest.v1.requests");
        char *env[8];
        size_t n;

        curl_global_init(CURL_GLOBAL_ALL);
        harness_broker_start(&broker, 1);
        harness_topic_create(&broker, topic, 4);

        svc_conf = harness_kafka_conf(&broker, &svc_bconf);
        svc_bconf.request_topic = topic;
        svc_bconf.group = harness_topic("cairn.pagetest");
        svc_metrics = cairn_metrics_new();
        svc = cairn_bus_new("pagetest", &svc_bconf, svc_conf, handlers, NULL, svc_metrics, errstr,
                            sizeof(errstr));
        ck_assert_msg(svc != NULL, "%s", errstr);
        pthread_create(&svc_thread, NULL, svc_main, NULL);

        keys_file(keys, sizeof(keys));
        snprintf(topic_env, sizeof(topic_env), "CAIRN_UPSTREAM_PAGETEST_TOPIC=%s", topic);
        snprintf(keys_env, sizeof(keys_env), "CAIRN_AUTH_KEYS_FILE=%s", keys);
        env[0] = "CAIRN_HTTP_ADDRESS=127.0.0.1";
        env[1] = "CAIRN_HTTP_PORT=0";
        env[2] = topic_env;
        env[3] = keys_env;
        env[4] = NULL;
        n = gateway_conf_sections(&gconf, routes, sections, errstr, sizeof(errstr));
        ck_assert_msg(n > 0, "%s", errstr);
        gw_conf_loaded = cairn_conf_load(NULL, sections, n, env, errstr, sizeof(errstr));
        ck_assert_msg(gw_conf_loaded != NULL, "%s", errstr);
        auth = gw_auth_new(&gconf.auth, errstr, sizeof(errstr));
        ck_assert_msg(auth != NULL, "%s", errstr);
}

/* A gateway per test (one test drains it), in-process: it starts at once;
 * and its bus client, whose breaker the failing pages open. */
static void gateway_setup(void)
{
        struct gateway_deps deps = { 0 };
        char errstr[512];

        harness_client_start(&client, &broker, "gateway");
        gw_metrics = cairn_metrics_new();
        deps.conf = &gconf;
        deps.routes = routes;
        deps.auth = auth;
        deps.bus = client.cli;
        deps.metrics = gw_metrics;
        gw = gateway_start(&deps, errstr, sizeof(errstr));
        ck_assert_msg(gw != NULL, "%s", errstr);
        atomic_store(&calls, 0);
        atomic_store(&delay_ms, 0);
}

static void gateway_teardown(void)
{
        gateway_drain(gw, 1000);
        harness_client_stop(&client); /* fails calls still waiting */
        gateway_stop(gw);
        cairn_metrics_free(gw_metrics);
}

static void teardown(void)
{
        gw_auth_free(auth);
        cairn_conf_free(gw_conf_loaded);
        gateway_conf_cleanup(&gconf);
        cairn_bus_stop(svc);
        pthread_join(svc_thread, NULL);
        cairn_bus_free(svc);
        cairn_metrics_free(svc_metrics);
        cairn_conf_free(svc_conf);
        harness_broker_stop(&broker);
}

struct body {
        char *p;
        size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
        struct body *b = opaque;

        b->p = realloc(b->p, b->len + size * n + 1);
        memcpy(b->p + b->len, p, size * n);
        b->len += size * n;
        b->p[b->len] = '\0';
        return size * n;
}

/* GET @p path with the test's key; the status, and the body in @p b. */
static long get(const char *path, struct body *b, char *ctype, size_t ctype_size)
{
        CURL *c = curl_easy_init();
        struct curl_slist *hl = curl_slist_append(NULL, "X-API-Key: " KEY);
        char url[512];
        long status = -1;
        char *ct = NULL;

        memset(b, 0, sizeof(*b));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", gateway_port(gw), path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
        if (curl_easy_perform(c) == CURLE_OK) {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
                curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
                snprintf(ctype, ctype_size, "%s", ct ? ct : "");
        }
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        return status;
}

/* Checks that @p b holds things from..to-1 as lines, in order; returns the
 * rest after them. */
static const char *expect_things(const struct body *b, int from, int to)
{
        const char *line = b->p;

        for (int i = from; i < to; i++) {
                const char *nl = strchr(line, '\n');
                char want[32];
                json_t *t;

                ck_assert_msg(nl != NULL, "line %d missing; body: %.300s", i, b->p);
                t = json_loadb(line, (size_t)(nl - line), 0, NULL);
                ck_assert_msg(t != NULL, "line %d is not JSON: %.*s", i, (int)(nl - line), line);
                snprintf(want, sizeof(want), "thing-%d", i);
                ck_assert_str_eq(json_string_value(json_object_get(t, "name")), want);
                /* an int64 is a string in the mapping */
                ck_assert(json_is_string(json_object_get(t, "serial")));
                json_decref(t);
                line = nl + 1;
        }
        return line;
}

START_TEST(test_paged_export_streams_every_page)
{
        struct body b;
        char ctype[128];

        ck_assert_int_eq(get("/v1/things?total=100&page_size=7", &b, ctype, sizeof(ctype)), 200);
        ck_assert_str_eq(ctype, "application/x-ndjson");
        ck_assert_str_eq(expect_things(&b, 0, 100), "");
        /* 15 pages, each asked for with the previous page's token */
        ck_assert_int_eq(atomic_load(&calls), 15);
        ck_assert_str_eq(tokens_seen[0], "");
        ck_assert_str_eq(tokens_seen[1], "7");
        ck_assert_str_eq(tokens_seen[14], "98");
        free(b.p);

        /* one page only; and nothing at all */
        atomic_store(&calls, 0);
        ck_assert_int_eq(get("/v1/things?total=3&pageSize=50", &b, ctype, sizeof(ctype)), 200);
        ck_assert_str_eq(expect_things(&b, 0, 3), "");
        ck_assert_int_eq(atomic_load(&calls), 1);
        free(b.p);
        ck_assert_int_eq(get("/v1/things?total=0", &b, ctype, sizeof(ctype)), 200);
        ck_assert_uint_eq(b.len, 0);
        free(b.p);
}
END_TEST

START_TEST(test_paged_export_cut_ends_with_error_line)
{
        struct body b;
        char ctype[128];
        const char *rest;
        json_t *err;

        ck_assert_int_eq(get("/v1/things?total=50&page_size=10&fail_at_page=3", &b, ctype,
                             sizeof(ctype)),
                         200);
        rest = expect_things(&b, 0, 20);
        err = json_loads(rest, 0, NULL);
        ck_assert_msg(err != NULL, "no error line after the cut: %s", rest);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(err, "error"), "code")),
                         14);
        ck_assert_str_eq(json_string_value(
                                 json_object_get(json_object_get(err, "error"), "message")),
                         "the store is down");
        json_decref(err);
        free(b.p);
}
END_TEST

START_TEST(test_paged_export_first_page_error_is_an_answer)
{
        struct body b;
        char ctype[128];
        json_t *st;

        ck_assert_int_eq(get("/v1/things?total=5&fail_at_page=1", &b, ctype, sizeof(ctype)), 503);
        st = json_loads(b.p, 0, NULL);
        ck_assert_msg(st != NULL, "%s", b.p);
        ck_assert_int_eq(json_integer_value(json_object_get(st, "code")), 14);
        json_decref(st);
        free(b.p);
        /* a query parameter no field has */
        ck_assert_int_eq(get("/v1/things?colour=red", &b, ctype, sizeof(ctype)), 400);
        ck_assert_msg(strstr(b.p, "colour"), "%s", b.p);
        free(b.p);
}
END_TEST

START_TEST(test_local_route_not_public_needs_credentials)
{
        struct gwf_resp r = { 0 };
        struct body b;
        char ctype[128];

        ck_assert_int_eq(gwf_http(gateway_port(gw), "GET", "/v1/things/version", NULL, NULL, 0, &r),
                         401);
        gwf_resp_free(&r);
        ck_assert_int_eq(get("/v1/things/version", &b, ctype, sizeof(ctype)), 200);
        ck_assert_msg(strstr(b.p, "\"cairn-gateway\"") != NULL, "%s", b.p);
        free(b.p);
        /* answered by the gateway: the service never heard of it */
        ck_assert_int_eq(atomic_load(&calls), 0);
}
END_TEST

struct slow_get {
        struct body b;
        long status;
};

static void *slow_get_main(void *arg)
{
        struct slow_get *g = arg;
        char ctype[128];

        g->status = get("/v1/things?total=3", &g->b, ctype, sizeof(ctype));
        return NULL;
}

/* A connect() to the gateway's port: 0, or the errno. */
static int connect_error(int port)
{
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
        int fd = socket(AF_INET, SOCK_STREAM, 0), err = 0;

        ck_assert_int_ge(fd, 0);
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
                err = errno;
        close(fd);
        return err;
}

START_TEST(test_drain_refuses_new_connections_and_finishes_in_flight)
{
        struct slow_get g = { .status = -1 };
        pthread_t t;
        int port = gateway_port(gw);
        int64_t start;

        atomic_store(&delay_ms, 1500);
        pthread_create(&t, NULL, slow_get_main, &g);
        for (int i = 0; i < 1000 && atomic_load(&calls) == 0; i++)
                usleep(10 * 1000);
        ck_assert_msg(atomic_load(&calls) == 1, "the request never reached the service");
        ck_assert_int_eq(connect_error(port), 0);

        start = cairn_mono_us();
        gateway_drain(gw, 10000);
        /* back once the request in flight was answered, not at the grace's end */
        ck_assert_msg(cairn_mono_us() - start < 8000000, "the drain waited out its grace");
        pthread_join(t, NULL);
        ck_assert_int_eq(g.status, 200);
        ck_assert_str_eq(expect_things(&g.b, 0, 3), "");
        free(g.b.p);
        ck_assert_int_eq(connect_error(port), ECONNREFUSED);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0015-gateway_paged");
        TCase *tc = tcase_create("paged");

        /* one broker and service for the suite (joining its group takes seconds) */
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_checked_fixture(tc, gateway_setup, gateway_teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_paged_export_streams_every_page);
        tcase_add_test(tc, test_paged_export_cut_ends_with_error_line);
        tcase_add_test(tc, test_paged_export_first_page_error_is_an_answer);
        tcase_add_test(tc, test_local_route_not_public_needs_credentials);
        tcase_add_test(tc, test_drain_refuses_new_connections_and_finishes_in_flight);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
