/* Unit tests for audio_decode: every upload format made from one flite clip
 * decodes to the same mono 16 kHz samples, stereo and 48 kHz inputs are
 * mixed and resampled, and what is not audio, or is broken, or too long, is
 * refused with a message naming the problem. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "audio_clips.h"

static struct audio_pcm ref; /* speech.wav, decoded */
static double ref_rms;

static void setup(void)
{
        size_t len;
        unsigned char *b;
        char err[256];

        clip_setup();
        b = clip_read(clip_path("speech.wav"), &len);
        ck_assert_int_eq(audio_decode(b, len, "speech.wav", 16000, 60, &ref, NULL, err,
                                      sizeof(err)),
                         AUDIO_OK);
        ref_rms = clip_rms(ref.samples, ref.n);
        free(b);
}

static void teardown(void)
{
        audio_pcm_free(&ref);
        clip_teardown();
}

/* Decodes @p name from the scratch directory; checks it is OK. */
static void decode_ok(const char *name, const char *container, const char *codec, int channels,
                      int rate, struct audio_pcm *pcm)
{
        size_t len;
        unsigned char *b = clip_read(clip_path(name), &len);
        struct audio_info info;
        char err[256] = "";
        enum audio_decode_status st = audio_decode(b, len, name, 16000, 60, pcm, &info, err,
                                                   sizeof(err));

        free(b);
        ck_assert_msg(st == AUDIO_OK, "%s: %s", name, err);
        ck_assert_str_eq(info.container, container);
        ck_assert_str_eq(info.codec, codec);
        ck_assert_int_eq(info.channels, channels);
        ck_assert_int_eq(info.rate, rate);
        ck_assert_int_eq(pcm->rate, 16000);
        /* encoders add a few ms of priming; a transport stream a frame more */
        ck_assert_msg(fabs(info.duration - (double)ref.n / 16000) < 0.15, "%s lasts %.3f s", name,
                      info.duration);
        ck_assert_msg(fabs((double)pcm->n - info.duration * 16000) < 16, "%s: %zu samples", name,
                      pcm->n);
        ck_assert_msg(fabs(clip_rms(pcm->samples, pcm->n) / ref_rms - 1) < 0.2, "%s: rms %.4f/%.4f",
                      name, clip_rms(pcm->samples, pcm->n), ref_rms);
}

/* clang-format off */
static const struct {
        const char *name, *a1, *a2, *a3, *a4, *container, *codec;
        int rate;
} formats[] = {
        { "a.wav",  NULL, NULL, NULL, NULL,                 "wav",    "pcm_s16", 16000 },
        { "a.flac", NULL, NULL, NULL, NULL,                 "flac",   "flac",    16000 },
        { "a.ogg",  "-c:a", "libvorbis", NULL, NULL,        "ogg",    "vorbis",  16000 },
        { "a.opus", "-c:a", "libopus", NULL, NULL,          "ogg",    "opus",    48000 },
        { "a.mp3",  "-c:a", "libmp3lame", NULL, NULL,       "mp3",    "mp3",     16000 },
        { "a.m4a",  "-c:a", "aac", NULL, NULL,              "mp4",    "aac",     16000 },
        { "a.mp4",  "-c:a", "aac", "-f", "mp4",             "mp4",    "aac",     16000 },
        { "a.webm", "-c:a", "libopus", NULL, NULL,          "webm",   "opus",    48000 },
        { "a.mpeg", "-c:a", "mp2", "-f", "mpeg",            "mpeg",   "mp2",     16000 },
        { "a.ts",   "-c:a", "aac", "-f", "mpegts",          "mpegts", "aac",     16000 },
};
/* clang-format on */

START_TEST(test_audio_decode_every_format)
{
        struct audio_pcm pcm;

        clip_ffmpeg(formats[_i].name, formats[_i].a1, formats[_i].a2, formats[_i].a3,
                    formats[_i].a4);
        decode_ok(formats[_i].name, formats[_i].container, formats[_i].codec, 1, formats[_i].rate,
                  &pcm);
        audio_pcm_free(&pcm);
}
END_TEST

START_TEST(test_audio_decode_stereo_48k_mixed_and_resampled)
{
        struct audio_pcm pcm;

        /* both channels carry the clip at full level (ffmpeg's own upmix lowers it 3 dB) */
        clip_ffmpeg("s48.wav", "-af", "pan=stereo|c0=c0|c1=c0", "-ar", "48000");
        decode_ok("s48.wav", "wav", "pcm_s16", 2, 48000, &pcm);
        audio_pcm_free(&pcm);
        clip_ffmpeg("s44.mp3", "-af", "pan=stereo|c0=c0|c1=c0", "-ar", "44100");
        decode_ok("s44.mp3", "mp3", "mp3", 2, 44100, &pcm);
        audio_pcm_free(&pcm);
}
END_TEST

START_TEST(test_audio_decode_content_wins_over_name)
{
        struct audio_pcm pcm;
        size_t len;
        unsigned char *b;

        clip_ffmpeg("x.flac", NULL, NULL, NULL, NULL);
        b = clip_read(clip_path("x.flac"), &len);
        clip_write(clip_path("named.mp3"), b, len);
        free(b);
        decode_ok("named.mp3", "flac", "flac", 1, 16000, &pcm);
        audio_pcm_free(&pcm);
}
END_TEST

/* Decodes @p len bytes and checks it is refused with a message holding @p want. */
static void refused(const void *b, size_t len, const char *name, enum audio_decode_status want,
                    const char *message)
{
        struct audio_pcm pcm = { (float *)1, 1, 1 };
        char err[512] = "";
        enum audio_decode_status st = audio_decode(b, len, name, 16000, 60, &pcm, NULL, err,
                                                   sizeof(err));

        ck_assert_msg(st == want, "%s: status %d (%s)", name, st, err);
        ck_assert_msg(strstr(err, message), "%s: '%s' lacks '%s'", name, err, message);
        ck_assert_ptr_null(pcm.samples);
        ck_assert_uint_eq(pcm.n, 0);
}

START_TEST(test_audio_decode_not_audio_named)
{
        static const unsigned char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
        static const unsigned char jpeg[] = "\xff\xd8\xff\xe0\0\x10JFIF\0";

        refused(png, sizeof(png), "voice.mp3", AUDIO_INVALID,
                "file 'voice.mp3' is a PNG image, not audio");
        refused(jpeg, sizeof(jpeg), "a.wav", AUDIO_INVALID, "is a JPEG image, not audio");
        refused("GIF89a....", 10, "a.wav", AUDIO_INVALID, "is a GIF image");
        refused("%PDF-1.7\n", 9, "a.wav", AUDIO_INVALID, "is a PDF document");
        refused("PK\x03\x04zzzz", 8, "a.wav", AUDIO_INVALID, "is a ZIP archive");
        refused("hello, this is not audio\n", 25, "a.wav", AUDIO_INVALID, "is text, not audio");
        refused(" {\"text\": 1}", 12, "a.wav", AUDIO_INVALID, "is JSON text");
        refused("<!DOCTYPE html><html>", 21, "a.wav", AUDIO_INVALID, "is an HTML page");
}
END_TEST

START_TEST(test_audio_decode_empty_random_truncated)
{
        unsigned char noise[4096], *b;
        unsigned int seed = 7;
        size_t len;

        refused("", 0, "a.wav", AUDIO_INVALID, "file 'a.wav' is empty");
        refused(NULL, 0, NULL, AUDIO_INVALID, "file 'upload' is empty");
        for (size_t i = 0; i < sizeof(noise); i++)
                noise[i] = (unsigned char)(rand_r(&seed) >> 7);
        noise[0] = 0x13; /* not an MPEG sync by chance */
        refused(noise, sizeof(noise), "a.wav", AUDIO_INVALID, "not a known audio format");

        b = clip_read(clip_path("speech.wav"), &len);
        refused(b, 30, "a.wav", AUDIO_INVALID, "holds WAV audio that cannot be decoded");
        free(b);
        clip_ffmpeg("t.mp4", "-c:a", "aac", "-f", "mp4");
        b = clip_read(clip_path("t.mp4"), &len);
        refused(b, len / 2, "a.mp4", AUDIO_INVALID, "holds MP4 audio that cannot be decoded");
        free(b);
        clip_ffmpeg("t.mp3", "-c:a", "libmp3lame", NULL, NULL);
        b = clip_read(clip_path("t.mp3"), &len);
        refused(b, 200, "a.mp3", AUDIO_INVALID, "MP3 audio");
        free(b);
        clip_ffmpeg("t.ogg", "-c:a", "libvorbis", NULL, NULL);
        b = clip_read(clip_path("t.ogg"), &len);
        refused(b, 1000, "a.ogg", AUDIO_INVALID, "holds Ogg Vorbis audio that cannot be decoded");
        free(b);
        clip_ffmpeg("t.flac", NULL, NULL, NULL, NULL);
        b = clip_read(clip_path("t.flac"), &len);
        /* only when it cannot be decoded does the name's promise come up */
        refused(b, 50, "a.mp3", AUDIO_INVALID, "is named .mp3 but holds FLAC audio");
        free(b);
}
END_TEST

/* A WAV header claiming 2^31 frames over a few hundred bytes: what is there
 * is read, nothing more is allocated. */
START_TEST(test_audio_decode_header_lies)
{
        unsigned char *b;
        size_t len;
        struct audio_pcm pcm;
        char err[256];

        b = clip_read(clip_path("speech.wav"), &len);
        ck_assert_uint_gt(len, 1044);
        memcpy(b + 40, "\0\0\0\x80", 4); /* data chunk: 2^31 bytes */
        memcpy(b + 4, "\x24\0\0\x80", 4);
        ck_assert_int_eq(audio_decode(b, 1044, "a.wav", 16000, 60, &pcm, NULL, err, sizeof(err)),
                         AUDIO_OK);
        ck_assert_uint_eq(pcm.n, 500);
        audio_pcm_free(&pcm);
        free(b);
}
END_TEST

/* A few samples at a very high rate make none at 16 kHz: refused, as
 * audio with no samples is. */
START_TEST(test_audio_decode_no_sample_after_resampling)
{
        unsigned char *b;
        size_t len;
        struct audio_pcm pcm;
        char err[256];

        b = clip_read(clip_path("speech.wav"), &len);
        ck_assert_uint_gt(len, 48);
        memcpy(b + 24, "\x80\x84\x1e\0", 4); /* 2,000,000 Hz */
        memcpy(b + 28, "\0\x09\x3d\0", 4);   /* bytes a second, 16-bit mono */
        memcpy(b + 40, "\4\0\0\0", 4);       /* two samples */
        memcpy(b + 4, "\x28\0\0\0", 4);
        ck_assert_int_eq(audio_decode(b, 48, "a.wav", 16000, 60, &pcm, NULL, err, sizeof(err)),
                         AUDIO_INVALID);
        ck_assert_ptr_null(pcm.samples);
        ck_assert_msg(strstr(err, "2 samples at 2000000 Hz make no sample at 16000 Hz"), "%s", err);
        free(b);
}
END_TEST

/* Too long is told early: a clip far longer than the limit is refused
 * after decoding little more than the limit. */
START_TEST(test_audio_decode_too_long)
{
        const char *names[] = { "speech.wav", "l.mp4", "l.webm", "l.mp3" };
        struct audio_pcm pcm;
        char err[256];

        clip_ffmpeg("l.mp4", "-c:a", "aac", "-f", "mp4");
        clip_ffmpeg("l.webm", "-c:a", "libopus", NULL, NULL);
        clip_ffmpeg("l.mp3", "-c:a", "libmp3lame", NULL, NULL);
        for (size_t i = 0; i < 4; i++) {
                size_t len;
                unsigned char *b = clip_read(clip_path(names[i]), &len);

                ck_assert_int_eq(audio_decode(b, len, "x.bin", 16000, 1.0, &pcm, NULL, err,
                                              sizeof(err)),
                                 AUDIO_TOO_LONG);
                ck_assert_str_eq(err, "file 'x.bin' is longer than 1 s");
                ck_assert_ptr_null(pcm.samples);
                free(b);
        }
}
END_TEST

START_TEST(test_audio_decode_bad_request)
{
        struct audio_pcm pcm;
        char err[256];

        ck_assert_int_eq(audio_decode("RIFF", 4, "a", 0, 10, &pcm, NULL, err, sizeof(err)),
                         AUDIO_INTERNAL);
        ck_assert_int_eq(audio_decode("RIFF", 4, "a", 16000, 0, &pcm, NULL, err, sizeof(err)),
                         AUDIO_INTERNAL);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("speech_audio_decode");
        TCase *tc = tcase_create("audio_decode");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_loop_test(tc, test_audio_decode_every_format, 0,
                            sizeof(formats) / sizeof(formats[0]));
        tcase_add_test(tc, test_audio_decode_stereo_48k_mixed_and_resampled);
        tcase_add_test(tc, test_audio_decode_content_wins_over_name);
        tcase_add_test(tc, test_audio_decode_not_audio_named);
        tcase_add_test(tc, test_audio_decode_empty_random_truncated);
        tcase_add_test(tc, test_audio_decode_header_lies);
        tcase_add_test(tc, test_audio_decode_no_sample_after_resampling);
        tcase_add_test(tc, test_audio_decode_too_long);
        tcase_add_test(tc, test_audio_decode_bad_request);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
