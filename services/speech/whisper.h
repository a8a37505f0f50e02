/* Whisper speech recognition, run natively: a CTranslate2 model directory
 * (model.bin, config.json, vocabulary.txt) loaded once, then any number of
 * transcriptions, concurrently, over 16 kHz mono samples. The model is
 * read-only after loading; each transcription owns its working memory. */
#ifndef SPEECH_WHISPER_H
#define SPEECH_WHISPER_H

#include <stdbool.h>
#include <stddef.h>

struct whisper_model;

/* Loads the model directory @p dir: validates model.bin (version, spec,
 * every variable's name, shape, dtype and extent inside the file) and
 * converts its fp16 weights to fp32 once. NULL with @p errstr naming the
 * file and, for a bad variable, the variable. */
struct whisper_model *whisper_model_load(const char *dir, char *errstr, size_t errstr_size);
void whisper_model_free(struct whisper_model *m);

/* True for a model that only knows English (tiny.en and the other ".en"). */
bool whisper_model_english_only(const struct whisper_model *m);

struct whisper_opts {
        const char *prompt;        /* previous text, or NULL */
        float temperature;         /* 0: greedy */
        bool word_timestamps;      /* fill whisper_result.words */
        float no_speech_threshold; /* 0.6, as Whisper's */
        float logprob_threshold;   /* -1.0, as Whisper's */
        unsigned seed;             /* for temperature > 0 */
        /* a window whose text repeats itself or is improbable is decoded
         * again at higher temperatures (0.2, 0.4, ... 1.0), as Whisper
         * does; true by default */
        bool fallback;
};

void whisper_opts_default(struct whisper_opts *o);

struct whisper_segment {
        double start, end; /* seconds */
        char *text;
        float no_speech_prob, avg_logprob, compression_ratio, temperature;
        unsigned *tokens;
        size_t n_tokens;
        unsigned seek; /* window start in 10 ms frames */
};

struct whisper_word {
        double start, end;
        char *word; /* with its leading space */
        float probability;
};

struct whisper_result {
        char *text; /* every segment's text joined, trimmed */
        struct whisper_segment *segments;
        size_t n_segments;
        struct whisper_word *words;
        size_t n_words;
};

/* Transcribes @p n samples (16 kHz mono, -1..1) in 30 s windows, each with
 * the previous window's text as context. Returns 0 and fills @p out (free it
 * with whisper_result_free) or -1 with @p errstr. Uses the calling thread
 * and the BLAS threads the process allows (speech.threads). */
int whisper_transcribe(const struct whisper_model *m, const float *pcm, size_t n,
                       const struct whisper_opts *opts, struct whisper_result *out, char *errstr,
                       size_t errstr_size);
void whisper_result_free(struct whisper_result *r);

#endif
