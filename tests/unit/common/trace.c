/* Unit tests for tracing: the W3C trace context test vectors, sampling,
 * ids, spans, propagation helpers, the OTLP/JSON encoding and the export
 * queue's behaviour when the collector is slow. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/bus.h"
#include "cairn/hex.h"
#include "cairn/log.h"
#include "cairn/random.h"
#include "cairn/trace.h"
#include "otlp.h"
#include "../unit.h"

static const char *const TP_VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

static bool tp_ok(const char *s)
{
        struct cairn_span_ctx ctx;

        memset(&ctx, 0, sizeof(ctx));
        return cairn_traceparent_parse(s, strlen(s), &ctx);
}

static bool ts_ok(const char *s)
{
        return cairn_tracestate_valid(s, strlen(s));
}

/* Tracing on, exporting to a port where nothing listens. */
static void tracing_on(const char *sampler)
{
        char errstr[256];

        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", 1);
        setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "500", 1);
        if (sampler)
                setenv("OTEL_TRACES_SAMPLER", sampler, 1);
        ck_assert_int_eq(cairn_trace_init("unit", NULL, errstr, sizeof(errstr)), 0);
        ck_assert(cairn_trace_enabled());
}

/* ---- traceparent ---- */

START_TEST(test_cairn_traceparent_parse_valid_vectors)
{
        struct cairn_span_ctx ctx;
        char hex[33];

        ck_assert(cairn_traceparent_parse(TP_VALID, strlen(TP_VALID), &ctx));
        cairn_hex_encode(ctx.trace_id, 16, hex);
        ck_assert_str_eq(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
        cairn_hex_encode(ctx.span_id, 8, hex);
        ck_assert_str_eq(hex, "00f067aa0ba902b7");
        ck_assert_int_eq(ctx.flags, 1);
        ck_assert(ctx.remote);

        ck_assert(tp_ok("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
        ck_assert(tp_ok("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"));
        /* unknown flags of version 00 are accepted */
        ck_assert(tp_ok("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09"));
        /* optional whitespace around the value, as HTTP allows */
        ck_assert(tp_ok(" \t00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 "));
}
END_TEST

START_TEST(test_cairn_traceparent_parse_invalid_vectors)
{
        static const char *const bad[] = {
                "",
                "00",
                /* version ff is forbidden */
                "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                /* all-zero ids */
                "00-00000000000000000000000000000000-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
                /* upper case */
                "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01",
                "0A-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0A",
                /* not hex */
                "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333z-01",
                "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-.1",
                /* wrong lengths */
                "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c00-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333100-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-001",
                "000-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                /* version 00 must end after the flags */
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-will-be-like",
                /* wrong delimiters */
                "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
                /* a later version must continue with a dash */
                "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01.what-the-future-will-be-like",
                "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                ck_assert_msg(!tp_ok(bad[i]), "accepted invalid traceparent \"%s\"", bad[i]);
        ck_assert(!cairn_traceparent_parse(NULL, 0, NULL));
        /* embedded NUL: the length counts, not the string */
        ck_assert(
                !cairn_traceparent_parse("00-0af7651916cd43dd8448eb211c80319c\0b7ad6b7169203331-01",
                                         55, &(struct cairn_span_ctx){ 0 }));
}
END_TEST

START_TEST(test_cairn_traceparent_parse_future_version)
{
        struct cairn_span_ctx ctx;
        const char *s =
                "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-09-what-the-future-will-be-like";
        char hex[33];

        ck_assert(cairn_traceparent_parse(s, strlen(s), &ctx));
        cairn_hex_encode(ctx.trace_id, 16, hex);
        ck_assert_str_eq(hex, "0af7651916cd43dd8448eb211c80319c");
        /* only the sampled bit is understood of a later version */
        ck_assert_int_eq(ctx.flags, 1);
        ck_assert(tp_ok("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"));
        ck_assert(tp_ok("fe-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-"));
}
END_TEST

START_TEST(test_cairn_traceparent_format_roundtrip)
{
        struct cairn_span_ctx ctx;
        char out[CAIRN_TRACEPARENT_LEN + 1];

        ck_assert(cairn_traceparent_parse(TP_VALID, strlen(TP_VALID), &ctx));
        cairn_traceparent_format(&ctx, out);
        ck_assert_str_eq(out, TP_VALID);
        ctx.flags = 0;
        cairn_traceparent_format(&ctx, out);
        ck_assert_str_eq(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}
END_TEST

/* ---- tracestate ---- */

START_TEST(test_cairn_tracestate_valid_list_rules)
{
        char buf[1024];

        ck_assert(ts_ok(""));
        ck_assert(ts_ok("foo=1"));
        ck_assert(ts_ok("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
        ck_assert(ts_ok("foo=1 , \tbar=2"));
        ck_assert(ts_ok(",foo=1,,bar=2,"));
        ck_assert(ts_ok("tenant@system=1"));
        ck_assert(ts_ok("1tenant@system=1"));
        ck_assert(ts_ok("foo=bar baz"));
        ck_assert(ts_ok("foo=!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~"));
        ck_assert(ts_ok("a_b-c*d/e=1"));

        ck_assert(!ts_ok("foo"));
        ck_assert(!ts_ok("=1"));
        ck_assert(!ts_ok("FOO=1"));
        ck_assert(!ts_ok("1foo=1"));
        ck_assert(!ts_ok("foo=1,foo=2"));
        ck_assert(!ts_ok("foo=,bar=1"));
        ck_assert(!ts_ok("foo=1=2"));
        ck_assert(!ts_ok("foo=a,b"));
        ck_assert(!ts_ok("foo.bar=1"));
        ck_assert(!ts_ok("t@1sys=1"));
        ck_assert(!ts_ok("t@=1"));
        ck_assert(!ts_ok("@sys=1"));
        ck_assert(!ts_ok("t@sys@x=1"));
        ck_assert(!ts_ok("t@abcdefghijklmno=1")); /* system id of 15 */
        ck_assert(ts_ok("t@abcdefghijklmn=1"));   /* of 14 */
        ck_assert(!ts_ok("foo=bar\x01"));
        ck_assert(!ts_ok("foo=b\xc3\xa9"));

        /* keys up to 256, values up to 256 characters */
        memset(buf, 'k', 256);
        strcpy(buf + 256, "=v");
        ck_assert(ts_ok(buf));
        memset(buf, 'k', 257);
        strcpy(buf + 257, "=v");
        ck_assert(!ts_ok(buf));
        strcpy(buf, "k=");
        memset(buf + 2, 'v', 256);
        buf[258] = '\0';
        ck_assert(ts_ok(buf));
        memset(buf + 2, 'v', 257);
        buf[259] = '\0';
        ck_assert(!ts_ok(buf));
}
END_TEST

START_TEST(test_cairn_tracestate_valid_member_and_size_limits)
{
        char buf[2048];
        size_t n = 0;

        for (int i = 0; i < 32; i++)
                n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sk%d=v", i ? "," : "", i);
        ck_assert(ts_ok(buf));
        snprintf(buf + n, sizeof(buf) - n, ",k32=v");
        ck_assert(!ts_ok(buf));
        /* duplicates are found anywhere in the list */
        snprintf(buf + n, sizeof(buf) - n, ",k0=w");
        ck_assert(!ts_ok(buf));
        /* longer than 512 bytes is not forwarded */
        memset(buf, 'a', 600);
        memcpy(buf, "k=", 2);
        for (size_t i = 200; i < 600; i += 200)
                memcpy(buf + i, ",x=", 3), buf[i + 1] = (char)('a' + i / 200);
        buf[600] = '\0';
        ck_assert(!ts_ok(buf));
}
END_TEST

START_TEST(test_cairn_trace_extract_drops_bad_tracestate)
{
        struct cairn_span_ctx ctx;

        ck_assert(cairn_trace_extract(TP_VALID, "congo=t61rcWkgMzE", &ctx));
        ck_assert_str_eq(ctx.tracestate, "congo=t61rcWkgMzE");
        ck_assert(cairn_trace_extract(TP_VALID, "  rojo=1,congo=2 ", &ctx));
        ck_assert_str_eq(ctx.tracestate, "rojo=1,congo=2");
        ck_assert(cairn_trace_extract(TP_VALID, "BAD=1", &ctx));
        ck_assert_str_eq(ctx.tracestate, "");
        ck_assert(cairn_trace_extract(TP_VALID, NULL, &ctx));
        ck_assert_str_eq(ctx.tracestate, "");
        ck_assert(!cairn_trace_extract("00-garbage", "congo=1", &ctx));
        ck_assert(!cairn_trace_extract(NULL, NULL, &ctx));
        ck_assert(!cairn_trace_extract("", "", &ctx));
}
END_TEST

/* ---- sampling ---- */

static void id_with_tail(uint8_t id[16], uint64_t tail)
{
        memset(id, 0xab, 8);
        for (int i = 15; i >= 8; i--) {
                id[i] = (uint8_t)(tail & 0xff);
                tail >>= 8;
        }
}

START_TEST(test_cairn_sampler_parse_names_and_args)
{
        struct cairn_sampler s;
        char why[256];

        ck_assert(cairn_sampler_parse(NULL, NULL, &s, why, sizeof(why)));
        ck_assert_int_eq(s.kind, CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON);
        ck_assert(cairn_sampler_parse("always_off", NULL, &s, why, sizeof(why)));
        ck_assert_int_eq(s.kind, CAIRN_SAMPLER_ALWAYS_OFF);
        ck_assert(cairn_sampler_parse("parentbased_traceidratio", "0.25", &s, why, sizeof(why)));
        ck_assert_int_eq(s.kind, CAIRN_SAMPLER_PARENTBASED_TRACEIDRATIO);
        ck_assert_double_eq(s.ratio, 0.25);
        ck_assert(cairn_sampler_parse("traceidratio", NULL, &s, why, sizeof(why)));
        ck_assert_double_eq(s.ratio, 1.0);
        ck_assert(cairn_sampler_parse("traceidratio", "0", &s, why, sizeof(why)));
        ck_assert_double_eq(s.ratio, 0.0);

        ck_assert(!cairn_sampler_parse("jaeger_remote", NULL, &s, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "OTEL_TRACES_SAMPLER"));
        ck_assert_int_eq(s.kind, CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON);
        static const char *const bad_args[] = { "1.5", "-0.1", "x", "0.5x", "nan", "inf" };
        for (size_t i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
                ck_assert_msg(!cairn_sampler_parse("traceidratio", bad_args[i], &s, why,
                                                   sizeof(why)),
                              "accepted ratio %s", bad_args[i]);
                ck_assert_ptr_nonnull(strstr(why, "OTEL_TRACES_SAMPLER_ARG"));
        }
}
END_TEST

START_TEST(test_cairn_sampler_should_sample_ratio_bounds)
{
        struct cairn_sampler s = { CAIRN_SAMPLER_TRACEIDRATIO, 0.0 };
        uint8_t lo[16], hi[16], mid[16];
        int n = 0;

        id_with_tail(lo, 0);
        id_with_tail(hi, UINT64_MAX);
        id_with_tail(mid, UINT64_MAX / 2); /* (x >> 1) is 2^62 - 1: just under ratio 0.5 */
        ck_assert(!cairn_sampler_should_sample(&s, NULL, lo));
        ck_assert(!cairn_sampler_should_sample(&s, NULL, hi));
        s.ratio = 1.0;
        ck_assert(cairn_sampler_should_sample(&s, NULL, lo));
        ck_assert(cairn_sampler_should_sample(&s, NULL, hi));
        s.ratio = 0.5;
        ck_assert(cairn_sampler_should_sample(&s, NULL, lo));
        ck_assert(!cairn_sampler_should_sample(&s, NULL, hi));
        ck_assert(cairn_sampler_should_sample(&s, NULL, mid));
        s.ratio = 0.4999999;
        ck_assert(!cairn_sampler_should_sample(&s, NULL, mid));
        s.ratio = 1e-12;
        ck_assert(cairn_sampler_should_sample(&s, NULL, lo));

        /* deterministic and close to the ratio over random ids */
        s.ratio = 0.25;
        for (int i = 0; i < 20000; i++) {
                uint8_t id[16];

                cairn_random(id, sizeof(id));
                bool a = cairn_sampler_should_sample(&s, NULL, id);
                ck_assert(a == cairn_sampler_should_sample(&s, NULL, id));
                n += a;
        }
        ck_assert_int_gt(n, 4500);
        ck_assert_int_lt(n, 5500);
}
END_TEST

START_TEST(test_cairn_sampler_should_sample_parent_based)
{
        struct cairn_sampler s = { CAIRN_SAMPLER_PARENTBASED_ALWAYS_ON, 1.0 };
        struct cairn_span_ctx sampled, unsampled;
        uint8_t hi[16];

        id_with_tail(hi, UINT64_MAX);
        memset(&sampled, 0, sizeof(sampled));
        sampled.flags = CAIRN_TRACE_FLAG_SAMPLED;
        unsampled = sampled;
        unsampled.flags = 0;

        ck_assert(cairn_sampler_should_sample(&s, NULL, hi));
        ck_assert(cairn_sampler_should_sample(&s, &sampled, hi));
        ck_assert(!cairn_sampler_should_sample(&s, &unsampled, hi));
        s.kind = CAIRN_SAMPLER_PARENTBASED_ALWAYS_OFF;
        ck_assert(!cairn_sampler_should_sample(&s, NULL, hi));
        ck_assert(cairn_sampler_should_sample(&s, &sampled, hi));
        s.kind = CAIRN_SAMPLER_PARENTBASED_TRACEIDRATIO;
        s.ratio = 0.5;
        ck_assert(!cairn_sampler_should_sample(&s, NULL, hi)); /* root: by ratio */
        ck_assert(cairn_sampler_should_sample(&s, &sampled, hi));
        ck_assert(!cairn_sampler_should_sample(&s, &unsampled, hi));
        /* the plain samplers ignore the parent */
        s.kind = CAIRN_SAMPLER_ALWAYS_ON;
        ck_assert(cairn_sampler_should_sample(&s, &unsampled, hi));
        s.kind = CAIRN_SAMPLER_ALWAYS_OFF;
        ck_assert(!cairn_sampler_should_sample(&s, &sampled, hi));
}
END_TEST

/* ---- ids and spans ---- */

START_TEST(test_cairn_random_differs)
{
        uint8_t a[16], b[16];

        cairn_random(a, sizeof(a));
        cairn_random(b, sizeof(b));
        ck_assert(memcmp(a, b, sizeof(a)) != 0);
        /* across buffer refills */
        for (int i = 0; i < 100; i++) {
                uint8_t big[300];
                cairn_random(big, sizeof(big));
        }
}
END_TEST

/* Two children forked after the parent drew from its buffer: each draws its
 * own bytes, neither the parent's next ones. */
START_TEST(test_cairn_random_differs_across_fork)
{
        uint8_t first[16], got[3][16];
        int fds[2][2];

        cairn_random(first, sizeof(first));
        for (int i = 0; i < 2; i++) {
                ck_assert_int_eq(pipe(fds[i]), 0);
                pid_t pid = fork();

                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        cairn_random(got[i], sizeof(got[i]));
                        _exit(write(fds[i][1], got[i], sizeof(got[i])) == sizeof(got[i]) ? 0 : 1);
                }
                close(fds[i][1]);
                ck_assert_int_eq(read(fds[i][0], got[i], sizeof(got[i])), sizeof(got[i]));
                close(fds[i][0]);
                int status;

                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        cairn_random(got[2], sizeof(got[2]));
        ck_assert(memcmp(got[0], got[1], sizeof(got[0])) != 0);
        ck_assert(memcmp(got[0], got[2], sizeof(got[0])) != 0);
        ck_assert(memcmp(got[1], got[2], sizeof(got[0])) != 0);
}
END_TEST

START_TEST(test_cairn_span_start_off_costs_nothing)
{
        char errstr[256];

        unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
        unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        ck_assert_int_eq(cairn_trace_init("unit", NULL, errstr, sizeof(errstr)), 0);
        ck_assert(!cairn_trace_enabled());
        struct cairn_span *span = cairn_span_start("x", CAIRN_SPAN_INTERNAL, NULL);
        ck_assert_ptr_null(span);
        /* every span function takes NULL */
        cairn_span_set_str(span, "k", "v");
        cairn_span_set_int(span, "k", 1);
        cairn_span_set_bool(span, "k", true);
        cairn_span_set_status(span, CAIRN_SPAN_ERROR, "x");
        cairn_span_end_err(span, CAIRN_ERR_INTERNAL, "x");
        cairn_span_end(span);
        ck_assert_ptr_null(cairn_trace_current());
        ck_assert_ptr_null(
                cairn_trace_http_server_start("GET", "/", "/", TP_VALID, NULL, NULL, NULL));
        cairn_trace_shutdown();

        /* an endpoint with OTEL_SDK_DISABLED=true stays off too */
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", 1);
        setenv("OTEL_SDK_DISABLED", "TRUE", 1);
        ck_assert_int_eq(cairn_trace_init("unit", NULL, errstr, sizeof(errstr)), 0);
        ck_assert(!cairn_trace_enabled());
        unsetenv("OTEL_SDK_DISABLED");
}
END_TEST

START_TEST(test_cairn_span_start_ids_and_parent)
{
        struct cairn_span_ctx parent;
        struct cairn_span *root, *child;
        char hex[17];

        tracing_on("always_on");
        root = cairn_span_start("root", CAIRN_SPAN_INTERNAL, NULL);
        ck_assert_ptr_nonnull(root);
        ck_assert(!root->has_parent);
        ck_assert(root->sampled);
        ck_assert_int_eq(strlen(root->trace_id_hex), 32);
        ck_assert_int_eq(strlen(root->span_id_hex), 16);
        ck_assert(tp_ok(root->traceparent));
        ck_assert_int_gt(root->start_ns, 1700000000LL * 1000000000);

        ck_assert(cairn_trace_extract(TP_VALID, "congo=1", &parent));
        child = cairn_span_start("child", CAIRN_SPAN_CONSUMER, &parent);
        ck_assert_str_eq(child->trace_id_hex, "4bf92f3577b34da6a3ce929d0e0e4736");
        cairn_hex_encode(child->parent_span_id, 8, hex);
        ck_assert_str_eq(hex, "00f067aa0ba902b7");
        ck_assert_str_ne(child->span_id_hex, "00f067aa0ba902b7");
        ck_assert_str_eq(child->ctx.tracestate, "congo=1");
        ck_assert(child->has_parent);
        ck_assert_int_eq(strncmp(child->traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36),
                         0);

        /* a thousand span ids, all different */
        char(*ids)[17] = malloc(1000 * sizeof(*ids));
        for (int i = 0; i < 1000; i++) {
                struct cairn_span *s = cairn_span_start("s", CAIRN_SPAN_INTERNAL, NULL);
                memcpy(ids[i], s->span_id_hex, 17);
                for (int j = 0; j < i; j++)
                        ck_assert_str_ne(ids[i], ids[j]);
                s->sampled = false; /* freed, not queued */
                cairn_span_end(s);
        }
        free(ids);
        cairn_span_end(child);
        cairn_span_end(root);
        cairn_trace_shutdown();
        ck_assert(!cairn_trace_enabled());
}
END_TEST

START_TEST(test_cairn_span_start_unsampled_parent_propagates)
{
        struct cairn_span_ctx parent;
        struct cairn_span *span;

        tracing_on(NULL); /* parentbased_always_on */
        ck_assert(cairn_trace_extract("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
                                      NULL, &parent));
        span = cairn_span_start("c", CAIRN_SPAN_CONSUMER, &parent);
        ck_assert(!span->sampled);
        ck_assert_str_eq(span->traceparent + 53, "00");
        ck_assert_str_eq(span->trace_id_hex, "4bf92f3577b34da6a3ce929d0e0e4736");
        cairn_span_end(span);
        cairn_trace_shutdown();
}
END_TEST

START_TEST(test_cairn_span_set_attributes_bounded)
{
        struct cairn_span *span;
        char big[2000];

        tracing_on("always_on");
        span = cairn_span_start("a", CAIRN_SPAN_INTERNAL, NULL);
        cairn_span_set_str(span, "s", "v");
        cairn_span_set_int(span, "i", -42);
        cairn_span_set_bool(span, "b", true);
        ck_assert_int_eq(span->nattrs, 3);
        ck_assert_str_eq(span->strings + span->attrs[0].v.off, "v");
        ck_assert_int_eq(span->attrs[1].v.i, -42);
        /* a value too big is cut on a character boundary */
        for (size_t i = 0; i + 2 < sizeof(big); i += 2)
                memcpy(big + i, "\xc3\xa9", 2);
        big[sizeof(big) - 2] = '\0';
        cairn_span_set_str(span, "big", big);
        const char *cut = span->strings + span->attrs[3].v.off;
        ck_assert_int_lt(strlen(cut), CAIRN_SPAN_STRINGS);
        ck_assert_int_eq(strlen(cut) % 2, 0);
        cairn_span_set_str(span, "none", "left"); /* no room: dropped */
        ck_assert_int_eq(span->dropped_attrs, 1);
        for (int i = 0; i < 20; i++)
                cairn_span_set_int(span, "n", i);
        ck_assert_int_eq(span->nattrs, CAIRN_SPAN_MAX_ATTRS);
        ck_assert_int_eq(span->dropped_attrs, 1 + 20 - (CAIRN_SPAN_MAX_ATTRS - 4));
        cairn_span_end_err(span, CAIRN_ERR_UNAVAILABLE, "down");
        cairn_trace_shutdown();
}
END_TEST

START_TEST(test_cairn_trace_current_continues_trace)
{
        struct cairn_span *span;
        char tp[CAIRN_TRACEPARENT_LEN + 1];

        /* no current span: an onward call or HTTP request starts its own */
        ck_assert_ptr_null(cairn_trace_current());
        ck_assert(!cairn_trace_inject_http(tp));
        ck_assert_str_eq(tp, "");

        /* with a current span, it is the parent of what the handler sends */
        tracing_on("always_on");
        span = cairn_span_start("h", CAIRN_SPAN_CONSUMER, NULL);
        ck_assert_ptr_null(cairn_trace_set_current(span));
        ck_assert_ptr_eq(cairn_trace_current(), &span->ctx);
        ck_assert(cairn_trace_inject_http(tp));
        ck_assert_str_eq(tp, span->traceparent);
        cairn_span_end(span); /* ending the current span clears it */
        ck_assert_ptr_null(cairn_trace_current());
        cairn_trace_shutdown();
}
END_TEST

static const char *attr_str(const struct cairn_span *span, const char *key)
{
        for (size_t i = 0; i < span->nattrs; i++)
                if (strcmp(span->attrs[i].key, key) == 0 &&
                    span->attrs[i].type == CAIRN_ATTR_STRING)
                        return span->strings + span->attrs[i].v.off;
        return NULL;
}

START_TEST(test_cairn_trace_http_server_start_conventions)
{
        struct cairn_span *span;

        tracing_on("always_on");
        span = cairn_trace_http_server_start("POST", "/v1/embeddings", "/v1/embeddings", TP_VALID,
                                             "congo=1", "api.example", "curl/8");
        ck_assert_str_eq(span->name, "POST /v1/embeddings");
        ck_assert_int_eq(span->kind, CAIRN_SPAN_SERVER);
        ck_assert_str_eq(span->trace_id_hex, "4bf92f3577b34da6a3ce929d0e0e4736");
        ck_assert_str_eq(attr_str(span, "http.request.method"), "POST");
        ck_assert_str_eq(attr_str(span, "url.path"), "/v1/embeddings");
        ck_assert_str_eq(attr_str(span, "http.route"), "/v1/embeddings");
        ck_assert_str_eq(attr_str(span, "server.address"), "api.example");
        ck_assert_str_eq(attr_str(span, "user_agent.original"), "curl/8");
        cairn_trace_http_server_end(span, 200);

        span = cairn_trace_http_server_start("BREW", NULL, "/pot", "garbage", NULL, NULL, NULL);
        ck_assert_str_eq(span->name, "HTTP");
        ck_assert(!span->has_parent);
        ck_assert_str_eq(attr_str(span, "http.request.method"), "_OTHER");
        ck_assert_str_eq(attr_str(span, "http.request.method_original"), "BREW");
        ck_assert_ptr_null(attr_str(span, "http.route"));
        span->sampled = false;
        cairn_trace_http_server_end(span, 200);
        cairn_trace_shutdown();
}
END_TEST

static const struct cairn_attr *attr_get(const struct cairn_span *span, const char *key)
{
        for (size_t i = 0; i < span->nattrs; i++)
                if (strcmp(span->attrs[i].key, key) == 0)
                        return &span->attrs[i];
        return NULL;
}

START_TEST(test_cairn_trace_http_server_status_5xx_is_error)
{
        struct cairn_span *a, *b;

        tracing_on("always_on");
        a = cairn_trace_http_server_start("GET", "/x", "/x", NULL, NULL, NULL, NULL);
        b = cairn_trace_http_server_start("GET", "/x", "/x", NULL, NULL, NULL, NULL);
        cairn_trace_http_server_status(a, 404);
        ck_assert_int_eq(a->status, CAIRN_SPAN_UNSET);
        ck_assert_int_eq(attr_get(a, "http.response.status_code")->v.i, 404);
        ck_assert_ptr_null(attr_get(a, "error.type"));
        cairn_trace_http_server_status(b, 503);
        ck_assert_int_eq(b->status, CAIRN_SPAN_ERROR);
        ck_assert_str_eq(attr_str(b, "error.type"), "503");
        cairn_span_end(a);
        cairn_span_end(b);
        cairn_trace_shutdown();
}
END_TEST

/* ---- OTLP ---- */

START_TEST(test_cairn_kv_list_parse_percent_decoding)
{
        struct cairn_kv *l = NULL;
        size_t n = 0;
        char why[128];

        ck_assert(cairn_kv_list_parse("a=b, c = d%20e ,,deployment.environment=prod%2Ceu", &l, &n,
                                      why, sizeof(why)));
        ck_assert_int_eq(n, 3);
        ck_assert_str_eq(l[0].key, "a");
        ck_assert_str_eq(l[0].value, "b");
        ck_assert_str_eq(l[1].key, "c");
        ck_assert_str_eq(l[1].value, "d e");
        ck_assert_str_eq(l[2].value, "prod,eu");
        ck_assert(cairn_kv_list_parse("", &l, &n, why, sizeof(why)));
        ck_assert_int_eq(n, 3);
        ck_assert(!cairn_kv_list_parse("x=1,novalue", &l, &n, why, sizeof(why)));
        ck_assert(!cairn_kv_list_parse("=1", &l, &n, why, sizeof(why)));
        ck_assert(!cairn_kv_list_parse("a=%zz", &l, &n, why, sizeof(why)));
        ck_assert(!cairn_kv_list_parse("a=%2", &l, &n, why, sizeof(why)));
        ck_assert(!cairn_kv_list_parse("a=x%0d%0aInjected: 1", &l, &n, why, sizeof(why)));
        ck_assert_ptr_nonnull(strstr(why, "control"));
        ck_assert_int_eq(n, 3); /* nothing appended on failure */
        cairn_kv_list_free(l, n);
}
END_TEST

START_TEST(test_cairn_otlp_url_for_log_hides_credentials)
{
        char out[128];

        cairn_otlp_url_for_log("https://user:s3cret@collector:4318/v1/traces", out, sizeof(out));
        ck_assert_str_eq(out, "https://***@collector:4318/v1/traces");
        cairn_otlp_url_for_log("http://collector:4318/v1/traces?a=b@c", out, sizeof(out));
        ck_assert_str_eq(out, "http://collector:4318/v1/traces?a=b@c");
}
END_TEST

START_TEST(test_cairn_otlp_encode_golden)
{
        struct cairn_span span;
        struct cairn_kv res[] = { { "service.name", "cairn-test" } };
        json_error_t jerr;
        size_t len;

        memset(&span, 0, sizeof(span));
        for (int i = 0; i < 16; i++)
                span.ctx.trace_id[i] = (uint8_t)(0xa0 + i);
        for (int i = 0; i < 8; i++) {
                span.ctx.span_id[i] = (uint8_t)(0x10 + i);
                span.parent_span_id[i] = (uint8_t)(0x20 + i);
        }
        span.has_parent = true;
        cairn_hex_encode(span.ctx.trace_id, 16, span.trace_id_hex);
        cairn_hex_encode(span.ctx.span_id, 8, span.span_id_hex);
        strcpy(span.ctx.tracestate, "congo=1");
        strcpy(span.name, "cairn.embedding.v1.EmbedRequest process");
        span.kind = CAIRN_SPAN_CONSUMER;
        span.start_ns = 1700000000123456789LL;
        span.end_ns = 1700000000223456789LL;
        span.status = CAIRN_SPAN_ERROR;
        strcpy(span.status_msg, "inputs[1] is empty");
        span.sampled = true;
        span.attrs[0] = (struct cairn_attr){ "messaging.system", CAIRN_ATTR_STRING, { .off = 0 } };
        strcpy(span.strings, "kafka");
        span.attrs[1] = (struct cairn_attr){ "messaging.kafka.message.offset",
                                             CAIRN_ATTR_INT,
                                             { .i = 9007199254740993LL } };
        span.attrs[2] = (struct cairn_attr){ "cairn.ok", CAIRN_ATTR_BOOL, { .b = true } };
        span.attrs[3] = (struct cairn_attr){ "bad.utf8", CAIRN_ATTR_STRING, { .off = 6 } };
        strcpy(span.strings + 6, "a\xff"
                                 "b");
        span.nattrs = 4;
        span.dropped_attrs = 2;

        char *out = cairn_otlp_encode(res, 1, (struct cairn_span *[]){ &span }, 1, &len);
        ck_assert_ptr_nonnull(out);
        ck_assert_int_eq(len, strlen(out));
        json_t *got = json_loads(out, 0, &jerr);
        ck_assert_msg(got != NULL, "not JSON: %s", jerr.text);
        json_t *want = json_loads(
                "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
                "{\"key\":\"service.name\",\"value\":{\"stringValue\":\"cairn-test\"}}]},"
                "\"scopeSpans\":[{\"scope\":{\"name\":\"cairn\",\"version\":\"" CAIRN_VERSION "\"},"
                "\"spans\":[{"
                "\"traceId\":\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\","
                "\"spanId\":\"1011121314151617\","
                "\"parentSpanId\":\"2021222324252627\","
                "\"traceState\":\"congo=1\","
                "\"name\":\"cairn.embedding.v1.EmbedRequest process\","
                "\"kind\":5,"
                "\"startTimeUnixNano\":\"1700000000123456789\","
                "\"endTimeUnixNano\":\"1700000000223456789\","
                "\"attributes\":["
                "{\"key\":\"messaging.system\",\"value\":{\"stringValue\":\"kafka\"}},"
                "{\"key\":\"messaging.kafka.message.offset\",\"value\":{\"intValue\":\"9007199254740993\"}},"
                "{\"key\":\"cairn.ok\",\"value\":{\"boolValue\":true}},"
                "{\"key\":\"bad.utf8\",\"value\":{\"stringValue\":\"a?b\"}}],"
                "\"droppedAttributesCount\":2,"
                "\"status\":{\"code\":2,\"message\":\"inputs[1] is empty\"}"
                "}]}]}]}",
                0, &jerr);
        ck_assert_msg(want != NULL, "bad golden: %s", jerr.text);
        ck_assert_msg(json_equal(got, want), "encoded:\n%s", out);
        json_decref(got);
        json_decref(want);
        free(out);

        /* what needs escaping is escaped */
        strcpy(span.status_msg, "say \"hi\"\\ \n\x01 caf\xc3\xa9");
        strcpy(span.strings + 6, "tab\there");
        out = cairn_otlp_encode(res, 1, (struct cairn_span *[]){ &span }, 1, &len);
        got = json_loads(out, 0, &jerr);
        ck_assert_msg(got != NULL, "not JSON: %s\n%s", jerr.text, out);
        json_t *sp = json_array_get(
                json_object_get(
                        json_array_get(json_object_get(
                                               json_array_get(json_object_get(got, "resourceSpans"),
                                                              0),
                                               "scopeSpans"),
                                       0),
                        "spans"),
                0);
        ck_assert_str_eq(json_string_value(
                                 json_object_get(json_object_get(sp, "status"), "message")),
                         "say \"hi\"\\ \n\x01 caf\xc3\xa9");
        ck_assert_str_eq(json_string_value(json_object_get(
                                 json_object_get(json_array_get(json_object_get(sp, "attributes"),
                                                                3),
                                                 "value"),
                                 "stringValue")),
                         "tab\there");
        json_decref(got);
        free(out);

        /* a root span has no parentSpanId; an unset status has code 0 */
        span.has_parent = false;
        span.status = CAIRN_SPAN_UNSET;
        span.status_msg[0] = '\0';
        span.ctx.tracestate[0] = '\0';
        out = cairn_otlp_encode(res, 1, (struct cairn_span *[]){ &span }, 1, &len);
        got = json_loads(out, 0, &jerr);
        json_t *rs = json_array_get(json_object_get(got, "resourceSpans"), 0);
        json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
        json_t *js = json_array_get(json_object_get(ss, "spans"), 0);
        ck_assert_ptr_nonnull(js);
        ck_assert_ptr_null(json_object_get(js, "parentSpanId"));
        ck_assert_ptr_null(json_object_get(js, "traceState"));
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(js, "status"), "code")),
                         0);
        ck_assert_ptr_null(json_object_get(json_object_get(js, "status"), "message"));
        json_decref(got);
        free(out);
}
END_TEST

/* A collector that accepts connections and never answers: exports hang
 * until their timeout, so the queue fills and spans are dropped, while
 * cairn_span_end() keeps returning at once. */
START_TEST(test_cairn_otlp_enqueue_drops_when_collector_hangs)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t slen = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct cairn_otlp_stats st;
        char url[64], errstr[256];

        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 16), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
        setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "300", 1);
        setenv("OTEL_BSP_MAX_QUEUE_SIZE", "4", 1);
        setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
        ck_assert_int_eq(cairn_trace_init("unit", NULL, errstr, sizeof(errstr)), 0);

        for (int i = 0; i < 100; i++)
                cairn_span_end(cairn_span_start("s", CAIRN_SPAN_INTERNAL, NULL));
        cairn_otlp_stats(&st);
        /* at most one batch (4) in the hung request and 4 queued */
        ck_assert_uint_ge(st.dropped, 92);
        cairn_trace_shutdown();
        cairn_otlp_stats(&st);
        ck_assert_uint_ge(st.failures, 1);
        ck_assert_uint_eq(st.exported, 0);
        close(fd);
}
END_TEST

/* A collector that never answers and a 60 s export timeout: shutdown still
 * returns within its budget (5 s) plus libcurl's progress tick. The check
 * is generous; the point is that it does not wait out the 60 s. */
START_TEST(test_cairn_trace_shutdown_bounded_with_hung_collector)
{
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t slen = sizeof(sa);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        char url[64], errstr[256];

        ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        ck_assert_int_eq(listen(fd, 16), 0);
        ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(sa.sin_port));
        setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
        setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "60000", 1);
        setenv("OTEL_BSP_SCHEDULE_DELAY", "10", 1);
        setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
        ck_assert_int_eq(cairn_trace_init("unit", NULL, errstr, sizeof(errstr)), 0);
        cairn_span_end(cairn_span_start("s", CAIRN_SPAN_INTERNAL, NULL));
        usleep(200000); /* the export is now hanging */
        cairn_span_end(cairn_span_start("t", CAIRN_SPAN_INTERNAL, NULL));
        cairn_trace_shutdown();
        ck_assert(!cairn_trace_enabled());
        close(fd);
}
END_TEST

START_TEST(test_cairn_trace_init_endpoint_rules)
{
        char errstr[256];

        /* a bad sampler or number falls back to the default, as OTel SDKs do */
        setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://127.0.0.1:1/custom", 1);
        setenv("OTEL_TRACES_SAMPLER", "bogus", 1);
        setenv("OTEL_BSP_SCHEDULE_DELAY", "-3", 1);
        setenv("OTEL_RESOURCE_ATTRIBUTES", "a=%zz", 1);
        ck_assert_int_eq(cairn_trace_init("unit", NULL, errstr, sizeof(errstr)), 0);
        ck_assert(cairn_trace_enabled());
        struct cairn_span *s = cairn_span_start("root", CAIRN_SPAN_INTERNAL, NULL);
        ck_assert(s->sampled); /* parentbased_always_on: roots are sampled */
        cairn_span_end(s);
        cairn_trace_shutdown();
        ck_assert(!cairn_trace_enabled());
        /* OTEL_TRACES_EXPORTER=none turns it off */
        setenv("OTEL_TRACES_EXPORTER", "none", 1);
        ck_assert_int_eq(cairn_trace_init("unit", NULL, errstr, sizeof(errstr)), 0);
        ck_assert(!cairn_trace_enabled());
}
END_TEST

int main(void)
{
        Suite *s = suite_create("trace");
        TCase *tc;

        /* what the runner's environment says must not leak into the tests */
        unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
        unsetenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        unsetenv("OTEL_SDK_DISABLED");
        unsetenv("OTEL_TRACES_EXPORTER");
        unsetenv("OTEL_TRACES_SAMPLER");
        unsetenv("OTEL_TRACES_SAMPLER_ARG");
        cairn_log_init("unit", CAIRN_LOG_ERROR); /* export failures are expected here */

        tc = tcase_create("cairn_traceparent_parse");
        tcase_add_test(tc, test_cairn_traceparent_parse_valid_vectors);
        tcase_add_test(tc, test_cairn_traceparent_parse_invalid_vectors);
        tcase_add_test(tc, test_cairn_traceparent_parse_future_version);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_traceparent_format");
        tcase_add_test(tc, test_cairn_traceparent_format_roundtrip);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_tracestate_valid");
        tcase_add_test(tc, test_cairn_tracestate_valid_list_rules);
        tcase_add_test(tc, test_cairn_tracestate_valid_member_and_size_limits);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_trace_extract");
        tcase_add_test(tc, test_cairn_trace_extract_drops_bad_tracestate);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_sampler");
        tcase_add_test(tc, test_cairn_sampler_parse_names_and_args);
        tcase_add_test(tc, test_cairn_sampler_should_sample_ratio_bounds);
        tcase_add_test(tc, test_cairn_sampler_should_sample_parent_based);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_span");
        tcase_add_test(tc, test_cairn_random_differs);
        tcase_add_test(tc, test_cairn_random_differs_across_fork);
        tcase_add_test(tc, test_cairn_span_start_off_costs_nothing);
        tcase_add_test(tc, test_cairn_span_start_ids_and_parent);
        tcase_add_test(tc, test_cairn_span_start_unsampled_parent_propagates);
        tcase_add_test(tc, test_cairn_span_set_attributes_bounded);
        suite_add_tcase(s, tc);
        tc = tcase_create("propagation");
        tcase_add_test(tc, test_cairn_trace_current_continues_trace);
        tcase_add_test(tc, test_cairn_trace_http_server_start_conventions);
        tcase_add_test(tc, test_cairn_trace_http_server_status_5xx_is_error);
        suite_add_tcase(s, tc);
        tc = tcase_create("otlp");
        tcase_add_test(tc, test_cairn_kv_list_parse_percent_decoding);
        tcase_add_test(tc, test_cairn_otlp_url_for_log_hides_credentials);
        tcase_add_test(tc, test_cairn_otlp_encode_golden);
        tcase_add_test(tc, test_cairn_otlp_enqueue_drops_when_collector_hangs);
        tcase_add_test(tc, test_cairn_trace_init_endpoint_rules);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_trace_shutdown");
        tcase_set_timeout(tc, 20); /* it waits out its 5 s budget */
        tcase_add_test(tc, test_cairn_trace_shutdown_bounded_with_hung_collector);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
