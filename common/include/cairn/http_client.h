/* HTTP calls to a provider's API (an embeddings server, a translation
 * server) over libcurl, through a dependency's resilience.
 *
 * One I/O thread per client drives a curl multi handle: callers hand it
 * requests and wait for them; the multi handle keeps connections (and TLS
 * sessions, and HTTP/2 when offered) open between requests, so a request
 * costs no new handshake. The requests of one call go out concurrently.
 * Every attempt's timeout is the time left before the caller's deadline
 * (capped by the dependency's timeout_ms), so curl itself aborts (closes) a
 * request that would outlive it. Each request of each attempt asks the
 * dependency's breaker first; the call holds one bulkhead slot. Failures the
 * caller's judge calls transient (and timeouts, refused connections) are
 * tried again after the dependency's full-jitter backoff, at least what
 * Retry-After asks, never past the deadline; the others end the call. */
#ifndef CAIRN_HTTP_CLIENT_H
#define CAIRN_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "cairn/status.h"

struct cairn_dependency;
struct cairn_metric;

/* Reasons the client sets in a status (cairn_status.reason). */
#define CAIRN_HTTP_TIMEOUT      "UPSTREAM_TIMEOUT"      /* no answer in time */
#define CAIRN_HTTP_UNREACHABLE  "UPSTREAM_UNREACHABLE"  /* no connection, or it broke */
#define CAIRN_HTTP_BAD_RESPONSE "UPSTREAM_BAD_RESPONSE" /* too large, or the judge's */
/* ... and cairn_http_status_error()'s. */
#define CAIRN_HTTP_RATE_LIMITED "UPSTREAM_RATE_LIMITED" /* 429 */
#define CAIRN_HTTP_REFUSED      "UPSTREAM_REFUSED"      /* 401, 403 */
#define CAIRN_HTTP_ERROR        "UPSTREAM_ERROR"        /* 408, 5xx, 1xx */
#define CAIRN_HTTP_REJECTED     "UPSTREAM_REJECTED"     /* another 4xx */

struct cairn_http_client_conf {
        const char *name;           /* the provider, in messages ("provider %s: ...") and metrics */
        const char *user_agent;     /* e.g. "cairn-embedding" */
        int64_t connect_timeout_ms; /* cap on connecting (the deadline caps it too); 0: 2000 */
        size_t max_response_bytes;  /* a longer answer fails the request; 0: 64 MiB */
        /* Borrowed, must outlive the client: the breaker, bulkhead and
         * retry policy every call goes through. */
        struct cairn_dependency *dep;
        /* Optional (NULL: none) counter family labelled {<provider>, code}:
         * one per HTTP exchange, code its status ("200", "429") or
         * "timeout" / "error" when there was no answer; counted with the
         * values {name, code}. */
        struct cairn_metric *requests;
        /* Optional histogram family labelled {<provider>}: the seconds of
         * each HTTP exchange, answered or not. */
        struct cairn_metric *latency;
        /* true: the message of an open breaker, which says only that it is
         * open, gets "; last failure: <message>" of the last call that
         * failed the dependency. */
        bool explain_breaker;
};

struct cairn_http_client;

/* Creates the client and its I/O thread (@p conf's strings are copied).
 * NULL with a message in @p errstr when out of memory or threads. */
struct cairn_http_client *cairn_http_client_new(const struct cairn_http_client_conf *conf,
                                                char *errstr, size_t errstr_size);

/* Stops the I/O thread (abandoning requests in flight: call it when no call
 * is under way) and frees the client. NULL is fine. */
void cairn_http_client_free(struct cairn_http_client *hc);

/* One part of a multipart/form-data body: a field, or a file when
 * @p filename is set (an audio upload). */
struct cairn_http_part {
        const char *name;
        const void *data;
        size_t len;
        const char *filename;     /* NULL: a plain field */
        const char *content_type; /* NULL: none of its own */
};

/* One request of a call. Everything is borrowed until the call returns. */
struct cairn_http_request {
        const char *url;
        const char *body; /* NULL: a GET (or a form, below); else a POST of body_len bytes */
        size_t body_len;
        /* NULL-terminated header lines ("Content-Type: application/json",
         * "Authorization: Bearer ..."), or NULL. curl's copies of them are
         * wiped when the request is done. */
        const char *const *headers;
};

/* A multipart/form-data body of @p n parts. */
struct cairn_http_form {
        const struct cairn_http_part *parts;
        size_t n;
};

/* One answer (any HTTP status) to request @p index of a call. */
struct cairn_http_answer {
        size_t index;
        long status;
        const char *body; /* NUL-terminated ("" when empty); borrowed for the judge's call */
        size_t len;
        const char *content_type; /* its Content-Type header, or NULL; borrowed likewise */
};

/* Judges an answer: CAIRN_OK takes it (the judge keeps what it needs of
 * the body: it is freed after this call); an error fills @p st, and sets
 * *@p transient when the same request may succeed if sent again (a 429, a
 * 5xx); *@p transient starts false. Called on the caller's thread, once per
 * answer of every attempt; a request that was taken is not sent again. */
typedef cairn_err_t (*cairn_http_judge_fn)(void *opaque, const struct cairn_http_answer *a,
                                           bool *transient, struct cairn_status *st);

struct cairn_http_call {
        const struct cairn_http_request *reqs;
        size_t n;
        int64_t deadline_ms;     /* unix ms; 0: 30 s from now (a call is always bounded) */
        const char *traceparent; /* W3C value sent as traceparent, or NULL */
        cairn_http_judge_fn judge;
        void *opaque;
        /* NULL, or one per request: a request whose body is NULL and whose
         * form has parts is a POST of them as multipart/form-data (curl
         * writes the Content-Type with its boundary, so its headers must
         * not), the parts' bytes copied into each attempt. */
        const struct cairn_http_form *forms;
        int attempts; /* out: rounds of requests made */
};

/* Sends @p call's requests and retries the failed ones until each was
 * taken by the judge, one failed for good, or the deadline leaves no room.
 * Transient failures go to the dependency's retry policy as UNAVAILABLE:
 * they are retried when its retry_on names UNAVAILABLE, whatever code they
 * end with. A request that gets no answer in time fails UNAVAILABLE
 * (CAIRN_HTTP_TIMEOUT, transient), or DEADLINE_EXCEEDED once the deadline
 * is near; no connection UNAVAILABLE (CAIRN_HTTP_UNREACHABLE, transient);
 * an answer over max_response_bytes UNAVAILABLE (CAIRN_HTTP_BAD_RESPONSE);
 * an open breaker UNAVAILABLE (BREAKER_OPEN); a full bulkhead
 * RESOURCE_EXHAUSTED. Messages name the provider. Returns CAIRN_OK, or the
 * error of a request that failed for good (else of the last failure) in
 * @p st. Blocks the calling thread; calls from many threads run at once. */
cairn_err_t cairn_http_call(struct cairn_http_client *hc, struct cairn_http_call *call,
                            struct cairn_status *st);

/* ---- pure helpers, for judges and tests ---- */

/* The usual judgement of an answer that is not 2xx, from provider @p name:
 * 429 UNAVAILABLE (CAIRN_HTTP_RATE_LIMITED, transient); 401 and 403
 * PERMISSION_DENIED (CAIRN_HTTP_REFUSED); 408, 5xx and 1xx UNAVAILABLE
 * (CAIRN_HTTP_ERROR, transient); another status INVALID_ARGUMENT
 * (CAIRN_HTTP_REJECTED). The message names the provider, the status and
 * the provider's own message (cairn_http_error_message). */
cairn_err_t cairn_http_status_error(const char *name, long status, const char *body, size_t len,
                                    bool *transient, struct cairn_status *st);

/* The provider's message from an error body (OpenAI's
 * {"error":{"message":...}}, {"error":"..."} as LibreTranslate and TEI
 * send, {"message":...}, or a plain text body), cut to @p size - 1 bytes of
 * printable ASCII (other bytes become '?'). Writes "" when there is none. */
void cairn_http_error_message(const char *body, size_t len, char *msg, size_t size);

/* The judgement of an answer that is not 2xx from provider @p name,
 * called with an API key: a refusal (401, 403, and a 400 whose message
 * speaks of an "api key" when @p refused_400) is our configuration, not
 * the caller's request: UNAVAILABLE (CAIRN_HTTP_REFUSED) naming
 * @p key_setting, the setting that holds the key sent (NULL: none was
 * sent; the message points at <section>.api_key_file and
 * <section>.api_key_secret); 429 RESOURCE_EXHAUSTED
 * (CAIRN_HTTP_RATE_LIMITED, transient); any other as
 * cairn_http_status_error(). */
cairn_err_t cairn_http_keyed_error(const char *name, const char *key_setting, const char *section,
                                   bool refused_400, const struct cairn_http_answer *a,
                                   bool *transient, struct cairn_status *st);

/* "host[:port]" of @p url, without scheme, credentials or path: what
 * messages and metrics call a provider. malloc'ed; NULL when out of
 * memory. */
char *cairn_http_url_name(const char *url);

/* @p base (its trailing '/'s dropped) followed by @p path ("/embeddings"):
 * an endpoint of a provider configured by its base URL. malloc'ed; NULL
 * when out of memory. */
char *cairn_http_url_join(const char *base, const char *path);

/* Checks @p url, the value of configuration key @p key: an http:// or
 * https:// URL of at most 1024 bytes without blanks. Returns 0, or -1 with
 * "config: <key>: ..." in @p errstr. */
int cairn_http_url_check(const char *key, const char *url, char *errstr, size_t errstr_size);

/* A Retry-After value in delta-seconds ("2", "0.5") as milliseconds (at
 * most a day), or -1 when it is not one (HTTP dates: curl_getdate). */
int64_t cairn_http_retry_after_ms(const char *value);

#endif
