/* The fake embeddings provider of the tests: the OpenAI wire format over
 * real HTTP, with faults on command. */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "cairn/clock.h"
#include "fake_http.h"
#include "fake_openai.h"

#define BODY_MAX (8 << 20)

struct fake_openai {
        struct fake_http *http;
        size_t dim;
        uint64_t seed;
        pthread_mutex_t lock;
        struct fake_openai_mode mode;
        struct fake_http_faults faults;
        unsigned requests, inputs, aborted;
        int64_t prev_ms, last_ms;
        char last_model[128];
        char last_auth[512]; /* the Authorization header of the last request */
};

void fake_openai_vector(uint64_t seed, const char *text, size_t len, float *out, size_t dim)
{
        double norm = 0;

        for (size_t j = 0; j < dim; j++) {
                uint64_t h = XXH64(text, len, seed * 1000003u + j);

                out[j] = (float)((double)(h % 2001) / 1000.0 - 1.0);
                norm += (double)out[j] * out[j];
        }
        norm = sqrt(norm);
        for (size_t j = 0; j < dim && norm > 0; j++)
                out[j] = (float)(out[j] / norm);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *base64(const uint8_t *in, size_t n)
{
        char *out = malloc((n + 2) / 3 * 4 + 1), *p = out;

        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16;

                if (i + 1 < n)
                        v |= (uint32_t)in[i + 1] << 8;
                if (i + 2 < n)
                        v |= in[i + 2];
                *p++ = b64[(v >> 18) & 63];
                *p++ = b64[(v >> 12) & 63];
                *p++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
                *p++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *p = '\0';
        return out;
}

static char *embeddings_body(struct fake_openai *f, json_t *input, bool b64enc, size_t dim)
{
        json_t *root = json_object(), *data = json_array(), *usage = json_object();
        size_t n = json_array_size(input), tokens = 0;
        float *v = malloc(dim * sizeof(float) + 1);
        char *out;

        for (size_t i = 0; i < n; i++) {
                json_t *s = json_array_get(input, i), *item = json_object();
                const char *text = json_string_value(s);
                size_t len = json_string_length(s);

                fake_openai_vector(f->seed, text ? text : "", len, v, dim);
                tokens += len / 4 + 1;
                json_object_set_new(item, "object", json_string("embedding"));
                json_object_set_new(item, "index", json_integer((json_int_t)i));
                if (b64enc) {
                        char *e = base64((const uint8_t *)v, dim * sizeof(float));

                        json_object_set_new(item, "embedding", json_string(e));
                        free(e);
                } else {
                        json_t *arr = json_array();

                        for (size_t j = 0; j < dim; j++)
                                json_array_append_new(arr, json_real(v[j]));
                        json_object_set_new(item, "embedding", arr);
                }
                json_array_append_new(data, item);
        }
        json_object_set_new(root, "object", json_string("list"));
        json_object_set_new(root, "data", data);
        json_object_set_new(root, "model", json_string("fake"));
        json_object_set_new(usage, "prompt_tokens", json_integer((json_int_t)tokens));
        json_object_set_new(usage, "total_tokens", json_integer((json_int_t)tokens));
        json_object_set_new(root, "usage", usage);
        out = json_dumps(root, JSON_COMPACT);
        json_decref(root);
        free(v);
        return out;
}

static enum MHD_Result respond(struct MHD_Connection *c, int status, const char *body,
                               const char *retry_after)
{
        return fake_http_respond_json(c, status, body, retry_after);
}

static enum MHD_Result on_request(void *opaque, const struct fake_http_request *req)
{
        struct fake_openai *f = opaque;
        struct MHD_Connection *c = req->c;
        struct fake_openai_mode mode;
        struct fake_http_fault_copy fc;
        char model[128];
        json_t *root, *input;
        bool b64enc = false, fail = false;
        size_t dim;
        char *body;
        enum MHD_Result ret;

        if (strcmp(req->method, "POST") != 0 || strcmp(req->url, "/v1/embeddings") != 0)
                return respond(c, 404, "{\"error\":{\"message\":\"no such route\"}}", NULL);

        const char *auth_seen = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

        pthread_mutex_lock(&f->lock);
        snprintf(f->last_auth, sizeof(f->last_auth), "%s", auth_seen ? auth_seen : "");
        f->requests++;
        f->prev_ms = f->last_ms;
        f->last_ms = cairn_now_ms();
        mode = f->mode;
        fake_http_faults_copy(&f->faults, &fc);
        if (mode.fail_status && mode.fail_count != 0) {
                fail = true;
                if (f->mode.fail_count > 0)
                        f->mode.fail_count--;
        }
        pthread_mutex_unlock(&f->lock);

        if (fc.key[0]) {
                const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
                char want[300];

                snprintf(want, sizeof(want), "Bearer %s", fc.key);
                if (!auth || strcmp(auth, want) != 0)
                        return respond(c, 401,
                                       "{\"error\":{\"message\":\"Incorrect API key provided\","
                                       "\"type\":\"invalid_request_error\"}}",
                                       NULL);
        }
        if (!fake_http_wait(c, mode.delay_ms)) {
                pthread_mutex_lock(&f->lock);
                f->aborted++;
                pthread_mutex_unlock(&f->lock);
                return MHD_NO;
        }
        if (fail) {
                json_t *e = json_pack("{s:{s:s,s:s}}", "error", "message", fc.error, "type",
                                      "fake_error");
                char *eb = json_dumps(e, JSON_COMPACT);

                ret = respond(c, mode.fail_status, eb, fc.retry_after[0] ? fc.retry_after : NULL);
                free(eb);
                json_decref(e);
                return ret;
        }
        if (mode.malformed)
                return respond(c, 200, "{\"object\":\"list\",\"data\":[{\"embedding\":[0.1,", NULL);
        root = req->too_big ? NULL : json_loadb(req->body, req->len, 0, NULL);
        input = json_object_get(root, "input");
        if (json_is_string(input)) {
                json_t *arr = json_array();

                json_array_append(arr, input);
                json_object_set_new(root, "input", arr);
                input = arr;
        }
        if (!root || !json_is_array(input) || json_array_size(input) == 0) {
                json_decref(root);
                return respond(c, 400,
                               "{\"error\":{\"message\":\"input must be a non-empty "
                               "array of strings\"}}",
                               NULL);
        }
        snprintf(model, sizeof(model), "%s",
                 json_string_value(json_object_get(root, "model")) ?: "");
        b64enc = json_string_value(json_object_get(root, "encoding_format")) &&
                 strcmp(json_string_value(json_object_get(root, "encoding_format")), "base64") == 0;
        pthread_mutex_lock(&f->lock);
        f->inputs += (unsigned)json_array_size(input);
        snprintf(f->last_model, sizeof(f->last_model), "%s", model);
        pthread_mutex_unlock(&f->lock);
        dim = mode.wrong_dim ? mode.wrong_dim : f->dim;
        body = embeddings_body(f, input, b64enc, dim);
        json_decref(root);
        ret = respond(c, 200, body, NULL);
        free(body);
        return ret;
}

struct fake_openai *fake_openai_start(size_t dim, uint64_t seed)
{
        struct fake_openai *f = calloc(1, sizeof(*f));

        ck_assert_ptr_nonnull(f);
        f->dim = dim;
        f->seed = seed;
        pthread_mutex_init(&f->lock, NULL);
        f->http = fake_http_start(0, BODY_MAX, on_request, f, "fake provider");
        return f;
}

void fake_openai_stop(struct fake_openai *f)
{
        if (!f)
                return;
        fake_http_stop(f->http);
        fake_http_faults_free(&f->faults);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

int fake_openai_port(const struct fake_openai *f)
{
        return fake_http_port(f->http);
}

void fake_openai_set(struct fake_openai *f, const struct fake_openai_mode *mode)
{
        pthread_mutex_lock(&f->lock);
        f->mode = *mode;
        fake_http_faults_set(&f->faults, mode->fail_message, mode->retry_after, mode->api_key);
        f->mode.fail_message = f->mode.retry_after = f->mode.api_key = NULL;
        pthread_mutex_unlock(&f->lock);
}

FAKE_HTTP_COUNTER(fake_openai, requests)
FAKE_HTTP_COUNTER(fake_openai, inputs)
FAKE_HTTP_COUNTER(fake_openai, aborted)

unsigned fake_openai_connections(struct fake_openai *f)
{
        return fake_http_connections(f->http);
}

void fake_openai_last_times(struct fake_openai *f, int64_t *prev_ms, int64_t *last_ms)
{
        pthread_mutex_lock(&f->lock);
        *prev_ms = f->prev_ms;
        *last_ms = f->last_ms;
        pthread_mutex_unlock(&f->lock);
}

FAKE_HTTP_TEXT(fake_openai, last_model, last_model)

FAKE_HTTP_TEXT(fake_openai, last_auth, last_auth)
