/* Contents: their checks, the hash that finds exact duplicates, and their
 * vectors from the embedding service. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <utf8proc.h>

#include "cairn/clock.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/hex.h"
#include "cairn/utf8.h"
#include "handlers.h"

cairn_err_t memory_content_check(const struct mctx *c, const char *content, const char *field,
                                 struct cairn_status *st)
{
        size_t len = content ? strlen(content) : 0, blank = 0;

        if (len == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "EMPTY_CONTENT",
                                        "%s is empty", field);
        if (len > (size_t)c->svc->conf->max_content_bytes)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "CONTENT_TOO_LARGE",
                                        "%s has %zu bytes, more than memory.max_content_bytes "
                                        "(%lld)",
                                        field, len, c->svc->conf->max_content_bytes);
        if (!cairn_utf8_valid(content, len))
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "INVALID_UTF8",
                                        "%s is not valid UTF-8", field);
        while (blank < len && isspace((unsigned char)content[blank]))
                blank++;
        if (blank == len)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "EMPTY_CONTENT",
                                        "%s is only white space", field);
        return CAIRN_OK;
}

int memory_content_hash(const char *content, char out[65])
{
        utf8proc_uint8_t *norm = NULL;
        utf8proc_ssize_t n;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        size_t o = 0;
        bool space = false;

        /* the same text however it is composed, cased or spaced */
        n = utf8proc_map((const utf8proc_uint8_t *)content, 0, &norm,
                         UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                 UTF8PROC_CASEFOLD);
        if (n < 0)
                return -1;
        for (utf8proc_ssize_t i = 0; i < n; i++) {
                if (isspace(norm[i])) {
                        space = o > 0;
                        continue;
                }
                if (space)
                        norm[o++] = ' ';
                space = false;
                norm[o++] = norm[i];
        }
        EVP_Digest(norm, o, md, &mdlen, EVP_sha256(), NULL);
        free(norm);
        cairn_hex_encode(md, mdlen, out);
        return 0;
}

cairn_err_t memory_embed(const struct mctx *c, const char *const *texts, size_t n, float *out,
                         struct cairn_status *st)
{
        const struct memory_conf *conf = c->svc->conf;
        const size_t dim = (size_t)conf->dimensions;
        Cairn__Embedding__V1__EmbedRequest msg = CAIRN__EMBEDDING__V1__EMBED_REQUEST__INIT;
        Cairn__Embedding__V1__EmbedRequest *in = &msg;
        Cairn__Embedding__V1__EmbedReply *got = NULL;
        struct cairn_call_opts opts = { 0 };
        cairn_err_t err;

        if (!c->svc->embedder)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, "embedding", "NO_EMBEDDER",
                                        "no embedding service is configured: send the "
                                        "memory's vector in embedding");
        in->model = (char *)conf->embedding_model;
        in->inputs = (char **)texts;
        in->n_inputs = n;
        opts.deadline_ms = c->deadline_ms;
        opts.traceparent = c->req->hdrs ? c->req->hdrs->traceparent : NULL;
        err = cairn_bus_call(c->svc->embedder, conf->embedding_topic, c->req->key, &in->base, &opts,
                             &cairn__embedding__v1__embed_reply__descriptor, NULL,
                             (ProtobufCMessage **)&got, st);
        if (err != CAIRN_OK) {
                /* say whose failure it is; the code stays the embedding
                 * service's, but its silence while this request still had
                 * time is its unavailability, not this request's deadline */
                struct cairn_status inner = *st;

                if (err == CAIRN_ERR_DEADLINE &&
                    (!c->deadline_ms || cairn_now_ms() < c->deadline_ms))
                        err = CAIRN_ERR_UNAVAILABLE;
                return cairn_status_set(st, err, "embedding", inner.reason, "embedding service: %s",
                                        inner.message);
        }
        if (got->n_embeddings != n) {
                protobuf_c_message_free_unpacked(&got->base, NULL);
                return cairn_status_set(st, CAIRN_ERR_INTERNAL, "embedding", NULL,
                                        "embedding service answered %zu vectors for %zu texts",
                                        got->n_embeddings, n);
        }
        for (size_t i = 0; i < n; i++) {
                const Cairn__Embedding__V1__Embedding *e = got->embeddings[i];

                if (e->n_vector != dim || e->index >= n) {
                        size_t have = e->n_vector;

                        protobuf_c_message_free_unpacked(&got->base, NULL);
                        return cairn_status_set(st, CAIRN_ERR_INTERNAL, "embedding", NULL,
                                                "model %s gives %zu dimensions, memory.dimensions "
                                                "is %zu",
                                                conf->embedding_model, have, dim);
                }
                memcpy(out + (size_t)e->index * dim, e->vector, dim * sizeof(float));
                memory_normalize(out + (size_t)e->index * dim, dim);
        }
        protobuf_c_message_free_unpacked(&got->base, NULL);
        return CAIRN_OK;
}

/* The next token of @p s holding a digit (letters, digits and - _ . / : #
 * around it), from *@p at on; its start and length, false at the end. */
static bool next_code(const char *s, size_t *at, size_t *start, size_t *len)
{
        static const char extra[] = "-_./:#";

        while (s[*at]) {
                size_t b = *at, e = b;
                bool digit = false;

                while (s[e] && (isalnum((unsigned char)s[e]) || strchr(extra, s[e]))) {
                        digit |= isdigit((unsigned char)s[e]) != 0;
                        e++;
                }
                *at = e > b ? e : e + 1;
                if (digit) {
                        *start = b;
                        *len = e - b;
                        return true;
                }
        }
        return false;
}

/* Whether every code of @p a is one of @p b's. */
static bool codes_in(const char *a, const char *b)
{
        size_t at = 0, start, len;

        while (next_code(a, &at, &start, &len)) {
                size_t bt = 0, bs, bl;
                bool found = false;

                while (!found && next_code(b, &bt, &bs, &bl))
                        found = bl == len && strncasecmp(a + start, b + bs, len) == 0;
                if (!found)
                        return false;
        }
        return true;
}

bool memory_same_codes(const char *a, const char *b)
{
        return codes_in(a, b) && codes_in(b, a);
}
