/* The remote provider's settings: the keys translation.remote.* and the
 * check of what no single key's bounds can express. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "cairn/http_client.h"
#include "cairn/secret_ref.h"
#include "remote.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct tr_remote_conf
static const struct cairn_conf_item remote_items[] = {
        CAIRN_CONF_ROW("translation.remote.url", CAIRN_CONF_STRING, "", 0, -1, 0, url,
                       "base URL of a LibreTranslate-compatible server (POST /translate, GET "
                       "/languages are appended), e.g. http://libretranslate:5000; empty: no "
                       "remote provider"),
        CAIRN_CONF_ROW("translation.remote.mode", CAIRN_CONF_STRING, "missing", 0, -1, 0, mode,
                       "missing: the provider translates only pairs Apertium cannot reach; "
                       "fallback: also any pair it offers when Apertium fails; prefer: it "
                       "translates every pair it offers, Apertium when it fails"),
        CAIRN_CONF_ROW("translation.remote.api_key_file", CAIRN_CONF_STRING, "", 0, -1,
                       CAIRN_CONF_SECRET, api_key_file,
                       "file holding the provider's API key (sent as api_key), readable by its "
                       "owner only (mode 0600 or 0400; 0440 if root owns it); empty: no key"),
        CAIRN_CONF_ROW("translation.remote.api_key_secret", CAIRN_CONF_STRING, "", 0, -1, 0,
                       api_key_secret,
                       "the provider's API key in the secrets service, <path>#<field> (e.g. "
                       "services/translation/libretranslate#api_key), fetched again every "
                       "secrets_client.ttl_ms; instead of api_key_file"),
        CAIRN_CONF_ROW("translation.remote.timeout_ms", CAIRN_CONF_INT, "10000", 100, 600000, 0,
                       timeout_ms,
                       "deadline of a language-list fetch, and of translations whose request "
                       "has none; resilience.translation_provider.timeout_ms caps each attempt"),
        CAIRN_CONF_ROW("translation.remote.connect_timeout_ms", CAIRN_CONF_INT, "2000", 1, 60000,
                       0, connect_timeout_ms,
                       "cap on connecting to the provider; the deadline caps it too"),
        CAIRN_CONF_ROW("translation.remote.max_batch", CAIRN_CONF_INT, "16", 1, 1000, 0,
                       max_batch,
                       "most texts in one POST /translate (a q array); more go as several "
                       "requests at once"),
        CAIRN_CONF_ROW("translation.remote.max_text_bytes", CAIRN_CONF_INT, "0", 0, 1048576, 0,
                       max_text_bytes,
                       "longest text sent to the provider, in bytes (its char_limit); longer "
                       "ones fail INVALID_ARGUMENT; 0: no limit of its own"),
        CAIRN_CONF_ROW("translation.remote.max_response_bytes", CAIRN_CONF_INT, "16777216", 1024,
                       1073741824, 0, max_response_bytes,
                       "largest provider answer read; more is an error"),
        CAIRN_CONF_ROW("translation.remote.refresh_ms", CAIRN_CONF_INT, "3600000", 100, 86400000,
                       0, refresh_ms,
                       "how often the provider's language list (GET /languages) is fetched "
                       "again; a failed fetch is tried again sooner"),
        CAIRN_CONF_END,
};
/* clang-format on */

static const char *str(const char *s)
{
        return s ? s : "";
}

static int remote_conf_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct tr_remote_conf *c = target;
        const char *url = str(c->url), *mode = str(c->mode);

        if (strcmp(mode, "missing") != 0 && strcmp(mode, "fallback") != 0 &&
            strcmp(mode, "prefer") != 0) {
                snprintf(errstr, errstr_size,
                         "config: translation.remote.mode: \"%s\" is not one of missing, "
                         "fallback, prefer",
                         mode);
                return -1;
        }
        if (!url[0])
                return cairn_api_key_conf_check("translation.remote", url, c->api_key_file,
                                                c->api_key_secret, errstr, errstr_size);
        if (cairn_http_url_check("translation.remote.url", url, errstr, errstr_size) != 0)
                return -1;
        return cairn_api_key_conf_check("translation.remote", url, c->api_key_file,
                                        c->api_key_secret, errstr, errstr_size);
}

struct cairn_conf_section tr_remote_conf_section(struct tr_remote_conf *c)
{
        return (struct cairn_conf_section){ "Remote provider", remote_items, c, remote_conf_check };
}

bool tr_remote_conf_enabled(const struct tr_remote_conf *c)
{
        return str(c->url)[0] != '\0';
}

bool tr_remote_conf_wants_secrets(const struct tr_remote_conf *c)
{
        return tr_remote_conf_enabled(c) && str(c->api_key_secret)[0] != '\0';
}
