/* Unit tests for audio_encode and the output format names: every format
 * OpenAI's speech API returns comes out at 24 kHz mono, lasting as long as
 * what went in, readable by ffprobe and by audio_decode. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit.h"
#include "audio_clips.h"

static struct audio_pcm speech; /* the flite clip at its own 16 kHz */

static void setup(void)
{
        size_t len;
        unsigned char *b;
        char err[256];

        clip_setup();
        b = clip_read(clip_path("speech.wav"), &len);
        ck_assert_int_eq(audio_decode(b, len, "speech.wav", 16000, 60, &speech, NULL, err,
                                      sizeof(err)),
                         AUDIO_OK);
        free(b);
}

static void teardown(void)
{
        audio_pcm_free(&speech);
        clip_teardown();
}

START_TEST(test_audio_format_names)
{
        static const char *names[] = { "mp3", "opus", "aac", "flac", "wav", "pcm" };
        static const char *types[] = { "audio/mpeg", "audio/ogg", "audio/aac",
                                       "audio/flac", "audio/wav", "audio/pcm" };

        for (int i = 0; i < 6; i++) {
                ck_assert_int_eq(audio_format_parse(names[i]), i);
                ck_assert_str_eq(audio_format_name((enum audio_format)i), names[i]);
                ck_assert_str_eq(audio_format_content_type((enum audio_format)i), types[i]);
        }
        ck_assert_int_eq(audio_format_parse("MP3"), -1);
        ck_assert_int_eq(audio_format_parse("ogg"), -1);
        ck_assert_int_eq(audio_format_parse(""), -1);
        ck_assert_int_eq(audio_format_parse(NULL), -1);
        ck_assert_ptr_null(audio_format_name((enum audio_format)6));
        ck_assert_ptr_null(audio_format_content_type((enum audio_format) - 1));
}
END_TEST

/* What ffprobe says of @p path: "codec,rate,channels". */
static void probe(const char *path, char *out, size_t size)
{
        const char *out_path = clip_path("probe.txt");
        const char *argv[] = { "ffprobe",
                               "-v",
                               "error",
                               "-select_streams",
                               "a:0",
                               "-show_entries",
                               "stream=codec_name,sample_rate,channels",
                               "-of",
                               "csv=p=0",
                               "-o",
                               out_path,
                               path,
                               NULL };
        size_t len;
        unsigned char *b;

        ck_assert_int_eq(clip_run(argv), 0);
        b = clip_read(out_path, &len);
        while (len && (b[len - 1] == '\n' || b[len - 1] == '\r'))
                len--;
        snprintf(out, size, "%.*s", (int)len, (const char *)b);
        free(b);
}

/* clang-format off */
static const struct {
        enum audio_format f;
        const char *file, *probe, *container, *codec;
        double slack; /* encoder priming and padding, seconds */
} outputs[] = {
        { AUDIO_MP3,  "o.mp3",  "mp3,24000,1",       "mp3",  "mp3",     0.08 },
        /* Ogg Opus always decodes at 48 kHz; the header keeps the 24 kHz input rate */
        { AUDIO_OPUS, "o.opus", "opus,48000,1",      "ogg",  "opus",    0.03 },
        { AUDIO_AAC,  "o.aac",  "aac,24000,1",       "aac",  "aac",     0.1 },
        { AUDIO_FLAC, "o.flac", "flac,24000,1",      "flac", "flac",    0.001 },
        { AUDIO_WAV,  "o.wav",  "pcm_s16le,24000,1", "wav",  "pcm_s16", 0.001 },
};
/* clang-format on */

START_TEST(test_audio_encode_every_format)
{
        struct cairn_buf out = { 0 };
        struct audio_pcm back;
        struct audio_info info;
        char err[256] = "", probed[128];
        double secs = (double)speech.n / speech.rate;

        ck_assert_msg(audio_encode(&speech, outputs[_i].f, &out, err, sizeof(err)) == 0, "%s: %s",
                      outputs[_i].file, err);
        ck_assert_uint_gt(out.len, 100);
        clip_write(clip_path(outputs[_i].file), out.p, out.len);
        probe(clip_path(outputs[_i].file), probed, sizeof(probed));
        ck_assert_str_eq(probed, outputs[_i].probe);
        /* and our own decoder reads it back, as long as it was */
        ck_assert_int_eq(audio_decode(out.p, out.len, outputs[_i].file, 24000, 60, &back, &info,
                                      err, sizeof(err)),
                         AUDIO_OK);
        ck_assert_str_eq(info.container, outputs[_i].container);
        ck_assert_str_eq(info.codec, outputs[_i].codec);
        ck_assert_int_eq(info.channels, 1);
        ck_assert_msg(info.duration >= secs - 0.002 && info.duration <= secs + outputs[_i].slack,
                      "%s lasts %.4f s, not %.4f", outputs[_i].file, info.duration, secs);
        ck_assert_msg(fabs(clip_rms(back.samples, back.n) / clip_rms(speech.samples, speech.n) -
                           1) < 0.15,
                      "%s: level changed", outputs[_i].file);
        audio_pcm_free(&back);
        cairn_buf_cleanup(&out);
}
END_TEST

START_TEST(test_audio_encode_pcm_is_s16le_24k)
{
        struct audio_pcm in = { (float[]){ 0.f, 0.5f, -0.5f, 1.f, -1.f, 2.f }, 6, 24000 };
        struct cairn_buf out = { 0 };
        char err[256];
        const unsigned char *b;

        ck_assert_int_eq(audio_encode(&in, AUDIO_PCM, &out, err, sizeof(err)), 0);
        ck_assert_uint_eq(out.len, 12);
        b = (const unsigned char *)out.p;
        ck_assert_int_eq((int16_t)(b[2] | b[3] << 8), 16384);   /* 0.5 */
        ck_assert_int_eq((int16_t)(b[4] | b[5] << 8), -16384);  /* -0.5 */
        ck_assert_int_eq((int16_t)(b[6] | b[7] << 8), 32767);   /* 1 */
        ck_assert_int_eq((int16_t)(b[10] | b[11] << 8), 32767); /* clipped */
        cairn_buf_cleanup(&out);
        /* 16 kHz in: 1.5 times the samples out */
        ck_assert_int_eq(audio_encode(&speech, AUDIO_PCM, &out, err, sizeof(err)), 0);
        ck_assert_msg(fabs((double)out.len / 2 - (double)speech.n * 1.5) < 4, "%zu bytes", out.len);
        cairn_buf_cleanup(&out);
}
END_TEST

START_TEST(test_audio_encode_empty_and_bad)
{
        struct audio_pcm none = { NULL, 0, 24000 };
        struct cairn_buf out = { 0 };
        char err[256];

        ck_assert_int_eq(audio_encode(&none, AUDIO_WAV, &out, err, sizeof(err)), 0);
        ck_assert_uint_eq(out.len, 44); /* a header and no samples */
        cairn_buf_cleanup(&out);
        ck_assert_int_eq(audio_encode(&none, (enum audio_format)42, &out, err, sizeof(err)), -1);
        ck_assert_str_eq(err, "unknown output format 42");
        none.rate = 0;
        ck_assert_int_eq(audio_encode(&none, AUDIO_MP3, &out, err, sizeof(err)), -1);
        cairn_buf_cleanup(&out);
}
END_TEST

/* A bounded output buffer too small for the file fails, never truncates. */
START_TEST(test_audio_encode_output_bounded)
{
        struct cairn_buf out = { .max = 1000 };
        char err[256];

        for (int f = AUDIO_MP3; f <= AUDIO_PCM; f++) {
                ck_assert_int_eq(audio_encode(&speech, (enum audio_format)f, &out, err,
                                              sizeof(err)),
                                 -1);
                cairn_buf_cleanup(&out);
                out = (struct cairn_buf){ .max = 1000 };
        }
}
END_TEST

int main(void)
{
        Suite *s = suite_create("speech_audio_encode");
        TCase *tc = tcase_create("audio_encode");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_audio_format_names);
        tcase_add_loop_test(tc, test_audio_encode_every_format, 0,
                            sizeof(outputs) / sizeof(outputs[0]));
        tcase_add_test(tc, test_audio_encode_pcm_is_s16le_24k);
        tcase_add_test(tc, test_audio_encode_empty_and_bad);
        tcase_add_test(tc, test_audio_encode_output_bounded);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
