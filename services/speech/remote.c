/* An OpenAI-compatible audio server as a speech provider: the API key, the
 * request of each call (a multipart upload, a JSON body), and the
 * judgement of what the server answers in Cairn's error codes. HTTP,
 * retries and the breaker are libcairn's (cairn/http_client.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/clock.h"
#include "cairn/http_client.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "cairn/trace.h"
#include "cairn/utf8.h"
#include "remote.h"
#include "remote_wire.h"

/* Longest API key taken from the secrets service. */
#define API_KEY_MAX 4096
/* Form fields of a transcription besides the file. */
#define FIELDS_MAX 8

struct sp_remote {
        char *name; /* host[:port] */
        char *transcriptions_url, *speech_url;
        char *transcription_model, *speech_model;
        int tasks;
        struct cairn_api_key key;
        int64_t timeout_ms;
        struct cairn_dependency *dep;
        struct cairn_http_client *http;
};

static const char *str(const char *s)
{
        return s ? s : "";
}

/* Prefixes @p st's message with the provider's name, unless the HTTP layer
 * named it already. */
static void name_provider(const struct sp_remote *r, struct cairn_status *st)
{
        char inner[CAIRN_STATUS_MSG_MAX];

        if (strncmp(st->message, "provider ", 9) == 0)
                return;
        snprintf(inner, sizeof(inner), "%s", st->message);
        snprintf(st->message, sizeof(st->message), "provider %.100s: %.380s", r->name, inner);
}

/* ---- judging answers ---- */

/* An answer that is not 2xx. */
static cairn_err_t judge_error(const struct sp_remote *r, const struct cairn_http_answer *a,
                               bool *transient, struct cairn_status *st)
{
        return cairn_http_keyed_error(r->name, cairn_api_key_setting(&r->key), "speech.remote",
                                      false, a, transient, st);
}

struct transcribe_call {
        struct sp_remote *r;
        ProtobufCAllocator *alloc;
        Cairn__Speech__V1__TranscribeReply *reply;
};

static cairn_err_t judge_transcription(void *opaque, const struct cairn_http_answer *a,
                                       bool *transient, struct cairn_status *st)
{
        struct transcribe_call *tc = opaque;
        cairn_err_t err;

        if (a->status < 200 || a->status >= 300)
                return judge_error(tc->r, a, transient, st);
        err = sp_wire_transcription_parse(a->body, a->len, tc->alloc, &tc->reply, st);
        if (err)
                name_provider(tc->r, st);
        return err;
}

struct speech_call {
        struct sp_remote *r;
        Cairn__Speech__V1__AudioFormat format;
        struct sp_remote_speech *out;
};

static cairn_err_t judge_speech(void *opaque, const struct cairn_http_answer *a, bool *transient,
                                struct cairn_status *st)
{
        struct speech_call *sc = opaque;
        const char *ct = a->content_type;

        if (a->status < 200 || a->status >= 300)
                return judge_error(sc->r, a, transient, st);
        if (ct &&
            (strncasecmp(ct, "application/json", 16) == 0 || strncasecmp(ct, "text/", 5) == 0)) {
                char msg[256];

                cairn_http_error_message(a->body, a->len, msg, sizeof(msg));
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_BAD_RESPONSE,
                                        "provider %s answered HTTP %ld with %.60s instead of "
                                        "audio%s%s",
                                        sc->r->name, a->status, ct, msg[0] ? ": " : "", msg);
        }
        if (a->len == 0)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, CAIRN_HTTP_BAD_RESPONSE,
                                        "provider %s answered HTTP %ld with no audio", sc->r->name,
                                        a->status);
        sc->out->data = malloc(a->len);
        if (!sc->out->data)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory for %zu bytes of audio from %s", a->len,
                                        sc->r->name);
        memcpy(sc->out->data, a->body, a->len);
        sc->out->len = a->len;
        snprintf(sc->out->content_type, sizeof(sc->out->content_type), "%s",
                 ct && ct[0] ? ct : sp_wire_format_content_type(sc->format));
        return CAIRN_OK;
}

/* ---- calls ---- */

/* Runs one request through the client, traced as @p what. */
static cairn_err_t call_run(struct sp_remote *r, const char *what, struct cairn_http_request *req,
                            const struct cairn_http_form *form, int64_t deadline_ms,
                            const char *traceparent, cairn_http_judge_fn judge, void *opaque,
                            struct cairn_status *st)
{
        struct cairn_http_call call = { 0 };
        char tp[CAIRN_TRACEPARENT_LEN + 1];
        struct cairn_span *span;
        cairn_err_t err;

        call.traceparent = traceparent;
        /* A CLIENT span for the upstream call when tracing is on; its
         * context is what the provider receives. */
        span = cairn_span_start(what, CAIRN_SPAN_CLIENT, cairn_trace_current());
        if (span) {
                cairn_span_set_str(span, "http.request.method", "POST");
                cairn_span_set_str(span, "server.address", r->name);
                call.traceparent = span->traceparent;
        } else if (!traceparent && cairn_trace_inject_http(tp)) {
                call.traceparent = tp;
        }
        call.reqs = req;
        call.forms = form;
        call.n = 1;
        call.deadline_ms = deadline_ms;
        call.judge = judge;
        call.opaque = opaque;
        err = cairn_http_call(r->http, &call, st);
        if (span) {
                cairn_span_set_int(span, "cairn.attempts", call.attempts);
                cairn_span_end_err(span, err, err ? st->message : NULL);
        }
        return err;
}

static char *dup_with(ProtobufCAllocator *alloc, const char *s)
{
        size_t len = strlen(s) + 1;
        char *d = alloc ? alloc->alloc(alloc->allocator_data, len) : malloc(len);

        if (d)
                memcpy(d, s, len);
        return d;
}

cairn_err_t sp_remote_transcribe(struct sp_remote *r,
                                 const Cairn__Speech__V1__TranscribeRequest *req, const void *audio,
                                 size_t len, int64_t deadline_ms, const char *traceparent,
                                 ProtobufCAllocator *alloc,
                                 Cairn__Speech__V1__TranscribeReply **out, struct cairn_status *st)
{
        const Cairn__Speech__V1__Audio *in = req->audio;
        struct sp_wire_transcription wt = { r->transcription_model, req->language, req->prompt,
                                            req->temperature, req->word_timestamps };
        struct cairn_http_part parts[FIELDS_MAX + 1];
        const char *names[FIELDS_MAX], *values[FIELDS_MAX];
        struct transcribe_call tc = { r, alloc, NULL };
        struct cairn_http_request hreq = { 0 };
        struct cairn_http_form form;
        const char *headers[3] = { "Accept: application/json", NULL, NULL };
        char auth[API_KEY_MAX + 32], temp[32];
        size_t nfields;
        cairn_err_t err;

        *out = NULL;
        if (!(req->temperature >= 0 && req->temperature <= 1))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "temperature", "OUT_OF_RANGE",
                                        "temperature: %g is not between 0 and 1",
                                        (double)req->temperature);
        if (deadline_ms <= 0)
                deadline_ms = cairn_now_ms() + r->timeout_ms;
        nfields = sp_wire_transcription_fields(&wt, names, values, FIELDS_MAX, temp, sizeof(temp));
        parts[0] = (struct cairn_http_part){ "file", audio, len,
                                             in && str(in->filename)[0] ? in->filename : "audio",
                                             in && str(in->content_type)[0] ? in->content_type
                                                                            : NULL };
        for (size_t i = 0; i < nfields; i++)
                parts[i + 1] = (struct cairn_http_part){ names[i], values[i], strlen(values[i]),
                                                         NULL, NULL };
        err = cairn_api_key_header(&r->key, r->name, deadline_ms, auth, sizeof(auth), st);
        if (err)
                return err;
        if (auth[0])
                headers[1] = auth;
        hreq.url = r->transcriptions_url;
        hreq.headers = headers;
        form.parts = parts;
        form.n = nfields + 1;
        err = call_run(r, "POST /audio/transcriptions", &hreq, &form, deadline_ms, traceparent,
                       judge_transcription, &tc, st);
        explicit_bzero(auth, sizeof(auth));
        if (err) {
                /* an answer that parsed may still lose to a later attempt's error: never here,
                 * with one request, but keep nothing half-made */
                if (tc.reply)
                        protobuf_c_message_free_unpacked(&tc.reply->base, alloc);
                return err;
        }
        tc.reply->model = dup_with(alloc, r->transcription_model);
        if (!tc.reply->model) {
                tc.reply->model = (char *)protobuf_c_empty_string;
                protobuf_c_message_free_unpacked(&tc.reply->base, alloc);
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        }
        *out = tc.reply;
        return CAIRN_OK;
}

cairn_err_t sp_remote_synthesize(struct sp_remote *r,
                                 const Cairn__Speech__V1__SynthesizeRequest *req,
                                 int64_t deadline_ms, const char *traceparent,
                                 struct sp_remote_speech *out, struct cairn_status *st)
{
        struct sp_wire_speech ws = { r->speech_model, req->input, req->voice, req->format,
                                     req->speed };
        struct speech_call sc = { r, req->format, out };
        struct cairn_http_request hreq = { 0 };
        const char *headers[4] = { "Content-Type: application/json", "Accept: */*", NULL, NULL };
        char auth[API_KEY_MAX + 32];
        size_t blen = 0;
        char *body;
        cairn_err_t err;

        memset(out, 0, sizeof(*out));
        if (!sp_wire_format_name(req->format))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "format", "INVALID_FORMAT",
                                        "format: %d is not an audio format", (int)req->format);
        if (!cairn_utf8_valid(str(req->input), strlen(str(req->input))))
                return cairn_status_set(st, CAIRN_ERR_INVALID, "input", "INVALID_UTF8",
                                        "input: not UTF-8");
        if (deadline_ms <= 0)
                deadline_ms = cairn_now_ms() + r->timeout_ms;
        body = sp_wire_speech_body(&ws, &blen);
        if (!body)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory building a request to %s", r->name);
        err = cairn_api_key_header(&r->key, r->name, deadline_ms, auth, sizeof(auth), st);
        if (err) {
                free(body);
                return err;
        }
        if (auth[0])
                headers[2] = auth;
        hreq.url = r->speech_url;
        hreq.body = body;
        hreq.body_len = blen;
        hreq.headers = headers;
        err = call_run(r, "POST /audio/speech", &hreq, NULL, deadline_ms, traceparent, judge_speech,
                       &sc, st);
        explicit_bzero(auth, sizeof(auth));
        free(body);
        if (err)
                sp_remote_speech_cleanup(out);
        return err;
}

void sp_remote_speech_cleanup(struct sp_remote_speech *out)
{
        free(out->data);
        memset(out, 0, sizeof(*out));
}

/* ---- the provider ---- */

const char *sp_remote_name(const struct sp_remote *r)
{
        return r->name;
}

bool sp_remote_serves(const struct sp_remote *r, enum sp_remote_task task)
{
        return (r->tasks & (int)task) != 0;
}

const char *sp_remote_transcription_model(const struct sp_remote *r)
{
        return r->transcription_model;
}

const char *sp_remote_speech_model(const struct sp_remote *r)
{
        return r->speech_model;
}

struct sp_remote *sp_remote_new(const struct sp_remote_conf *c,
                                const struct cairn_resilience_conf *res,
                                struct cairn_secret_refs *secrets, struct cairn_metrics *metrics,
                                char *errstr, size_t errstr_size)
{
        struct cairn_http_client_conf hconf = { 0 };
        struct sp_remote *r = calloc(1, sizeof(*r));
        const char *url = str(c->url);

        if (!r)
                goto oom;
        r->name = cairn_http_url_name(url);
        r->transcriptions_url = cairn_http_url_join(url, "/audio/transcriptions");
        r->speech_url = cairn_http_url_join(url, "/audio/speech");
        r->transcription_model = strdup(c->transcription_model ? c->transcription_model
                                                               : "whisper-1");
        r->speech_model = strdup(c->speech_model ? c->speech_model : "tts-1");
        if (!r->name || !r->transcriptions_url || !r->speech_url || !r->transcription_model ||
            !r->speech_model)
                goto oom;
        r->tasks = c->tasks ? sp_remote_conf_tasks(c) : SP_REMOTE_TRANSCRIPTION | SP_REMOTE_SPEECH;
        r->timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 120000;
        if (cairn_api_key_init(&r->key, "speech.remote", c->api_key_file, c->api_key_secret,
                               secrets, errstr, errstr_size) != 0)
                goto fail;
        r->dep = cairn_dependency_new(res, metrics);
        if (metrics) {
                hconf.requests = cairn_metrics_counter(
                        metrics, "cairn_speech_remote_requests_total",
                        "HTTP requests to the remote speech provider (POST /audio/transcriptions, "
                        "/audio/speech), by HTTP status (or timeout/error)",
                        (const char *[]){ "provider", "code", NULL });
                hconf.latency = cairn_metrics_histogram(
                        metrics, "cairn_speech_remote_request_seconds",
                        "Time of each HTTP request to the remote speech provider, answered or not",
                        (const char *[]){ "provider", NULL }, cairn_metrics_latency_buckets,
                        cairn_metrics_latency_nbuckets);
        }
        hconf.name = r->name;
        hconf.user_agent = "cairn-speech";
        hconf.connect_timeout_ms = c->connect_timeout_ms;
        hconf.max_response_bytes = c->max_response_bytes > 0 ? (size_t)c->max_response_bytes : 0;
        hconf.dep = r->dep;
        hconf.explain_breaker = true;
        r->http = cairn_http_client_new(&hconf, errstr, errstr_size);
        if (!r->http)
                goto fail;
        return r;
oom:
        snprintf(errstr, errstr_size, "speech.remote: out of memory setting up the provider");
fail:
        sp_remote_free(r);
        return NULL;
}

void sp_remote_free(struct sp_remote *r)
{
        if (!r)
                return;
        cairn_http_client_free(r->http);
        cairn_dependency_free(r->dep);
        cairn_api_key_clear(&r->key);
        free(r->name);
        free(r->transcriptions_url);
        free(r->speech_url);
        free(r->transcription_model);
        free(r->speech_model);
        free(r);
}
