/* A fake OpenAI-compatible embeddings server for the tests: real HTTP on
 * 127.0.0.1 (libmicrohttpd, a thread per connection), POST /v1/embeddings
 * with the real request and response shapes (float or base64 vectors,
 * usage), deterministic vectors, and faults on command: error statuses
 * with Retry-After, delays, malformed JSON, wrong dimensions. It counts
 * requests, inputs, connections and requests whose client went away. */
#ifndef CAIRN_TEST_FAKE_OPENAI_H
#define CAIRN_TEST_FAKE_OPENAI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_openai;

/* What the next requests get. Zero is a healthy server. */
struct fake_openai_mode {
        int fail_status;          /* answer this HTTP status ... */
        int fail_count;           /* ... this many times (-1: until changed) */
        const char *fail_message; /* error.message of the failures */
        const char *retry_after;  /* Retry-After header of the failures, or NULL */
        int delay_ms;             /* wait before answering */
        bool malformed;           /* answer 200 with a body that is not JSON */
        size_t wrong_dim;         /* answer vectors of this size instead */
        const char *api_key;      /* require "Authorization: Bearer <key>" */
};

/* Starts a server giving @p dim-dimensional vectors seeded with @p seed
 * (two fakes with different seeds give different vectors). Aborts the
 * test on failure. */
struct fake_openai *fake_openai_start(size_t dim, uint64_t seed);
void fake_openai_stop(struct fake_openai *f);
int fake_openai_port(const struct fake_openai *f);

/* Replaces the mode (strings are copied). */
void fake_openai_set(struct fake_openai *f, const struct fake_openai_mode *mode);

/* Counters since start. */
unsigned fake_openai_requests(struct fake_openai *f);
unsigned fake_openai_inputs(struct fake_openai *f);
unsigned fake_openai_connections(struct fake_openai *f);
unsigned fake_openai_aborted(struct fake_openai *f); /* client closed while delayed */
/* Unix ms of the last two requests' arrival (0 when fewer). */
void fake_openai_last_times(struct fake_openai *f, int64_t *prev_ms, int64_t *last_ms);
/* The "model" of the last request, copied into @p buf. */
void fake_openai_last_model(struct fake_openai *f, char *buf, size_t size);
/* The Authorization header of the last request ("" without one), copied
 * into @p buf. */
void fake_openai_last_auth(struct fake_openai *f, char *buf, size_t size);

/* The vector the fake gives @p text: what the test expects back. */
void fake_openai_vector(uint64_t seed, const char *text, size_t len, float *out, size_t dim);

#endif
