/* What the audio unit tests share: a scratch directory, clips made at test
 * time with the flite, espeak-ng and ffmpeg commands, and reading files. */
#ifndef TESTS_UNIT_SPEECH_AUDIO_CLIPS_H
#define TESTS_UNIT_SPEECH_AUDIO_CLIPS_H

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "speech/audio.h"

static char clip_dir[512];

/* Runs @p argv with its output discarded; returns its exit status. */
static inline int clip_run(const char *const argv[])
{
        pid_t pid = fork();
        int status;

        if (pid == 0) {
                int null = open("/dev/null", O_RDWR);

                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The path of @p name in the scratch directory (a static buffer per call site is
 * not needed: callers copy or use it at once). */
static inline const char *clip_path(const char *name)
{
        static char path[4][640];
        static int next;
        char *p = path[next++ % 4];

        snprintf(p, sizeof(path[0]), "%s/%s", clip_dir, name);
        return p;
}

/* Makes the scratch directory and, in it, speech.wav: flite's slt voice,
 * 16 kHz mono, about 3.5 s. */
static inline void clip_setup(void)
{
        const char *tmp = getenv("TMPDIR");
        const char *flite[] = { "flite",
                                "-voice",
                                "slt",
                                "-t",
                                "The quick brown fox jumps over the lazy dog near the river.",
                                "-o",
                                NULL,
                                NULL };

        signal(SIGPIPE, SIG_IGN);
        snprintf(clip_dir, sizeof(clip_dir), "%s/audio-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(clip_dir));
        flite[6] = clip_path("speech.wav");
        ck_assert_int_eq(clip_run(flite), 0);
}

static inline void clip_teardown(void)
{
        const char *rm[] = { "rm", "-rf", clip_dir, NULL };

        if (*clip_dir)
                clip_run(rm);
}

/* Converts speech.wav into @p name with ffmpeg and the given arguments. */
static inline void clip_ffmpeg(const char *name, const char *a1, const char *a2, const char *a3,
                               const char *a4)
{
        const char *argv[16] = { "ffmpeg", "-v", "error", "-y", "-i", clip_path("speech.wav") };
        int n = 6;

        for (const char *a[] = { a1, a2, a3, a4 }, **p = a; p < a + 4 && *p; p++)
                argv[n++] = *p;
        argv[n++] = clip_path(name);
        argv[n] = NULL;
        ck_assert_msg(clip_run(argv) == 0, "ffmpeg could not make %s", name);
}

/* Reads a whole file (malloc'd, *len bytes). */
static inline unsigned char *clip_read(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        unsigned char *b;
        long n;

        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        b = malloc((size_t)n + 1);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        *len = (size_t)n;
        return b;
}

static inline void clip_write(const char *path, const void *p, size_t len)
{
        FILE *f = fopen(path, "wb");

        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(p, 1, len, f), len);
        fclose(f);
}

static inline double clip_rms(const float *s, size_t n)
{
        double sum = 0;

        for (size_t i = 0; i < n; i++)
                sum += (double)s[i] * s[i];
        return n ? sqrt(sum / (double)n) : 0;
}

#endif
