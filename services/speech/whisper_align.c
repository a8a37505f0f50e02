/* Word alignment (whisper_align.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/nn.h"
#include "whisper_align.h"

#define MEDIAN_WIDTH      7
#define TOKENS_PER_SECOND 50.0 /* encoder steps: 16000 / 160 / 2 */

static const char punctuation[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
static const char prepend[] = "\"'\xe2\x80\x9c\xc2\xbf([{-";
static const char append[] = "\"'.\xe3\x80\x82,\xef\xbc\x8c!\xef\xbc\x81?\xef\xbc\x9f:\xef\xbc\x9a"
                             "\xe2\x80\x9d)]}\xe3\x80\x81";

static int cmp_float(const void *a, const void *b)
{
        const float x = *(const float *)a, y = *(const float *)b;

        return (x > y) - (x < y);
}

/* Median filter of @p n values over a window of MEDIAN_WIDTH, the edges
 * reflected (as Whisper's median_filter); @p tmp holds n floats. */
static void median_filter(float *x, size_t n, float *tmp)
{
        const long half = MEDIAN_WIDTH / 2;

        if ((long)n <= half)
                return;
        memcpy(tmp, x, n * sizeof(float));
        for (long i = 0; i < (long)n; i++) {
                float w[MEDIAN_WIDTH];

                for (long k = -half; k <= half; k++) {
                        long j = i + k;

                        if (j < 0)
                                j = -j;
                        if (j >= (long)n)
                                j = 2 * ((long)n - 1) - j;
                        w[k + half] = tmp[j];
                }
                qsort(w, MEDIAN_WIDTH, sizeof(float), cmp_float);
                x[i] = w[half];
        }
}

/* Dynamic time warping over the cost @p x [rows, cols] (CTranslate2's
 * negative_dtw is this over -matrix): the path's row and column of each
 * step, first to last, in @p ti and @p tj (room rows + cols). Returns the
 * number of steps, or 0 when out of memory. */
static size_t dtw(const float *x, size_t rows, size_t cols, size_t *ti, size_t *tj)
{
        const size_t W = cols + 1;
        float *cost = malloc((rows + 1) * W * sizeof(float));
        unsigned char *trace = malloc((rows + 1) * W);
        size_t i = rows, j = cols, n = 0;

        if (!cost || !trace) {
                free(cost);
                free(trace);
                return 0;
        }
        for (size_t k = 0; k < (rows + 1) * W; k++)
                cost[k] = INFINITY;
        cost[0] = 0;
        memset(trace, 0, (rows + 1) * W);
        for (size_t c = 1; c <= cols; c++) {
                for (size_t r = 1; r <= rows; r++) {
                        const float c0 = cost[(r - 1) * W + c - 1], c1 = cost[(r - 1) * W + c],
                                    c2 = cost[r * W + c - 1];
                        float best;
                        unsigned char t;

                        if (c0 < c1 && c0 < c2) {
                                best = c0;
                                t = 0;
                        } else if (c1 < c0 && c1 < c2) {
                                best = c1;
                                t = 1;
                        } else {
                                best = c2;
                                t = 2;
                        }
                        cost[r * W + c] = x[(r - 1) * cols + c - 1] + best;
                        trace[r * W + c] = t;
                }
        }
        for (size_t c = 0; c <= cols; c++)
                trace[c] = 2;
        for (size_t r = 0; r <= rows; r++)
                trace[r * W] = 1;
        while (i > 0 || j > 0) {
                const unsigned char t = trace[i * W + j];

                ti[n] = i - 1;
                tj[n] = j - 1;
                n++;
                if (t == 0) {
                        i--;
                        j--;
                } else if (t == 1) {
                        i--;
                } else {
                        j--;
                }
        }
        for (size_t a = 0, b = n - 1; a < b; a++, b--) {
                size_t s = ti[a];

                ti[a] = ti[b];
                ti[b] = s;
                s = tj[a];
                tj[a] = tj[b];
                tj[b] = s;
        }
        free(cost);
        free(trace);
        return n;
}

/* Whether @p s[0..n) is whole UTF-8 (no sequence cut at its end). */
static int whole_utf8(const char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                const unsigned char c = (unsigned char)s[i];
                const size_t len = c < 0x80         ? 1
                                   : (c >> 5) == 6  ? 2
                                   : (c >> 4) == 14 ? 3
                                   : (c >> 3) == 30 ? 4
                                                    : 1;

                if (i + len > n)
                        return 0;
                i += len;
        }
        return 1;
}

/* Python's `a in b` for strings: a substring (the empty one too). */
static int within(const char *a, size_t n, const char *b)
{
        for (const char *p = b;; p++) {
                if (!strncmp(p, a, n))
                        return 1;
                if (!*p)
                        return 0;
        }
}

static char *strip_copy(const char *s, size_t *len)
{
        const char *e = s + strlen(s);
        char *out;

        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
                s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
                e--;
        *len = (size_t)(e - s);
        out = malloc(*len + 1);
        if (out) {
                memcpy(out, s, *len);
                out[*len] = '\0';
        }
        return out;
}

/* faster-whisper's split_tokens_on_spaces over @p ids (the text and the
 * end token): the words' texts and token counts. Returns the number of
 * words, or -1 when out of memory. */
static long split_words(const struct whisper_vocab *v, const unsigned *ids, size_t n, char **words,
                        size_t *counts)
{
        size_t nw = 0, start = 0;

        for (size_t i = 0; i < n; i++) {
                /* a subword: tokens until their bytes are whole UTF-8 */
                char *sub = whisper_vocab_decode(v, ids + start, i + 1 - start);
                const int special = ids[start] >= (unsigned)v->eot;
                size_t slen;
                char *stripped;
                int punct;

                if (!sub)
                        return -1;
                if (special) {
                        free(sub);
                        sub = strdup(v->bytes[ids[start]]);
                        if (!sub)
                                return -1;
                } else if (!whole_utf8(sub, strlen(sub)) && i + 1 < n) {
                        free(sub);
                        continue;
                }
                stripped = strip_copy(sub, &slen);
                if (!stripped) {
                        free(sub);
                        return -1;
                }
                punct = within(stripped, slen, punctuation);
                free(stripped);
                if (special || sub[0] == ' ' || punct || nw == 0) {
                        words[nw] = sub;
                        counts[nw] = i + 1 - start;
                        nw++;
                } else {
                        const size_t a = strlen(words[nw - 1]), b = strlen(sub);
                        char *joined = realloc(words[nw - 1], a + b + 1);

                        if (!joined) {
                                free(sub);
                                return -1;
                        }
                        memcpy(joined + a, sub, b + 1);
                        words[nw - 1] = joined;
                        counts[nw - 1] += i + 1 - start;
                        free(sub);
                }
                start = i + 1;
        }
        return (long)nw;
}

int whisper_align(struct whisper_state *s, const struct whisper_model *m, const unsigned *text,
                  size_t n, size_t num_frames, struct whisper_timing **out, size_t *n_out)
{
        const size_t L = n + 3, T = m->n_audio_ctx, H = m->n_align_heads,
                     eot = (size_t)m->vocab.eot;
        const size_t nf = num_frames / 2 < T ? num_frames / 2 : T, rows = n + 1;
        float *scores = NULL, *logits = NULL, *matrix = NULL, *tmp = NULL, *probs = NULL;
        float *keep[WHISPER_MAX_LAYERS][WHISPER_MAX_HEADS];
        unsigned *ids = NULL;
        size_t *ti = NULL, *tj = NULL, *counts = NULL, steps, nj = 0;
        double *jumps = NULL;
        char **words = NULL;
        long nw = 0;
        int rc = -1;

        *out = NULL;
        *n_out = 0;
        if (n == 0 || H == 0 || nf == 0)
                return 0;
        ids = malloc(L * sizeof(*ids));
        scores = malloc(H * L * T * sizeof(float));
        logits = malloc(L * eot * sizeof(float));
        matrix = calloc(L * nf, sizeof(float));
        tmp = malloc((L > nf ? L : nf) * sizeof(float));
        probs = malloc(n * sizeof(float));
        ti = malloc((rows + nf) * sizeof(*ti));
        tj = malloc((rows + nf) * sizeof(*tj));
        jumps = malloc((rows + nf) * sizeof(*jumps));
        words = calloc(n + 1, sizeof(*words));
        counts = calloc(n + 1, sizeof(*counts));
        if (!ids || !scores || !logits || !matrix || !tmp || !probs || !ti || !tj || !jumps ||
            !words || !counts)
                goto out;
        ids[0] = (unsigned)m->vocab.sot;
        ids[1] = (unsigned)m->vocab.no_timestamps;
        memcpy(ids + 2, text, n * sizeof(*ids));
        ids[L - 1] = (unsigned)eot;
        memset(keep, 0, sizeof(keep));
        for (size_t h = 0; h < H; h++)
                keep[m->align_heads[h][0]][m->align_heads[h][1]] = scores + h * L * T;
        whisper_decode_align(s, ids, L, keep, logits, eot);

        /* each text token's probability among the text tokens, from the
         * row before it */
        for (size_t t = 0; t < n; t++) {
                const float *row = logits + (t + 1) * eot;
                double max = -INFINITY, sum = 0;

                for (size_t k = 0; k < eot; k++)
                        max = row[k] > max ? row[k] : max;
                for (size_t k = 0; k < eot; k++)
                        sum += exp((double)row[k] - max);
                probs[t] = (float)(exp((double)row[text[t]] - max) / sum);
        }
        for (size_t h = 0; h < H; h++) {
                float *w = scores + h * L * T;

                /* the softmax over the window's content frames only */
                for (size_t r = 0; r < L; r++)
                        memmove(w + r * nf, w + r * T, nf * sizeof(float));
                cairn_nn_softmax_rows(w, L, nf);
                for (size_t f = 0; f < nf; f++) {
                        double mean = 0, var = 0, sd;

                        for (size_t r = 0; r < L; r++)
                                mean += w[r * nf + f];
                        mean /= (double)L;
                        for (size_t r = 0; r < L; r++)
                                var += (w[r * nf + f] - mean) * (w[r * nf + f] - mean);
                        sd = sqrt(var / (double)L);
                        for (size_t r = 0; r < L; r++)
                                w[r * nf + f] = (float)((w[r * nf + f] - mean) / sd);
                }
                for (size_t r = 0; r < L; r++) {
                        median_filter(w + r * nf, nf, tmp);
                        for (size_t f = 0; f < nf; f++)
                                matrix[r * nf + f] += w[r * nf + f] / (float)H;
                }
        }
        /* rows <|notimestamps|> and the text; the cost is the negation */
        for (size_t k = 0; k < rows * nf; k++)
                matrix[k] = -matrix[nf + k];
        steps = dtw(matrix, rows, nf, ti, tj);
        if (!steps)
                goto out;
        for (size_t k = 0; k < steps; k++) {
                if (k == 0 || ti[k] != ti[k - 1])
                        jumps[nj++] = (double)tj[k] / TOKENS_PER_SECOND;
        }
        memcpy(ids, text, n * sizeof(*ids));
        ids[n] = (unsigned)eot;
        nw = split_words(&m->vocab, ids, n + 1, words, counts);
        if (nw < 0)
                goto out;
        if (nw > 1) {
                size_t b = 0;

                *out = calloc((size_t)nw - 1, sizeof(**out));
                if (!*out)
                        goto out;
                for (long w = 0; w + 1 < nw; w++) {
                        struct whisper_timing *t = &(*out)[w];
                        double sum = 0;

                        t->word = words[w];
                        words[w] = NULL;
                        t->n_tokens = counts[w];
                        t->start = b < nj ? jumps[b] : jumps[nj - 1];
                        for (size_t k = b; k < b + counts[w] && k < n; k++)
                                sum += probs[k];
                        t->probability = counts[w] ? (float)(sum / (double)counts[w]) : 0.0f;
                        b += counts[w];
                        t->end = b < nj ? jumps[b] : jumps[nj - 1];
                }
                *n_out = (size_t)nw - 1;
        }
        rc = 0;
out:
        for (long w = 0; words && w < nw; w++)
                free(words[w]);
        free(words);
        free(counts);
        free(ids);
        free(scores);
        free(logits);
        free(matrix);
        free(tmp);
        free(probs);
        free(ti);
        free(tj);
        free(jumps);
        return rc;
}

static int cmp_double(const void *a, const void *b)
{
        const double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* Python's `word in ".。!！?？"`: any substring of it */
static int sentence_end(const char *w)
{
        return within(w, strlen(w), ".\xe3\x80\x82!\xef\xbc\x81?\xef\xbc\x9f");
}

static int concat(struct whisper_timing *into, struct whisper_timing *from, int front)
{
        const size_t a = strlen(into->word), b = strlen(from->word);
        char *joined = malloc(a + b + 1);

        if (!joined)
                return -1;
        if (front) {
                memcpy(joined, from->word, b);
                memcpy(joined + b, into->word, a + 1);
        } else {
                memcpy(joined, into->word, a);
                memcpy(joined + a, from->word, b + 1);
        }
        free(into->word);
        into->word = joined;
        into->n_tokens += from->n_tokens;
        from->word[0] = '\0';
        from->n_tokens = 0;
        return 0;
}

void whisper_timings_tidy(struct whisper_timing *t, size_t n, double *median, double *max_duration)
{
        double *d = malloc((n ? n : 1) * sizeof(double));
        size_t nd = 0;

        *median = 0;
        for (size_t i = 0; d && i < n; i++) {
                if (t[i].end - t[i].start != 0)
                        d[nd++] = t[i].end - t[i].start;
        }
        if (nd) {
                qsort(d, nd, sizeof(double), cmp_double);
                *median = nd % 2 ? d[nd / 2] : (d[nd / 2 - 1] + d[nd / 2]) / 2;
        }
        free(d);
        *median = *median < 0.7 ? *median : 0.7;
        *max_duration = *median * 2;
        if (nd) {
                for (size_t i = 1; i < n; i++) {
                        if (t[i].end - t[i].start > *max_duration) {
                                if (sentence_end(t[i].word))
                                        t[i].end = t[i].start + *max_duration;
                                else if (sentence_end(t[i - 1].word))
                                        t[i].start = t[i].end - *max_duration;
                        }
                }
        }
        /* punctuation that opens: onto the word after it */
        if (n >= 2) {
                for (long i = (long)n - 2, j = (long)n - 1; i >= 0; i--) {
                        size_t slen;
                        char *stripped = strip_copy(t[i].word, &slen);

                        if (stripped && t[i].word[0] == ' ' && within(stripped, slen, prepend))
                                concat(&t[j], &t[i], 1);
                        else
                                j = i;
                        free(stripped);
                }
        }
        /* punctuation that closes: onto the word before it */
        for (size_t i = 0, j = 1; j < n; j++) {
                const size_t len = strlen(t[i].word);

                if (!(len && t[i].word[len - 1] == ' ') &&
                    within(t[j].word, strlen(t[j].word), append))
                        concat(&t[i], &t[j], 0);
                else
                        i = j;
        }
}

void whisper_timings_free(struct whisper_timing *t, size_t n)
{
        for (size_t i = 0; t && i < n; i++)
                free(t[i].word);
        free(t);
}
