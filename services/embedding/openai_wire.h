/* The wire format of OpenAI-compatible embeddings servers, as pure
 * functions: the request body and the response parser (float arrays or
 * base64 little-endian float32); error bodies and Retry-After are
 * libcairn's (cairn/http_client.h). No I/O, so unit tests and the fuzz
 * target call them directly. */
#ifndef EMBEDDING_OPENAI_WIRE_H
#define EMBEDDING_OPENAI_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/status.h"

/* Decodes standard base64 (RFC 4648 alphabet; '=' padding optional; no
 * whitespace) of @p len bytes into @p out (room for @p out_size bytes).
 * Returns 0 with the decoded size in *@p outlen, or -1 when the input is
 * not base64 or does not fit. */
int wire_base64_decode(const char *in, size_t len, uint8_t *out, size_t out_size, size_t *outlen);

/* What the request body says besides the inputs. */
struct wire_request {
        const char *model; /* upstream model name */
        size_t dimensions; /* sent only when send_dimensions */
        bool send_dimensions;
        bool base64; /* encoding_format "base64" (else "float") */
};

/* The JSON body of POST /embeddings for @p n texts (texts[i] has lens[i]
 * bytes of UTF-8). Returns a malloc'ed NUL-terminated string the caller
 * frees, or NULL (out of memory, or a text that is not UTF-8). */
char *wire_request_body(const struct wire_request *wr, const char *const *texts, const size_t *lens,
                        size_t n);

/* Parses a 2xx response body of @p len bytes (untrusted) that must hold
 * exactly @p n embeddings of @p dim floats, data[].index 0..n-1 each once,
 * as arrays of numbers or base64 strings. Writes vector i to
 * out[i * dim .. (i + 1) * dim) and usage.prompt_tokens (0 if absent) to
 * *@p tokens. Returns CAIRN_OK, or CAIRN_ERR_UNAVAILABLE with reason
 * UPSTREAM_BAD_RESPONSE (or UPSTREAM_WRONG_DIMENSIONS) and a message saying
 * what is wrong in @p st. @p out may be partly written on error. */
cairn_err_t wire_response_parse(const char *body, size_t len, size_t n, size_t dim, float *out,
                                uint64_t *tokens, struct cairn_status *st);

#endif
