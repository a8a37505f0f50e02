/* An OpenAI-compatible audio server as a remote speech engine: speech to
 * text through POST <url>/audio/transcriptions and text to speech through
 * POST <url>/audio/speech. This module only talks to the provider; which
 * requests go to it, and in which order with the built-in engines, is the
 * service's choice (transcribe.c, synthesize.c).
 *
 * Transcriptions go out as multipart/form-data (file, model, language,
 * prompt, response_format=verbose_json, temperature,
 * timestamp_granularities[]) and their verbose_json answer comes back as a
 * cairn.speech.v1.TranscribeReply (remote_wire.h says how each member is
 * read). Speech goes out as JSON (model, input, voice, response_format,
 * speed) and comes back as the audio bytes with their Content-Type. The
 * API key goes as "Authorization: Bearer", from a file or the secrets
 * service. Every call goes through the resilience of the dependency
 * "speech_provider" (cairn/http_client.h: retries of 429, 5xx, timeouts and
 * refused connections, Retry-After, the breaker, the deadline). */
#ifndef SPEECH_REMOTE_H
#define SPEECH_REMOTE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/conf.h"
#include "cairn/err.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "cairn/status.h"

struct cairn_metrics;
struct cairn_resilience_conf;
struct cairn_secret_refs;

/* The dependency whose resilience.<name>.* keys the provider's calls use. */
#define SP_REMOTE_DEPENDENCY "speech_provider"

/* Settings: the keys speech.remote.* (section "Remote provider"). */
struct sp_remote_conf {
        const char *url;                 /* base URL, ".../v1"; "": no remote provider */
        const char *api_key_file;        /* "": none */
        const char *api_key_secret;      /* "<path>#<field>" in the secrets service; "": none */
        const char *transcription_model; /* the model name sent for transcriptions */
        const char *speech_model;        /* the model name sent for speech */
        const char *tasks;               /* "transcription", "speech", or both, comma-separated */
        const char *mode;                /* "missing", "fallback" or "prefer" */
        long long timeout_ms;            /* calls whose request has no deadline */
        long long connect_timeout_ms;
        long long max_response_bytes;
};

enum sp_remote_task {
        SP_REMOTE_TRANSCRIPTION = 1,
        SP_REMOTE_SPEECH = 2,
};

/* The section that loads into @p c (borrowed: it must outlive the loaded
 * configuration), with its check (an http(s) URL, known tasks, one of
 * api_key_file and api_key_secret, a reference that parses). */
struct cairn_conf_section sp_remote_conf_section(struct sp_remote_conf *c);

/* Whether @p c names a provider (url set), and whether its key lives in the
 * secrets service (then sp_remote_new needs a struct cairn_secret_refs). */
bool sp_remote_conf_enabled(const struct sp_remote_conf *c);
bool sp_remote_conf_wants_secrets(const struct sp_remote_conf *c);

/* When the service asks the provider (speech.remote.mode). */
enum sp_remote_mode {
        SP_REMOTE_MISSING,  /* only for what the built-in engines cannot do */
        SP_REMOTE_FALLBACK, /* that, and when they fail */
        SP_REMOTE_PREFER,   /* first; the built-in engines when it fails */
};
enum sp_remote_mode sp_remote_conf_mode(const struct sp_remote_conf *c);

/* The tasks speech.remote.tasks names, as bits of enum sp_remote_task (0
 * when the list does not parse: the section's check refuses it). */
int sp_remote_conf_tasks(const struct sp_remote_conf *c);

struct sp_remote;

/* Creates the provider of @p c (url set; strings copied) with the
 * resilience settings @p res (its dependency name is kept), reading the key
 * file now or adding the key's reference to @p secrets (borrowed, must
 * outlive the provider; NULL when c->api_key_secret is empty). @p metrics
 * may be NULL. NULL with a message naming the setting in @p errstr when the
 * key file is refused or out of memory. Connects to nothing: a provider
 * that is down at start is no error. */
struct sp_remote *sp_remote_new(const struct sp_remote_conf *c,
                                const struct cairn_resilience_conf *res,
                                struct cairn_secret_refs *secrets, struct cairn_metrics *metrics,
                                char *errstr, size_t errstr_size);

/* Frees @p r; no call may be under way. NULL is fine. */
void sp_remote_free(struct sp_remote *r);

/* "host:port" of the provider, as messages and metrics name it. */
const char *sp_remote_name(const struct sp_remote *r);

/* Whether speech.remote.tasks names @p task. */
bool sp_remote_serves(const struct sp_remote *r, enum sp_remote_task task);

/* The model names sent (speech.remote.transcription_model, speech_model). */
const char *sp_remote_transcription_model(const struct sp_remote *r);
const char *sp_remote_speech_model(const struct sp_remote *r);

/* Transcribes the @p len bytes at @p audio (borrowed) as @p req asks
 * (language, prompt, temperature, word_timestamps; audio.filename and
 * audio.content_type name the file part, "audio" and none when empty; its
 * body is not read) before @p deadline_ms (unix ms; 0: timeout_ms from
 * now), sending @p traceparent (or NULL).
 *
 * On CAIRN_OK *@p out is the provider's transcript (engine "remote", model
 * the transcription model sent) allocated with @p alloc (NULL: malloc;
 * then free it with cairn__speech__v1__transcribe_reply__free_unpacked(out,
 * NULL)); on error *@p out is NULL and @p st says why, naming the provider:
 *   INVALID_ARGUMENT    the provider refused the request (400, 404, 413,
 *                       415, 422 and other 4xx, with its message)
 *   UNAVAILABLE         5xx, no connection, an answer that is not a
 *                       transcription (what was wrong), an open breaker
 *                       (with the last failure), the key unavailable
 *                       (SECRET_UNAVAILABLE), or the provider refusing our
 *                       key (401, 403: UPSTREAM_REFUSED, naming the setting
 *                       to fix)
 *   RESOURCE_EXHAUSTED  429 until the retries ran out, or the bulkhead full
 *   DEADLINE_EXCEEDED   no answer before the deadline
 * 429, 5xx, timeouts and refused connections are retried first as
 * resilience.speech_provider.* says. @locality any thread; calls run
 * concurrently (@p alloc is used on the calling thread only). */
cairn_err_t sp_remote_transcribe(struct sp_remote *r,
                                 const Cairn__Speech__V1__TranscribeRequest *req, const void *audio,
                                 size_t len, int64_t deadline_ms, const char *traceparent,
                                 ProtobufCAllocator *alloc,
                                 Cairn__Speech__V1__TranscribeReply **out, struct cairn_status *st);

/* Synthesised audio: malloc'ed bytes the caller frees with
 * sp_remote_speech_cleanup(), and their type as the provider named it (or,
 * when it named none, the format's usual one). */
struct sp_remote_speech {
        uint8_t *data;
        size_t len;
        char content_type[128];
};

/* Speaks @p req's input with its voice ("alloy" when empty, else passed as
 * given), format and speed (0: not sent) through the speech model, before
 * @p deadline_ms, into @p out. Errors as sp_remote_transcribe(), and
 * UNAVAILABLE (UPSTREAM_BAD_RESPONSE) for an answer that is empty or JSON
 * rather than audio; INVALID_ARGUMENT for an input that is not UTF-8 or a
 * format outside the enum. @locality any thread. */
cairn_err_t sp_remote_synthesize(struct sp_remote *r,
                                 const Cairn__Speech__V1__SynthesizeRequest *req,
                                 int64_t deadline_ms, const char *traceparent,
                                 struct sp_remote_speech *out, struct cairn_status *st);
void sp_remote_speech_cleanup(struct sp_remote_speech *out);

#endif
