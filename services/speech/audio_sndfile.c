/* libsndfile over memory (sf_open_virtual): reading WAV, FLAC, AIFF, CAF
 * and AU uploads, and writing WAV, FLAC, Ogg Opus and MP3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "speech/audio_impl.h"

/* A memory file: read from the upload, or written into a growing buffer
 * that libsndfile may seek back into (headers are patched at the end). */
struct memfile {
        const unsigned char *in;
        unsigned char *out;
        size_t len, cap, pos;
        bool oom;
};

static sf_count_t mem_len(void *user)
{
        return (sf_count_t)((struct memfile *)user)->len;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *user)
{
        struct memfile *m = user;
        sf_count_t base = whence == SEEK_SET   ? 0
                          : whence == SEEK_CUR ? (sf_count_t)m->pos
                                               : (sf_count_t)m->len;

        if (off < -base || base + off > (sf_count_t)m->len + (m->out ? (1 << 20) : 0))
                return -1;
        m->pos = (size_t)(base + off);
        return (sf_count_t)m->pos;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *user)
{
        struct memfile *m = user;
        const unsigned char *src = m->in ? m->in : m->out;
        size_t n;

        if (count <= 0 || m->pos >= m->len)
                return 0;
        n = m->len - m->pos < (size_t)count ? m->len - m->pos : (size_t)count;
        memcpy(ptr, src + m->pos, n);
        m->pos += n;
        return (sf_count_t)n;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *user)
{
        struct memfile *m = user;
        size_t end;

        if (count <= 0 || m->oom || m->in)
                return 0;
        end = m->pos + (size_t)count;
        if (end > m->cap) {
                size_t cap = m->cap ? m->cap : 65536;
                unsigned char *p;

                while (cap < end)
                        cap *= 2;
                p = realloc(m->out, cap);
                if (!p) {
                        m->oom = true;
                        return 0;
                }
                m->out = p;
                m->cap = cap;
        }
        if (m->pos > m->len) /* a seek past the end leaves zeros */
                memset(m->out + m->len, 0, m->pos - m->len);
        memcpy(m->out + m->pos, ptr, (size_t)count);
        m->pos = end;
        if (end > m->len)
                m->len = end;
        return count;
}

static sf_count_t mem_tell(void *user)
{
        return (sf_count_t)((struct memfile *)user)->pos;
}

static SF_VIRTUAL_IO memio = { mem_len, mem_seek, mem_read, mem_write, mem_tell };

static const char *container_name(int major)
{
        switch (major) {
        case SF_FORMAT_WAV:
        case SF_FORMAT_WAVEX:
        case SF_FORMAT_RF64:
                return "wav";
        case SF_FORMAT_AIFF:
                return "aiff";
        case SF_FORMAT_AU:
                return "au";
        case SF_FORMAT_CAF:
                return "caf";
        case SF_FORMAT_FLAC:
                return "flac";
        case SF_FORMAT_OGG:
                return "ogg";
        case SF_FORMAT_MPEG:
                return "mp3";
        default:
                return "other";
        }
}

static const char *codec_name(int major, int minor)
{
        switch (minor) {
        case SF_FORMAT_PCM_S8:
        case SF_FORMAT_PCM_U8:
                return "pcm_8";
        case SF_FORMAT_PCM_16:
                return major == SF_FORMAT_FLAC ? "flac" : "pcm_s16";
        case SF_FORMAT_PCM_24:
                return major == SF_FORMAT_FLAC ? "flac" : "pcm_s24";
        case SF_FORMAT_PCM_32:
                return "pcm_s32";
        case SF_FORMAT_FLOAT:
                return "pcm_f32";
        case SF_FORMAT_DOUBLE:
                return "pcm_f64";
        case SF_FORMAT_ULAW:
                return "pcm_mulaw";
        case SF_FORMAT_ALAW:
                return "pcm_alaw";
        case SF_FORMAT_VORBIS:
                return "vorbis";
        case SF_FORMAT_OPUS:
                return "opus";
        case SF_FORMAT_MPEG_LAYER_I:
                return "mp1";
        case SF_FORMAT_MPEG_LAYER_II:
                return "mp2";
        case SF_FORMAT_MPEG_LAYER_III:
                return "mp3";
        default:
                return "other";
        }
}

/* libsndfile's reason for refusing a file, in words that fit an upload (a
 * short read reads "File does not exist" otherwise). */
static void open_error(char *errstr, size_t errstr_size)
{
        switch (sf_error(NULL)) {
        case SF_ERR_UNRECOGNISED_FORMAT:
                snprintf(errstr, errstr_size, "its header is not recognised");
                break;
        case SF_ERR_SYSTEM:
                snprintf(errstr, errstr_size, "it is truncated or corrupt");
                break;
        case SF_ERR_MALFORMED_FILE:
                snprintf(errstr, errstr_size, "it is malformed or truncated (%s)",
                         sf_strerror(NULL));
                break;
        case SF_ERR_UNSUPPORTED_ENCODING:
                snprintf(errstr, errstr_size, "its encoding is not supported");
                break;
        default:
                snprintf(errstr, errstr_size, "%s", sf_strerror(NULL));
        }
}

enum audio_decode_status audio_sndfile_decode(const void *bytes, size_t len,
                                              struct audio_collect *c, struct audio_info *info,
                                              char *errstr, size_t errstr_size)
{
        struct memfile m = { .in = bytes, .len = len };
        SF_INFO si = { 0 };
        SNDFILE *sf = sf_open_virtual(&memio, SFM_READ, &si, &m);
        enum audio_decode_status st = AUDIO_OK;
        float *buf;
        size_t chunk;

        if (!sf) {
                open_error(errstr, errstr_size);
                return AUDIO_INVALID;
        }
        if (si.channels < 1 || si.channels > 64 || si.samplerate < 1000 || si.samplerate > 384000) {
                snprintf(errstr, errstr_size, "%d channels at %d Hz", si.channels, si.samplerate);
                sf_close(sf);
                return AUDIO_INVALID;
        }
        /* normalised floats: integer formats come out in -1..1 */
        sf_command(sf, SFC_SET_NORM_FLOAT, NULL, SF_TRUE);
        chunk = 4096;
        buf = malloc(chunk * (size_t)si.channels * sizeof(*buf));
        if (!buf) {
                sf_close(sf);
                snprintf(errstr, errstr_size, "out of memory");
                return AUDIO_INTERNAL;
        }
        c->pcm.rate = si.samplerate;
        for (;;) {
                sf_count_t got = sf_readf_float(sf, buf, (sf_count_t)chunk);
                int r;

                if (got <= 0)
                        break;
                r = audio_collect_add(c, buf, (size_t)got, si.channels);
                if (r < 0) {
                        snprintf(errstr, errstr_size, "out of memory");
                        st = AUDIO_INTERNAL;
                        break;
                }
                if (r > 0) {
                        st = AUDIO_TOO_LONG;
                        break;
                }
        }
        if (st == AUDIO_OK && sf_error(sf) != SF_ERR_NO_ERROR) {
                snprintf(errstr, errstr_size, "%s", sf_strerror(sf));
                st = AUDIO_INVALID;
        }
        free(buf);
        snprintf(info->container, sizeof(info->container), "%s",
                 container_name(si.format & SF_FORMAT_TYPEMASK));
        snprintf(info->codec, sizeof(info->codec), "%s",
                 codec_name(si.format & SF_FORMAT_TYPEMASK, si.format & SF_FORMAT_SUBMASK));
        info->channels = si.channels;
        info->rate = si.samplerate;
        sf_close(sf);
        return st;
}

int audio_sndfile_encode(const struct audio_pcm *in, int sf_format, struct cairn_buf *out,
                         char *errstr, size_t errstr_size)
{
        struct memfile m = { 0 };
        SF_INFO si = { .samplerate = in->rate, .channels = 1, .format = sf_format };
        SNDFILE *sf;
        sf_count_t wrote;
        int rc = 0;

        if (!sf_format_check(&si)) {
                snprintf(errstr, errstr_size, "libsndfile cannot write format 0x%x at %d Hz",
                         sf_format, in->rate);
                return -1;
        }
        sf = sf_open_virtual(&memio, SFM_WRITE, &si, &m);
        if (!sf) {
                snprintf(errstr, errstr_size, "libsndfile: %s", sf_strerror(NULL));
                free(m.out);
                return -1;
        }
        /* clip rather than wrap samples a voice pushed past full scale */
        sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
        wrote = in->n ? sf_writef_float(sf, in->samples, (sf_count_t)in->n) : 0;
        if (wrote != (sf_count_t)in->n) {
                snprintf(errstr, errstr_size, "libsndfile: %s", sf_strerror(sf));
                rc = -1;
        }
        if (sf_close(sf) != 0 && rc == 0) {
                snprintf(errstr, errstr_size, "libsndfile could not finish the file");
                rc = -1;
        }
        if (rc == 0 && m.oom) {
                snprintf(errstr, errstr_size, "out of memory");
                rc = -1;
        }
        if (rc == 0) {
                cairn_buf_add(out, m.out, m.len);
                if (out->oom) {
                        snprintf(errstr, errstr_size, "output too large");
                        rc = -1;
                }
        }
        free(m.out);
        return rc;
}
