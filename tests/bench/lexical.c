/* How fast the lexical model embeds: ten-word English sentences, one thread,
 * 384 dimensions, next to what merely copying or tokenising the same bytes
 * costs. Prints "name value" lines, lexical_embeddings_per_sec last.
 *   lexical [SECONDS]   (default 2, the time spent embedding) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "embedding/lexical.h"

#define DIM        384
#define NSENTENCES 4096
#define NWORDS     10

static const char *const words[] = {
        "the",     "of",       "and",    "to",      "in",       "is",      "was",     "for",
        "that",    "with",     "on",     "as",      "by",       "at",      "from",    "it",
        "people",  "water",    "system", "market",  "number",   "company", "morning", "problem",
        "service", "question", "report", "history", "language", "machine", "network", "weather",
        "city",    "family",   "river",  "student", "engine",   "price",   "music",   "garden",
        "quickly", "rarely",   "almost", "finally", "between",  "during",  "without", "against",
        "runs",    "builds",   "found",  "opened",  "measured", "carried", "grows",   "explains",
        "small",   "bright",   "early",  "strange", "careful",  "modern",  "quiet",   "heavy",
};

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sentences from a fixed pseudo-random sequence: the same on every run. */
static char **sentences_new(size_t *total_bytes)
{
        char **s = malloc(NSENTENCES * sizeof(*s));
        uint64_t x = 0x9E3779B97F4A7C15ULL;
        size_t nw = sizeof(words) / sizeof(words[0]);

        *total_bytes = 0;
        for (size_t i = 0; i < NSENTENCES; i++) {
                char buf[256];
                size_t o = 0;

                for (size_t k = 0; k < NWORDS; k++) {
                        const char *w;

                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        w = words[x % nw];
                        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", k ? " " : "", w);
                }
                buf[0] = (char)(buf[0] - 'a' + 'A');
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, ".");
                s[i] = strdup(buf);
                *total_bytes += o;
        }
        return s;
}

int main(int argc, char **argv)
{
        double seconds = argc > 1 ? atof(argv[1]) : 2.0;
        struct lexical_model model;
        struct lexical_scratch *scr = lexical_scratch_new();
        static float out[DIM];
        static char copy[256];
        volatile unsigned sink = 0;
        size_t total_bytes, lens[NSENTENCES];
        char **sent = sentences_new(&total_bytes);
        uint64_t n;
        double t0, dt;

        if (seconds <= 0)
                seconds = 2.0;
        if (!scr || !sent) {
                fprintf(stderr, "lexical: out of memory\n");
                return 1;
        }
        lexical_model_init(&model, DIM);
        for (size_t i = 0; i < NSENTENCES; i++)
                lens[i] = strlen(sent[i]);
        printf("lexical_dim %d\n", DIM);
        printf("lexical_words_per_text %d\n", NWORDS);
        printf("lexical_bytes_per_text %.1f\n", (double)total_bytes / NSENTENCES);

        /* Baseline 1: copying the bytes. */
        n = 0;
        t0 = now();
        do {
                for (size_t i = 0; i < NSENTENCES; i++) {
                        memcpy(copy, sent[i], lens[i]);
                        sink += (unsigned char)copy[lens[i] / 2];
                }
                n += NSENTENCES;
                dt = now() - t0;
        } while (dt < seconds / 4);
        printf("lexical_memcpy_per_sec %.0f\n", (double)n / dt);

        /* Baseline 2: normalising and splitting into words, no hashing. */
        n = 0;
        t0 = now();
        do {
                for (size_t i = 0; i < NSENTENCES; i++) {
                        size_t ntokens;

                        if (lexical_tokenize(scr, sent[i], lens[i], &ntokens) != 0)
                                return 1;
                        sink += (unsigned)ntokens;
                }
                n += NSENTENCES;
                dt = now() - t0;
        } while (dt < seconds / 4);
        printf("lexical_tokenize_per_sec %.0f\n", (double)n / dt);

        /* The model itself. */
        n = 0;
        t0 = now();
        do {
                for (size_t i = 0; i < NSENTENCES; i++) {
                        if (lexical_embed(&model, scr, sent[i], lens[i], out, DIM, NULL) != 0)
                                return 1;
                        sink += out[i % DIM] > 0;
                }
                n += NSENTENCES;
                dt = now() - t0;
        } while (dt < seconds);
        printf("lexical_embed_ns %.0f\n", dt * 1e9 / (double)n);
        printf("lexical_embeddings_per_sec %.0f\n", (double)n / dt);

        (void)sink;
        for (size_t i = 0; i < NSENTENCES; i++)
                free(sent[i]);
        free(sent);
        lexical_scratch_free(scr);
        return 0;
}
