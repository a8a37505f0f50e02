/* Whisper's byte-level BPE vocabulary (whisper_vocab.h). GPT-2 spells each
 * byte as one printable character: the printable Latin-1 bytes as
 * themselves, the other 68 as U+0100 onwards in byte order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/file.h"
#include "whisper_vocab.h"

/* vocabulary.txt of the largest Whisper models is about 1 MB */
#define VOCAB_FILE_MAX ((size_t)16 << 20)

static int printable(unsigned b)
{
        return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

/* The byte GPT-2's alphabet spells with code point @p cp, or -1. */
static int byte_of(unsigned cp)
{
        unsigned next = 256;

        if (cp < 256)
                return printable(cp) ? (int)cp : -1;
        for (unsigned b = 0; b < 256; b++) {
                if (!printable(b) && next++ == cp)
                        return (int)b;
        }
        return -1;
}

/* One UTF-8 code point from @p s (NUL-terminated); its length in *len, or
 * -1 for invalid UTF-8. */
static long next_cp(const unsigned char *s, size_t *len)
{
        if (s[0] < 0x80) {
                *len = 1;
                return s[0];
        }
        if ((s[0] & 0xe0) == 0xc0 && (s[1] & 0xc0) == 0x80) {
                *len = 2;
                return (long)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
        }
        if ((s[0] & 0xf0) == 0xe0 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
                *len = 3;
                return (long)(s[0] & 0x0f) << 12 | (long)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
        }
        return -1;
}

static int special(const char *t)
{
        const size_t len = strlen(t);

        return len >= 4 && !strncmp(t, "<|", 2) && !strcmp(t + len - 2, "|>");
}

int whisper_vocab_init(struct whisper_vocab *v, const char *const *lines, size_t n, char *errstr,
                       size_t errstr_size)
{
        memset(v, 0, sizeof(*v));
        v->bytes = calloc(n ? n : 1, sizeof(*v->bytes));
        v->lens = calloc(n ? n : 1, sizeof(*v->lens));
        if (!v->bytes || !v->lens) {
                snprintf(errstr, errstr_size, "out of memory");
                goto fail;
        }
        v->n = n;
        for (size_t i = 0; i < n; i++) {
                const unsigned char *s = (const unsigned char *)lines[i];
                const size_t len = strlen(lines[i]);
                char *out = malloc(len + 1);
                size_t o = 0;

                if (!out) {
                        snprintf(errstr, errstr_size, "out of memory");
                        goto fail;
                }
                v->bytes[i] = out;
                if (!len) {
                        snprintf(errstr, errstr_size, "line %zu: empty token", i + 1);
                        goto fail;
                }
                if (special(lines[i])) {
                        memcpy(out, s, len + 1);
                        v->lens[i] = len;
                        continue;
                }
                for (size_t k = 0; k < len;) {
                        size_t cl;
                        const long cp = next_cp(s + k, &cl);
                        const int b = cp < 0 ? -1 : byte_of((unsigned)cp);

                        if (b < 0) {
                                snprintf(errstr, errstr_size,
                                         "line %zu: \"%.40s\" is not in the byte alphabet", i + 1,
                                         lines[i]);
                                goto fail;
                        }
                        out[o++] = (char)b;
                        k += cl;
                }
                out[o] = '\0';
                v->lens[i] = o;
        }
        v->eot = whisper_vocab_find(v, "<|endoftext|>");
        v->sot = whisper_vocab_find(v, "<|startoftranscript|>");
        v->sot_prev = whisper_vocab_find(v, "<|startofprev|>");
        v->sot_lm = whisper_vocab_find(v, "<|startoflm|>");
        v->no_speech = whisper_vocab_find(v, "<|nospeech|>");
        if (v->no_speech < 0)
                v->no_speech = whisper_vocab_find(v, "<|nocaptions|>");
        v->no_timestamps = whisper_vocab_find(v, "<|notimestamps|>");
        v->translate = whisper_vocab_find(v, "<|translate|>");
        v->transcribe = whisper_vocab_find(v, "<|transcribe|>");
        v->timestamp_begin = whisper_vocab_find(v, "<|0.00|>");
        if (v->eot < 0 || v->sot < 0 || v->sot_prev < 0 || v->no_timestamps < 0 ||
            v->timestamp_begin < 0 || v->timestamp_begin <= v->eot) {
                snprintf(errstr, errstr_size,
                         "special tokens missing (<|endoftext|>, <|startoftranscript|>, "
                         "<|startofprev|>, <|notimestamps|>, <|0.00|>)");
                goto fail;
        }
        return 0;
fail:
        whisper_vocab_cleanup(v);
        return -1;
}

int whisper_vocab_load(struct whisper_vocab *v, const char *path, char *errstr, size_t errstr_size)
{
        char why[256];
        size_t len, n = 0, cap = 0;
        char *text = cairn_file_read(path, VOCAB_FILE_MAX, &len, why, sizeof(why));
        const char **lines = NULL;
        int rc = -1;

        memset(v, 0, sizeof(*v));
        if (!text) {
                snprintf(errstr, errstr_size, "%s: %s", path, why);
                return -1;
        }
        if (memchr(text, '\0', len)) {
                snprintf(errstr, errstr_size, "%s: holds a NUL byte", path);
                goto out;
        }
        for (char *p = text, *nl; p < text + len; p = nl + 1) {
                nl = strchr(p, '\n');
                if (!nl)
                        nl = text + len;
                *nl = '\0';
                if (nl > p && nl[-1] == '\r')
                        nl[-1] = '\0';
                if (n == cap) {
                        const char **grown;

                        cap = cap ? 2 * cap : 65536;
                        grown = realloc(lines, cap * sizeof(*lines));
                        if (!grown) {
                                snprintf(errstr, errstr_size, "%s: out of memory", path);
                                goto out;
                        }
                        lines = grown;
                }
                lines[n++] = p;
        }
        rc = whisper_vocab_init(v, lines, n, why, sizeof(why));
        if (rc)
                snprintf(errstr, errstr_size, "%s: %s", path, why);
out:
        free(lines);
        free(text);
        return rc;
}

void whisper_vocab_cleanup(struct whisper_vocab *v)
{
        for (size_t i = 0; v->bytes && i < v->n; i++)
                free(v->bytes[i]);
        free(v->bytes);
        free(v->lens);
        memset(v, 0, sizeof(*v));
}

int whisper_vocab_find(const struct whisper_vocab *v, const char *text)
{
        /* specials sit at the end: search from there */
        for (size_t i = v->n; i-- > 0;) {
                if (v->bytes[i] && !strcmp(v->bytes[i], text) &&
                    special(text) == special(v->bytes[i]))
                        return (int)i;
        }
        return -1;
}

char *whisper_vocab_decode(const struct whisper_vocab *v, const unsigned *ids, size_t n)
{
        size_t len = 0, o = 0;
        char *out;

        for (size_t i = 0; i < n; i++) {
                if (ids[i] < (unsigned)v->eot)
                        len += v->lens[ids[i]];
        }
        out = malloc(len + 1);
        if (!out)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (ids[i] < (unsigned)v->eot) {
                        memcpy(out + o, v->bytes[ids[i]], v->lens[ids[i]]);
                        o += v->lens[ids[i]];
                }
        }
        out[o] = '\0';
        return out;
}
