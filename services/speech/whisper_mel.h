/* Whisper's log-mel front end, as faster-whisper's FeatureExtractor computes
 * it: 16 kHz samples with 160 zeros appended, a 400-point STFT (periodic
 * Hann window, hop 160, centred with reflected edges, the last frame
 * dropped), power through librosa's 80 Slaney mel filters, log10 clamped
 * at 1e-10 and at the whole clip's maximum minus 8, then (x + 4) / 4. */
#ifndef SPEECH_WHISPER_MEL_H
#define SPEECH_WHISPER_MEL_H

#include <stddef.h>

#define WHISPER_SAMPLE_RATE 16000
#define WHISPER_N_FFT       400
#define WHISPER_HOP         160
#define WHISPER_N_MELS      80
#define WHISPER_N_FRAMES    3000 /* one 30 s window */

/* The 80 x 201 filterbank, row-major, in @p out. */
void whisper_mel_filters(float *out);

/* The log-mel spectrogram of @p n samples (borrowed): returns a malloc'ed
 * [WHISPER_N_MELS][*n_frames] array (the caller frees it), n / 160 + 1
 * frames, or NULL when out of memory. */
float *whisper_mel(const float *pcm, size_t n, size_t *n_frames);

#endif
