/* OpenAI-compatible embeddings on the wire: building the request body and
 * taking apart what the server answers, trusting none of it. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/base64.h"
#include "openai_wire.h"

#define BAD "UPSTREAM_BAD_RESPONSE"

int wire_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_size, size_t *outlen)
{
        long n = cairn_base64_decode(in, len, false, out, out_size);

        if (n < 0)
                return -1;
        *outlen = (size_t)n;
        return 0;
}

char *wire_request_body(const struct wire_request *wr, const char *const *texts, const size_t *lens,
                        size_t n)
{
        json_t *root = json_object();
        json_t *input = json_array();
        char *body = NULL;

        if (!root || !input)
                goto out;
        for (size_t i = 0; i < n; i++) {
                json_t *s = json_stringn(texts[i], lens[i]);

                if (!s || json_array_append_new(input, s) != 0)
                        goto out;
        }
        if (json_object_set_new(root, "model", json_string(wr->model)) != 0 ||
            json_object_set(root, "input", input) != 0 ||
            json_object_set_new(root, "encoding_format",
                                json_string(wr->base64 ? "base64" : "float")) != 0)
                goto out;
        if (wr->send_dimensions &&
            json_object_set_new(root, "dimensions", json_integer((json_int_t)wr->dimensions)) != 0)
                goto out;
        body = json_dumps(root, JSON_COMPACT);
out:
        json_decref(input);
        json_decref(root);
        return body;
}

/* Fills one vector from a JSON array of numbers. */
static cairn_err_t vector_from_array(json_t *arr, size_t idx, size_t dim, float *out,
                                     struct cairn_status *st)
{
        size_t got = json_array_size(arr);

        if (got != dim)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL,
                                        "UPSTREAM_WRONG_DIMENSIONS",
                                        "provider answered %zu dimensions for input %zu; the "
                                        "model is configured for %zu",
                                        got, idx, dim);
        for (size_t j = 0; j < dim; j++) {
                json_t *v = json_array_get(arr, j);
                double d;

                if (!json_is_number(v))
                        return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                                "provider response: data[%zu].embedding[%zu] is "
                                                "not a number",
                                                idx, j);
                d = json_number_value(v);
                if (!isfinite(d) || fabs(d) > 3.4e38)
                        return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                                "provider response: data[%zu].embedding[%zu] is "
                                                "out of float range",
                                                idx, j);
                out[j] = (float)d;
        }
        return CAIRN_OK;
}

/* Fills one vector from base64 of little-endian float32. */
static cairn_err_t vector_from_base64(json_t *str, size_t idx, size_t dim, float *out,
                                      struct cairn_status *st)
{
        const char *s = json_string_value(str);
        size_t slen = json_string_length(str);
        size_t cap = slen / 4 * 3 + 3, got = 0;
        uint8_t *raw = malloc(cap);
        cairn_err_t err = CAIRN_OK;

        if (!raw)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                        "out of memory decoding a provider response");
        if (wire_base64_decode(s, slen, raw, cap, &got) != 0) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                       "provider response: data[%zu].embedding is not valid base64",
                                       idx);
        } else if (got % 4 != 0 || got / 4 != dim) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL,
                                       got % 4 ? BAD : "UPSTREAM_WRONG_DIMENSIONS",
                                       "provider answered %zu bytes of float32 (%zu dimensions) "
                                       "for input %zu; the model is configured for %zu",
                                       got, got / 4, idx, dim);
        } else {
                for (size_t j = 0; j < dim; j++) {
                        uint32_t u = (uint32_t)raw[4 * j] | (uint32_t)raw[4 * j + 1] << 8 |
                                     (uint32_t)raw[4 * j + 2] << 16 |
                                     (uint32_t)raw[4 * j + 3] << 24;
                        float f;

                        memcpy(&f, &u, sizeof(f));
                        if (!isfinite(f)) {
                                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                                       "provider response: data[%zu].embedding"
                                                       "[%zu] is not a finite number",
                                                       idx, j);
                                break;
                        }
                        out[j] = f;
                }
        }
        free(raw);
        return err;
}

cairn_err_t wire_response_parse(const char *body, size_t len, size_t n, size_t dim, float *out,
                                uint64_t *tokens, struct cairn_status *st)
{
        json_error_t jerr;
        json_t *root, *data, *usage;
        unsigned char *seen = NULL;
        cairn_err_t err = CAIRN_OK;

        *tokens = 0;
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                        "provider response is not JSON: %s (line %d)", jerr.text,
                                        jerr.line);
        data = json_object_get(root, "data");
        if (!json_is_array(data)) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                       "provider response has no \"data\" array");
                goto out;
        }
        if (json_array_size(data) != n) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                       "provider answered %zu embeddings for %zu inputs",
                                       json_array_size(data), n);
                goto out;
        }
        seen = calloc(n ? n : 1, 1);
        if (!seen) {
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL,
                                       "out of memory parsing a provider response");
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                json_t *item = json_array_get(data, i);
                json_t *jidx = json_object_get(item, "index");
                json_t *emb = json_object_get(item, "embedding");
                size_t idx = i;

                if (!json_is_object(item)) {
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider response: data[%zu] is not an object", i);
                        goto out;
                }
                if (jidx) {
                        json_int_t v = json_is_integer(jidx) ? json_integer_value(jidx) : -1;

                        if (v < 0 || (uint64_t)v >= n) {
                                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                                       "provider response: data[%zu].index is "
                                                       "not an integer in 0..%zu",
                                                       i, n - 1);
                                goto out;
                        }
                        idx = (size_t)v;
                }
                if (seen[idx]) {
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider response: index %zu appears twice", idx);
                        goto out;
                }
                seen[idx] = 1;
                if (json_is_array(emb))
                        err = vector_from_array(emb, idx, dim, out + idx * dim, st);
                else if (json_is_string(emb))
                        err = vector_from_base64(emb, idx, dim, out + idx * dim, st);
                else
                        err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, BAD,
                                               "provider response: data[%zu].embedding is "
                                               "neither an array nor a base64 string",
                                               i);
                if (err)
                        goto out;
        }
        usage = json_object_get(root, "usage");
        if (json_is_object(usage)) {
                json_t *pt = json_object_get(usage, "prompt_tokens");

                if (json_is_integer(pt) && json_integer_value(pt) > 0)
                        *tokens = (uint64_t)json_integer_value(pt);
        }
out:
        free(seen);
        json_decref(root);
        return err;
}
