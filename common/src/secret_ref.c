/* Secret references kept fresh (cairn/secret_ref.h): the parse of
 * "<path>#<field>", the field's extraction from a secret's JSON, the cache
 * of values with its TTL, backoff and hard expiry, and the one refresher
 * thread that fetches them from the secrets service.
 *
 * Every field of a reference that changes is guarded by its refs' lock;
 * the fetch itself runs without it, so callers keep being served the cached
 * value while a refresh is under way. */
#include "cairn/secret_ref.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/bus.h"
#include "cairn/clock.h"
#include "cairn/file.h"
#include "cairn/json.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/seal.h"
#include "cairn/secrets/v1/secrets.pb-c.h"

/* Longest principal the calls may name (docs/topics.md: cairn_principal). */
#define PRINCIPAL_MAX 256
/* Largest sealed reply opened: a secret's value is far smaller. */
#define BOX_MAX (1 << 20)
#define WHY_MAX 640

/* ---- configuration ---- */

/* clang-format off */
#define CAIRN_CONF_STRUCT struct cairn_secret_ref_conf
const struct cairn_conf_item cairn_secret_ref_conf_items[] = {
        CAIRN_CONF_ROW("secrets_client.topic", CAIRN_CONF_STRING, "cairn.secrets.v1.requests", 0,
                       -1, 0, topic,
                       "request topic of the secrets service, which secret references "
                       "(<path>#<field>) are read from"),
        CAIRN_CONF_ROW("secrets_client.tenant", CAIRN_CONF_STRING, "cairn", 0, -1, 0, tenant,
                       "tenant whose secrets the references name (the Kafka key of the calls)"),
        CAIRN_CONF_ROW("secrets_client.principal", CAIRN_CONF_STRING, "", 0, -1, 0, principal,
                       "principal the calls are made as, with role service; empty: the "
                       "service's name. The default policy lets it read services/<principal>/*"),
        CAIRN_CONF_ROW("secrets_client.ttl_ms", CAIRN_CONF_INT, "60000", 100, 86400000, 0, ttl_ms,
                       "a value is fetched again when this old (callers keep the cached one "
                       "meanwhile): a new version is in use within about this long"),
        CAIRN_CONF_ROW("secrets_client.expire_ms", CAIRN_CONF_INT, "3600000", 100, 604800000, 0,
                       expire_ms,
                       "while fetches fail, the last value is used until this long after it was "
                       "fetched; then what needs it fails UNAVAILABLE (at least ttl_ms)"),
        CAIRN_CONF_ROW("secrets_client.retry_ms", CAIRN_CONF_INT, "1000", 10, 3600000, 0, retry_ms,
                       "first wait before fetching again after a failure, doubling up to ttl_ms; "
                       "requests needing a value none could fetch fail at once within it"),
        CAIRN_CONF_ROW("secrets_client.timeout_ms", CAIRN_CONF_INT, "5000", 10, 600000, 0,
                       timeout_ms, "deadline of one fetch from the secrets service"),
        CAIRN_CONF_END,
};
/* clang-format on */

static int conf_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct cairn_secret_ref_conf *conf = target;

        if (conf->expire_ms < conf->ttl_ms) {
                snprintf(errstr, errstr_size,
                         "config: secrets_client.expire_ms: %lld is less than "
                         "secrets_client.ttl_ms (%lld): a value must be usable for its TTL",
                         conf->expire_ms, conf->ttl_ms);
                return -1;
        }
        if (!conf->tenant || !conf->tenant[0]) {
                snprintf(errstr, errstr_size, "config: secrets_client.tenant: must not be empty");
                return -1;
        }
        if (conf->principal && strlen(conf->principal) > PRINCIPAL_MAX) {
                snprintf(errstr, errstr_size,
                         "config: secrets_client.principal: longer than %d bytes", PRINCIPAL_MAX);
                return -1;
        }
        return 0;
}

struct cairn_conf_section cairn_secret_ref_conf_section(struct cairn_secret_ref_conf *conf)
{
        return (struct cairn_conf_section){ "Secrets client", cairn_secret_ref_conf_items, conf,
                                            conf_check };
}

/* ---- references ---- */

static bool has_control(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return true;
        return false;
}

/* Why @p path (of @p n bytes) is not a secrets path, or NULL. */
static const char *path_problem(const char *path, size_t n)
{
        const char *seg = path, *end = path + n;

        if (path[0] == '/' || path[n - 1] == '/')
                return "the path must not start or end with '/'";
        while (seg <= end) {
                const char *slash = memchr(seg, '/', (size_t)(end - seg));
                size_t len = (size_t)((slash ? slash : end) - seg);

                if (len == 0)
                        return "the path has an empty segment (\"//\")";
                if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
                        return "the path has a \".\" or \"..\" segment";
                if (!slash)
                        break;
                seg = slash + 1;
        }
        return NULL;
}

int cairn_secret_ref_parse(const char *key, const char *text, struct cairn_secret_ref_spec *spec,
                           char *errstr, size_t errstr_size)
{
        const char *hash = text ? strchr(text, '#') : NULL;
        const char *problem;
        size_t plen, flen;

        memset(spec, 0, sizeof(*spec));
        if (!text || !text[0]) {
                snprintf(errstr, errstr_size,
                         "config: %s: empty; a secret reference is <path>#<field>, e.g. "
                         "services/embedding/openai#api_key",
                         key);
                return -1;
        }
        if (!hash) {
                snprintf(errstr, errstr_size,
                         "config: %s: \"%.*s\" has no '#': a secret reference is "
                         "<path>#<field>, e.g. services/embedding/openai#api_key",
                         key, CAIRN_SECRET_PATH_MAX, text);
                return -1;
        }
        if (strchr(hash + 1, '#')) {
                snprintf(errstr, errstr_size,
                         "config: %s: more than one '#': a secret reference is <path>#<field>",
                         key);
                return -1;
        }
        plen = (size_t)(hash - text);
        flen = strlen(hash + 1);
        if (plen == 0) {
                snprintf(errstr, errstr_size, "config: %s: the path before '#' is empty", key);
                return -1;
        }
        if (flen == 0) {
                snprintf(errstr, errstr_size,
                         "config: %s: the field after '#' is empty: name the field of the "
                         "secret's JSON object that holds the value",
                         key);
                return -1;
        }
        if (plen > CAIRN_SECRET_PATH_MAX) {
                snprintf(errstr, errstr_size, "config: %s: the path is longer than %d bytes", key,
                         CAIRN_SECRET_PATH_MAX);
                return -1;
        }
        if (flen > CAIRN_SECRET_FIELD_MAX) {
                snprintf(errstr, errstr_size, "config: %s: the field is longer than %d bytes", key,
                         CAIRN_SECRET_FIELD_MAX);
                return -1;
        }
        if (has_control(text, plen + 1 + flen)) {
                snprintf(errstr, errstr_size, "config: %s: holds a control character", key);
                return -1;
        }
        problem = path_problem(text, plen);
        if (problem) {
                snprintf(errstr, errstr_size, "config: %s: \"%.*s\": %s", key, (int)plen, text,
                         problem);
                return -1;
        }
        memcpy(spec->path, text, plen);
        memcpy(spec->field, hash + 1, flen);
        return 0;
}

static bool blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int cairn_secret_ref_extract(const struct cairn_secret_ref_spec *spec, const char *json, size_t len,
                             unsigned flags, char **value, size_t *vlen, char *why, size_t why_size)
{
        json_error_t e;
        json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e), *f;
        const char *s;
        size_t n;
        int rc = -1;

        *value = NULL;
        *vlen = 0;
        if (!root) {
                /* the position, never the text */
                snprintf(why, why_size, "the value of %s is not JSON (line %d, column %d)",
                         spec->path, e.line, e.column);
                return -1;
        }
        if (!json_is_object(root)) {
                snprintf(why, why_size, "the value of %s is %s, not a JSON object", spec->path,
                         cairn_json_kind(root));
                goto out;
        }
        f = json_object_get(root, spec->field);
        if (!f) {
                snprintf(why, why_size, "field \"%s\" is missing from %s", spec->field, spec->path);
                goto out;
        }
        if (!json_is_string(f)) {
                snprintf(why, why_size, "field \"%s\" of %s is %s, not a string", spec->field,
                         spec->path, cairn_json_kind(f));
                goto out;
        }
        s = json_string_value(f);
        n = json_string_length(f);
        if (flags & CAIRN_SECRET_TOKEN) {
                while (n > 0 && blank(s[0])) {
                        s++;
                        n--;
                }
                while (n > 0 && blank(s[n - 1]))
                        n--;
                if (n == 0) {
                        snprintf(why, why_size, "field \"%s\" of %s is empty", spec->field,
                                 spec->path);
                        goto out;
                }
                for (size_t i = 0; i < n; i++) {
                        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) {
                                snprintf(why, why_size,
                                         "field \"%s\" of %s is not one token of printable "
                                         "ASCII (no spaces, line breaks or other characters)",
                                         spec->field, spec->path);
                                goto out;
                        }
                }
        }
        *value = malloc(n + 1);
        if (!*value) {
                snprintf(why, why_size, "out of memory");
                goto out;
        }
        memcpy(*value, s, n);
        (*value)[n] = '\0';
        *vlen = n;
        rc = 0;
out:
        cairn_json_wipe(root);
        json_decref(root);
        return rc;
}

/* ---- the cache and its refresher ---- */

struct cairn_secret_ref {
        struct cairn_secret_ref *next;
        struct cairn_secret_refs *refs;
        struct cairn_secret_ref_spec spec;
        char name[CAIRN_SECRET_NAME_MAX];
        unsigned flags;

        /* guarded by refs->lock */
        char *value; /* NULL: none usable */
        size_t len;
        uint64_t version;
        int64_t fetched_us;  /* monotonic time of the last success */
        int64_t failed_us;   /* ... and of the last failure */
        unsigned failures;   /* since the last success */
        uint64_t finished;   /* fetches done, either way: callers wait on it */
        bool wanted;         /* a caller with no usable value waits */
        char error[WHY_MAX]; /* why the last fetch failed */
        uint64_t logged_version;
};

struct bus_fetcher {
        struct cairn_bus_client *bus;
        const struct cairn_secret_ref_conf *conf;
        char principal[PRINCIPAL_MAX + 1];
        struct cairn_seal_keys *keys;
};

struct cairn_secret_refs {
        const struct cairn_secret_ref_conf *conf;
        cairn_secret_fetch_fn fetch;
        void *opaque;
        struct bus_fetcher bus; /* when fetching through a bus client */

        pthread_mutex_t lock;
        pthread_cond_t wake; /* the refresher: a reference added or wanted, or stop */
        pthread_cond_t done; /* callers: a fetch finished */
        pthread_t thread;
        bool stop;
        struct cairn_secret_ref *head;

        struct cairn_metric *m_fetches; /* cairn_secret_fetches_total{secret,outcome} */
        struct cairn_metric *m_version; /* cairn_secret_version{secret} */
};

static void value_wipe(struct cairn_secret_ref *ref)
{
        if (!ref->value)
                return;
        sodium_memzero(ref->value, ref->len);
        free(ref->value);
        ref->value = NULL;
        ref->len = 0;
}

/* Whether the cached value may be used at @p now (monotonic µs). */
static bool usable(const struct cairn_secret_ref *ref, int64_t now)
{
        return ref->value && now - ref->fetched_us < ref->refs->conf->expire_ms * 1000;
}

/* When the refresher should fetch @p ref next (monotonic µs). */
static int64_t due_us(const struct cairn_secret_ref *ref)
{
        const struct cairn_secret_ref_conf *conf = ref->refs->conf;
        long long wait = conf->retry_ms;

        if (ref->wanted || ref->finished == 0)
                return 0;
        if (ref->failures == 0)
                return ref->fetched_us + conf->ttl_ms * 1000;
        /* a backoff from retry_ms, doubling, up to the TTL */
        for (unsigned i = 1; i < ref->failures && wait < conf->ttl_ms; i++)
                wait *= 2;
        if (wait > conf->ttl_ms)
                wait = conf->ttl_ms;
        return ref->failed_us + wait * 1000;
}

/* Waits on @p cond until @p until_us (monotonic); false when it passed. */
static bool wait_until(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t until_us)
{
        struct timespec ts = { (time_t)(until_us / 1000000), (long)(until_us % 1000000) * 1000 };

        return pthread_cond_timedwait(cond, lock, &ts) == 0;
}

static void fetched(struct cairn_secret_refs *refs, struct cairn_secret_ref *ref, char *value,
                    size_t len, uint64_t version)
{
        unsigned failures;
        bool changed;

        pthread_mutex_lock(&refs->lock);
        value_wipe(ref);
        ref->value = value;
        ref->len = len;
        ref->version = version;
        ref->fetched_us = cairn_mono_us();
        failures = ref->failures;
        ref->failures = 0;
        ref->error[0] = '\0';
        ref->wanted = false;
        ref->finished++;
        changed = version != ref->logged_version;
        ref->logged_version = version;
        pthread_cond_broadcast(&refs->done);
        pthread_mutex_unlock(&refs->lock);
        if (changed)
                cairn_log(INFO, "SECRET", "secret %s: version %llu in use", ref->name,
                          (unsigned long long)version);
        else if (failures > 0)
                cairn_log(INFO, "SECRET", "secret %s: fetched again after %u failures", ref->name,
                          failures);
        if (refs->m_version)
                cairn_metric_set_l(refs->m_version, (const char *const[]){ ref->name },
                                   (double)version);
}

static void failed(struct cairn_secret_refs *refs, struct cairn_secret_ref *ref, const char *why)
{
        int64_t now = cairn_mono_us();
        bool first, had, has;
        uint64_t version;

        pthread_mutex_lock(&refs->lock);
        first = ref->failures == 0 || strcmp(ref->error, why) != 0;
        ref->failures++;
        ref->failed_us = now;
        snprintf(ref->error, sizeof(ref->error), "%s", why);
        ref->wanted = false;
        ref->finished++;
        had = ref->value != NULL;
        if (had && !usable(ref, now))
                value_wipe(ref);
        has = ref->value != NULL;
        version = ref->version;
        pthread_cond_broadcast(&refs->done);
        pthread_mutex_unlock(&refs->lock);
        /* once at WARN, repeats of the same failure at DEBUG */
        if (has && first)
                cairn_log(WARN, "SECRET",
                          "secret %s: fetch failed: %s; version %llu stays in use until it "
                          "expires",
                          ref->name, why, (unsigned long long)version);
        else if (has)
                cairn_log(DEBUG, "SECRET", "secret %s: fetch failed again: %s", ref->name, why);
        else if (had)
                cairn_log(ERROR, "SECRET",
                          "secret %s: fetch failed: %s; version %llu expired: what needs it "
                          "fails until a fetch succeeds",
                          ref->name, why, (unsigned long long)version);
        else if (first)
                cairn_log(WARN, "SECRET", "secret %s: fetch failed: %s", ref->name, why);
        else
                cairn_log(DEBUG, "SECRET", "secret %s: fetch failed again: %s", ref->name, why);
}

/* Fetches @p ref once and stores the outcome. @locality the refresher. */
static void fetch_one(struct cairn_secret_refs *refs, struct cairn_secret_ref *ref)
{
        struct cairn_status st;
        char why[WHY_MAX], *json = NULL, *value = NULL;
        size_t len = 0, vlen = 0;
        uint64_t version = 0;
        cairn_err_t err;

        cairn_status_clear(&st);
        err = refs->fetch(refs->opaque, ref->spec.path, &json, &len, &version, &st);
        if (err) {
                snprintf(why, sizeof(why), "%s: %.500s", cairn_err_str(err), st.message);
        } else if (cairn_secret_ref_extract(&ref->spec, json, len, ref->flags, &value, &vlen, why,
                                            sizeof(why)) == 0) {
                err = CAIRN_OK;
        } else {
                err = CAIRN_ERR_INVALID;
        }
        if (json) {
                sodium_memzero(json, len);
                free(json);
        }
        if (refs->m_fetches)
                cairn_metric_inc_l(refs->m_fetches,
                                   (const char *const[]){ ref->name, err ? "error" : "ok" });
        if (err)
                failed(refs, ref, why);
        else
                fetched(refs, ref, value, vlen, version);
}

static void *refresher_main(void *arg)
{
        struct cairn_secret_refs *refs = arg;

        pthread_mutex_lock(&refs->lock);
        while (!refs->stop) {
                struct cairn_secret_ref *next = NULL;
                int64_t next_due = INT64_MAX, now = cairn_mono_us();

                for (struct cairn_secret_ref *ref = refs->head; ref; ref = ref->next) {
                        int64_t due = due_us(ref);

                        if (due < next_due) {
                                next_due = due;
                                next = ref;
                        }
                }
                if (next && next_due <= now) {
                        pthread_mutex_unlock(&refs->lock);
                        fetch_one(refs, next);
                        pthread_mutex_lock(&refs->lock);
                } else if (next) {
                        wait_until(&refs->wake, &refs->lock, next_due);
                } else {
                        pthread_cond_wait(&refs->wake, &refs->lock);
                }
        }
        pthread_mutex_unlock(&refs->lock);
        return NULL;
}

/* A set without its refresher thread (refs_start() starts it). */
static struct cairn_secret_refs *refs_new(const struct cairn_secret_ref_conf *conf,
                                          cairn_secret_fetch_fn fetch, void *opaque,
                                          struct cairn_metrics *metrics)
{
        struct cairn_secret_refs *refs = calloc(1, sizeof(*refs));
        pthread_condattr_t ca;

        if (!refs || sodium_init() < 0) {
                free(refs);
                return NULL;
        }
        refs->conf = conf;
        refs->fetch = fetch;
        refs->opaque = opaque;
        pthread_mutex_init(&refs->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* cairn_mono_us()'s clock */
        pthread_cond_init(&refs->wake, &ca);
        pthread_cond_init(&refs->done, &ca);
        pthread_condattr_destroy(&ca);
        if (metrics) {
                refs->m_fetches = cairn_metrics_counter(
                        metrics, "cairn_secret_fetches_total",
                        "Fetches of secret references from the secrets service, by reference "
                        "(<path>#<field>) and outcome (ok, error)",
                        (const char *const[]){ "secret", "outcome", NULL });
                refs->m_version =
                        cairn_metrics_gauge(metrics, "cairn_secret_version",
                                            "Version of the value in use of each secret reference",
                                            (const char *const[]){ "secret", NULL });
        }
        return refs;
}

static struct cairn_secret_refs *refs_start(struct cairn_secret_refs *refs)
{
        if (pthread_create(&refs->thread, NULL, refresher_main, refs) != 0)
                abort();
        return refs;
}

struct cairn_secret_refs *cairn_secret_refs_new_with(const struct cairn_secret_ref_conf *conf,
                                                     cairn_secret_fetch_fn fetch, void *opaque,
                                                     struct cairn_metrics *metrics)
{
        struct cairn_secret_refs *refs = refs_new(conf, fetch, opaque, metrics);

        return refs ? refs_start(refs) : NULL;
}

/* Reads @p path through the bus client. @locality the refresher. */
static cairn_err_t bus_fetch(void *opaque, const char *path, char **json, size_t *len,
                             uint64_t *version, struct cairn_status *st)
{
        struct bus_fetcher *bf = opaque;
        Cairn__Secrets__V1__ReadRequest msg = CAIRN__SECRETS__V1__READ_REQUEST__INIT;
        Cairn__Secrets__V1__ReadRequest *req = &msg; /* the current version: 0 */
        Cairn__Secrets__V1__ReadReply *reply = NULL;
        struct cairn_call_opts opts = { 0 };
        cairn_err_t err;
        size_t n;

        if (!bf->bus)
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                        "no client of the secrets service");
        req->path = (char *)path;
        req->reply_key.data = bf->keys->pk;
        req->reply_key.len = CAIRN_SEAL_KEY_BYTES;
        opts.timeout_ms = bf->conf->timeout_ms;
        opts.principal = bf->principal;
        opts.role = CAIRN_SECRET_ROLE;
        err = cairn_bus_call(bf->bus, bf->conf->topic, bf->conf->tenant, &req->base, &opts,
                             &cairn__secrets__v1__read_reply__descriptor, NULL,
                             (ProtobufCMessage **)&reply, st);
        if (err)
                return err;
        *version = reply->version ? reply->version->version : 0;
        n = reply->data.len;
        if (n == 0) {
                err = cairn_status_set(st, CAIRN_ERR_NOT_FOUND, NULL, NULL,
                                       "version %llu of %s is deleted or destroyed",
                                       (unsigned long long)*version, path);
        } else if (n <= CAIRN_SEAL_OVERHEAD || n > BOX_MAX) {
                err = cairn_status_set(st, CAIRN_ERR_INTERNAL, NULL, NULL,
                                       "the secrets service answered a sealed value of %zu "
                                       "bytes for %s",
                                       n, path);
        } else if (!(*json = malloc(n - CAIRN_SEAL_OVERHEAD + 1))) {
                err = cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, NULL, "out of memory");
        } else if (cairn_seal_open(bf->keys, reply->data.data, n, (uint8_t *)*json) != 0) {
                free(*json);
                *json = NULL;
                err = cairn_status_set(st, CAIRN_ERR_INTERNAL, NULL, NULL,
                                       "the value of %s does not open with this process's key",
                                       path);
        } else {
                *len = n - CAIRN_SEAL_OVERHEAD;
                (*json)[*len] = '\0';
        }
        protobuf_c_message_free_unpacked(&reply->base, NULL);
        return err;
}

struct cairn_secret_refs *cairn_secret_refs_new(const struct cairn_secret_ref_conf *conf,
                                                const char *service, struct cairn_bus_client *bus,
                                                struct cairn_metrics *metrics)
{
        struct cairn_seal_keys *keys = cairn_seal_keys_new();
        struct cairn_secret_refs *refs = keys ? refs_new(conf, bus_fetch, NULL, metrics) : NULL;

        if (!refs) {
                cairn_seal_keys_free(keys);
                return NULL;
        }
        refs->opaque = &refs->bus;
        refs->bus.bus = bus;
        refs->bus.conf = conf;
        refs->bus.keys = keys;
        snprintf(refs->bus.principal, sizeof(refs->bus.principal), "%s",
                 conf->principal && conf->principal[0] ? conf->principal : service);
        return refs_start(refs);
}

void cairn_secret_refs_free(struct cairn_secret_refs *refs)
{
        if (!refs)
                return;
        pthread_mutex_lock(&refs->lock);
        refs->stop = true;
        pthread_cond_broadcast(&refs->wake);
        pthread_mutex_unlock(&refs->lock);
        pthread_join(refs->thread, NULL);
        while (refs->head) {
                struct cairn_secret_ref *ref = refs->head;

                refs->head = ref->next;
                value_wipe(ref);
                free(ref);
        }
        cairn_seal_keys_free(refs->bus.keys);
        pthread_cond_destroy(&refs->wake);
        pthread_cond_destroy(&refs->done);
        pthread_mutex_destroy(&refs->lock);
        free(refs);
}

struct cairn_secret_ref *cairn_secret_ref_add(struct cairn_secret_refs *refs, const char *key,
                                              const char *text, unsigned flags, char *errstr,
                                              size_t errstr_size)
{
        struct cairn_secret_ref_spec spec;
        struct cairn_secret_ref *ref;

        if (cairn_secret_ref_parse(key, text, &spec, errstr, errstr_size) != 0)
                return NULL;
        pthread_mutex_lock(&refs->lock);
        for (ref = refs->head; ref; ref = ref->next)
                if (ref->flags == flags && strcmp(ref->spec.path, spec.path) == 0 &&
                    strcmp(ref->spec.field, spec.field) == 0)
                        break;
        if (!ref && (ref = calloc(1, sizeof(*ref)))) {
                ref->refs = refs;
                ref->spec = spec;
                ref->flags = flags;
                snprintf(ref->name, sizeof(ref->name), "%s#%s", spec.path, spec.field);
                ref->next = refs->head;
                refs->head = ref;
                pthread_cond_broadcast(&refs->wake);
        }
        pthread_mutex_unlock(&refs->lock);
        if (!ref)
                snprintf(errstr, errstr_size, "config: %s: out of memory", key);
        return ref;
}

const char *cairn_secret_ref_name(const struct cairn_secret_ref *ref)
{
        return ref->name;
}

uint64_t cairn_secret_ref_version(struct cairn_secret_ref *ref)
{
        uint64_t v;

        pthread_mutex_lock(&ref->refs->lock);
        v = ref->value ? ref->version : 0;
        pthread_mutex_unlock(&ref->refs->lock);
        return v;
}

/* Copies the value; the lock is held. */
static cairn_err_t copy_out(const struct cairn_secret_ref *ref, char *out, size_t size,
                            struct cairn_status *st)
{
        if (ref->len + 1 > size)
                return cairn_status_set(st, CAIRN_ERR_EXHAUSTED, NULL, "SECRET_TOO_LARGE",
                                        "secret %s: its value is %zu bytes, more than the %zu "
                                        "this use takes",
                                        ref->name, ref->len, size - 1);
        memcpy(out, ref->value, ref->len + 1);
        return CAIRN_OK;
}

cairn_err_t cairn_secret_ref_get(struct cairn_secret_ref *ref, int64_t deadline_ms, char *out,
                                 size_t size, struct cairn_status *st)
{
        struct cairn_secret_refs *refs = ref->refs;
        const struct cairn_secret_ref_conf *conf = refs->conf;
        int64_t now = cairn_mono_us(), until, left_ms;
        uint64_t need;
        cairn_err_t err;

        pthread_mutex_lock(&refs->lock);
        if (usable(ref, now)) {
                err = copy_out(ref, out, size, st);
                pthread_mutex_unlock(&refs->lock);
                return err;
        }
        value_wipe(ref); /* expired, if there was one */
        if (ref->failures > 0 && now - ref->failed_us < conf->retry_ms * 1000) {
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "SECRET_UNAVAILABLE",
                                       "secret %s is not available: %s", ref->name, ref->error);
                pthread_mutex_unlock(&refs->lock);
                return err;
        }
        /* No usable value: wait for the next fetch to finish, within the deadline. */
        left_ms = deadline_ms > 0 ? deadline_ms - cairn_now_ms() : conf->timeout_ms;
        until = now + (left_ms > 0 ? left_ms : 0) * 1000;
        need = ref->finished + 1;
        ref->wanted = true;
        pthread_cond_broadcast(&refs->wake);
        while (ref->finished < need && !refs->stop)
                if (!wait_until(&refs->done, &refs->lock, until) && cairn_mono_us() >= until)
                        break;
        if (usable(ref, cairn_mono_us()))
                err = copy_out(ref, out, size, st);
        else if (ref->finished >= need)
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "SECRET_UNAVAILABLE",
                                       "secret %s is not available: %s", ref->name, ref->error);
        else
                err = cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, "SECRET_UNAVAILABLE",
                                       "secret %s is not available: no answer from the secrets "
                                       "service before the deadline%s%s",
                                       ref->name, ref->error[0] ? "; the last fetch failed: " : "",
                                       ref->error);
        pthread_mutex_unlock(&refs->lock);
        return err;
}

/* ---- a provider's API key ---- */

static const char *str(const char *s)
{
        return s ? s : "";
}

int cairn_api_key_conf_check(const char *section, const char *url, const char *file,
                             const char *secret, char *errstr, size_t errstr_size)
{
        struct cairn_secret_ref_spec spec;
        char key[96];

        if (!str(url)[0]) {
                if (str(file)[0] || str(secret)[0]) {
                        snprintf(errstr, errstr_size,
                                 "config: %s.%s: set, but %s.url is empty (no provider to send "
                                 "it to)",
                                 section, str(file)[0] ? "api_key_file" : "api_key_secret",
                                 section);
                        return -1;
                }
                return 0;
        }
        if (!str(secret)[0])
                return 0;
        if (str(file)[0]) {
                snprintf(errstr, errstr_size,
                         "config: %s.api_key_secret: set api_key_file or api_key_secret, not both",
                         section);
                return -1;
        }
        snprintf(key, sizeof(key), "%s.api_key_secret", section);
        return cairn_secret_ref_parse(key, secret, &spec, errstr, errstr_size);
}

int cairn_api_key_init(struct cairn_api_key *k, const char *section, const char *file,
                       const char *secret, struct cairn_secret_refs *secrets, char *errstr,
                       size_t errstr_size)
{
        memset(k, 0, sizeof(*k));
        if (str(file)[0]) {
                snprintf(k->setting, sizeof(k->setting), "%s.api_key_file", section);
                k->value = cairn_secret_file_token(k->setting, file, errstr, errstr_size);
                return k->value ? 0 : -1;
        }
        if (str(secret)[0]) {
                snprintf(k->setting, sizeof(k->setting), "%s.api_key_secret", section);
                if (!secrets) {
                        snprintf(errstr, errstr_size,
                                 "config: %s: no client of the secrets service to fetch it with",
                                 k->setting);
                        return -1;
                }
                /* Fetched in the background: the service starts whether or
                 * not the secrets service is up. */
                k->ref = cairn_secret_ref_add(secrets, k->setting, secret, CAIRN_SECRET_TOKEN,
                                              errstr, errstr_size);
                return k->ref ? 0 : -1;
        }
        return 0;
}

cairn_err_t cairn_api_key_get(const struct cairn_api_key *k, const char *name, int64_t deadline_ms,
                              char *out, size_t size, struct cairn_status *st)
{
        char inner[CAIRN_STATUS_MSG_MAX];

        if (!k->ref) {
                if (k->value && strlen(k->value) >= size)
                        return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                                "provider %.60s: the API key of %s is too long",
                                                name, k->setting);
                snprintf(out, size, "%s", str(k->value));
                return CAIRN_OK;
        }
        if (cairn_secret_ref_get(k->ref, deadline_ms, out, size, st) == CAIRN_OK)
                return CAIRN_OK;
        snprintf(inner, sizeof(inner), "%s", st->message);
        snprintf(st->message, sizeof(st->message), "provider %.60s: %.440s", name, inner);
        st->code = CAIRN_ERR_UNAVAILABLE;
        return CAIRN_ERR_UNAVAILABLE;
}

cairn_err_t cairn_api_key_header(const struct cairn_api_key *k, const char *name,
                                 int64_t deadline_ms, char *out, size_t size,
                                 struct cairn_status *st)
{
        static const char prefix[] = "Authorization: Bearer ";
        cairn_err_t err;

        out[0] = '\0';
        if (size <= sizeof(prefix))
                return cairn_status_set(st, CAIRN_ERR_UNAVAILABLE, NULL, NULL,
                                        "provider %.60s: no room for an API key", name);
        err = cairn_api_key_get(k, name, deadline_ms, out + sizeof(prefix) - 1,
                                size - sizeof(prefix) + 1, st);
        if (err || !out[sizeof(prefix) - 1]) {
                out[0] = '\0';
                return err;
        }
        memcpy(out, prefix, sizeof(prefix) - 1);
        return CAIRN_OK;
}

const char *cairn_api_key_setting(const struct cairn_api_key *k)
{
        return k->value || k->ref ? k->setting : NULL;
}

void cairn_api_key_clear(struct cairn_api_key *k)
{
        if (k->value) {
                sodium_memzero(k->value, strlen(k->value));
                free(k->value);
        }
        memset(k, 0, sizeof(*k));
}
