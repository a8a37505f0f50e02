/* The speech service's configuration: its one table of "speech." keys. */
#include <stddef.h>

#include "speech.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct speech_conf

const struct cairn_conf_item speech_conf_items[] = {
        CAIRN_CONF_ROW("speech.whisper.dir", CAIRN_CONF_STRING, NULL, 0, -1, CAIRN_CONF_REQUIRED,
                       whisper_dir,
                       "the Whisper model's directory, in CTranslate2's format (model.bin, "
                       "config.json, vocabulary.txt): deploy/models.sh path whisper-tiny.en"),
        CAIRN_CONF_ROW("speech.whisper.model", CAIRN_CONF_STRING, "whisper-tiny.en", 0, -1, 0,
                       stt_model, "the id the Whisper model is known by"),
        CAIRN_CONF_ROW("speech.whisper.aliases", CAIRN_CONF_STRING,
                       "whisper-1,gpt-4o-transcribe,gpt-4o-mini-transcribe", 0, -1, 0,
                       stt_aliases,
                       "other names of the Whisper model, comma-separated: OpenAI's, so apps "
                       "written for OpenAI's API run unchanged"),
        CAIRN_CONF_ROW("speech.whisper.threads", CAIRN_CONF_INT, "2", 1, 256, 0, threads,
                       "threads one transcription computes on (OpenBLAS's)"),
        CAIRN_CONF_ROW("speech.whisper.concurrency", CAIRN_CONF_INT, "1", 1, 256, 0,
                       concurrency,
                       "transcriptions computing at once; the others wait. Cores used: "
                       "threads x concurrency"),
        CAIRN_CONF_ROW("speech.vad", CAIRN_CONF_BOOL, "true", 0, -1, 0, vad,
                       "find speech before decoding: audio without any gives empty text, and "
                       "text Whisper writes over stretches without speech is dropped"),
        CAIRN_CONF_ROW("speech.denoise", CAIRN_CONF_BOOL, "true", 0, -1, 0, denoise,
                       "remove stationary noise before transcribing (speexdsp; "
                       "docs/speech.md has its effect on accuracy)"),
        CAIRN_CONF_ROW("speech.max_audio_bytes", CAIRN_CONF_INT, "26214400", 1024, 1073741824, 0,
                       max_audio_bytes, "largest audio file accepted, in bytes (OpenAI's 25 MB)"),
        CAIRN_CONF_ROW("speech.max_audio_seconds", CAIRN_CONF_DOUBLE, "1800", 1, 86400, 0,
                       max_audio_seconds, "longest recording transcribed, in seconds"),
        CAIRN_CONF_ROW("speech.max_input_chars", CAIRN_CONF_INT, "4096", 1, 1048576, 0,
                       max_input_chars, "longest text spoken, in characters (OpenAI's 4,096)"),
        CAIRN_CONF_ROW("speech.tts.model", CAIRN_CONF_STRING, "cairn-tts", 0, -1, 0, tts_model,
                       "the id the text-to-speech engines (flite, espeak-ng) are known by"),
        CAIRN_CONF_ROW("speech.tts.aliases", CAIRN_CONF_STRING, "tts-1,tts-1-hd,gpt-4o-mini-tts",
                       0, -1, 0, tts_aliases,
                       "other names of the text-to-speech model, comma-separated"),
        CAIRN_CONF_ROW("speech.tts.espeak_data", CAIRN_CONF_STRING, "", 0, -1, 0, espeak_data,
                       "espeak-ng's data directory; empty: its default"),
        CAIRN_CONF_ROW("speech.inline_max_bytes", CAIRN_CONF_INT, "524288", 0, 67108864, 0,
                       inline_max_bytes,
                       "audio replies up to this size travel in the message; larger ones are "
                       "stored by claim check (below Kafka's message.max.bytes)"),
        CAIRN_CONF_ROW("speech.claims.ttl_s", CAIRN_CONF_INT, "3600", 60, 604800, 0,
                       claims_ttl_s, "how long audio stored by claim check is kept, in seconds"),
        CAIRN_CONF_ROW("speech.claims.sweep_interval_ms", CAIRN_CONF_INT, "60000", 100,
                       86400000, 0, sweep_interval_ms,
                       "how often expired claims are deleted"),
        CAIRN_CONF_ROW("speech.timeout_ms", CAIRN_CONF_INT, "120000", 100, 3600000, 0,
                       timeout_ms, "time budget of a request whose deadline header names none"),
        CAIRN_CONF_END,
};
/* clang-format on */

struct cairn_conf_section speech_conf_section(struct speech_conf *conf)
{
        return (struct cairn_conf_section){ "speech", speech_conf_items, conf, NULL };
}
