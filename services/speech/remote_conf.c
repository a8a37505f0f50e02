/* The remote speech provider's settings: the keys speech.remote.* and the
 * check of what no single key's bounds can express. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cairn/http_client.h"
#include "cairn/secret_ref.h"
#include "remote.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct sp_remote_conf
static const struct cairn_conf_item remote_items[] = {
        CAIRN_CONF_ROW("speech.remote.url", CAIRN_CONF_STRING, "", 0, -1, 0, url,
                       "base URL of an OpenAI-compatible audio server, up to and with its /v1 "
                       "(/audio/transcriptions and /audio/speech are appended), e.g. "
                       "http://whisper:8000/v1; empty: no remote provider"),
        CAIRN_CONF_ROW("speech.remote.api_key_file", CAIRN_CONF_STRING, "", 0, -1,
                       CAIRN_CONF_SECRET, api_key_file,
                       "file holding the provider's API key (sent as Authorization: Bearer), "
                       "readable by its owner only (mode 0600 or 0400; 0440 if root owns it); "
                       "empty: no key"),
        CAIRN_CONF_ROW("speech.remote.api_key_secret", CAIRN_CONF_STRING, "", 0, -1, 0,
                       api_key_secret,
                       "the provider's API key in the secrets service, <path>#<field> (e.g. "
                       "services/speech/openai#api_key), fetched again every "
                       "secrets_client.ttl_ms; instead of api_key_file"),
        CAIRN_CONF_ROW("speech.remote.transcription_model", CAIRN_CONF_STRING, "whisper-1", 0, -1,
                       0, transcription_model,
                       "the model name sent with transcriptions (the provider's name for it)"),
        CAIRN_CONF_ROW("speech.remote.speech_model", CAIRN_CONF_STRING, "tts-1", 0, -1, 0,
                       speech_model,
                       "the model name sent with speech requests (the provider's name for it)"),
        CAIRN_CONF_ROW("speech.remote.tasks", CAIRN_CONF_STRING, "transcription,speech", 0, -1, 0,
                       tasks,
                       "what the provider is asked for: transcription, speech, or both "
                       "(comma-separated)"),
        CAIRN_CONF_ROW("speech.remote.mode", CAIRN_CONF_STRING, "missing", 0, -1, 0, mode,
                       "missing: the provider gets only what the built-in engines cannot do "
                       "(a language other than English to transcribe, a voice they do not "
                       "have, its own model names); fallback: also what they fail at; prefer: "
                       "it goes first, the built-in engines when it fails"),
        CAIRN_CONF_ROW("speech.remote.timeout_ms", CAIRN_CONF_INT, "120000", 100, 3600000, 0,
                       timeout_ms,
                       "deadline of calls whose request has none; "
                       "resilience.speech_provider.timeout_ms caps each attempt"),
        CAIRN_CONF_ROW("speech.remote.connect_timeout_ms", CAIRN_CONF_INT, "2000", 1, 60000, 0,
                       connect_timeout_ms,
                       "cap on connecting to the provider; the deadline caps it too"),
        CAIRN_CONF_ROW("speech.remote.max_response_bytes", CAIRN_CONF_INT, "67108864", 1024,
                       1073741824, 0, max_response_bytes,
                       "largest provider answer read (a transcript, or synthesised audio); more "
                       "is an error"),
        CAIRN_CONF_END,
};
/* clang-format on */

static const char *str(const char *s)
{
        return s ? s : "";
}

/* The tasks named in @p list, or -1 naming the first unknown one. */
static int tasks_parse(const char *list, char *errstr, size_t errstr_size)
{
        int tasks = 0;

        while (*list) {
                size_t len = strcspn(list, ",");
                const char *t = list;

                while (len && *t == ' ') {
                        t++;
                        len--;
                }
                while (len && t[len - 1] == ' ')
                        len--;
                if (len == 13 && strncmp(t, "transcription", 13) == 0) {
                        tasks |= SP_REMOTE_TRANSCRIPTION;
                } else if (len == 6 && strncmp(t, "speech", 6) == 0) {
                        tasks |= SP_REMOTE_SPEECH;
                } else if (len > 0) { /* "a,,b" and a trailing comma are fine */
                        snprintf(errstr, errstr_size,
                                 "config: speech.remote.tasks: \"%.*s\" is not one of "
                                 "transcription, speech",
                                 (int)(len < 40 ? len : 40), t);
                        return -1;
                }
                list += strcspn(list, ",");
                if (*list)
                        list++;
        }
        if (!tasks) {
                snprintf(errstr, errstr_size,
                         "config: speech.remote.tasks: empty; name transcription, speech or both");
                return -1;
        }
        return tasks;
}

enum sp_remote_mode sp_remote_conf_mode(const struct sp_remote_conf *c)
{
        const char *m = str(c->mode);

        return strcmp(m, "prefer") == 0     ? SP_REMOTE_PREFER
               : strcmp(m, "fallback") == 0 ? SP_REMOTE_FALLBACK
                                            : SP_REMOTE_MISSING;
}

int sp_remote_conf_tasks(const struct sp_remote_conf *c)
{
        char errstr[128];
        int tasks = tasks_parse(str(c->tasks), errstr, sizeof(errstr));

        return tasks < 0 ? 0 : tasks;
}

static int remote_conf_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct sp_remote_conf *c = target;
        const char *url = str(c->url);
        const char *mode = str(c->mode);

        if (strcmp(mode, "missing") != 0 && strcmp(mode, "fallback") != 0 &&
            strcmp(mode, "prefer") != 0) {
                snprintf(errstr, errstr_size,
                         "config: speech.remote.mode: \"%.32s\" is not one of missing, fallback, "
                         "prefer",
                         mode);
                return -1;
        }

        if (!url[0])
                return cairn_api_key_conf_check("speech.remote", url, c->api_key_file,
                                                c->api_key_secret, errstr, errstr_size);
        if (cairn_http_url_check("speech.remote.url", url, errstr, errstr_size) != 0)
                return -1;
        if (tasks_parse(str(c->tasks), errstr, errstr_size) < 0)
                return -1;
        if (!str(c->transcription_model)[0] || !str(c->speech_model)[0]) {
                snprintf(errstr, errstr_size,
                         "config: speech.remote.%s: empty; the provider needs "
                         "a model name",
                         str(c->transcription_model)[0] ? "speech_model" : "transcription_model");
                return -1;
        }
        return cairn_api_key_conf_check("speech.remote", url, c->api_key_file, c->api_key_secret,
                                        errstr, errstr_size);
}

struct cairn_conf_section sp_remote_conf_section(struct sp_remote_conf *c)
{
        return (struct cairn_conf_section){ "Remote provider", remote_items, c, remote_conf_check };
}

bool sp_remote_conf_enabled(const struct sp_remote_conf *c)
{
        return str(c->url)[0] != '\0';
}

bool sp_remote_conf_wants_secrets(const struct sp_remote_conf *c)
{
        return sp_remote_conf_enabled(c) && str(c->api_key_secret)[0] != '\0';
}
