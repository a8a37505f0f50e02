/* The gateway against an adversarial client, through raw sockets: exact
 * bytes in, exact bytes out. Ambiguous framing and lenient headers get one
 * answer and a closed connection; a refused request is answered before its
 * body is sent; slow bodies are cut; tokens are refused for their real
 * reason; and while one address holds slow connections and another floods
 * unauthenticated ones, authenticated clients keep being served. Real
 * processes: a dev broker, Redis, the embedding service and the gateway. */
#define _GNU_SOURCE
#include <check.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "gw_fixture.h"
#include "harness.h"

#define HS_SECRET      "hardening-test-hs256-secret-0123456789abcd"
#define KEY_MEMBER     "ck_hard_member_0123456789abcdef"
#define MAX_BODY       65536
#define CONN_LIMIT     400
#define PER_IP_LIMIT   100
#define HEADER_TIMEOUT 2000
#define BODY_GRACE     1000
#define BODY_MIN_RATE  1024

static struct harness_broker broker;
static struct harness_proc embedding, gateway, redis;
static int port, redis_port;

/* ---- processes ---- */

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
        char path[700];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(text, fp);
        fclose(fp);
        ck_assert_int_eq(chmod(path, mode), 0);
}

static void keys_write(char *dir, size_t size)
{
        snprintf(dir, size, "%s/keys", broker.dir);
        ck_assert_int_eq(mkdir(dir, 0700), 0);
        write_file(dir, "hs.secret", HS_SECRET "\n", 0600);
        gwf_keys_write(dir, "  - {kid: hs1, alg: HS256, secret_file: hs.secret}\n",
                       &(struct gwf_api_key){ KEY_MEMBER, "it-member", "acme", "member" }, 1);
}

static void setup(void)
{
        char keydir[512], e[20][700];
        const char *env[21];
        int n = 0;

        harness_broker_start(&broker, 1);
        redis_port = harness_free_port();
        harness_redis_start(&redis, broker.dir, redis_port);
        keys_write(keydir, sizeof(keydir));
        harness_service_start(&embedding, &broker, "embedding", NULL);
        port = harness_free_port();
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_REDIS_PORT=%d", redis_port);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_AUTH_KEYS_FILE=%s/keys.yaml", keydir);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_MAX_BODY_BYTES=%d", MAX_BODY);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_CONNECTION_LIMIT=%d", CONN_LIMIT);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_PER_IP_CONNECTION_LIMIT=%d", PER_IP_LIMIT);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_HEADER_TIMEOUT_MS=%d", HEADER_TIMEOUT);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_BODY_GRACE_MS=%d", BODY_GRACE);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_BODY_MIN_RATE=%d", BODY_MIN_RATE);
        snprintf(e[n++], sizeof(e[0]), "CAIRN_HTTP_CONNECTION_TIMEOUT_S=30");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_MODELS_PER_MINUTE=0");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_RATELIMIT_MODELS_PER_HOUR=0");
        snprintf(e[n++], sizeof(e[0]), "CAIRN_UPSTREAM_EMBEDDING_TOPIC=%s",
                 harness_topic("cairn.embedding.v1.requests"));
        snprintf(e[n++], sizeof(e[0]), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.gateway.replies"));
        /* no speech service here: GET /v1/models asks the embedding service only */
        snprintf(e[n++], sizeof(e[0]), "CAIRN_UPSTREAM_SPEECH_TOPIC=");
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
        ck_assert_msg(st == 0, "gateway did not exit cleanly (%d)", st);
}

/* ---- raw exchanges ---- */

/* Status lines in @p out ("HTTP/1.1 " and three digits at a line start). */
static int answers_in(const char *out)
{
        int n = 0;

        for (const char *p = out; (p = strstr(p, "HTTP/1.1 ")); p += 9)
                if ((p == out || p[-1] == '\n') && strspn(p + 9, "0123456789") == 3)
                        n++;
        return n;
}

/* Sends @p req (@p len bytes) and checks that exactly one answer came,
 * with @p status_line and @p code in its body, and that the gateway
 * closed the connection. */
static void expect_refused(const char *name, const void *req, size_t len, const char *status_line,
                           const char *code)
{
        bool closed;
        char *out = harness_raw_exchange(port, req, len, 3000, &closed);

        ck_assert_msg(out, "%s: cannot connect", name);
        ck_assert_msg(strncmp(out, status_line, strlen(status_line)) == 0, "%s: answered %.200s",
                      name, out);
        ck_assert_msg(answers_in(out) == 1, "%s: not one answer: %s", name, out);
        ck_assert_msg(strstr(out, code), "%s: no %s in %s", name, code, out);
        ck_assert_msg(strstr(out, "\r\nConnection: close\r\n"), "%s: no Connection: close", name);
        ck_assert_msg(closed, "%s: connection left open", name);
        free(out);
}

#define REFUSED(name, bytes, status, code) \
        expect_refused(name, bytes, sizeof(bytes) - 1, status, code)

START_TEST(test_ambiguous_framing_refused)
{
        /* each smuggles a second request after the first's real end */
        REFUSED("two Content-Lengths",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER "\r\n"
                "Content-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\n"
                "hello"
                "GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n",
                "HTTP/1.1 400", "ambiguous_framing");
        REFUSED("Content-Length with chunked",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                "GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n",
                "HTTP/1.1 400", "ambiguous_framing");
        REFUSED("space before the colon",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n"
                "GET /v1/version HTTP/1.1\r\nHost: x\r\n\r\n",
                "HTTP/1.1 400", "invalid_header");
        REFUSED("chunked in HTTP/1.0",
                "POST /v1/embeddings HTTP/1.0\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                "HTTP/1.1 400", "ambiguous_framing");
        /* 501 at once, not a 10 s silence */
        REFUSED("xchunked",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
                "HTTP/1.1 501", "unsupported_transfer_coding");
        REFUSED("chunked, identity",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n"
                "Transfer-Encoding: chunked, identity\r\n\r\n",
                "HTTP/1.1 501", "unsupported_transfer_coding");
}
END_TEST

START_TEST(test_lenient_requests_refused)
{
        REFUSED("two Authorization headers",
                "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " KEY_MEMBER "\r\n"
                "Authorization: Bearer ck_other\r\n\r\n",
                "HTTP/1.1 400", "duplicate_header");
        REFUSED("two API keys",
                "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER "\r\n"
                "X-API-Key: " KEY_MEMBER "\r\n\r\n",
                "HTTP/1.1 400", "duplicate_header");
        REFUSED("no Host in HTTP/1.1", "GET /v1/version HTTP/1.1\r\n\r\n", "HTTP/1.1 400",
                "missing_host");
        REFUSED("escaped slash", "GET /v1%2Fmodels HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400",
                "invalid_path");
        REFUSED("escaped NUL", "GET /v1/version%00.json HTTP/1.1\r\nHost: x\r\n\r\n",
                "HTTP/1.1 400", "invalid_path");
        REFUSED("broken escape", "GET /v1/ver%zzsion HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400",
                "invalid_path");
        REFUSED("control character in a value",
                "GET /v1/version HTTP/1.1\r\nHost: x\r\nX-Note: a\x01"
                "b\r\n\r\n",
                "HTTP/1.1 400", "invalid_header");
        REFUSED("charset that only starts like utf-8",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER "\r\n"
                "Content-Type: application/json; charset=utf-8x\r\nContent-Length: 2\r\n\r\n{}",
                "HTTP/1.1 415", "unsupported_media_type");

        /* HTTP/1.0 needs no Host; a plain request keeps working */
        bool closed;
        char *out = harness_raw_exchange(port, "GET /v1/version HTTP/1.0\r\n\r\n", 28, 3000,
                                         &closed);
        ck_assert_ptr_nonnull(out);
        ck_assert_msg(strncmp(out, "HTTP/1.1 200", 12) == 0, "HTTP/1.0: %s", out);
        free(out);
}
END_TEST

/* base64url without padding */
static void b64url(const unsigned char *in, size_t n, char *out)
{
        int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);

        while (len > 0 && out[len - 1] == '=')
                len--;
        out[len] = '\0';
        for (char *p = out; *p; p++)
                *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
}

/* An HS256 token with exactly this header and payload (@p plen bytes). */
static char *mint(const char *header, const char *payload, size_t plen)
{
        char *tok = malloc(8192), sig_b64[100];
        unsigned char sig[EVP_MAX_MD_SIZE];
        unsigned int slen = 0;
        size_t n;

        ck_assert_ptr_nonnull(tok);
        b64url((const unsigned char *)header, strlen(header), tok);
        n = strlen(tok);
        tok[n++] = '.';
        b64url((const unsigned char *)payload, plen, tok + n);
        HMAC(EVP_sha256(), HS_SECRET, (int)strlen(HS_SECRET), (unsigned char *)tok, strlen(tok),
             sig, &slen);
        b64url(sig, slen, sig_b64);
        n = strlen(tok);
        snprintf(tok + n, 8192 - n, ".%s", sig_b64);
        return tok;
}

/* GET /v1/models with @p token; returns the answer. */
static char *with_token(const char *token)
{
        char req[9000];
        bool closed;
        int n = snprintf(req, sizeof(req),
                         "GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                         "Connection: close\r\n\r\n",
                         token);
        char *out = harness_raw_exchange(port, req, (size_t)n, 10000, &closed);

        ck_assert_ptr_nonnull(out);
        return out;
}

#define CLAIMS "\"sub\":\"it-jwt\",\"tenant\":\"acme\",\"role\":\"member\""
#define EXP    ",\"exp\":4102444800" /* 2100-01-01 */

START_TEST(test_tokens_refused_for_their_reason)
{
        static const struct {
                const char *header, *payload, *status, *reason;
        } cases[] = {
                { "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"at+jwt\"}", "{" CLAIMS EXP "}",
                  "HTTP/1.1 200", NULL },
                { "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"JOSE\"}", "{" CLAIMS EXP "}",
                  "HTTP/1.1 200", NULL },
                { "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[\"exp\"]}", "{" CLAIMS EXP "}",
                  "HTTP/1.1 401", "crit" },
                { "{\"alg\":\"hs256\",\"kid\":\"hs1\"}", "{" CLAIMS EXP "}", "HTTP/1.1 401",
                  "algorithm" },
                { "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", "not json", "HTTP/1.1 401", "JSON" },
                { "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", "{" CLAIMS ",\"exp\":1e400}",
                  "HTTP/1.1 401", "range" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                char *tok = mint(cases[i].header, cases[i].payload, strlen(cases[i].payload));
                char *out = with_token(tok);

                ck_assert_msg(strncmp(out, cases[i].status, strlen(cases[i].status)) == 0,
                              "%s: %.400s", cases[i].header, out);
                if (cases[i].reason) {
                        ck_assert_msg(strstr(out, cases[i].reason), "%s %s: %.400s",
                                      cases[i].header, cases[i].payload, out);
                        ck_assert_msg(!strstr(out, "signature verification failed"),
                                      "%s %s: %.400s", cases[i].header, cases[i].payload, out);
                }
                free(out);
                free(tok);
        }
        /* NUL inside a claim */
        static const char nul_payload[] = "{" CLAIMS EXP ",\"name\":\"a\\u0000b\"}";
        char *tok = mint("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", nul_payload,
                         sizeof(nul_payload) - 1);
        char *out = with_token(tok);
        ck_assert_msg(strncmp(out, "HTTP/1.1 401", 12) == 0, "NUL claim: %.400s", out);
        ck_assert_msg(!strstr(out, "signature verification failed"), "NUL claim: %.400s", out);
        free(out);
        free(tok);
}
END_TEST

START_TEST(test_refused_before_the_body)
{
        /* headers only: the answer must come without the body being sent */
        REFUSED("no credentials, 1 MB announced",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: 60000\r\n\r\n",
                "HTTP/1.1 401", "missing_credentials");
        REFUSED("bad key, chunked",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-API-Key: ck_wrong_0123456789abc\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                "HTTP/1.1 401", "invalid");
        /* far over the limit (the probe's 8x case): a 413, not a dropped connection */
        REFUSED("9x the limit",
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER "\r\n"
                "Content-Type: application/json\r\nContent-Length: 589824\r\n\r\n",
                "HTTP/1.1 413", "body_too_large");
}
END_TEST

/* Sends a chunked body of @p chunks chunks of 8 KiB and its last chunk;
 * returns what came back. */
static char *send_chunked(int chunks, bool *closed)
{
        static const char head[] =
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER
                "\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n";
        static char chunk[6 + 0x2000 + 2];
        int fd = harness_raw_connect(port, NULL);
        char *out;

        ck_assert_int_ge(fd, 0);
        memcpy(chunk, "2000\r\n", 6);
        memset(chunk + 6, ' ', 0x2000);
        memcpy(chunk + 6 + 0x2000, "\r\n", 2);
        ck_assert_int_eq(write(fd, head, sizeof(head) - 1), (ssize_t)sizeof(head) - 1);
        for (int i = 0; i < chunks; i++)
                if (write(fd, chunk, sizeof(chunk)) < 0)
                        break; /* closed */
        if (write(fd, "0\r\n\r\n", 5) < 0)
                *closed = true;
        out = harness_raw_read(fd, 5000, NULL, closed);
        close(fd);
        return out;
}

START_TEST(test_chunked_body_over_the_limit)
{
        bool closed;
        /* 9 chunks: over the 64 KiB limit; read to its end, then the 413 */
        char *out = send_chunked(9, &closed);

        ck_assert_msg(strncmp(out, "HTTP/1.1 413", 12) == 0, "chunked: %s", out);
        ck_assert_msg(strstr(out, "body_too_large"), "chunked: %s", out);
        ck_assert_int_eq(answers_in(out), 1);
        free(out);
        /* over 8 times the limit: closed without reading on (no answer is
         * possible in the middle of a body), never left hanging */
        out = send_chunked(80, &closed);
        ck_assert_msg(closed, "a 640 KiB chunked body was read on");
        ck_assert_int_eq(answers_in(out), 0);
        free(out);
}
END_TEST

START_TEST(test_slow_body_cut)
{
        static const char head[] =
                "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER
                "\r\nContent-Type: application/json\r\n"
                "Content-Length: 4000\r\n\r\n{\"input\":";
        double before = harness_metric(gateway.admin_port, "cairn_gateway_body_timeouts_total");
        int fd = harness_raw_connect(port, NULL);
        int64_t t0 = cairn_mono_us();
        bool closed = false;

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, head, sizeof(head) - 1), (ssize_t)sizeof(head) - 1);
        /* one byte every 200 ms: far below 1 KiB/s */
        while (!closed && cairn_mono_us() - t0 < 8000000) {
                char *out = harness_raw_read(fd, 200, NULL, &closed);

                free(out);
                if (!closed && write(fd, " ", 1) != 1)
                        closed = true;
        }
        double took_ms = (double)(cairn_mono_us() - t0) / 1000.0;
        close(fd);
        ck_assert_msg(closed, "a 1 byte / 200 ms body was never cut");
        /* the grace, plus the bytes' allowance, plus a sweep tick */
        ck_assert_msg(took_ms >= BODY_GRACE && took_ms < BODY_GRACE + 3000, "cut after %.0f ms",
                      took_ms);
        ck_assert_double_ge(harness_metric(gateway.admin_port, "cairn_gateway_body_timeouts_total"),
                            before + 1);
}
END_TEST

/* ---- connection exhaustion ---- */

struct attack {
        const char *source;
        int sockets;
        const char *bytes; /* sent on each socket */
        int fds[600];
        int opened;
};

static void attack_open(struct attack *a)
{
        a->opened = 0;
        for (int i = 0; i < a->sockets; i++) {
                int fd = harness_raw_connect(port, a->source);

                if (fd < 0)
                        continue;
                if (write(fd, a->bytes, strlen(a->bytes)) < 0) {
                        close(fd);
                        continue;
                }
                a->fds[a->opened++] = fd;
        }
}

static void attack_close(struct attack *a)
{
        for (int i = 0; i < a->opened; i++)
                close(a->fds[i]);
}

/* How many of @p a's sockets got an answer starting with @p status_line
 * (in *@p answered), and how many were closed with no answer at all (in
 * *@p shut: over the per-address limit when the gateway accepted them,
 * which happens when it falls behind the flood on a loaded machine). */
static void attack_answered(struct attack *a, const char *status_line, int *answered, int *shut)
{
        int64_t until = cairn_mono_us() + 3000000; /* late answers, bounded */

        *answered = *shut = 0;
        for (int i = 0; i < a->opened; i++) {
                int64_t left_ms = (until - cairn_mono_us()) / 1000;
                bool closed;
                char *out = harness_raw_read(a->fds[i], left_ms > 50 ? (int)left_ms : 50, NULL,
                                             &closed);

                *answered += strncmp(out, status_line, strlen(status_line)) == 0;
                *shut += closed && !out[0];
                free(out);
        }
}

START_TEST(test_exhaustion_keeps_authenticated_clients_served)
{
        /* 500 unauthenticated POSTs announcing 1 MB: refused at their headers */
        static struct attack flood = {
                .source = "127.0.0.2",
                .sockets = 500,
                .bytes = "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\n"
                         "Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{",
        };
        /* 300 sockets that never finish their headers: 100 held (the
         * per-address limit) until the header deadline, the rest refused */
        static struct attack slow = {
                .source = "127.0.0.3",
                .sockets = 300,
                .bytes = "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Slow: ",
        };
        /* authenticated bodies sent too slowly: cut after the grace */
        static struct attack slow_body = {
                .source = "127.0.0.4",
                .sockets = 50,
                .bytes = "POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER
                         "\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{",
        };
        static const char legit[] = "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-API-Key: " KEY_MEMBER
                                    "\r\nConnection: close\r\n\r\n";
        int served = 0, tried = 0, refused, shut;
        char unserved[200] = "";

        attack_open(&slow);
        attack_open(&slow_body);
        attack_open(&flood);
        ck_assert_int_ge(flood.opened, 400);
        /* while the sockets are held, for longer than the body grace */
        int64_t until = cairn_mono_us() + (BODY_GRACE + 1500) * 1000LL;
        while (cairn_mono_us() < until) {
                bool closed;
                char *out = harness_raw_exchange(port, legit, sizeof(legit) - 1, 5000, &closed);

                tried++;
                if (out && strncmp(out, "HTTP/1.1 200", 12) == 0)
                        served++;
                else if (!unserved[0])
                        snprintf(unserved, sizeof(unserved), "%.150s", out ? out : "(no answer)");
                free(out);
                usleep(50 * 1000);
        }
        attack_answered(&flood, "HTTP/1.1 401", &refused, &shut);
        attack_close(&flood);
        attack_close(&slow);
        attack_close(&slow_body);
        ck_assert_msg(served == tried, "%d of %d authenticated requests served; first other: %s",
                      served, tried, unserved);
        ck_assert_int_ge(tried, 20);
        /* every flood socket refused: a 401 at its headers, or closed unanswered */
        ck_assert_msg(refused + shut == flood.opened && refused >= PER_IP_LIMIT,
                      "of %d flood sockets %d got 401 and %d were closed unanswered", flood.opened,
                      refused, shut);
        ck_assert_double_ge(harness_metric(gateway.admin_port, "cairn_gateway_body_timeouts_total"),
                            slow_body.opened);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("gateway_hardening");
        TCase *tc = tcase_create("raw");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_ambiguous_framing_refused);
        tcase_add_test(tc, test_lenient_requests_refused);
        tcase_add_test(tc, test_tokens_refused_for_their_reason);
        tcase_add_test(tc, test_refused_before_the_body);
        tcase_add_test(tc, test_chunked_body_over_the_limit);
        tcase_add_test(tc, test_slow_body_cut);
        tcase_add_test(tc, test_exhaustion_keeps_authenticated_clients_served);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
