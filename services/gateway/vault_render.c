/* Vault's answers written out by hand, in the order Go's encoding/json
 * writes them (struct fields in declaration order, map keys sorted), so
 * that a client comparing bodies, not just parsing them, sees Vault's. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/pbjson.h"
#include "cairn/utf8.h"
#include "vault_render.h"
#include "vault_time.h"

/* Every map<string, string> entry protobuf-c generates has this layout. */
struct str_entry {
        ProtobufCMessage base;
        char *key;
        char *value;
};

static void add_string(struct cairn_buf *b, const char *s)
{
        s = s ? s : "";
        /* what the service sent is checked, never trusted to be UTF-8 */
        cairn_buf_add_json_string(b, cairn_utf8_valid(s, strlen(s)) ? s : "\xef\xbf\xbd");
}

/* logical.HTTPResponse up to its data. */
static void envelope_open(struct cairn_buf *b, const char *request_id)
{
        cairn_buf_adds(b, "{\"request_id\":");
        add_string(b, request_id);
        cairn_buf_adds(b, ",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":");
}

/* A raw body Vault writes for a 404 carries no mount type. */
static char *envelope_close(struct cairn_buf *b, const char *mount_type, size_t *lenp)
{
        cairn_buf_adds(b, ",\"wrap_info\":null,\"warnings\":null,\"auth\":null,\"mount_type\":");
        add_string(b, mount_type);
        cairn_buf_adds(b, "}");
        if (b->oom)
                abort(); /* out of memory: nothing sensible left to send */
        *lenp = b->len;
        return b->p;
}

static void add_time(struct cairn_buf *b, const Google__Protobuf__Timestamp *t)
{
        char text[GW_VAULT_TIME_MAX];

        if (t)
                gw_vault_time_format(t->seconds, t->nanos, text);
        else
                text[0] = '\0';
        add_string(b, text);
}

static void add_duration(struct cairn_buf *b, const Google__Protobuf__Duration *d)
{
        char text[GW_VAULT_TIME_MAX];

        gw_vault_duration_format(d ? d->seconds : 0, d ? d->nanos : 0, text);
        add_string(b, text);
}

static int entry_cmp(const void *a, const void *b)
{
        const struct str_entry *x = *(const struct str_entry *const *)a;
        const struct str_entry *y = *(const struct str_entry *const *)b;

        return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

/* custom_metadata: null when empty, else its entries sorted by key. */
static void add_custom_metadata(struct cairn_buf *b, void *const *entries, size_t n)
{
        const struct str_entry **sorted;

        if (n == 0) {
                cairn_buf_adds(b, "null");
                return;
        }
        sorted = malloc(n * sizeof(*sorted));
        if (!sorted)
                abort();
        memcpy(sorted, entries, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), entry_cmp);
        cairn_buf_adds(b, "{");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        cairn_buf_adds(b, ",");
                add_string(b, sorted[i]->key);
                cairn_buf_adds(b, ":");
                add_string(b, sorted[i]->value);
        }
        cairn_buf_adds(b, "}");
        free(sorted);
}

/* A version's metadata as the data and write paths give it. */
static void add_version(struct cairn_buf *b, const Cairn__Secrets__V1__VersionMetadata *v,
                        void *const *cm, size_t ncm)
{
        cairn_buf_adds(b, "{\"created_time\":");
        add_time(b, v ? v->created_time : NULL);
        cairn_buf_adds(b, ",\"custom_metadata\":");
        add_custom_metadata(b, cm, ncm);
        cairn_buf_adds(b, ",\"deletion_time\":");
        add_time(b, v ? v->deletion_time : NULL);
        cairn_buf_printf(b, ",\"destroyed\":%s,\"version\":%llu}",
                         v && v->destroyed ? "true" : "false",
                         (unsigned long long)(v ? v->version : 0));
}

char *gw_vault_read_json(const char *request_id, const Cairn__Secrets__V1__ReadReply *reply,
                         const char *plain, size_t plain_len, int *status, size_t *lenp)
{
        struct cairn_buf b = { 0 };
        size_t cm_bytes = 0;

        for (size_t i = 0; i < reply->n_custom_metadata; i++)
                cm_bytes += strlen(reply->custom_metadata[i]->key ? reply->custom_metadata[i]->key
                                                                  : "") +
                            strlen(reply->custom_metadata[i]->value
                                           ? reply->custom_metadata[i]->value
                                           : "");
        /* one allocation: no copy of the secret is left behind by a realloc */
        cairn_buf_reserve(&b, plain_len + 6 * cm_bytes + 1024);
        *status = plain ? 200 : 404;
        envelope_open(&b, request_id);
        cairn_buf_adds(&b, "{\"data\":");
        if (plain)
                cairn_buf_add(&b, plain, plain_len);
        else
                cairn_buf_adds(&b, "null");
        cairn_buf_adds(&b, ",\"metadata\":");
        add_version(&b, reply->version, (void *const *)reply->custom_metadata,
                    reply->n_custom_metadata);
        cairn_buf_adds(&b, "}");
        return envelope_close(&b, plain ? "kv" : "", lenp);
}

char *gw_vault_write_json(const char *request_id, const Cairn__Secrets__V1__WriteReply *reply,
                          size_t *lenp)
{
        struct cairn_buf b = { 0 };

        envelope_open(&b, request_id);
        add_version(&b, reply->version, (void *const *)reply->custom_metadata,
                    reply->n_custom_metadata);
        return envelope_close(&b, "kv", lenp);
}

/* Version numbers as Go sorts a map's string keys: "10" before "2". */
static int version_cmp(const void *a, const void *b)
{
        char x[24], y[24];

        snprintf(x, sizeof(x), "%llu",
                 (unsigned long long)(*(const Cairn__Secrets__V1__VersionMetadata *const *)a)
                         ->version);
        snprintf(y, sizeof(y), "%llu",
                 (unsigned long long)(*(const Cairn__Secrets__V1__VersionMetadata *const *)b)
                         ->version);
        return strcmp(x, y);
}

static void add_versions(struct cairn_buf *b, const Cairn__Secrets__V1__Metadata *m)
{
        Cairn__Secrets__V1__VersionMetadata **sorted;

        cairn_buf_adds(b, "{");
        if (m->n_versions == 0) {
                cairn_buf_adds(b, "}");
                return;
        }
        sorted = malloc(m->n_versions * sizeof(*sorted));
        if (!sorted)
                abort();
        memcpy(sorted, m->versions, m->n_versions * sizeof(*sorted));
        qsort(sorted, m->n_versions, sizeof(*sorted), version_cmp);
        for (size_t i = 0; i < m->n_versions; i++) {
                cairn_buf_printf(b, "%s\"%llu\":{\"created_time\":", i ? "," : "",
                                 (unsigned long long)sorted[i]->version);
                add_time(b, sorted[i]->created_time);
                cairn_buf_adds(b, ",\"deletion_time\":");
                add_time(b, sorted[i]->deletion_time);
                cairn_buf_printf(b, ",\"destroyed\":%s}", sorted[i]->destroyed ? "true" : "false");
        }
        cairn_buf_adds(b, "}");
        free(sorted);
}

static bool duration_set(const Google__Protobuf__Duration *d)
{
        return d && (d->seconds || d->nanos);
}

char *gw_vault_metadata_json(const char *request_id, const Cairn__Secrets__V1__MetadataReply *reply,
                             size_t *lenp)
{
        static const Cairn__Secrets__V1__Metadata none = CAIRN__SECRETS__V1__METADATA__INIT;
        const Cairn__Secrets__V1__Metadata *m = reply->metadata ? reply->metadata : &none;
        struct cairn_buf b = { 0 };

        envelope_open(&b, request_id);
        cairn_buf_printf(&b, "{\"cas_required\":%s,\"created_time\":",
                         m->cas_required ? "true" : "false");
        add_time(&b, m->created_time);
        cairn_buf_printf(&b, ",\"current_version\":%llu,\"custom_metadata\":",
                         (unsigned long long)m->current_version);
        add_custom_metadata(&b, (void *const *)m->custom_metadata, m->n_custom_metadata);
        cairn_buf_adds(&b, ",\"delete_version_after\":");
        add_duration(&b, m->delete_version_after);
        cairn_buf_printf(&b, ",\"max_versions\":%u,\"oldest_version\":%llu", m->max_versions,
                         (unsigned long long)m->oldest_version);
        /* Cairn's rotation reminder, where a secret has one */
        if (duration_set(m->rotate_after)) {
                cairn_buf_adds(&b, ",\"rotate_after\":");
                add_duration(&b, m->rotate_after);
                cairn_buf_adds(&b, ",\"rotate_due\":");
                add_time(&b, m->rotate_due);
        }
        cairn_buf_adds(&b, ",\"updated_time\":");
        add_time(&b, m->updated_time);
        cairn_buf_adds(&b, ",\"versions\":");
        add_versions(&b, m);
        cairn_buf_adds(&b, "}");
        return envelope_close(&b, "kv", lenp);
}

char *gw_vault_list_json(const char *request_id, char *const *keys, size_t n, int *status,
                         size_t *lenp)
{
        struct cairn_buf b = { 0 };

        if (n == 0) {
                *status = 404;
                cairn_buf_adds(&b, "{\"errors\":[]}");
                if (b.oom)
                        abort();
                *lenp = b.len;
                return b.p;
        }
        *status = 200;
        envelope_open(&b, request_id);
        cairn_buf_adds(&b, "{\"keys\":[");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        cairn_buf_adds(&b, ",");
                add_string(&b, keys[i]);
        }
        cairn_buf_adds(&b, "]}");
        return envelope_close(&b, "kv", lenp);
}

char *gw_vault_subkeys_json(const char *request_id, const Cairn__Secrets__V1__SubkeysReply *reply,
                            size_t *lenp)
{
        struct cairn_buf b = { 0 };
        json_t *subkeys = NULL;
        char *text = NULL;

        if (reply->subkeys) {
                subkeys = cairn_pbjson_to_json(&reply->subkeys->base, 0);
                if (!subkeys)
                        return NULL;
                text = json_dumps(subkeys, JSON_COMPACT | JSON_SORT_KEYS);
                json_decref(subkeys);
                if (!text)
                        return NULL;
        }
        envelope_open(&b, request_id);
        cairn_buf_adds(&b, "{\"metadata\":");
        add_version(&b, reply->version, NULL, 0);
        cairn_buf_adds(&b, ",\"subkeys\":");
        cairn_buf_adds(&b, text ? text : "{}");
        cairn_buf_adds(&b, "}");
        free(text);
        return envelope_close(&b, "kv", lenp);
}

char *gw_vault_config_json(const char *request_id, const Cairn__Secrets__V1__ConfigReply *reply,
                           size_t *lenp)
{
        struct cairn_buf b = { 0 };

        envelope_open(&b, request_id);
        cairn_buf_printf(&b, "{\"cas_required\":%s,\"delete_version_after\":",
                         reply->cas_required ? "true" : "false");
        add_duration(&b, reply->delete_version_after);
        cairn_buf_printf(&b, ",\"max_versions\":%u}", reply->max_versions);
        return envelope_close(&b, "kv", lenp);
}
