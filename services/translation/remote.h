/* A LibreTranslate-compatible HTTP server as a second translation engine:
 * for pairs Apertium does not have, or instead of it when it fails, as the
 * mode says (engine.c decides which engine answers; this module only
 * talks to the provider).
 *
 * Translations go out as POST /translate with a q array of at most
 * max_batch texts per request (requests of one call run at once), the API
 * key in the body as LibreTranslate wants it, through the resilience of the
 * dependency "translation_provider" (cairn/http_client.h: retries of 429,
 * 5xx, timeouts and refused connections, Retry-After, the breaker, the
 * deadline). The pairs the provider offers come from its GET /languages,
 * fetched in the background at start (readiness does not wait for it),
 * again every refresh_ms, and sooner after a failed fetch. */
#ifndef TRANSLATION_REMOTE_H
#define TRANSLATION_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/conf.h"
#include "cairn/err.h"
#include "cairn/status.h"
#include "remote_wire.h"

struct cairn_metrics;
struct cairn_resilience_conf;
struct cairn_secret_refs;

/* The dependency whose resilience.<name>.* keys the provider's calls use. */
#define TR_REMOTE_DEPENDENCY "translation_provider"

/* When the remote provider answers (engine.c applies it). */
enum tr_remote_mode {
        TR_REMOTE_MISSING,  /* only pairs Apertium cannot reach, even through a pivot */
        TR_REMOTE_FALLBACK, /* those, and any pair it offers when Apertium fails */
        TR_REMOTE_PREFER,   /* first for every pair it offers; Apertium when it fails */
};

/* Settings: the keys translation.remote.* (section "Remote provider"). */
struct tr_remote_conf {
        const char *url;            /* base URL; "" : no remote provider */
        const char *mode;           /* missing, fallback, prefer */
        const char *api_key_file;   /* "" : none */
        const char *api_key_secret; /* "<path>#<field>" in the secrets service; "" : none */
        long long timeout_ms;       /* a language-list fetch, and calls without a deadline */
        long long connect_timeout_ms;
        long long max_batch;      /* texts per POST /translate */
        long long max_text_bytes; /* longest text sent; 0: no limit of its own */
        long long max_response_bytes;
        long long refresh_ms; /* how often the language list is fetched again */
};

/* The section that loads into @p c (borrowed: it must outlive the loaded
 * configuration), with its check (an http(s) URL, a known mode, one of
 * api_key_file and api_key_secret, a reference that parses). */
struct cairn_conf_section tr_remote_conf_section(struct tr_remote_conf *c);

/* Whether @p c names a provider (url set), and whether its key lives in the
 * secrets service (then tr_remote_new needs a struct cairn_secret_refs). */
bool tr_remote_conf_enabled(const struct tr_remote_conf *c);
bool tr_remote_conf_wants_secrets(const struct tr_remote_conf *c);

struct tr_remote;

/* Creates the provider of @p c (url set; strings copied) with the
 * resilience settings @p res (its dependency name is kept), reading the key
 * file now or adding the key's reference to @p secrets (borrowed, must
 * outlive the provider; NULL when c->api_key_secret is empty), and starts
 * fetching its language list. @p metrics may be NULL. NULL with a message
 * naming the key in @p errstr when the key file is refused or out of
 * memory. */
struct tr_remote *tr_remote_new(const struct tr_remote_conf *c,
                                const struct cairn_resilience_conf *res,
                                struct cairn_secret_refs *secrets, struct cairn_metrics *metrics,
                                char *errstr, size_t errstr_size);

/* Stops the language fetches and frees @p r; no call may be under way.
 * NULL is fine. */
void tr_remote_free(struct tr_remote *r);

enum tr_remote_mode tr_remote_mode(const struct tr_remote *r);

/* "host:port" of the provider, as messages and metrics name it. */
const char *tr_remote_name(const struct tr_remote *r);

/* CAIRN_OK once a language list has been fetched (a later failed fetch
 * keeps it); until then CAIRN_ERR_UNAVAILABLE (reason
 * UPSTREAM_LANGUAGES_UNKNOWN) with the last fetch's error in @p st, so that
 * a request for a pair only the provider could have says why it cannot be
 * answered. Any thread. */
cairn_err_t tr_remote_languages_status(struct tr_remote *r, struct cairn_status *st);

/* Copies at most @p max of the provider's pairs, sorted by source then
 * target, into @p out; returns how many it has (more than @p max when they
 * did not fit). 0 until the list is known. Any thread. */
size_t tr_remote_pairs(struct tr_remote *r, struct tr_remote_pair *out, size_t max);

/* Whether the provider's last list has @p source -> @p target. Any thread. */
bool tr_remote_has_pair(struct tr_remote *r, const char *source, const char *target);

/* Asks for the language list now (tests, a provider that was down). */
void tr_remote_refresh(struct tr_remote *r);

/* Translates texts[0..n) (borrowed, UTF-8) from @p source to @p target,
 * HTML when @p html, before @p deadline_ms (unix ms; 0: timeout_ms from
 * now), sending @p traceparent (or NULL). On CAIRN_OK out[i] is a malloc'ed
 * translation of texts[i] (the caller frees each); on error every out[i]
 * is NULL and @p st says why, naming the provider:
 *   INVALID_ARGUMENT    a text over max_text_bytes (field "texts[i]"), or
 *                       the provider refused the request (HTTP 400 and
 *                       other 4xx, with its message: "de is not supported")
 *   UNAVAILABLE         5xx, no connection, a malformed answer (what was
 *                       wrong), an open breaker, the key unavailable
 *                       (SECRET_UNAVAILABLE), or the provider refusing our
 *                       key (401, 403, or 400 about the key:
 *                       UPSTREAM_REFUSED, naming the setting to fix)
 *   RESOURCE_EXHAUSTED  429 until the retries ran out, or the bulkhead full
 *   DEADLINE_EXCEEDED   no answer before the deadline
 * 429, 5xx, timeouts and refused connections are retried first as
 * resilience.translation_provider.* says. @locality any thread; calls run
 * concurrently. */
cairn_err_t tr_remote_translate(struct tr_remote *r, const char *source, const char *target,
                                bool html, const char *const *texts, size_t n, int64_t deadline_ms,
                                const char *traceparent, char **out, struct cairn_status *st);

#endif
