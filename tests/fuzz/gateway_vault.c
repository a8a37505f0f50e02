/* libFuzzer target for the gateway's Vault KV v2 request parsers
 * (gateway/vault_parse.h): the first byte picks the parser (a secret's
 * value, versions optional or required, a metadata write with or without
 * patch, the mount's config, a query parameter, a duration), the rest is
 * the body or the text as the route hands it over, with a JSON depth limit
 * of 16 (http.max_json_depth's default). A success must hold what the
 * header promises: a value's text is the compact JSON of the body's "data"
 * object (it parses to the same), versions are there when required,
 * metadata entries and keys are filled, numbers are the ones sent; every
 * message built must pack. A refusal must be a 400 (INVALID_ARGUMENT) with
 * a message, rendered as Vault's {"errors": [...]} in valid JSON. Anything
 * else aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/buf.h"
#include "gateway/error.h"
#include "gateway/vault_parse.h"
#include "gateway/vault_time.h"

#define DEPTH     16
#define ARENA_MAX ((size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cairn_arena arena;

static void refused(const struct gw_error *e)
{
        int status = 0;
        size_t len = 0;
        char *body;
        json_t *doc;

        if (e->status != 400 || e->err != CAIRN_ERR_INVALID || !e->message[0])
                abort();
        body = gw_error_vault_json(e, &status, &len);
        doc = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!doc || status != 400 || !json_is_array(json_object_get(doc, "errors")) ||
            !json_is_string(json_array_get(json_object_get(doc, "errors"), 0)))
                abort();
        json_decref(doc);
        free(body);
}

static void packs(const ProtobufCMessage *msg)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        uint8_t *buf = malloc(len ? len : 1);
        ProtobufCMessage *again;

        if (!buf || protobuf_c_message_pack(msg, buf) != len)
                abort();
        again = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
        if (!again)
                abort();
        protobuf_c_message_free_unpacked(again, NULL);
        free(buf);
}

/* @p s as an exact decimal, or -1 when it is not digits or does not fit
 * 64 bits. */
static int exact(const char *s, uint64_t *out)
{
        uint64_t v = 0;

        if (!*s)
                return -1;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
                        return -1;
                v = v * 10 + (uint64_t)(*s - '0');
        }
        *out = v;
        return 0;
}

static void value_check(const char *body, size_t len)
{
        struct cairn_buf plain = { 0 };
        Google__Protobuf__UInt64Value *cas = NULL;
        struct gw_error e = { 0 };
        json_t *root, *data, *got, *sent;
        uint64_t want;

        if (!gw_vault_parse_value(body, len, DEPTH, &plain, &arena, &cas, &e)) {
                refused(&e);
                cairn_buf_cleanup(&plain);
                return;
        }
        /* the text kept is the data object as sent */
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
        data = json_object_get(root, "data");
        got = plain.p ? json_loadb(plain.p, plain.len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!root || !json_is_object(data) || !got || !json_equal(got, data))
                abort();
        if (plain.p && (strchr(plain.p, '\n') || strlen(plain.p) != plain.len))
                abort();
        sent = json_object_get(json_object_get(root, "options"), "cas");
        if (cas &&
            (!sent || (json_is_integer(sent) && (uint64_t)json_integer_value(sent) != cas->value) ||
             (json_is_string(sent) &&
              (exact(json_string_value(sent), &want) != 0 || want != cas->value))))
                abort();
        json_decref(got);
        json_decref(root);
        cairn_buf_cleanup(&plain);
}

static void versions_check(const char *body, size_t len, bool required)
{
        uint64_t *versions = NULL;
        size_t n = 0;
        struct gw_error e = { 0 };
        Cairn__Secrets__V1__DeleteRequest req = CAIRN__SECRETS__V1__DELETE_REQUEST__INIT;

        if (!gw_vault_parse_versions(body, len, DEPTH, required, &arena, &versions, &n, &e)) {
                refused(&e);
                return;
        }
        if ((required && n == 0) || (n && !versions))
                abort();
        req.path = "a";
        req.versions = versions;
        req.n_versions = n;
        packs(&req.base);
}

static void metadata_check(const char *body, size_t len, bool patch)
{
        Cairn__Secrets__V1__WriteMetadataRequest req =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__INIT;
        struct gw_error e = { 0 };

        req.path = "a";
        req.patch = patch;
        if (!gw_vault_parse_metadata(body, len, DEPTH, patch, &arena, &req, &e)) {
                refused(&e);
                return;
        }
        for (size_t i = 0; i < req.n_custom_metadata; i++)
                if (!req.custom_metadata[i] || !req.custom_metadata[i]->key ||
                    !req.custom_metadata[i]->value)
                        abort();
        for (size_t i = 0; i < req.n_remove_custom_keys; i++)
                if (!req.remove_custom_keys[i] || !patch)
                        abort();
        if ((req.delete_version_after && req.delete_version_after->seconds < 0) ||
            (req.rotate_after && req.rotate_after->seconds < 0))
                abort();
        packs(&req.base);
}

static void config_check(const char *body, size_t len)
{
        Cairn__Secrets__V1__SetConfigRequest req = CAIRN__SECRETS__V1__SET_CONFIG_REQUEST__INIT;
        struct gw_error e = { 0 };

        if (!gw_vault_parse_config(body, len, DEPTH, &arena, &req, &e)) {
                refused(&e);
                return;
        }
        if (req.delete_version_after && req.delete_version_after->seconds < 0)
                abort();
        packs(&req.base);
}

static void uint_check(const char *text, uint64_t max)
{
        struct gw_error e = { 0 };
        uint64_t got = 0, want;

        if (!gw_vault_parse_uint("version", text, max, &got, &e)) {
                refused(&e);
                return;
        }
        if (exact(text, &want) != 0 || want != got || got > max)
                abort();
}

static void duration_check(const char *text)
{
        const char *why = NULL;
        int64_t secs = 0, ns = 0;

        if (!gw_vault_duration_parse(text, &secs, &why) && (!why || !why[0]))
                abort();
        if (!gw_vault_go_duration_parse(text, &ns, &why) && (!why || !why[0]))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int ready;
        const char *body;
        char *text;
        size_t len;

        if (!ready) {
                cairn_arena_init(&arena, ARENA_MAX);
                ready = 1;
        }
        if (size < 1)
                return 0;
        body = (const char *)data + 1;
        len = size - 1;
        switch (data[0] % 9) {
        case 0:
                value_check(body, len);
                break;
        case 1:
        case 2:
                versions_check(body, len, data[0] % 9 == 2);
                break;
        case 3:
        case 4:
                metadata_check(body, len, data[0] % 9 == 4);
                break;
        case 5:
                config_check(body, len);
                break;
        default: /* text: a query parameter or a duration */
                if (!(text = malloc(len + 1)))
                        abort();
                memcpy(text, body, len);
                text[len] = '\0';
                if (data[0] % 9 == 8)
                        duration_check(text);
                else
                        uint_check(text, data[0] % 9 == 6 ? UINT64_MAX : UINT32_MAX);
                free(text);
                break;
        }
        cairn_arena_reset(&arena);
        return 0;
}
