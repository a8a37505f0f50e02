/* The service's state and handler table, and what every request shares:
 * the models it answers to, the deadline, and audio in and out of messages
 * (inline, or by claim check). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/blas.h"
#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/periodic.h"
#include "cairn/strlist.h"
#include "speech.h"
#include "tts.h"
#include "whisper.h"

const struct cairn_handler speech_handlers[] = {
        { &cairn__speech__v1__transcribe_request__descriptor, speech_transcribe_handle },
        { &cairn__speech__v1__synthesize_request__descriptor, speech_synthesize_handle },
        { &cairn__speech__v1__list_voices_request__descriptor, speech_voices_handle },
        { &cairn__speech__v1__list_models_request__descriptor, speech_models_handle },
        { NULL, NULL },
};

static int names_init(struct speech_model_names *m, const char *id, const char *aliases,
                      char *errstr, size_t errstr_size)
{
        struct cairn_strlist it;
        const char *item;
        size_t len;

        m->id = id;
        cairn_strlist_init(&it, aliases ? aliases : "", aliases ? strlen(aliases) : 0);
        while (cairn_strlist_next(&it, &item, &len)) {
                char **grown = realloc(m->aliases, (m->n_aliases + 1) * sizeof(*grown));

                if (!grown || !(grown[m->n_aliases] = strndup(item, len))) {
                        if (grown)
                                m->aliases = grown;
                        snprintf(errstr, errstr_size, "out of memory for the model aliases");
                        return -1;
                }
                m->aliases = grown;
                m->n_aliases++;
        }
        return 0;
}

static void names_free(struct speech_model_names *m)
{
        for (size_t i = 0; i < m->n_aliases; i++)
                free(m->aliases[i]);
        free(m->aliases);
        m->aliases = NULL;
        m->n_aliases = 0;
}

bool speech_remote_serves(const struct speech_service *svc, enum sp_remote_task task)
{
        return svc->remote && sp_remote_serves(svc->remote, task);
}

bool speech_may_fall_back(cairn_err_t rc)
{
        return rc == CAIRN_ERR_UNAVAILABLE || rc == CAIRN_ERR_INTERNAL ||
               rc == CAIRN_ERR_EXHAUSTED || rc == CAIRN_ERR_UNKNOWN;
}

bool speech_model_matches(const struct speech_model_names *m, const char *name)
{
        if (!name || !*name || strcmp(name, m->id) == 0)
                return true;
        for (size_t i = 0; i < m->n_aliases; i++)
                if (strcmp(name, m->aliases[i]) == 0)
                        return true;
        return false;
}

static void sweep(void *arg)
{
        struct speech_service *svc = arg;
        char err[256];
        long n = cairn_claims_sweep(svc->claims, 1000, err, sizeof(err));

        if (n < 0)
                cairn_log(WARN, "claims", "sweeping expired claims failed: %s", err);
}

int speech_service_init(struct speech_service *svc, const struct speech_conf *conf,
                        const struct speech_deps *deps, char *errstr, size_t errstr_size)
{
        static const double seconds[] = { 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 };
        static const char *const labels[] = { "method", "code", NULL };

        memset(svc, 0, sizeof(*svc));
        svc->conf = *conf;
        svc->remote = deps->remote;
        svc->remote_mode = deps->remote_mode;
        pthread_mutex_init(&svc->lock, NULL);
        pthread_cond_init(&svc->freed, NULL);
        if (names_init(&svc->stt, conf->stt_model, conf->stt_aliases, errstr, errstr_size) < 0 ||
            names_init(&svc->tts_names, conf->tts_model, conf->tts_aliases, errstr, errstr_size) <
                    0)
                return -1;
        /* one transcription's matrix products use `threads` cores; the
         * concurrency bound keeps the total at threads x concurrency */
        openblas_set_num_threads((int)conf->threads);
        svc->whisper = whisper_model_load(conf->whisper_dir, errstr, errstr_size);
        if (!svc->whisper)
                return -1;
        cairn_log(INFO, "WHISPER",
                  "%s loaded from %s; OpenBLAS runs its %s kernels on %lld threads",
                  conf->stt_model, conf->whisper_dir, cairn_blas_corename(), conf->threads);
        svc->tts = tts_new(conf->espeak_data && *conf->espeak_data ? conf->espeak_data : NULL,
                           errstr, errstr_size);
        if (!svc->tts)
                return -1;
        svc->claims = cairn_claims_new(deps->pg, conf->claims_ttl_s * 1000, deps->metrics, errstr,
                                       errstr_size);
        if (!svc->claims)
                return -1;
        svc->sweeper = cairn_periodic_start(conf->sweep_interval_ms, sweep, svc, false);
        svc->m_requests = cairn_metrics_counter(deps->metrics, "cairn_speech_requests_total",
                                                "Speech requests by method and outcome "
                                                "(a gRPC status code name)",
                                                labels);
        svc->m_seconds = cairn_metrics_histogram(deps->metrics, "cairn_speech_request_seconds",
                                                 "Time to answer a speech request, by method",
                                                 (const char *const[]){ "method", NULL }, seconds,
                                                 sizeof(seconds) / sizeof(*seconds));
        svc->m_audio_seconds = cairn_metrics_counter(
                deps->metrics, "cairn_speech_audio_seconds_total",
                "Seconds of audio transcribed (direction=in) or synthesised (direction=out)",
                (const char *const[]){ "direction", NULL });
        svc->m_empty = cairn_metrics_counter(
                deps->metrics, "cairn_speech_no_speech_total",
                "Recordings in which voice activity detection found no speech (empty text)", NULL);
        return 0;
}

void speech_service_cleanup(struct speech_service *svc)
{
        cairn_periodic_stop(svc->sweeper);
        cairn_claims_free(svc->claims);
        tts_free(svc->tts);
        whisper_model_free(svc->whisper);
        names_free(&svc->stt);
        names_free(&svc->tts_names);
        pthread_cond_destroy(&svc->freed);
        pthread_mutex_destroy(&svc->lock);
}

int64_t speech_deadline(const struct speech_service *svc, const struct cairn_request *req)
{
        int64_t d = req->hdrs ? req->hdrs->deadline_ms : 0;

        return d > 0 ? d : cairn_now_ms() + svc->conf.timeout_ms;
}

/* Microseconds on the monotonic clock until @p deadline_ms (realtime). */
static int64_t mono_deadline(int64_t deadline_ms)
{
        return cairn_mono_us() + (deadline_ms - cairn_now_ms()) * 1000;
}

cairn_err_t speech_audio_bytes(struct speech_service *svc, struct cairn_request *req,
                               const Cairn__Speech__V1__Audio *audio, const char *field,
                               const uint8_t **bytes, size_t *len, struct cairn_status *st)
{
        struct cairn_claim claim = { 0 };
        struct cairn_buf buf = { 0 };
        char err[256];
        cairn_err_t rc;

        if (!audio || audio->body_case == CAIRN__SPEECH__V1__AUDIO__BODY__NOT_SET)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "NO_AUDIO",
                                        "%s holds no audio (neither data nor claim)", field);
        if (audio->body_case == CAIRN__SPEECH__V1__AUDIO__BODY_DATA) {
                *bytes = audio->data.data;
                *len = audio->data.len;
        } else {
                const Cairn__Speech__V1__Claim *c = audio->claim;

                if (!c || !c->id || strlen(c->id) >= sizeof(claim.id) ||
                    c->sha256.len != sizeof(claim.sha256))
                        return cairn_status_set(st, CAIRN_ERR_INVALID, field, "BAD_CLAIM",
                                                "%s.claim needs an id (a UUID), a size and a "
                                                "32-byte sha256",
                                                field);
                if (c->size > (uint64_t)svc->conf.max_audio_bytes)
                        goto too_large;
                strcpy(claim.id, c->id);
                claim.size = c->size;
                memcpy(claim.sha256, c->sha256.data, sizeof(claim.sha256));
                rc = cairn_claims_get(svc->claims, mono_deadline(speech_deadline(svc, req)), &claim,
                                      &buf, err, sizeof(err));
                if (rc != CAIRN_OK) {
                        cairn_buf_cleanup(&buf);
                        return cairn_status_set(st, rc, field,
                                                rc == CAIRN_ERR_NOT_FOUND ? "CLAIM_NOT_FOUND"
                                                                          : NULL,
                                                "%s.claim %s: %s", field, claim.id, err);
                }
                /* the bytes live as long as the request */
                *bytes = cairn_arena_alloc(req->arena, buf.len ? buf.len : 1);
                if (!*bytes) {
                        cairn_buf_cleanup(&buf);
                        return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, field, NULL,
                                                "%s does not fit in this request's memory "
                                                "(bus.max_request_bytes)",
                                                field);
                }
                memcpy((void *)*bytes, buf.p, buf.len);
                *len = buf.len;
                cairn_buf_cleanup(&buf);
        }
        if (*len == 0)
                return cairn_status_set(st, CAIRN_ERR_INVALID, field, "EMPTY_AUDIO",
                                        "%s is empty (0 bytes)", field);
        if (*len > (size_t)svc->conf.max_audio_bytes)
                goto too_large;
        return CAIRN_OK;
too_large:
        return cairn_status_set(st, CAIRN_ERR_INVALID, field, "AUDIO_TOO_LARGE",
                                "%s is larger than speech.max_audio_bytes (%lld bytes)", field,
                                svc->conf.max_audio_bytes);
}

Cairn__Speech__V1__Audio *speech_audio_out(struct speech_service *svc, struct cairn_request *req,
                                           const void *bytes, size_t len, const char *content_type,
                                           struct cairn_status *st)
{
        Cairn__Speech__V1__Audio *a = cairn_arena_alloc(req->arena, sizeof(*a));
        char err[256];

        if (!a)
                goto full;
        cairn__speech__v1__audio__init(a);
        a->content_type = (char *)content_type;
        if (len <= (size_t)svc->conf.inline_max_bytes) {
                a->body_case = CAIRN__SPEECH__V1__AUDIO__BODY_DATA;
                a->data.data = cairn_arena_alloc(req->arena, len ? len : 1);
                if (!a->data.data)
                        goto full;
                memcpy(a->data.data, bytes, len);
                a->data.len = len;
                return a;
        }
        struct cairn_claim claim;
        Cairn__Speech__V1__Claim *c = cairn_arena_alloc(req->arena, sizeof(*c));
        cairn_err_t rc;

        if (!c)
                goto full;
        rc = cairn_claims_put(svc->claims, mono_deadline(speech_deadline(svc, req)), bytes, len,
                              &claim, err, sizeof(err));
        if (rc != CAIRN_OK) {
                cairn_status_set(st, rc, NULL, NULL, "storing %zu bytes of audio by claim: %s", len,
                                 err);
                return NULL;
        }
        cairn__speech__v1__claim__init(c);
        c->id = cairn_arena_strdup(req->arena, claim.id);
        c->size = claim.size;
        c->sha256.data = cairn_arena_alloc(req->arena, sizeof(claim.sha256));
        if (!c->id || !c->sha256.data)
                goto full;
        memcpy(c->sha256.data, claim.sha256, sizeof(claim.sha256));
        c->sha256.len = sizeof(claim.sha256);
        a->body_case = CAIRN__SPEECH__V1__AUDIO__BODY_CLAIM;
        a->claim = c;
        return a;
full:
        cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "REPLY_TOO_LARGE",
                         "the reply does not fit in this request's memory "
                         "(bus.max_request_bytes)");
        return NULL;
}
