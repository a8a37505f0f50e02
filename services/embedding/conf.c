/* The embedding service's configuration: its one table of "embedding."
 * keys, and the check of what no single key's bounds can express. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/secret_ref.h"
#include "cairn/strlist.h"
#include "embedding.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct embedding_conf

/* The keys of model slot N (1-based), embedding.models.N.*. */
#define MITEM(n, key, type, def, min, max, flags, field, desc)                         \
        CAIRN_CONF_ROW("embedding.models." #n "." key, type, def, min, max, flags,      \
                       models[(n) - 1].field, desc)
#define MODEL_SLOT(n)                                                                  \
        MITEM(n, "name", CAIRN_CONF_STRING, "", 0, -1, 0, name,                            \
              "model name requests ask for; empty leaves the slot unused"),             \
        MITEM(n, "provider", CAIRN_CONF_STRING, "openai", 0, -1, 0, provider,              \
              "openai (any OpenAI-compatible POST /embeddings server), bert (a BERT "   \
              "sentence-transformers directory, run in the service) or lexical (the "   \
              "built-in model under another name)"),                                    \
        MITEM(n, "aliases", CAIRN_CONF_STRING, "", 0, -1, 0, aliases,                      \
              "comma-separated other names requests may ask for this model by"),        \
        MITEM(n, "dir", CAIRN_CONF_STRING, "", 0, -1, 0, dir,                              \
              "bert: the sentence-transformers directory to load at start (deploy/"     \
              "models.sh path prints all-MiniLM-L6-v2's); required for bert"),          \
        MITEM(n, "threads", CAIRN_CONF_INT, "1", 1, 256, 0, threads,                       \
              "bert: batches computed at once, one core each (OpenBLAS runs one thread " \
              "per call); other requests wait"),                                        \
        MITEM(n, "upstream_model", CAIRN_CONF_STRING, "", 0, -1, 0, upstream_model,        \
              "model name sent to the provider; empty: the same as name"),              \
        MITEM(n, "base_url", CAIRN_CONF_STRING, "", 0, -1, 0, base_url,                    \
              "provider base URL up to and with /v1 (/embeddings is appended), e.g. "   \
              "https://api.openai.com/v1"),                                             \
        MITEM(n, "dimensions", CAIRN_CONF_INT, "0", 0, 65536, 0, dimensions,               \
              "vector size the provider returns (checked on every answer); required "   \
              "for openai; bert: 0 or the model's own (checked at start)"),             \
        MITEM(n, "max_batch", CAIRN_CONF_INT, "64", 1, 4096, 0, max_batch,                 \
              "most texts in one upstream request (bert: one micro-batch); larger "     \
              "batches are split"),                                                     \
        MITEM(n, "max_input_bytes", CAIRN_CONF_INT, "0", 0, 1048576, 0, max_input_bytes,   \
              "longest text sent to the provider, in bytes; 0: embedding.max_input_bytes"), \
        MITEM(n, "truncate", CAIRN_CONF_STRING, "error", 0, -1, 0, truncate,               \
              "longer texts: error (INVALID_ARGUMENT), start (cut the start, keep the " \
              "end) or end (cut the end), on a UTF-8 boundary"),                        \
        MITEM(n, "api_key_file", CAIRN_CONF_STRING, "", 0, -1, CAIRN_CONF_SECRET,       \
              api_key_file,                                                             \
              "file holding the provider API key (sent as a Bearer token), readable by "   \
              "its owner only (mode 0600 or 0400; 0440 if root owns it); empty: no key"), \
        MITEM(n, "api_key_secret", CAIRN_CONF_STRING, "", 0, -1, 0, api_key_secret,        \
              "the provider API key in the secrets service, <path>#<field> (e.g. "         \
              "services/embedding/openai#api_key), fetched again every "                   \
              "secrets_client.ttl_ms; instead of api_key_file"),                           \
        MITEM(n, "fallbacks", CAIRN_CONF_STRING, "", 0, -1, 0, fallbacks,                  \
              "comma-separated models (same dimensions) that answer when this one is "  \
              "unavailable, in order"),                                                 \
        MITEM(n, "cache", CAIRN_CONF_STRING, "auto", 0, -1, 0, cache,                      \
              "Redis cache of this model's vectors: on, off, or auto (on for openai "   \
              "and bert, off for lexical)"),                                            \
        MITEM(n, "encoding", CAIRN_CONF_STRING, "base64", 0, -1, 0, encoding,              \
              "encoding_format asked of the provider: base64 (little-endian float32, "  \
              "smaller) or float"),                                                     \
        MITEM(n, "send_dimensions", CAIRN_CONF_BOOL, "false", 0, -1, 0, send_dimensions,   \
              "send \"dimensions\" upstream (OpenAI text-embedding-3 models shorten "  \
              "their vectors to it)"),                                                  \
        MITEM(n, "batch_wait_us", CAIRN_CONF_INT, "1000", 0, 100000, 0, batch_wait_us,     \
              "micro-batching: how long the first request waits for others to share "   \
              "its upstream call; 0 turns coalescing off")
/* clang-format on */

const struct cairn_conf_item embedding_conf_items[] = {
        CAIRN_CONF_ROW(
                "embedding.dimensions", CAIRN_CONF_INT, "384", 16, 4096, 0, dimensions,
                "native dimension of the lexical model, also in its name (cairn-lexical-384 by "
                "default); changing it changes every vector"),
        CAIRN_CONF_ROW("embedding.max_inputs", CAIRN_CONF_INT, "512", 1, 100000, 0, max_inputs,
                       "most texts one request may carry; replies must fit in 1000000 bytes"),
        CAIRN_CONF_ROW("embedding.max_input_bytes", CAIRN_CONF_INT, "32768", 1, 1048576, 0,
                       max_input_bytes, "largest text accepted, in bytes of UTF-8"),
        CAIRN_CONF_ROW("embedding.default_model", CAIRN_CONF_STRING, "", 0, -1, 0, default_model,
                       "model of requests that name none; empty: the lexical model"),
        CAIRN_CONF_ROW("embedding.cache.enabled", CAIRN_CONF_BOOL, "true", 0, -1, 0, cache_enabled,
                       "use the Redis cache (redis.*) for models whose cache setting allows it"),
        CAIRN_CONF_ROW("embedding.cache.ttl_s", CAIRN_CONF_INT, "86400", 1, 31536000, 0,
                       cache_ttl_s, "how long a cached vector lives in Redis, in seconds"),
        CAIRN_CONF_ROW("embedding.cache.max_entry_bytes", CAIRN_CONF_INT, "65536", 64, 16777216, 0,
                       cache_max_entry_bytes,
                       "vectors larger than this (4 bytes a dimension) are not cached"),
        CAIRN_CONF_ROW("embedding.http.connect_timeout_ms", CAIRN_CONF_INT, "2000", 1, 60000, 0,
                       connect_timeout_ms,
                       "cap on connecting to a provider; the request's deadline caps it too"),
        CAIRN_CONF_ROW("embedding.http.max_response_bytes", CAIRN_CONF_INT, "67108864", 1024,
                       1073741824, 0, max_response_bytes,
                       "largest provider answer read; more is an error"),
        MODEL_SLOT(1),
        MODEL_SLOT(2),
        MODEL_SLOT(3),
        MODEL_SLOT(4),
        MODEL_SLOT(5),
        MODEL_SLOT(6),
        MODEL_SLOT(7),
        MODEL_SLOT(8),
        CAIRN_CONF_END,
};

/* Bytes a reply adds per vector besides its floats: the Embedding's tag and
 * length, its index and the packed vector's tag and length. */
#define REPLY_PER_VECTOR 16
/* The model name, dimensions and usage. */
#define REPLY_FIXED 1024

struct cairn_conf_section embedding_conf_section(struct embedding_conf *conf)
{
        return (struct cairn_conf_section){ "Embedding", embedding_conf_items, conf,
                                            embedding_conf_check };
}

static const char *str(const char *s)
{
        return s ? s : "";
}

static bool one_of(const char *v, const char *const *allowed)
{
        for (; *allowed; allowed++)
                if (strcmp(v, *allowed) == 0)
                        return true;
        return false;
}

/* Whether slot @p m answers to @p name: its name or one of its aliases. */
static bool slot_answers(const struct embedding_model_conf *m, const char *name)
{
        const char *alias;
        struct cairn_strlist it;
        size_t len;

        if (!str(m->name)[0])
                return false;
        if (strcmp(m->name, name) == 0)
                return true;
        cairn_strlist_init(&it, str(m->aliases), strlen(str(m->aliases)));
        while (cairn_strlist_next(&it, &alias, &len))
                if (len > 0 && len == strlen(name) && memcmp(alias, name, len) == 0)
                        return true;
        return false;
}

/* The dimensions of the model named @p name, or -1 when none has it; 0 for
 * a bert model that leaves them to its directory (known once loaded). */
static long long model_dim(const struct embedding_conf *conf, const char *name, int *slot)
{
        char lexname[48];

        snprintf(lexname, sizeof(lexname), "%s-%lld", EMBEDDING_MODEL_ALIAS, conf->dimensions);
        *slot = 0;
        if (strcmp(name, lexname) == 0 || strcmp(name, EMBEDDING_MODEL_ALIAS) == 0)
                return conf->dimensions;
        for (int i = 0; i < EMBEDDING_MODEL_SLOTS; i++) {
                const struct embedding_model_conf *m = &conf->models[i];

                if (slot_answers(m, name)) {
                        *slot = i + 1;
                        return strcmp(str(m->provider), "lexical") == 0 ? conf->dimensions
                                                                        : m->dimensions;
                }
        }
        return -1;
}

#define SLOTERR(n, key, ...)                                                                      \
        do {                                                                                      \
                int len_ = snprintf(errstr, errstr_size, "config: embedding.models.%d.%s: ", (n), \
                                    (key));                                                       \
                if (len_ >= 0 && (size_t)len_ < errstr_size)                                      \
                        snprintf(errstr + len_, errstr_size - (size_t)len_, __VA_ARGS__);         \
                return -1;                                                                        \
        } while (0)

/* One model slot on its own and against the others. */
static int slot_check(const struct embedding_conf *conf, int n, char *errstr, size_t errstr_size)
{
        static const char *const providers[] = { "openai", "lexical", "bert", NULL };
        static const char *const truncs[] = { "error", "start", "end", NULL };
        static const char *const caches[] = { "auto", "on", "off", NULL };
        static const char *const encodings[] = { "base64", "float", NULL };
        const struct embedding_model_conf *m = &conf->models[n - 1];
        const char *name = str(m->name);
        long long dim;
        int other;

        if (!one_of(str(m->provider), providers))
                SLOTERR(n, "provider", "\"%s\" is not one of openai, lexical, bert",
                        str(m->provider));
        if (!one_of(str(m->truncate), truncs))
                SLOTERR(n, "truncate", "\"%s\" is not one of error, start, end", str(m->truncate));
        if (!one_of(str(m->cache), caches))
                SLOTERR(n, "cache", "\"%s\" is not one of auto, on, off", str(m->cache));
        if (!one_of(str(m->encoding), encodings))
                SLOTERR(n, "encoding", "\"%s\" is not one of base64, float", str(m->encoding));
        if (strlen(name) >= 128 || strchr(name, ','))
                SLOTERR(n, "name", "\"%s\" must be shorter than 128 bytes, without commas", name);
        model_dim(conf, name, &other);
        if (other != n)
                SLOTERR(n, "name", "\"%s\" is already the name of %s", name,
                        other == 0 ? "the built-in lexical model" : "another model slot");
        /* Aliases: names like any other, answering to this slot only. */
        const char *alias;
        struct cairn_strlist ait;
        size_t alen;

        cairn_strlist_init(&ait, str(m->aliases), strlen(str(m->aliases)));
        while (cairn_strlist_next(&ait, &alias, &alen)) {
                char a[128];

                if (alen == 0)
                        continue;
                if (alen >= sizeof(a))
                        SLOTERR(n, "aliases", "a name longer than 127 bytes");
                memcpy(a, alias, alen);
                a[alen] = '\0';
                model_dim(conf, a, &other);
                if (other != n)
                        SLOTERR(n, "aliases", "\"%s\" is already the name of %s", a,
                                other == 0 ? "the built-in lexical model"
                                           : "another model slot, or one of its aliases");
        }
        if (strcmp(str(m->provider), "openai") == 0) {
                const char *url = str(m->base_url);

                if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
                        SLOTERR(n, "base_url",
                                "\"%s\" is not an http:// or https:// URL (model "
                                "%s needs its provider's address)",
                                url, name);
                if (m->dimensions == 0)
                        SLOTERR(n, "dimensions",
                                "required for model %s: the size of the vectors "
                                "its provider returns",
                                name);
                if (strlen(str(m->upstream_model)) >= 128)
                        SLOTERR(n, "upstream_model", "longer than 127 bytes");
                if (str(m->api_key_secret)[0]) {
                        struct cairn_secret_ref_spec spec;
                        char key[64];

                        if (str(m->api_key_file)[0])
                                SLOTERR(n, "api_key_secret",
                                        "set api_key_file or api_key_secret for model %s, not "
                                        "both",
                                        name);
                        snprintf(key, sizeof(key), "embedding.models.%d.api_key_secret", n);
                        if (cairn_secret_ref_parse(key, m->api_key_secret, &spec, errstr,
                                                   errstr_size) != 0)
                                return -1;
                }
        } else if (strcmp(str(m->provider), "bert") == 0) {
                if (!str(m->dir)[0])
                        SLOTERR(n, "dir",
                                "required for model %s: the sentence-transformers directory "
                                "to load (deploy/models.sh path prints all-MiniLM-L6-v2's)",
                                name);
                if (strlen(str(m->upstream_model)) >= 128)
                        SLOTERR(n, "upstream_model", "longer than 127 bytes");
        } else if (m->dimensions != 0 && m->dimensions != conf->dimensions) {
                SLOTERR(n, "dimensions",
                        "%lld, but the lexical model has %lld "
                        "(embedding.dimensions)",
                        m->dimensions, conf->dimensions);
        }
        dim = model_dim(conf, name, &other);
        /* Fallbacks: known models of the same dimensions, never this one. */
        const char *fbname;
        struct cairn_strlist it;
        size_t len;

        cairn_strlist_init(&it, str(m->fallbacks), strlen(str(m->fallbacks)));
        while (cairn_strlist_next(&it, &fbname, &len)) {
                char fb[128];
                long long fdim;
                int fslot;

                if (len == 0)
                        continue;
                if (len >= sizeof(fb))
                        SLOTERR(n, "fallbacks", "a name longer than 127 bytes");
                memcpy(fb, fbname, len);
                fb[len] = '\0';
                fdim = model_dim(conf, fb, &fslot);
                if (fdim < 0)
                        SLOTERR(n, "fallbacks", "\"%s\" is not a configured model", fb);
                if (fslot == n)
                        SLOTERR(n, "fallbacks", "model %s cannot fall back to itself", name);
                /* 0: a bert model's, checked once its directory is loaded */
                if (fdim != dim && fdim != 0 && dim != 0)
                        SLOTERR(n, "fallbacks",
                                "\"%s\" has %lld dimensions but %s has "
                                "%lld: a fallback must give vectors of the same size",
                                fb, fdim, name, dim);
        }
        return 0;
}

int embedding_conf_check_reply(const struct embedding_conf *conf, long long maxdim, char *errstr,
                               size_t errstr_size)
{
        long long per_vector = maxdim * 4 + REPLY_PER_VECTOR;
        long long worst = conf->max_inputs * per_vector + REPLY_FIXED;

        if (worst > EMBEDDING_REPLY_MAX) {
                snprintf(
                        errstr, errstr_size,
                        "config: embedding.max_inputs: %lld texts of %lld dimensions make replies of up "
                        "to %lld bytes, over Kafka's default message.max.bytes of %d; set "
                        "embedding.max_inputs to %lld or less (or use fewer dimensions)",
                        conf->max_inputs, maxdim, worst, EMBEDDING_REPLY_MAX,
                        (EMBEDDING_REPLY_MAX - REPLY_FIXED) / per_vector);
                return -1;
        }
        return 0;
}

int embedding_conf_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct embedding_conf *conf = target;
        long long maxdim = conf->dimensions;
        int slot;

        for (int n = 1; n <= EMBEDDING_MODEL_SLOTS; n++) {
                const struct embedding_model_conf *m = &conf->models[n - 1];

                if (!str(m->name)[0])
                        continue;
                if (slot_check(conf, n, errstr, errstr_size) != 0)
                        return -1;
                if (m->dimensions > maxdim)
                        maxdim = m->dimensions;
        }
        if (str(conf->default_model)[0] && model_dim(conf, conf->default_model, &slot) < 0) {
                snprintf(errstr, errstr_size,
                         "config: embedding.default_model: \"%s\" is not "
                         "a configured model",
                         conf->default_model);
                return -1;
        }
        return embedding_conf_check_reply(conf, maxdim, errstr, errstr_size);
}
