/* Transcription (whisper.h) as faster-whisper does it with its defaults
 * for English: the clip's log-mel cut into 30 s windows; per window, the
 * previous text as prompt, greedy decoding under Whisper's rules
 * (suppress_blank, suppress_tokens, timestamps in pairs and increasing,
 * the first at most 1 s in), temperature fallback (0, 0.2, ... 1.0) while
 * the text compresses too well or its mean log-probability is too low,
 * windows without speech skipped, and the next window starting at the
 * last timestamp. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "whisper.h"
#include "whisper_align.h"
#include "whisper_mel.h"
#include "whisper_model.h"
#include "whisper_net.h"

#define TIME_PRECISION           0.02 /* seconds a timestamp token stands for */
#define INPUT_STRIDE             2    /* mel frames per encoder step */
#define MAX_INITIAL_TIMESTAMP    50   /* 1.0 s: the first timestamp's last allowed index */
#define COMPRESSION_THRESHOLD    2.4f
#define PROMPT_RESET_TEMPERATURE 0.5f
#define BEST_OF                  5 /* samples per temperature above 0 */
static const float temperatures[] = { 0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f };
#define N_TEMPERATURES (sizeof(temperatures) / sizeof(*temperatures))

void whisper_opts_default(struct whisper_opts *o)
{
        memset(o, 0, sizeof(*o));
        o->no_speech_threshold = 0.6f;
        o->logprob_threshold = -1.0f;
        o->fallback = true;
}

/* One decoding of one window. */
struct attempt {
        unsigned *tokens;
        size_t n;
        double score; /* CTranslate2's: the summed log-probability over the tokens */
        float avg_logprob, compression_ratio, temperature;
};

struct run {
        const struct whisper_model *m;
        const struct whisper_opts *opts;
        struct whisper_state *s;
        float *first;  /* the logits after the prompt, n_vocab */
        float *logits; /* the working copy, n_vocab */
        uint64_t rng;
        struct whisper_result *out;
        size_t seg_cap;
        unsigned *history; /* every kept segment's tokens: the next prompts */
        size_t n_history, history_cap, prompt_since;
        double last_speech; /* the end of the last segment with words */
        char *errstr;
        size_t errstr_size;
};

static float compression_ratio(const char *text)
{
        const size_t len = strlen(text);
        uLongf clen = compressBound(len);
        Bytef *buf = malloc(clen);
        float r = 0.0f;

        if (!buf)
                return 0.0f;
        if (compress2(buf, &clen, (const Bytef *)text, len, Z_DEFAULT_COMPRESSION) == Z_OK && clen)
                r = (float)len / (float)clen;
        free(buf);
        return r;
}

/* xorshift64*: the seeded sampler's randomness, uniform in [0, 1) */
static double uniform(uint64_t *x)
{
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        return (double)((*x * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0;
}

static void suppress(float *l, size_t from, size_t to)
{
        for (size_t i = from; i < to; i++)
                l[i] = -INFINITY;
}

/* Whisper's logit filters for the next token after @p seq[0..n), as
 * CTranslate2 applies them for faster-whisper. Returns the log of the
 * filtered logits' normaliser (their logsumexp). */
static double apply_rules(const struct whisper_model *m, float *l, const unsigned *seq, size_t n)
{
        const struct whisper_vocab *v = &m->vocab;
        const size_t tb = (size_t)v->timestamp_begin, V = m->n_vocab;
        double max_all = -INFINITY, ts_sum = 0, text_sum = 0, max_text = -INFINITY;

        if (n == 0) {
                /* suppress_blank */
                for (size_t i = 0; i < m->n_suppress_begin; i++)
                        l[m->suppress_begin[i]] = -INFINITY;
        }
        for (size_t i = 0; i < m->n_suppress; i++)
                l[m->suppress[i]] = -INFINITY;
        /* faster-whisper adds these to suppress_tokens */
        l[v->sot] = l[v->sot_prev] = -INFINITY;
        if (v->translate >= 0)
                l[v->translate] = -INFINITY;
        if (v->transcribe >= 0)
                l[v->transcribe] = -INFINITY;
        if (v->sot_lm >= 0)
                l[v->sot_lm] = -INFINITY;
        if (v->no_speech >= 0)
                l[v->no_speech] = -INFINITY;
        l[v->no_timestamps] = -INFINITY;
        if (n > 0) {
                const int last_ts = seq[n - 1] >= tb;
                const int penult_ts = n < 2 || seq[n - 2] >= tb;
                size_t ts_last = 0;
                int have_ts = 0;

                if (last_ts) {
                        if (penult_ts)
                                suppress(l, tb, V);
                        else
                                suppress(l, 0, (size_t)v->eot);
                }
                for (size_t i = n; i-- > 0;) {
                        if (seq[i] >= tb) {
                                ts_last = seq[i];
                                have_ts = 1;
                                break;
                        }
                }
                /* timestamps do not decrease (CTranslate2's rule: the
                 * last one may repeat, closing a pair) */
                if (have_ts)
                        suppress(l, tb, ts_last < V ? ts_last : V);
        } else {
                suppress(l, 0, tb);
                suppress(l, tb + MAX_INITIAL_TIMESTAMP + 1, V);
        }
        /* a timestamp when their summed probability beats every text token */
        for (size_t i = 0; i < V; i++)
                max_all = l[i] > max_all ? l[i] : max_all;
        if (isinf(max_all))
                return max_all;
        for (size_t i = 0; i < V; i++) {
                const double e = exp((double)l[i] - max_all);

                if (i >= tb) {
                        ts_sum += e;
                } else {
                        text_sum += e;
                        if (l[i] > max_text)
                                max_text = l[i];
                }
        }
        if (n > 0 && ts_sum > 0 && log(ts_sum) > max_text - max_all) {
                suppress(l, 0, tb);
                return max_all + log(ts_sum);
        }
        return max_all + log(text_sum + ts_sum);
}

static size_t pick(struct run *r, const float *l, float temperature)
{
        const size_t V = r->m->n_vocab;
        size_t best = 0;

        for (size_t i = 1; i < V; i++)
                best = l[i] > l[best] ? i : best;
        if (temperature > 0) {
                double sum = 0, u, acc = 0;

                for (size_t i = 0; i < V; i++)
                        sum += exp(((double)l[i] - l[best]) / temperature);
                u = uniform(&r->rng) * sum;
                for (size_t i = 0; i < V; i++) {
                        const double p = exp(((double)l[i] - l[best]) / temperature);

                        if (p > 0 && (acc += p) > u)
                                return i;
                }
        }
        return best;
}

/* Decodes one window at @p temperature after a prompt of @p np tokens
 * already in the cache; @p a gets the tokens (without the end token). */
static int attempt(struct run *r, size_t np, float temperature, struct attempt *a)
{
        const struct whisper_model *m = r->m;
        /* CTranslate2's max_length: half the context, and no more than the
         * prompt (less its start token) leaves */
        const size_t V = m->n_vocab, room = m->n_text_ctx / 2 < m->n_text_ctx - (np - 1)
                                                    ? m->n_text_ctx / 2
                                                    : m->n_text_ctx - (np - 1);
        double sum_logprob = 0;
        char *text;

        memset(a, 0, sizeof(*a));
        a->temperature = temperature;
        a->tokens = malloc(sizeof(unsigned) * (room + 1));
        if (!a->tokens)
                return -1;
        whisper_rewind(r->s, np);
        memcpy(r->logits, r->first, V * sizeof(float));
        for (;;) {
                const double norm = apply_rules(m, r->logits, a->tokens, a->n);
                const size_t id = pick(r, r->logits, temperature);

                sum_logprob += (double)r->logits[id] - norm;
                if (id == (size_t)m->vocab.eot)
                        break;
                a->tokens[a->n++] = (unsigned)id;
                if (a->n >= room)
                        break;
                memcpy(r->logits, whisper_decode_step(r->s, &a->tokens[a->n - 1], 1),
                       V * sizeof(float));
        }
        a->score = sum_logprob / (double)(a->n ? a->n : 1);
        a->avg_logprob = (float)(sum_logprob / (double)(a->n + 1));
        text = whisper_vocab_decode(&m->vocab, a->tokens, a->n);
        if (!text)
                return -1;
        {
                /* the ratio of the stripped text, as faster-whisper measures it */
                char *p = text, *e;

                while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                        p++;
                e = p + strlen(p);
                while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
                        *--e = '\0';
                a->compression_ratio = compression_ratio(p);
        }
        free(text);
        return 0;
}

/* One decoding at temperature @p t: greedy at 0; above, the best of
 * BEST_OF samples by their mean log-probability, as CTranslate2 returns
 * faster-whisper's best_of hypotheses. */
static int sample(struct run *r, size_t np, float t, struct attempt *a)
{
        const int draws = t > 0 ? BEST_OF : 1;

        memset(a, 0, sizeof(*a));
        for (int i = 0; i < draws; i++) {
                struct attempt b;

                if (attempt(r, np, t, &b)) {
                        free(b.tokens);
                        free(a->tokens);
                        a->tokens = NULL;
                        return -1;
                }
                if (i == 0 || b.score > a->score) {
                        free(a->tokens);
                        *a = b;
                } else {
                        free(b.tokens);
                }
        }
        return 0;
}

/* A segment of a window before it is kept (or dropped, when empty). */
struct pending {
        double start, end;
        const unsigned *tokens;
        size_t n;
        struct whisper_word *words;
        size_t n_words;
};

static int add_segment(struct run *r, unsigned seek, struct pending *p, const struct attempt *a,
                       float no_speech_prob)
{
        const unsigned *tokens = p->tokens;
        const size_t n = p->n;
        const double start = p->start, end = p->end;
        struct whisper_result *out = r->out;
        struct whisper_segment *sg;
        char *text = whisper_vocab_decode(&r->m->vocab, tokens, n);
        int blank = 1;

        if (!text)
                return -1;
        for (const char *c = text; *c; c++)
                blank &= *c == ' ' || *c == '\t' || *c == '\n' || *c == '\r';
        if (start == end || blank) {
                free(text);
                return 0;
        }
        if (out->n_segments == r->seg_cap) {
                const size_t cap = r->seg_cap ? 2 * r->seg_cap : 8;
                struct whisper_segment *grown = realloc(out->segments, cap * sizeof(*grown));

                if (!grown) {
                        free(text);
                        return -1;
                }
                out->segments = grown;
                r->seg_cap = cap;
        }
        if (r->n_history + n > r->history_cap) {
                const size_t cap = 2 * (r->n_history + n);
                unsigned *grown = realloc(r->history, cap * sizeof(*grown));

                if (!grown) {
                        free(text);
                        return -1;
                }
                r->history = grown;
                r->history_cap = cap;
        }
        sg = &out->segments[out->n_segments];
        memset(sg, 0, sizeof(*sg));
        sg->tokens = malloc(sizeof(unsigned) * (n ? n : 1));
        if (!sg->tokens) {
                free(text);
                return -1;
        }
        memcpy(sg->tokens, tokens, n * sizeof(unsigned));
        memcpy(r->history + r->n_history, tokens, n * sizeof(unsigned));
        r->n_history += n;
        sg->n_tokens = n;
        sg->text = text;
        sg->start = start;
        sg->end = end;
        sg->seek = seek;
        sg->avg_logprob = a->avg_logprob;
        sg->compression_ratio = a->compression_ratio;
        sg->temperature = a->temperature;
        sg->no_speech_prob = no_speech_prob;
        out->n_segments++;
        if (p->n_words) {
                struct whisper_word *grown = realloc(out->words,
                                                     (out->n_words + p->n_words) * sizeof(*grown));

                if (!grown)
                        return -1;
                out->words = grown;
                /* the words move into the result */
                memcpy(out->words + out->n_words, p->words, p->n_words * sizeof(*grown));
                out->n_words += p->n_words;
                p->n_words = 0;
        }
        return 0;
}

/* faster-whisper's _split_segments_by_timestamps: the segments of one
 * window's tokens into @p p (room a->n + 1), and where the next window
 * starts. Returns how many. */
static size_t split(const struct run *r, const struct attempt *a, size_t seek, size_t segment_size,
                    struct pending *p, size_t *next_seek, int *single)
{
        const unsigned tb = (unsigned)r->m->vocab.timestamp_begin;
        const unsigned *t = a->tokens;
        const size_t n = a->n;
        const double offset = (double)seek * WHISPER_HOP / WHISPER_SAMPLE_RATE;
        const int single_ending = n >= 2 && t[n - 2] < tb && t[n - 1] >= tb;
        size_t last = 0, consecutive = 0, np = 0;

        *single = single_ending;
        memset(p, 0, (n + 1) * sizeof(*p));
        for (size_t i = 1; i < n; i++)
                consecutive += t[i] >= tb && t[i - 1] >= tb;
        if (consecutive) {
                for (size_t i = 1; i <= n; i++) {
                        const int cut = i < n ? t[i] >= tb && t[i - 1] >= tb : single_ending;

                        if (!cut)
                                continue;
                        p[np].start = offset + (t[last] - tb) * TIME_PRECISION;
                        p[np].end = offset + (t[i - 1] - tb) * TIME_PRECISION;
                        p[np].tokens = t + last;
                        p[np].n = i - last;
                        np++;
                        last = i;
                }
                if (single_ending)
                        *next_seek = seek + segment_size;
                else
                        *next_seek = seek + (t[last - 1] - tb) * INPUT_STRIDE;
        } else {
                double duration = (double)segment_size * WHISPER_HOP / WHISPER_SAMPLE_RATE;

                for (size_t i = n; i-- > 0;) {
                        if (t[i] >= tb) {
                                if (t[i] != tb)
                                        duration = (t[i] - tb) * TIME_PRECISION;
                                break;
                        }
                }
                p[0].start = offset;
                p[0].end = offset + duration;
                p[0].tokens = t;
                p[0].n = n;
                np = 1;
                *next_seek = seek + segment_size;
        }
        return np;
}

static double round2(double x)
{
        return round(x * 100.0) / 100.0;
}

/* faster-whisper's add_word_timestamps over one window's segments, and
 * the next window's start moved to the last word's end. */
static int add_words(struct run *r, struct pending *p, size_t np, size_t seek, size_t segment_size,
                     int single_ending, size_t *next_seek)
{
        const unsigned eot = (unsigned)r->m->vocab.eot;
        const double offset = (double)seek * WHISPER_HOP / WHISPER_SAMPLE_RATE;
        unsigned *text = malloc((p[np - 1].tokens + p[np - 1].n - p[0].tokens + 1) * sizeof(*text));
        size_t n = 0, nt = 0, wi = 0;
        struct whisper_timing *t = NULL;
        double median, max_d, last_end = 0;
        int have_end = 0, rc = -1;

        if (!text)
                return -1;
        for (size_t k = 0; k < np; k++) {
                for (size_t i = 0; i < p[k].n; i++) {
                        if (p[k].tokens[i] < eot)
                                text[n++] = p[k].tokens[i];
                }
        }
        if (n == 0 || n + 3 > r->m->n_text_ctx) {
                free(text);
                return 0;
        }
        if (whisper_align(r->s, r->m, text, n, segment_size, &t, &nt))
                goto out;
        whisper_timings_tidy(t, nt, &median, &max_d);
        for (size_t k = 0; k < np; k++) {
                struct whisper_word *w;
                size_t want = 0, saved = 0, nw = 0;

                for (size_t i = 0; i < p[k].n; i++)
                        want += p[k].tokens[i] < eot;
                p[k].words = w = calloc(nt + 1, sizeof(*w));
                if (!w)
                        goto out;
                while (wi < nt && saved < want) {
                        if (t[wi].word[0]) {
                                w[nw].word = strdup(t[wi].word);
                                if (!w[nw].word)
                                        goto out;
                                w[nw].start = round2(offset + t[wi].start);
                                w[nw].end = round2(offset + t[wi].end);
                                w[nw].probability = t[wi].probability;
                                nw++;
                                p[k].n_words = nw;
                        }
                        saved += t[wi].n_tokens;
                        wi++;
                }
                if (!nw)
                        continue;
                /* the first words after a pause: no longer than twice the
                 * median word */
                if (w[0].end - r->last_speech > median * 4 &&
                    (w[0].end - w[0].start > max_d ||
                     (nw > 1 && w[1].end - w[0].start > max_d * 2))) {
                        if (nw > 1 && w[1].end - w[1].start > max_d) {
                                const double boundary = fmax(w[1].end / 2, w[1].end - max_d);

                                w[0].end = w[1].start = boundary;
                        }
                        w[0].start = fmax(0, w[0].end - max_d);
                }
                /* the segment's own start and end where the first or last
                 * word is too long */
                if (p[k].start < w[0].end && p[k].start - 0.5 > w[0].start)
                        w[0].start = fmax(0, fmin(w[0].end - median, p[k].start));
                else
                        p[k].start = w[0].start;
                if (p[k].end > w[nw - 1].start && p[k].end + 0.5 < w[nw - 1].end)
                        w[nw - 1].end = fmax(w[nw - 1].start + median, p[k].end);
                else
                        p[k].end = w[nw - 1].end;
                r->last_speech = p[k].end;
        }
        if (!single_ending) {
                for (size_t k = np; k-- > 0 && !have_end;) {
                        if (p[k].n_words) {
                                last_end = p[k].words[p[k].n_words - 1].end;
                                have_end = 1;
                        }
                }
                if (!have_end)
                        last_end = p[np - 1].end;
                if (last_end > offset)
                        *next_seek = (size_t)llround(last_end * WHISPER_SAMPLE_RATE / WHISPER_HOP);
        }
        rc = 0;
out:
        whisper_timings_free(t, nt);
        free(text);
        return rc;
}

static void free_pending(struct pending *p, size_t np)
{
        for (size_t k = 0; k < np; k++) {
                for (size_t i = 0; i < p[k].n_words; i++)
                        free(p[k].words[i].word);
                free(p[k].words);
        }
}

/* Splits the window's tokens into segments, times their words when asked,
 * and keeps the segments that are not empty. */
static int keep_segments(struct run *r, const struct attempt *a, size_t seek, size_t segment_size,
                         float no_speech_prob, size_t *next_seek)
{
        struct pending *p = malloc((a->n + 1) * sizeof(*p));
        size_t np;
        int single, rc = 0;

        if (!p)
                return -1;
        np = split(r, a, seek, segment_size, p, next_seek, &single);
        if (np && r->opts->word_timestamps)
                rc = add_words(r, p, np, seek, segment_size, single, next_seek);
        for (size_t k = 0; !rc && k < np; k++)
                rc = add_segment(r, (unsigned)seek, &p[k], a, no_speech_prob);
        free_pending(p, np);
        free(p);
        return rc;
}

/* One window: mel frames [seek, seek + segment_size) of @p mel. */
static int window(struct run *r, const float *mel, size_t frames, size_t seek, size_t segment_size,
                  size_t *next_seek)
{
        const struct whisper_model *m = r->m;
        const size_t V = m->n_vocab, max_prev = m->n_text_ctx / 2 - 1;
        float *win = calloc(WHISPER_N_MELS * WHISPER_N_FRAMES, sizeof(float));
        unsigned *prompt = malloc(sizeof(unsigned) * (max_prev + 2));
        struct attempt tries[N_TEMPERATURES], *best = NULL;
        size_t np = 0, n_tries = 0, prev = r->n_history - r->prompt_since;
        float no_speech_prob, temperature = 0.0f;
        double max = -INFINITY, sum = 0;
        int rc = -1;

        if (!win || !prompt)
                goto out;
        for (size_t c = 0; c < WHISPER_N_MELS; c++)
                memcpy(win + c * WHISPER_N_FRAMES, mel + c * frames + seek,
                       segment_size * sizeof(float));
        whisper_encode(r->s, win);
        if (prev) {
                if (prev > max_prev)
                        prev = max_prev;
                prompt[np++] = (unsigned)m->vocab.sot_prev;
                memcpy(prompt + np, r->history + r->n_history - prev, prev * sizeof(unsigned));
                np += prev;
        }
        prompt[np++] = (unsigned)m->vocab.sot;
        memcpy(r->first, whisper_decode_step(r->s, prompt, np), V * sizeof(float));
        for (size_t i = 0; i < V; i++)
                max = r->first[i] > max ? r->first[i] : max;
        for (size_t i = 0; i < V; i++)
                sum += exp((double)r->first[i] - max);
        no_speech_prob = m->vocab.no_speech < 0
                                 ? 0.0f
                                 : (float)(exp((double)r->first[m->vocab.no_speech] - max) / sum);

        while (n_tries < (r->opts->fallback ? N_TEMPERATURES : 1)) {
                struct attempt *a = &tries[n_tries];
                const float t = r->opts->temperature > 0 && n_tries == 0 ? r->opts->temperature
                                                                         : temperatures[n_tries];
                int fallback = 0;

                if (sample(r, np, t, a))
                        goto out;
                n_tries++;
                best = a;
                temperature = t;
                if (a->compression_ratio > COMPRESSION_THRESHOLD)
                        fallback = 1;
                if (a->avg_logprob < r->opts->logprob_threshold)
                        fallback = 1;
                if (no_speech_prob > r->opts->no_speech_threshold &&
                    a->avg_logprob < r->opts->logprob_threshold)
                        fallback = 0; /* silence */
                if (!fallback)
                        break;
                best = NULL;
        }
        if (!best) {
                /* every attempt failed: the most likely one that does not
                 * repeat itself, else the most likely of all; reported at
                 * the last temperature, as faster-whisper does */
                for (size_t i = 0; i < n_tries; i++) {
                        if (tries[i].compression_ratio <= COMPRESSION_THRESHOLD &&
                            (!best || tries[i].avg_logprob > best->avg_logprob))
                                best = &tries[i];
                }
                for (size_t i = 0; !best && i < n_tries; i++) {
                        if (!best || tries[i].avg_logprob > best->avg_logprob)
                                best = &tries[i];
                }
                best->temperature = temperature;
        }
        rc = 0;
        if (no_speech_prob > r->opts->no_speech_threshold &&
            !(best->avg_logprob > r->opts->logprob_threshold)) {
                *next_seek = seek + segment_size; /* no speech: skip the window */
        } else {
                rc = keep_segments(r, best, seek, segment_size, no_speech_prob, next_seek);
        }
        if (temperature > PROMPT_RESET_TEMPERATURE)
                r->prompt_since = r->n_history;
out:
        for (size_t i = 0; i < n_tries; i++)
                free(tries[i].tokens);
        free(win);
        free(prompt);
        if (rc)
                snprintf(r->errstr, r->errstr_size, "out of memory");
        return rc;
}

/* The request's prompt, " " + its text stripped, as the first previous
 * text (faster-whisper's initial_prompt). */
static int prompt_tokens(struct run *r, const char *prompt)
{
        const char *p = prompt, *e = prompt + strlen(prompt);
        char *text;
        long n;

        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
                p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
                e--;
        if (!r->m->bpe) {
                snprintf(r->errstr, r->errstr_size, "a prompt needs the model's tokenizer.json");
                return -1;
        }
        text = malloc((size_t)(e - p) + 2);
        if (!text)
                goto oom;
        text[0] = ' ';
        memcpy(text + 1, p, (size_t)(e - p));
        text[1 + (e - p)] = '\0';
        n = whisper_bpe_encode(r->m->bpe, text, NULL, 0);
        if (n >= 0) {
                r->history = malloc(sizeof(unsigned) * ((size_t)n + 1));
                if (r->history)
                        whisper_bpe_encode(r->m->bpe, text, r->history, (size_t)n);
        }
        free(text);
        if (n < 0 || !r->history)
                goto oom;
        r->n_history = r->history_cap = (size_t)n;
        return 0;
oom:
        snprintf(r->errstr, r->errstr_size, "out of memory");
        return -1;
}

static void trim_join(struct whisper_result *out, char *text)
{
        size_t len = 0;
        char *p = text, *e;

        for (size_t i = 0; i < out->n_segments; i++) {
                const size_t l = strlen(out->segments[i].text);

                memcpy(text + len, out->segments[i].text, l);
                len += l;
        }
        text[len] = '\0';
        while (*p == ' ' || *p == '\n')
                p++;
        e = p + strlen(p);
        while (e > p && (e[-1] == ' ' || e[-1] == '\n'))
                *--e = '\0';
        memmove(text, p, (size_t)(e - p) + 1);
        out->text = text;
}

int whisper_transcribe(const struct whisper_model *m, const float *pcm, size_t n,
                       const struct whisper_opts *opts, struct whisper_result *out, char *errstr,
                       size_t errstr_size)
{
        struct run r = {
                .m = m, .opts = opts, .out = out, .errstr = errstr, .errstr_size = errstr_size
        };
        size_t frames, content, seek = 0, len = 0;
        float *mel = NULL;
        char *text;
        int rc = -1;

        memset(out, 0, sizeof(*out));
        for (size_t i = 0; i < n; i++) {
                if (!isfinite(pcm[i])) {
                        snprintf(errstr, errstr_size, "sample %zu is not a finite number", i);
                        return -1;
                }
        }
        r.rng = (uint64_t)opts->seed * 0x9e3779b97f4a7c15ULL + 1;
        r.s = whisper_state_new(m);
        r.first = malloc(m->n_vocab * sizeof(float));
        r.logits = malloc(m->n_vocab * sizeof(float));
        mel = whisper_mel(pcm, n, &frames);
        if (!r.s || !r.first || !r.logits || !mel) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        if (opts->prompt && prompt_tokens(&r, opts->prompt))
                goto out;
        content = frames - 1;
        while (seek < content) {
                const size_t size = content - seek < WHISPER_N_FRAMES ? content - seek
                                                                      : WHISPER_N_FRAMES;
                size_t next = seek + size;

                if (window(&r, mel, frames, seek, size, &next))
                        goto out;
                /* the next window starts later, whatever the timestamps say */
                seek = next > seek ? next : seek + size;
        }
        for (size_t i = 0; i < out->n_segments; i++)
                len += strlen(out->segments[i].text);
        text = malloc(len + 1);
        if (!text) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        trim_join(out, text);
        rc = 0;
out:
        if (rc)
                whisper_result_free(out);
        whisper_state_free(r.s);
        free(r.first);
        free(r.logits);
        free(r.history);
        free(mel);
        return rc;
}

void whisper_result_free(struct whisper_result *r)
{
        for (size_t i = 0; i < r->n_segments; i++) {
                free(r->segments[i].text);
                free(r->segments[i].tokens);
        }
        free(r->segments);
        for (size_t i = 0; i < r->n_words; i++)
                free(r->words[i].word);
        free(r->words);
        free(r->text);
        memset(r, 0, sizeof(*r));
}
