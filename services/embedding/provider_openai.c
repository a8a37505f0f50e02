/* Any OpenAI-compatible POST /embeddings server as a provider (OpenAI,
 * text-embeddings-inference, Ollama, vLLM).
 *
 * The HTTP side is libcairn's (cairn/http_client.h): one I/O thread per
 * provider keeps connections open, a batch larger than the provider's
 * limit goes out as several concurrent requests, each attempt's timeout is
 * the caller's remaining deadline, and retries of 429, 5xx and transport
 * failures follow the dependency's retry policy with full jitter, wait at
 * least what Retry-After asks, and never go past the deadline. Here: the
 * request bodies, the judgement of the answers, the API key. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/http_client.h"
#include "cairn/metrics.h"
#include "cairn/resilience.h"
#include "cairn/secret_ref.h"
#include "cairn/trace.h"
#include "openai_wire.h"
#include "provider.h"

/* Longest API key taken from the secrets service. */
#define API_KEY_MAX 4096

struct provider_openai {
        struct provider base;
        char *name, *url, *upstream_model;
        struct cairn_api_key key; /* a fixed key, a reference, or none */
        size_t dim;
        bool send_dimensions, base64;
        struct cairn_dependency *dep;
        struct cairn_http_client *http;
};

/* What the judge of one call's answers needs. */
struct embed_call {
        struct provider_openai *po;
        struct provider_batch *b;
        size_t per; /* texts per request: request i has texts [i * per, ...) */
};

/* Takes the vectors of a 2xx answer; anything else is an HTTP error. */
static cairn_err_t judge(void *opaque, const struct cairn_http_answer *a, bool *transient,
                         struct cairn_status *st)
{
        struct embed_call *ec = opaque;
        struct provider_batch *b = ec->b;
        size_t off = a->index * ec->per;
        size_t n = b->n - off < ec->per ? b->n - off : ec->per;
        uint64_t t = 0;
        cairn_err_t err;

        if (a->status < 200 || a->status >= 300)
                return cairn_http_status_error(ec->po->name, a->status, a->body, a->len, transient,
                                               st);
        err = wire_response_parse(a->body, a->len, n, ec->po->dim, b->out + off * b->dim, &t, st);
        if (err) {
                char inner[CAIRN_STATUS_MSG_MAX];

                snprintf(inner, sizeof(inner), "%s", st->message);
                snprintf(st->message, sizeof(st->message), "provider %.60s: %.400s", ec->po->name,
                         inner);
                return err;
        }
        b->tokens += t;
        return CAIRN_OK;
}

/* One call with the Authorization header line @p auth (NULL: none). */
static cairn_err_t embed_with(struct provider_openai *po, struct provider_batch *b,
                              const char *auth, struct cairn_status *st)
{
        struct wire_request wr = { po->upstream_model, po->dim, po->send_dimensions, po->base64 };
        struct embed_call ec = { po, b, po->base.max_batch ? po->base.max_batch : b->n };
        size_t nreq = (b->n + ec.per - 1) / ec.per;
        const char *headers[] = { "Content-Type: application/json", "Accept: application/json",
                                  auth, NULL };
        struct cairn_http_call call = { 0 };
        struct cairn_http_request *reqs;
        char tp[CAIRN_TRACEPARENT_LEN + 1];
        struct cairn_span *span;
        cairn_err_t err = CAIRN_OK;

        reqs = calloc(nreq, sizeof(*reqs));
        if (!reqs)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        for (size_t i = 0; i < nreq; i++) {
                size_t off = i * ec.per, n = b->n - off < ec.per ? b->n - off : ec.per;
                char *body = wire_request_body(&wr, b->texts + off, b->lens + off, n);

                reqs[i].url = po->url;
                reqs[i].body = body;
                reqs[i].body_len = body ? strlen(body) : 0;
                reqs[i].headers = headers;
                if (!body)
                        err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                               "out of memory building a request to %s", po->name);
        }
        if (err)
                goto out;
        call.traceparent = b->traceparent;
        /* A CLIENT span for the upstream call when tracing is on; its
         * context is what the provider receives. */
        span = cairn_span_start("POST /embeddings", CAIRN_SPAN_CLIENT, cairn_trace_current());
        if (span) {
                cairn_span_set_str(span, "http.request.method", "POST");
                cairn_span_set_str(span, "url.full", po->url);
                cairn_span_set_str(span, "gen_ai.request.model", po->upstream_model);
                cairn_span_set_int(span, "cairn.embedding.inputs", (int64_t)b->n);
                call.traceparent = span->traceparent;
        } else if (cairn_trace_inject_http(tp)) {
                call.traceparent = tp;
        }
        call.reqs = reqs;
        call.n = nreq;
        call.deadline_ms = b->deadline_ms;
        call.judge = judge;
        call.opaque = &ec;
        b->tokens = 0;
        err = cairn_http_call(po->http, &call, st);
        if (span) {
                cairn_span_set_int(span, "cairn.attempts", call.attempts);
                cairn_span_end_err(span, err, err ? st->message : NULL);
        }
out:
        for (size_t i = 0; i < nreq; i++)
                free((char *)reqs[i].body);
        free(reqs);
        return err;
}

static cairn_err_t openai_embed(struct provider *p, struct provider_batch *b,
                                struct cairn_status *st)
{
        struct provider_openai *po = (struct provider_openai *)p;
        char auth[API_KEY_MAX + 32];
        cairn_err_t err;

        if (b->n == 0)
                return CAIRN_OK;
        if (b->dim != po->dim)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "dimensions", "INVALID_DIMENSIONS",
                                        "dimensions: %zu, but %s gives %zu", b->dim, po->name,
                                        po->dim);
        err = cairn_api_key_header(&po->key, po->name, b->deadline_ms, auth, sizeof(auth), st);
        if (err)
                return err;
        err = embed_with(po, b, auth[0] ? auth : NULL, st);
        explicit_bzero(auth, sizeof(auth));
        return err;
}

static void openai_free(struct provider *p)
{
        struct provider_openai *po = (struct provider_openai *)p;

        cairn_http_client_free(po->http);
        cairn_dependency_free(po->dep);
        cairn_api_key_clear(&po->key);
        free(po->name);
        free(po->url);
        free(po->upstream_model);
        free(po);
}

static const struct provider_ops openai_ops = {
        .kind = "openai",
        .embed = openai_embed,
        .free = openai_free,
};

struct provider *provider_openai_new(const struct provider_openai_conf *conf,
                                     const struct cairn_resilience_conf *rconf,
                                     struct cairn_metrics *metrics, char *errstr,
                                     size_t errstr_size)
{
        struct cairn_http_client_conf hconf = { 0 };
        struct provider_openai *po;

        po = calloc(1, sizeof(*po));
        if (!po)
                goto oom;
        po->base.ops = &openai_ops;
        po->base.max_batch = conf->max_batch;
        po->name = strdup(conf->name);
        po->key.ref = conf->api_key_ref;
        po->upstream_model = strdup(conf->upstream_model);
        po->url = cairn_http_url_join(conf->base_url, "/embeddings");
        if (conf->api_key && conf->api_key[0])
                po->key.value = strdup(conf->api_key);
        if (!po->name || !po->upstream_model || !po->url ||
            (conf->api_key && conf->api_key[0] && !po->key.value))
                goto oom;
        po->dim = conf->dimensions;
        po->send_dimensions = conf->send_dimensions;
        po->base64 = conf->base64;
        po->dep = cairn_dependency_new(rconf, metrics);
        hconf.name = po->name;
        hconf.user_agent = "cairn-embedding";
        hconf.connect_timeout_ms = conf->connect_timeout_ms;
        hconf.max_response_bytes = conf->max_response_bytes;
        hconf.dep = po->dep;
        if (metrics)
                hconf.requests = cairn_metrics_counter(
                        metrics, "cairn_embedding_upstream_requests_total",
                        "HTTP requests to embedding providers, by model and HTTP status "
                        "(or timeout/error)",
                        (const char *[]){ "model", "code", NULL });
        po->http = cairn_http_client_new(&hconf, errstr, errstr_size);
        if (!po->http) {
                cairn_dependency_free(po->dep);
                goto oom;
        }
        return &po->base;
oom:
        snprintf(errstr, errstr_size, "model %s: out of memory setting up its provider",
                 conf->name);
        if (po) {
                free(po->name);
                free(po->url);
                free(po->upstream_model);
                cairn_api_key_clear(&po->key);
                free(po);
        }
        return NULL;
}
