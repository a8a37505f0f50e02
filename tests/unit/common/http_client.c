/* Unit tests for HTTP calls to providers: the judgement of statuses, error
 * bodies and Retry-After as pure functions, and the call loop (concurrent
 * requests, retries, Retry-After, deadlines, the breaker, metrics) against
 * a scripted server on 127.0.0.1. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/http_client.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"
#include "../unit.h"

/* ---- the scripted server ---- */

struct step {
        int status; /* 0: 200 echoing the request body ("GET" for a GET) */
        const char *body;
        const char *retry_after;
        int delay_ms;
        size_t big; /* answer this many bytes of 'x' */
};

#define STEPS_MAX 16

static struct {
        struct MHD_Daemon *d;
        int port;
        pthread_mutex_t lock;
        struct step steps[STEPS_MAX];
        int nsteps, next;
        unsigned requests;
        char last_auth[128], last_traceparent[128], last_method[8];
} srv;

struct upload {
        char *buf;
        size_t len;
};

static enum MHD_Result respond(struct MHD_Connection *c, int status, const char *body, size_t len,
                               const char *retry_after)
{
        struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
                                                                 MHD_RESPMEM_MUST_COPY);
        enum MHD_Result ret;

        if (retry_after)
                MHD_add_response_header(r, "Retry-After", retry_after);
        ret = MHD_queue_response(c, (unsigned)status, r);
        MHD_destroy_response(r);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
        struct upload *up = *con_cls;
        struct step step = { 0 };
        const char *h;
        enum MHD_Result ret;

        (void)cls;
        (void)url;
        (void)version;
        if (!up) {
                *con_cls = calloc(1, sizeof(struct upload));
                return MHD_YES;
        }
        if (*size) {
                up->buf = realloc(up->buf, up->len + *size + 1);
                memcpy(up->buf + up->len, data, *size);
                up->len += *size;
                up->buf[up->len] = '\0';
                *size = 0;
                return MHD_YES;
        }
        pthread_mutex_lock(&srv.lock);
        srv.requests++;
        if (srv.next < srv.nsteps)
                step = srv.steps[srv.next++];
        h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        snprintf(srv.last_auth, sizeof(srv.last_auth), "%s", h ? h : "");
        h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "traceparent");
        snprintf(srv.last_traceparent, sizeof(srv.last_traceparent), "%s", h ? h : "");
        snprintf(srv.last_method, sizeof(srv.last_method), "%s", method);
        pthread_mutex_unlock(&srv.lock);
        if (step.delay_ms)
                usleep((useconds_t)step.delay_ms * 1000);
        if (step.big) {
                char *big = malloc(step.big);

                memset(big, 'x', step.big);
                ret = respond(c, 200, big, step.big, NULL);
                free(big);
                return ret;
        }
        if (step.status)
                return respond(c, step.status, step.body ? step.body : "",
                               step.body ? strlen(step.body) : 0, step.retry_after);
        if (strcmp(method, "GET") == 0)
                return respond(c, 200, "GET", 3, NULL);
        return respond(c, 200, up->buf ? up->buf : "", up->len, NULL);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct upload *up = *con_cls;

        (void)cls;
        (void)c;
        (void)toe;
        if (up) {
                free(up->buf);
                free(up);
        }
        *con_cls = NULL;
}

static void script(const struct step *steps, int n)
{
        pthread_mutex_lock(&srv.lock);
        for (int i = 0; i < n; i++)
                srv.steps[i] = steps[i];
        srv.nsteps = n;
        srv.next = 0;
        srv.requests = 0;
        pthread_mutex_unlock(&srv.lock);
}

static unsigned requests(void)
{
        unsigned n;

        pthread_mutex_lock(&srv.lock);
        n = srv.requests;
        pthread_mutex_unlock(&srv.lock);
        return n;
}

/* ---- the client under test ---- */

static struct cairn_metrics *metrics;
static struct cairn_dependency *dep;
static struct cairn_http_client *hc;
static char url[64];

/* What the judge saw. */
static char got[4][64];

static cairn_err_t judge(void *opaque, const struct cairn_http_answer *a, bool *transient,
                         struct cairn_status *st)
{
        (void)opaque;
        if (a->status < 200 || a->status >= 300)
                return cairn_http_status_error("fake", a->status, a->body, a->len, transient, st);
        if (strcmp(a->body, "garbage") == 0)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_BAD_RESPONSE,
                                        "provider fake answered garbage");
        ck_assert_uint_lt(a->index, 4);
        snprintf(got[a->index], sizeof(got[a->index]), "%s", a->body);
        return CAIRN_OK;
}

static void start_client(const struct cairn_resilience_conf *rc)
{
        struct cairn_http_client_conf hconf = { 0 };
        char errstr[256];

        metrics = cairn_metrics_new();
        dep = cairn_dependency_new(rc, metrics);
        hconf.name = "fake";
        hconf.user_agent = "cairn-test";
        hconf.dep = dep;
        hconf.requests = cairn_metrics_counter(metrics, "test_requests_total", "requests",
                                               (const char *[]){ "provider", "code", NULL });
        hconf.latency = cairn_metrics_histogram(metrics, "test_seconds", "latency",
                                                (const char *[]){ "provider", NULL },
                                                cairn_metrics_latency_buckets,
                                                cairn_metrics_latency_nbuckets);
        hc = cairn_http_client_new(&hconf, errstr, sizeof(errstr));
        ck_assert_msg(hc != NULL, "%s", errstr);
}

static void stop_client(void)
{
        cairn_http_client_free(hc);
        cairn_dependency_free(dep);
        cairn_metrics_free(metrics);
        hc = NULL;
}

static void setup(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET };
        struct cairn_resilience_conf rc;
        const union MHD_DaemonInfo *info;

        pthread_mutex_init(&srv.lock, NULL);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        srv.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
                                 NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
        ck_assert_ptr_nonnull(srv.d);
        info = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
        srv.port = info->port;
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", srv.port);
        script(NULL, 0);
        memset(got, 0, sizeof(got));
        cairn_resilience_conf_init(&rc, "fake_provider");
        rc.base_ms = 5;
        rc.cap_ms = 20;
        start_client(&rc);
}

static void teardown(void)
{
        stop_client();
        if (srv.d)
                MHD_stop_daemon(srv.d);
        pthread_mutex_destroy(&srv.lock);
}

static cairn_err_t call_n(const struct cairn_http_request *reqs, size_t n, int64_t timeout_ms,
                          struct cairn_http_call *call, struct cairn_status *st)
{
        memset(call, 0, sizeof(*call));
        call->reqs = reqs;
        call->n = n;
        call->deadline_ms = timeout_ms ? cairn_now_ms() + timeout_ms : 0;
        call->judge = judge;
        cairn_status_clear(st);
        return cairn_http_call(hc, call, st);
}

static cairn_err_t call_one(const char *body, int64_t timeout_ms, struct cairn_http_call *call,
                            struct cairn_status *st)
{
        struct cairn_http_request req = { url, body, body ? strlen(body) : 0, NULL };

        return call_n(&req, 1, timeout_ms, call, st);
}

static double series(const char *text)
{
        size_t len;
        char *out = cairn_metrics_render(metrics, &len);
        const char *p = strstr(out, text);
        double v = p ? strtod(p + strlen(text), NULL) : -1;

        free(out);
        return v;
}

/* ---- pure helpers ---- */

static const char *errmsg(const char *body)
{
        static char msg[64];

        cairn_http_error_message(body, strlen(body), msg, sizeof(msg));
        return msg;
}

START_TEST(test_cairn_http_error_message_shapes)
{
        ck_assert_str_eq(errmsg("{\"error\":{\"message\":\"Invalid model\",\"type\":\"x\"}}"),
                         "Invalid model");
        ck_assert_str_eq(
                errmsg("{\"error\":\"Input validation error\",\"error_type\":\"Validation\"}"),
                "Input validation error");
        ck_assert_str_eq(errmsg("{\"message\":\"plain\"}"), "plain");
        ck_assert_str_eq(errmsg("Bad Gateway\n"), "Bad Gateway");
        ck_assert_str_eq(errmsg("{\"error\":{\"message\":\"a\\u0001b\\nc\"}}"), "a?b c");
        ck_assert_str_eq(errmsg(""), "");
        ck_assert_str_eq(errmsg("{}"), "");
        ck_assert_str_eq(errmsg("{\"error\":42}"), "");
        /* cut to the buffer */
        ck_assert_uint_eq(
                strlen(errmsg(
                        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")),
                63);
}
END_TEST

START_TEST(test_cairn_http_retry_after_ms_values)
{
        ck_assert_int_eq(cairn_http_retry_after_ms("2"), 2000);
        ck_assert_int_eq(cairn_http_retry_after_ms(" 0.5 "), 500);
        ck_assert_int_eq(cairn_http_retry_after_ms("0"), 0);
        ck_assert_int_eq(cairn_http_retry_after_ms("abc"), -1);
        ck_assert_int_eq(cairn_http_retry_after_ms("-1"), -1);
        ck_assert_int_eq(cairn_http_retry_after_ms("3s"), -1);
        ck_assert_int_eq(cairn_http_retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
        ck_assert_int_eq(cairn_http_retry_after_ms(NULL), -1);
        ck_assert_int_eq(cairn_http_retry_after_ms("99999999"), 86400000);
}
END_TEST

START_TEST(test_cairn_http_status_error_codes)
{
        static const struct {
                long status;
                cairn_err_t err;
                bool transient;
                const char *reason;
        } cases[] = {
                { 429, CAIRN_ERR_UNAVAILABLE, true, CAIRN_HTTP_RATE_LIMITED },
                { 401, CAIRN_ERR_PERMISSION, false, CAIRN_HTTP_REFUSED },
                { 403, CAIRN_ERR_PERMISSION, false, CAIRN_HTTP_REFUSED },
                { 408, CAIRN_ERR_UNAVAILABLE, true, CAIRN_HTTP_ERROR },
                { 500, CAIRN_ERR_UNAVAILABLE, true, CAIRN_HTTP_ERROR },
                { 503, CAIRN_ERR_UNAVAILABLE, true, CAIRN_HTTP_ERROR },
                { 101, CAIRN_ERR_UNAVAILABLE, true, CAIRN_HTTP_ERROR },
                { 400, CAIRN_ERR_INVALID, false, CAIRN_HTTP_REJECTED },
                { 404, CAIRN_ERR_INVALID, false, CAIRN_HTTP_REJECTED },
        };
        const char *body = "{\"error\":\"the reason\"}";

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cairn_status st;
                bool transient = !cases[i].transient;
                char want[64];

                ck_assert_int_eq(cairn_http_status_error("prov", cases[i].status, body,
                                                         strlen(body), &transient, &st),
                                 cases[i].err);
                ck_assert_int_eq(st.code, cases[i].err);
                ck_assert_int_eq(transient, cases[i].transient);
                ck_assert_str_eq(st.reason, cases[i].reason);
                snprintf(want, sizeof(want), "provider prov answered HTTP %ld", cases[i].status);
                ck_assert_msg(strstr(st.message, want) && strstr(st.message, ": the reason"), "%s",
                              st.message);
        }
}
END_TEST

START_TEST(test_cairn_http_keyed_error_refusals)
{
        struct cairn_http_answer a = { 0, 401, "{\"error\":\"bad key\"}", 19, NULL };
        struct cairn_status st;
        bool transient = false;

        a.len = strlen(a.body);
        ck_assert_int_eq(cairn_http_keyed_error("prov", "x.remote.api_key_file", "x.remote", false,
                                                &a, &transient, &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_REFUSED);
        ck_assert_str_eq(st.message, "provider prov refused our API key (HTTP 401: bad key): check "
                                     "x.remote.api_key_file");
        ck_assert_int_eq(cairn_http_keyed_error("prov", NULL, "x.remote", false, &a, &transient,
                                                &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.message, "provider prov refused the service (HTTP 401: bad key): it "
                                     "may want an API key, set x.remote.api_key_file or "
                                     "x.remote.api_key_secret");
        /* a 400 about the key is a refusal only where the provider says so */
        a.status = 400;
        a.body = "{\"error\":\"Please get an API key\"}";
        a.len = strlen(a.body);
        ck_assert_int_eq(cairn_http_keyed_error("prov", NULL, "x.remote", false, &a, &transient,
                                                &st),
                         CAIRN_ERR_INVALID);
        ck_assert_int_eq(cairn_http_keyed_error("prov", NULL, "x.remote", true, &a, &transient,
                                                &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_REFUSED);
        a.status = 429;
        ck_assert_int_eq(cairn_http_keyed_error("prov", NULL, "x.remote", true, &a, &transient,
                                                &st),
                         CAIRN_ERR_EXHAUSTED);
        ck_assert(transient);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_RATE_LIMITED);
        transient = false;
        a.status = 503;
        ck_assert_int_eq(cairn_http_keyed_error("prov", NULL, "x.remote", true, &a, &transient,
                                                &st),
                         CAIRN_ERR_UNAVAILABLE);
        ck_assert(transient);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_ERROR);
}
END_TEST

START_TEST(test_cairn_http_url_name_join_and_check)
{
        static const char *const names[][2] = {
                { "http://127.0.0.1:8080/v1/", "127.0.0.1:8080" },
                { "https://user:pw@api.example.com/v1?x=1", "api.example.com" },
                { "https://host#frag", "host" },
                { "host:1/x", "host:1" },
        };
        char errstr[300];

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char *n = cairn_http_url_name(names[i][0]);

                ck_assert_str_eq(n, names[i][1]);
                free(n);
        }
        for (size_t i = 0; i < 3; i++) {
                static const char *const bases[] = { "http://h/v1", "http://h/v1/",
                                                     "http://h/v1//" };
                char *u = cairn_http_url_join(bases[i], "/embeddings");

                ck_assert_str_eq(u, "http://h/v1/embeddings");
                free(u);
        }
        ck_assert_int_eq(cairn_http_url_check("a.url", "https://h/v1", errstr, sizeof(errstr)), 0);
        ck_assert_int_eq(cairn_http_url_check("a.url", "ftp://h/", errstr, sizeof(errstr)), -1);
        ck_assert_str_eq(errstr, "config: a.url: \"ftp://h/\" is not an http:// or https:// URL");
        ck_assert_int_eq(cairn_http_url_check("a.url", "http://h /", errstr, sizeof(errstr)), -1);
        ck_assert_int_eq(cairn_http_url_check("a.url", "", errstr, sizeof(errstr)), -1);
}
END_TEST

/* ---- calls ---- */

START_TEST(test_cairn_http_call_requests_go_out_together)
{
        const char *headers[] = { "Authorization: Bearer k-1", NULL };
        struct cairn_http_request reqs[3] = {
                { url, "one", 3, headers },
                { url, "two", 3, headers },
                { url, NULL, 0, NULL },
        };
        struct cairn_http_call call;
        struct cairn_status st;
        cairn_err_t err;

        err = call_n(reqs, 2, 5000, &call, &st);
        ck_assert_msg(err == CAIRN_OK, "%s", st.message);
        ck_assert_str_eq(got[0], "one");
        ck_assert_str_eq(got[1], "two");
        ck_assert_int_eq(call.attempts, 1);
        ck_assert_uint_eq(requests(), 2);
        ck_assert_str_eq(srv.last_auth, "Bearer k-1");
        ck_assert_str_eq(srv.last_method, "POST");
        /* a GET, with a traceparent */
        memset(&call, 0, sizeof(call));
        call.reqs = &reqs[2];
        call.n = 1;
        call.judge = judge;
        call.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        ck_assert_int_eq(cairn_http_call(hc, &call, &st), CAIRN_OK);
        ck_assert_str_eq(got[0], "GET");
        ck_assert_str_eq(srv.last_method, "GET");
        ck_assert_str_eq(srv.last_auth, "");
        ck_assert_str_eq(srv.last_traceparent, call.traceparent);
        ck_assert_double_eq(series("test_requests_total{provider=\"fake\",code=\"200\"} "), 3);
        ck_assert_double_eq(series("test_seconds_count{provider=\"fake\"} "), 3);
}
END_TEST

START_TEST(test_cairn_http_call_retries_transient_failures)
{
        const struct step steps[] = { { .status = 503, .body = "busy" },
                                      { .status = 429, .body = "{\"error\":\"slow down\"}" } };
        struct cairn_http_call call;
        struct cairn_status st;

        script(steps, 2);
        ck_assert_int_eq(call_one("hello", 5000, &call, &st), CAIRN_OK);
        ck_assert_str_eq(got[0], "hello");
        ck_assert_int_eq(call.attempts, 3);
        ck_assert_uint_eq(requests(), 3);
        ck_assert_double_eq(series("test_requests_total{provider=\"fake\",code=\"503\"} "), 1);
        ck_assert_double_eq(series("test_requests_total{provider=\"fake\",code=\"429\"} "), 1);
        ck_assert_double_eq(series("cairn_retries_total{dependency=\"fake_provider\"} "), 2);
}
END_TEST

START_TEST(test_cairn_http_call_gives_up_after_max_attempts)
{
        const struct step steps[] = { { .status = 502, .body = "a" },
                                      { .status = 502, .body = "b" },
                                      { .status = 502, .body = "last one" } };
        struct cairn_http_call call;
        struct cairn_status st;

        script(steps, 3);
        ck_assert_int_eq(call_one("x", 5000, &call, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(call.attempts, 3);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_ERROR);
        ck_assert_msg(strstr(st.message, "HTTP 502: last one"), "%s", st.message);
}
END_TEST

START_TEST(test_cairn_http_call_waits_retry_after)
{
        const struct step steps[] = { { .status = 429, .retry_after = "0.3" } };
        struct cairn_http_call call;
        struct cairn_status st;
        int64_t t0 = cairn_now_ms();

        script(steps, 1);
        ck_assert_int_eq(call_one("x", 5000, &call, &st), CAIRN_OK);
        ck_assert_int_ge(cairn_now_ms() - t0, 290);
        /* a Retry-After past the deadline ends the call at once */
        script(steps, 1);
        t0 = cairn_now_ms();
        ck_assert_int_eq(call_one("x", 200, &call, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_lt(cairn_now_ms() - t0, 150);
        ck_assert_msg(strstr(st.message, "Retry-After of 300 ms would pass the deadline"), "%s",
                      st.message);
}
END_TEST

START_TEST(test_cairn_http_call_does_not_retry_for_good_failures)
{
        const struct step bad[] = { { .status = 400, .body = "{\"error\":\"no q\"}" } };
        const struct step garbage[] = { { .status = 200, .body = "garbage" } };
        struct cairn_http_call call;
        struct cairn_status st;

        script(bad, 1);
        ck_assert_int_eq(call_one("x", 5000, &call, &st), CAIRN_ERR_INVALID);
        ck_assert_uint_eq(requests(), 1);
        ck_assert_msg(strstr(st.message, "HTTP 400: no q"), "%s", st.message);
        script(garbage, 1);
        ck_assert_int_eq(call_one("x", 5000, &call, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_uint_eq(requests(), 1);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_BAD_RESPONSE);
}
END_TEST

START_TEST(test_cairn_http_call_deadline_aborts_slow_answer)
{
        const struct step steps[] = { { .delay_ms = 2000 } };
        struct cairn_http_call call;
        struct cairn_status st;
        int64_t t0 = cairn_now_ms();

        script(steps, 1);
        ck_assert_int_eq(call_one("x", 300, &call, &st), CAIRN_ERR_DEADLINE);
        ck_assert_int_lt(cairn_now_ms() - t0, 1000);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_TIMEOUT);
        ck_assert_double_eq(series("test_requests_total{provider=\"fake\",code=\"timeout\"} "), 1);
}
END_TEST

START_TEST(test_cairn_http_call_refuses_large_answers)
{
        struct cairn_http_client_conf hconf = { 0 };
        const struct step steps[] = { { .big = 100000 } };
        struct cairn_http_call call;
        struct cairn_status st;
        char errstr[128];

        cairn_http_client_free(hc);
        hconf.name = "fake";
        hconf.dep = dep;
        hconf.max_response_bytes = 65536;
        hc = cairn_http_client_new(&hconf, errstr, sizeof(errstr));
        ck_assert_ptr_nonnull(hc);
        script(steps, 1);
        ck_assert_int_eq(call_one("x", 5000, &call, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, CAIRN_HTTP_BAD_RESPONSE);
        ck_assert_msg(strstr(st.message, "more than 65536 bytes"), "%s", st.message);
        ck_assert_uint_eq(requests(), 1);
}
END_TEST

START_TEST(test_cairn_http_call_unreachable_then_breaker_open)
{
        struct cairn_resilience_conf rc;
        struct cairn_http_call call;
        struct cairn_status st;

        stop_client();
        cairn_resilience_conf_init(&rc, "fake_provider");
        rc.max_attempts = 1;
        rc.breaker_failures = 2;
        rc.breaker_failure_rate = 0;
        start_client(&rc);
        MHD_stop_daemon(srv.d);
        srv.d = NULL;
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(call_one("x", 2000, &call, &st), CAIRN_ERR_UNAVAILABLE);
                ck_assert_str_eq(st.reason, CAIRN_HTTP_UNREACHABLE);
                ck_assert_msg(strstr(st.message, "provider fake: "), "%s", st.message);
        }
        ck_assert_int_eq(call_one("x", 2000, &call, &st), CAIRN_ERR_UNAVAILABLE);
        ck_assert_str_eq(st.reason, "BREAKER_OPEN");
        ck_assert_double_eq(series("test_requests_total{provider=\"fake\",code=\"error\"} "), 2);
}
END_TEST

START_TEST(test_cairn_http_call_nothing_to_send)
{
        struct cairn_http_call call;
        struct cairn_status st;

        ck_assert_int_eq(call_n(NULL, 0, 1000, &call, &st), CAIRN_OK);
        ck_assert_uint_eq(requests(), 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("http_client");
        TCase *tc;

        tc = tcase_create("cairn_http_error_message");
        tcase_add_test(tc, test_cairn_http_error_message_shapes);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_http_retry_after_ms");
        tcase_add_test(tc, test_cairn_http_retry_after_ms_values);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_http_status_error");
        tcase_add_test(tc, test_cairn_http_status_error_codes);
        tcase_add_test(tc, test_cairn_http_keyed_error_refusals);
        tcase_add_test(tc, test_cairn_http_url_name_join_and_check);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_http_call");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, test_cairn_http_call_requests_go_out_together);
        tcase_add_test(tc, test_cairn_http_call_retries_transient_failures);
        tcase_add_test(tc, test_cairn_http_call_gives_up_after_max_attempts);
        tcase_add_test(tc, test_cairn_http_call_waits_retry_after);
        tcase_add_test(tc, test_cairn_http_call_does_not_retry_for_good_failures);
        tcase_add_test(tc, test_cairn_http_call_deadline_aborts_slow_answer);
        tcase_add_test(tc, test_cairn_http_call_refuses_large_answers);
        tcase_add_test(tc, test_cairn_http_call_unreachable_then_breaker_open);
        tcase_add_test(tc, test_cairn_http_call_nothing_to_send);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
