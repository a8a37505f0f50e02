/* FFmpeg's libraries over memory: reading the uploads libsndfile does not
 * (MP4/M4A, WebM/Matroska, MPEG streams, AAC, ...) and writing AAC in ADTS.
 * Only audio demuxers on a list are used, over a custom AVIOContext: no
 * network protocol, no file is ever opened, probing is bounded, and a
 * decode that runs past a wall-clock limit is interrupted. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "speech/audio_impl.h"

#define IO_BUF         32768
#define PROBE_BYTES    (1 << 20)
#define DECODE_SECONDS 60 /* a decode that takes longer than this is stopped */

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

/* FFmpeg writes its warnings to stderr unless told not to. */
static void quiet(void)
{
        av_log_set_level(AV_LOG_QUIET);
}

/* Demuxers allowed: containers that carry audio. Image, playlist and
 * concat demuxers (which open other files) are not among them. */
static const char *const demuxers[] = {
        "mov", "mp4",  "m4a", "matroska", "webm", "mpeg",   "mpegts", "mp3",   "ogg",  "flac",
        "wav", "w64",  "aac", "ac3",      "eac3", "amr",    "amrnb",  "amrwb", "aiff", "caf",
        "au",  "asf",  "avi", "flv",      "dts",  "truehd", "mlp",    "wv",    "ape",  "tta",
        "mpc", "mpc8", "gsm", "voc",      "rm",   "xwma",   "loas",   "latm",  "3gp",  NULL,
};

static bool demuxer_allowed(const char *names)
{
        char copy[128], *save = NULL;

        snprintf(copy, sizeof(copy), "%s", names);
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                for (size_t i = 0; demuxers[i]; i++)
                        if (strcmp(t, demuxers[i]) == 0)
                                return true;
        return false;
}

struct memin {
        const unsigned char *p;
        size_t len, pos;
        struct timespec deadline;
};

static int mem_read(void *opaque, uint8_t *buf, int size)
{
        struct memin *m = opaque;
        size_t n = m->len - m->pos;

        if (n == 0)
                return AVERROR_EOF;
        if (n > (size_t)size)
                n = (size_t)size;
        memcpy(buf, m->p + m->pos, n);
        m->pos += n;
        return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
        struct memin *m = opaque;
        int64_t base;

        whence &= ~AVSEEK_FORCE;
        if (whence == AVSEEK_SIZE)
                return (int64_t)m->len;
        base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (int64_t)m->pos : (int64_t)m->len;
        if (base + off < 0 || base + off > (int64_t)m->len)
                return AVERROR(EINVAL);
        m->pos = (size_t)(base + off);
        return (int64_t)m->pos;
}

static int past_deadline(void *opaque)
{
        struct memin *m = opaque;
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return now.tv_sec > m->deadline.tv_sec ||
               (now.tv_sec == m->deadline.tv_sec && now.tv_nsec > m->deadline.tv_nsec);
}

/* A demuxer that wants another file (mov's references, ...) gets none. */
static int refuse_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                       AVDictionary **options)
{
        (void)s, (void)pb, (void)url, (void)flags, (void)options;
        return AVERROR(EPERM);
}

static void errtext(int err, char *errstr, size_t errstr_size)
{
        char e[AV_ERROR_MAX_STRING_SIZE];

        av_strerror(err, e, sizeof(e));
        snprintf(errstr, errstr_size, "%s", e);
}

/* Why a container could not be read: FFmpeg's words alone ("Invalid
 * argument") do not tell a client what is wrong with the upload. */
static void corrupt(int err, char *errstr, size_t errstr_size)
{
        char e[AV_ERROR_MAX_STRING_SIZE];

        av_strerror(err, e, sizeof(e));
        snprintf(errstr, errstr_size, "it is truncated or corrupt (%s)", e);
}

/* One sample of any packed or planar format as a float (memcpy: FFmpeg's
 * buffers are bytes). */
static float sample_at(const AVFrame *f, int fmt, int ch, int i, int channels)
{
        bool planar = av_sample_fmt_is_planar(fmt);
        const uint8_t *d = f->extended_data[planar ? ch : 0];
        size_t k = planar ? (size_t)i : (size_t)i * (size_t)channels + (size_t)ch;
        int16_t s16;
        int32_t s32;
        int64_t s64;
        float flt;
        double dbl;

        switch (av_get_packed_sample_fmt(fmt)) {
        case AV_SAMPLE_FMT_U8:
                return ((float)d[k] - 128.f) / 128.f;
        case AV_SAMPLE_FMT_S16:
                memcpy(&s16, d + k * sizeof(s16), sizeof(s16));
                return (float)s16 / 32768.f;
        case AV_SAMPLE_FMT_S32:
                memcpy(&s32, d + k * sizeof(s32), sizeof(s32));
                return (float)s32 / 2147483648.f;
        case AV_SAMPLE_FMT_S64:
                memcpy(&s64, d + k * sizeof(s64), sizeof(s64));
                return (float)((double)s64 / 9223372036854775808.0);
        case AV_SAMPLE_FMT_FLT:
                memcpy(&flt, d + k * sizeof(flt), sizeof(flt));
                return flt;
        case AV_SAMPLE_FMT_DBL:
                memcpy(&dbl, d + k * sizeof(dbl), sizeof(dbl));
                return (float)dbl;
        default:
                return 0.f;
        }
}

/* Adds a decoded frame to @p c. Returns audio_collect_add's result, or -2
 * for a frame that is not usable. */
static int add_frame(struct audio_collect *c, const AVFrame *f, float **tmp, size_t *tmp_cap)
{
        int channels = f->ch_layout.nb_channels;
        size_t need = (size_t)f->nb_samples * (size_t)channels;

        if (channels < 1 || channels > 64 || f->nb_samples < 0 || f->sample_rate <= 0)
                return -2;
        if (c->pcm.rate == 0)
                c->pcm.rate = f->sample_rate;
        if (need > *tmp_cap) {
                float *t = realloc(*tmp, need * sizeof(*t));

                if (!t)
                        return -1;
                *tmp = t;
                *tmp_cap = need;
        }
        for (int i = 0; i < f->nb_samples; i++)
                for (int ch = 0; ch < channels; ch++)
                        (*tmp)[(size_t)i * (size_t)channels + (size_t)ch] =
                                sample_at(f, f->format, ch, i, channels);
        return audio_collect_add(c, *tmp, (size_t)f->nb_samples, channels);
}

struct decoder {
        struct memin m;
        AVIOContext *pb;
        AVFormatContext *fmt;
        AVCodecContext *dec;
        AVPacket *pkt;
        AVFrame *frame;
        float *tmp;
        size_t tmp_cap;
};

static void decoder_cleanup(struct decoder *d)
{
        av_frame_free(&d->frame);
        av_packet_free(&d->pkt);
        avcodec_free_context(&d->dec);
        avformat_close_input(&d->fmt);
        if (d->pb) {
                av_freep(&d->pb->buffer);
                avio_context_free(&d->pb);
        }
        free(d->tmp);
}

/* Receives every frame the decoder has ready. Returns 0, or the status
 * that stops decoding. */
static enum audio_decode_status drain(struct decoder *d, struct audio_collect *c, char *errstr,
                                      size_t errstr_size)
{
        for (;;) {
                int r = avcodec_receive_frame(d->dec, d->frame);

                if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
                        return AUDIO_OK;
                if (r < 0) /* a broken packet: skip it, as players do */
                        return AUDIO_OK;
                r = add_frame(c, d->frame, &d->tmp, &d->tmp_cap);
                av_frame_unref(d->frame);
                if (r == 1)
                        return AUDIO_TOO_LONG;
                if (r == -1) {
                        snprintf(errstr, errstr_size, "out of memory");
                        return AUDIO_INTERNAL;
                }
                if (r == -2) {
                        snprintf(errstr, errstr_size, "a frame with no usable layout");
                        return AUDIO_INVALID;
                }
        }
}

static enum audio_decode_status open_input(struct decoder *d, bool known_audio,
                                           const AVCodec **codec, int *stream, char *errstr,
                                           size_t errstr_size)
{
        const AVInputFormat *ifmt = NULL;
        unsigned char *iobuf = av_malloc(IO_BUF);
        int r;

        d->fmt = avformat_alloc_context();
        if (!iobuf || !d->fmt) {
                av_free(iobuf);
                snprintf(errstr, errstr_size, "out of memory");
                return AUDIO_INTERNAL;
        }
        d->pb = avio_alloc_context(iobuf, IO_BUF, 0, &d->m, mem_read, NULL, mem_seek);
        if (!d->pb) {
                av_free(iobuf);
                snprintf(errstr, errstr_size, "out of memory");
                return AUDIO_INTERNAL;
        }
        r = av_probe_input_buffer2(d->pb, &ifmt, "", NULL, 0, PROBE_BYTES);
        /* a weak guess is only trusted for bytes that already look like audio */
        if (r < 0 || !ifmt || (!known_audio && r < AVPROBE_SCORE_MAX / 4)) {
                snprintf(errstr, errstr_size, "no audio format recognised");
                return AUDIO_INVALID;
        }
        if (!demuxer_allowed(ifmt->name)) {
                snprintf(errstr, errstr_size, "it looks like '%s', which is not an audio format",
                         ifmt->name);
                return AUDIO_INVALID;
        }
        d->fmt->pb = d->pb;
        d->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
        d->fmt->probesize = PROBE_BYTES;
        d->fmt->max_analyze_duration = 5 * AV_TIME_BASE;
        d->fmt->io_open = refuse_open;
        d->fmt->interrupt_callback.callback = past_deadline;
        d->fmt->interrupt_callback.opaque = &d->m;
        r = avformat_open_input(&d->fmt, NULL, ifmt, NULL);
        if (r < 0) { /* the context is freed on failure */
                corrupt(r, errstr, errstr_size);
                return AUDIO_INVALID;
        }
        r = avformat_find_stream_info(d->fmt, NULL);
        if (r < 0) {
                corrupt(r, errstr, errstr_size);
                return AUDIO_INVALID;
        }
        *stream = av_find_best_stream(d->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, codec, 0);
        if (*stream == AVERROR_STREAM_NOT_FOUND) {
                snprintf(errstr, errstr_size, "it has no audio stream");
                return AUDIO_INVALID;
        }
        if (*stream < 0 || !*codec) {
                snprintf(errstr, errstr_size, "no decoder for its audio (%s)",
                         *stream >= 0
                                 ? avcodec_get_name(d->fmt->streams[*stream]->codecpar->codec_id)
                                 : "unknown");
                return AUDIO_INVALID;
        }
        return AUDIO_OK;
}

static void describe(const struct decoder *d, int stream, struct audio_info *info)
{
        const AVCodecParameters *par = d->fmt->streams[stream]->codecpar;
        const char *name = d->fmt->iformat->name;
        char first[32];

        snprintf(first, sizeof(first), "%s", name);
        first[strcspn(first, ",")] = '\0';
        snprintf(info->container, sizeof(info->container), "%s",
                 strcmp(first, "mov") == 0        ? "mp4"
                 : strcmp(first, "matroska") == 0 ? "webm"
                                                  : first);
        snprintf(info->codec, sizeof(info->codec), "%s", avcodec_get_name(par->codec_id));
        info->channels = par->ch_layout.nb_channels;
        info->rate = par->sample_rate;
}

enum audio_decode_status audio_ffmpeg_decode(const void *bytes, size_t len, bool known_audio,
                                             struct audio_collect *c, struct audio_info *info,
                                             char *errstr, size_t errstr_size)
{
        struct decoder d = { .m = { .p = bytes, .len = len } };
        const AVCodec *codec = NULL;
        enum audio_decode_status st;
        int stream = -1, r, bad = 0, good = 0;

        pthread_once(&quiet_once, quiet);
        clock_gettime(CLOCK_MONOTONIC, &d.m.deadline);
        d.m.deadline.tv_sec += DECODE_SECONDS;
        st = open_input(&d, known_audio, &codec, &stream, errstr, errstr_size);
        if (st != AUDIO_OK)
                goto out;
        d.dec = avcodec_alloc_context3(codec);
        d.pkt = av_packet_alloc();
        d.frame = av_frame_alloc();
        if (!d.dec || !d.pkt || !d.frame) {
                snprintf(errstr, errstr_size, "out of memory");
                st = AUDIO_INTERNAL;
                goto out;
        }
        r = avcodec_parameters_to_context(d.dec, d.fmt->streams[stream]->codecpar);
        d.dec->thread_count = 1;
        if (r >= 0)
                r = avcodec_open2(d.dec, codec, NULL);
        if (r < 0) {
                errtext(r, errstr, errstr_size);
                st = AUDIO_INVALID;
                goto out;
        }
        describe(&d, stream, info);
        while ((r = av_read_frame(d.fmt, d.pkt)) >= 0) {
                if (d.pkt->stream_index == stream) {
                        if (avcodec_send_packet(d.dec, d.pkt) < 0)
                                bad++;
                        else
                                good++;
                        st = drain(&d, c, errstr, errstr_size);
                }
                av_packet_unref(d.pkt);
                if (st != AUDIO_OK)
                        goto out;
        }
        if (r == AVERROR_EXIT) {
                snprintf(errstr, errstr_size, "decoding took longer than %d s", DECODE_SECONDS);
                st = AUDIO_INVALID;
                goto out;
        }
        /* a truncated file ends in an error: what came before it is kept */
        if (r != AVERROR_EOF && c->pcm.n == 0) {
                corrupt(r, errstr, errstr_size);
                st = AUDIO_INVALID;
                goto out;
        }
        avcodec_send_packet(d.dec, NULL);
        st = drain(&d, c, errstr, errstr_size);
        if (st == AUDIO_OK && c->pcm.n == 0)
                snprintf(errstr, errstr_size, "%d of %d audio packets could not be decoded", bad,
                         bad + good);
        if (c->pcm.rate)
                info->rate = c->pcm.rate;
out:
        decoder_cleanup(&d);
        return st;
}

/* ---- AAC in ADTS ---- */

static int buf_write(void *opaque, uint8_t *p, int n)
{
        cairn_buf_add(opaque, p, (size_t)n);
        return ((struct cairn_buf *)opaque)->oom ? AVERROR(ENOMEM) : n;
}

struct aac {
        AVFormatContext *oc;
        AVCodecContext *enc;
        AVStream *st;
        AVPacket *pkt;
        AVFrame *frame;
};

/* Sends one frame (NULL flushes) and writes every packet that comes out. */
static int encode_send(struct aac *a, const AVFrame *f)
{
        int r = avcodec_send_frame(a->enc, f);

        while (r >= 0) {
                r = avcodec_receive_packet(a->enc, a->pkt);
                if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
                        return 0;
                if (r < 0)
                        break;
                av_packet_rescale_ts(a->pkt, a->enc->time_base, a->st->time_base);
                a->pkt->stream_index = a->st->index;
                r = av_interleaved_write_frame(a->oc, a->pkt);
        }
        return r;
}

static int aac_encode(struct aac *a, const struct audio_pcm *in, struct cairn_buf *out)
{
        const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
        unsigned char *iobuf;
        int r;

        if (!codec)
                return AVERROR_ENCODER_NOT_FOUND;
        r = avformat_alloc_output_context2(&a->oc, NULL, "adts", NULL);
        if (r < 0)
                return r;
        iobuf = av_malloc(IO_BUF);
        a->oc->pb = iobuf ? avio_alloc_context(iobuf, IO_BUF, 1, out, NULL, buf_write, NULL) : NULL;
        a->enc = avcodec_alloc_context3(codec);
        a->st = avformat_new_stream(a->oc, NULL);
        a->pkt = av_packet_alloc();
        a->frame = av_frame_alloc();
        if (!a->oc->pb || !a->enc || !a->st || !a->pkt || !a->frame) {
                if (!a->oc->pb)
                        av_free(iobuf);
                return AVERROR(ENOMEM);
        }
        a->enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
        a->enc->sample_rate = in->rate;
        a->enc->bit_rate = 64000;
        a->enc->time_base = (AVRational){ 1, in->rate };
        av_channel_layout_default(&a->enc->ch_layout, 1);
        r = avcodec_open2(a->enc, codec, NULL);
        if (r >= 0)
                r = avcodec_parameters_from_context(a->st->codecpar, a->enc);
        a->st->time_base = a->enc->time_base;
        if (r >= 0)
                r = avformat_write_header(a->oc, NULL);
        for (size_t at = 0; r >= 0 && at < in->n; at += (size_t)a->enc->frame_size) {
                size_t n = in->n - at < (size_t)a->enc->frame_size ? in->n - at
                                                                   : (size_t)a->enc->frame_size;

                a->frame->nb_samples = (int)n;
                a->frame->format = AV_SAMPLE_FMT_FLTP;
                a->frame->sample_rate = in->rate;
                a->frame->pts = (int64_t)at;
                r = av_channel_layout_copy(&a->frame->ch_layout, &a->enc->ch_layout);
                if (r >= 0)
                        r = av_frame_get_buffer(a->frame, 0);
                if (r >= 0) {
                        memcpy(a->frame->data[0], in->samples + at, n * sizeof(float));
                        r = encode_send(a, a->frame);
                }
                av_frame_unref(a->frame);
        }
        if (r >= 0)
                r = encode_send(a, NULL);
        if (r >= 0)
                r = av_write_trailer(a->oc);
        if (a->oc->pb)
                avio_flush(a->oc->pb);
        return r;
}

int audio_ffmpeg_encode_aac(const struct audio_pcm *in, struct cairn_buf *out, char *errstr,
                            size_t errstr_size)
{
        struct aac a = { 0 };
        int r;

        pthread_once(&quiet_once, quiet);
        r = aac_encode(&a, in, out);
        if (r < 0)
                errtext(r, errstr, errstr_size);
        else if (out->oom)
                snprintf(errstr, errstr_size, "output too large");
        av_frame_free(&a.frame);
        av_packet_free(&a.pkt);
        avcodec_free_context(&a.enc);
        if (a.oc) {
                if (a.oc->pb) {
                        av_freep(&a.oc->pb->buffer);
                        avio_context_free(&a.oc->pb);
                }
                avformat_free_context(a.oc);
        }
        return r < 0 || out->oom ? -1 : 0;
}
