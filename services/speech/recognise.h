/* The speech service's way from 16 kHz samples to text, one function that
 * the service and the benchmarks share: speech looked for in the audio as
 * it came, then (optionally) its stationary noise removed, then Whisper,
 * whose text over stretches without speech is dropped. */
#ifndef SPEECH_RECOGNISE_H
#define SPEECH_RECOGNISE_H

#include <stdbool.h>
#include <stddef.h>

#include "audio.h"
#include "whisper.h"

/* Transcribes @p pcm (16 kHz mono; denoised in place when @p denoise).
 * With @p vad, audio_vad() runs first on the samples as they came
 * (denoising leaves bursts in white noise that it would take for speech):
 * when it finds none, *@p out is empty and *@p no_speech true, Whisper not
 * run; else Whisper's segments and words that overlap no span of speech
 * are dropped from *@p out (Whisper writes words over silence and noise)
 * and its text is made again from the segments kept. Returns 0 (free
 * *@p out with whisper_result_free), or -1 with @p errstr. */
int speech_recognise(const struct whisper_model *m, struct audio_pcm *pcm, bool vad, bool denoise,
                     const struct whisper_opts *opts, struct whisper_result *out, bool *no_speech,
                     char *errstr, size_t errstr_size);

#endif
