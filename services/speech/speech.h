/* The speech service: its configuration, its state (the Whisper model, the
 * text-to-speech engines, the claim store, the models it answers to) and
 * its handler table (transcribe, synthesize, list voices, list models). */
#ifndef SPEECH_SPEECH_H
#define SPEECH_SPEECH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/bus.h"
#include "cairn/claims.h"
#include "cairn/conf.h"
#include "cairn/speech/v1/speech.pb-c.h"
#include "remote.h"

struct cairn_metrics;
struct cairn_metric;
struct cairn_periodic;
struct cairn_pg;
struct whisper_model;
struct tts;

struct speech_conf {
        const char *whisper_dir;
        const char *stt_model;   /* the Whisper model's id */
        const char *stt_aliases; /* comma-separated */
        const char *tts_model;
        const char *tts_aliases;
        long long threads;     /* BLAS threads of one transcription */
        long long concurrency; /* transcriptions computing at once */
        bool vad;
        bool denoise;
        long long max_audio_bytes;
        double max_audio_seconds;
        long long max_input_chars;
        long long inline_max_bytes;
        long long claims_ttl_s;
        long long sweep_interval_ms;
        long long timeout_ms;
        const char *espeak_data;
};

extern const struct cairn_conf_item speech_conf_items[];
struct cairn_conf_section speech_conf_section(struct speech_conf *conf);

/* What the service uses besides its configuration. */
struct speech_deps {
        struct cairn_pg *pg; /* the claim store's database */
        struct cairn_metrics *metrics;
        struct sp_remote *remote; /* an OpenAI-compatible provider, or NULL */
        enum sp_remote_mode remote_mode;
};

/* The names a model answers to: its id and its aliases. */
struct speech_model_names {
        const char *id;
        char **aliases;
        size_t n_aliases;
};

struct speech_service {
        struct speech_conf conf;
        struct whisper_model *whisper;
        struct tts *tts;
        struct cairn_claims *claims;
        struct cairn_periodic *sweeper;
        struct sp_remote *remote; /* borrowed; NULL: none */
        enum sp_remote_mode remote_mode;
        struct speech_model_names stt, tts_names;
        /* at most conf.concurrency transcriptions compute at once */
        pthread_mutex_t lock;
        pthread_cond_t freed;
        long long computing;
        struct cairn_metric *m_requests, *m_seconds, *m_audio_seconds, *m_empty;
};

/* Loads the model and the engines, opens the claim store and starts its
 * sweeper. Returns 0, or -1 with @p errstr. */
int speech_service_init(struct speech_service *svc, const struct speech_conf *conf,
                        const struct speech_deps *deps, char *errstr, size_t errstr_size);
void speech_service_cleanup(struct speech_service *svc);

extern const struct cairn_handler speech_handlers[];

cairn_err_t speech_transcribe_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                     ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t speech_synthesize_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                     ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t speech_voices_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t speech_models_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st);

/* The request's deadline (realtime ms): its header's, or speech.timeout_ms from now. */
int64_t speech_deadline(const struct speech_service *svc, const struct cairn_request *req);

/* Whether the remote provider may be asked for @p task ... */
bool speech_remote_serves(const struct speech_service *svc, enum sp_remote_task task);

/* ... and whether to try it after the built-in engines failed with @p rc
 * (a failure of theirs, not of the request), or them after it did. */
bool speech_may_fall_back(cairn_err_t rc);

/* Whether @p name ("" included: the default) names @p m. */
bool speech_model_matches(const struct speech_model_names *m, const char *name);

/* The bytes of @p audio, inline or fetched by claim into @p arena; CAIRN_OK
 * or an error in @p st naming @p field. */
cairn_err_t speech_audio_bytes(struct speech_service *svc, struct cairn_request *req,
                               const Cairn__Speech__V1__Audio *audio, const char *field,
                               const uint8_t **bytes, size_t *len, struct cairn_status *st);

/* An Audio message holding @p len bytes: inline up to speech.inline_max_bytes,
 * else stored by claim. NULL with @p st set. */
Cairn__Speech__V1__Audio *speech_audio_out(struct speech_service *svc, struct cairn_request *req,
                                           const void *bytes, size_t len, const char *content_type,
                                           struct cairn_status *st);

#endif
