/* Unit tests for Vault's KV v2 API at the gateway: Go's times and
 * durations, the request bodies (what each route reads and every refusal),
 * the answers byte for byte, Vault's error bodies, sealing, and the
 * adapters' conversations (a key fetched first or again after a rotation,
 * a list's pages gathered) driven without a broker. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/error.h"
#include "gateway/route.h"
#include "gateway/sealing.h"
#include "gateway/vault.h"
#include "gateway/vault_parse.h"
#include "gateway/vault_render.h"
#include "gateway/vault_time.h"
#include "../unit.h"

/* ---- times and durations ---- */

START_TEST(test_gw_vault_time_format_nanoseconds)
{
        char t[GW_VAULT_TIME_MAX];

        gw_vault_time_format(1521685446, 945319214, t);
        ck_assert_str_eq(t, "2018-03-22T02:24:06.945319214Z");
        gw_vault_time_format(1631287568, 684999000, t); /* trailing zeros dropped */
        ck_assert_str_eq(t, "2021-09-10T15:26:08.684999Z");
        gw_vault_time_format(1631287568, 0, t);
        ck_assert_str_eq(t, "2021-09-10T15:26:08Z");
}
END_TEST

START_TEST(test_gw_vault_duration_format_go)
{
        static const struct {
                int64_t s;
                int32_t ns;
                const char *want;
        } cases[] = {
                { 0, 0, "0s" },
                { 1, 0, "1s" },
                { 90, 0, "1m30s" },
                { 3600, 0, "1h0m0s" },
                { 12319, 0, "3h25m19s" },
                { 1, 500000000, "1.5s" },
                { 0, 1500000, "1.5ms" },
                { 0, 1000, "1\xc2\xb5s" },
                { 0, 7, "7ns" },
                { -90, 0, "-1m30s" },
                { 86400 * 30, 0, "720h0m0s" },
        };
        char d[GW_VAULT_TIME_MAX];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                gw_vault_duration_format(cases[i].s, cases[i].ns, d);
                ck_assert_str_eq(d, cases[i].want);
        }
}
END_TEST

START_TEST(test_gw_vault_duration_parse_forms)
{
        int64_t s, ns;
        const char *why;

        ck_assert(gw_vault_duration_parse("3h25m19s", &s, &why));
        ck_assert_int_eq(s, 12319);
        ck_assert(gw_vault_duration_parse("90", &s, &why)); /* seconds */
        ck_assert_int_eq(s, 90);
        ck_assert(gw_vault_duration_parse("7d", &s, &why));
        ck_assert_int_eq(s, 7 * 86400);
        ck_assert(gw_vault_duration_parse("1.5h", &s, &why));
        ck_assert_int_eq(s, 5400);
        ck_assert(gw_vault_duration_parse("0s", &s, &why));
        ck_assert_int_eq(s, 0);
        ck_assert(gw_vault_duration_parse("", &s, &why));
        ck_assert_int_eq(s, 0);
        ck_assert(gw_vault_duration_parse("1500ms", &s, &why)); /* whole seconds */
        ck_assert_int_eq(s, 1);
        ck_assert(gw_vault_go_duration_parse("-2m", &ns, &why));
        ck_assert_int_eq(ns, -120000000000LL);
        ck_assert(gw_vault_go_duration_parse("1\xce\xbcs", &ns, &why));
        ck_assert_int_eq(ns, 1000);
        ck_assert(!gw_vault_duration_parse("abc", &s, &why));
        ck_assert(!gw_vault_duration_parse("1x", &s, &why));
        ck_assert_msg(strstr(why, "unit"), "%s", why);
        ck_assert(!gw_vault_duration_parse("1h2", &s, &why));
        ck_assert(!gw_vault_duration_parse("h", &s, &why));
        ck_assert(!gw_vault_duration_parse("3000000h", &s, &why)); /* past int64 ns */
        ck_assert(!gw_vault_duration_parse("1.2.3s", &s, &why));
}
END_TEST

/* ---- request bodies ---- */

static struct cairn_arena arena;

static void arena_setup(void)
{
        cairn_arena_init(&arena, 0);
}

static void arena_teardown(void)
{
        cairn_arena_cleanup(&arena);
}

static void value_refused(const char *body, const char *field, const char *part)
{
        struct cairn_buf plain = { 0 };
        Google__Protobuf__UInt64Value *cas;
        struct gw_error e;

        ck_assert_msg(!gw_vault_parse_value(body, strlen(body), 16, &plain, &arena, &cas, &e),
                      "accepted %s", body);
        ck_assert_int_eq(e.status, 400);
        ck_assert_msg(strcmp(e.param, field) == 0, "field \"%s\", not \"%s\", for %s", e.param,
                      field, body);
        ck_assert_msg(strstr(e.message, part), "\"%s\" lacks \"%s\"", e.message, part);
        cairn_buf_cleanup(&plain);
}

START_TEST(test_gw_vault_parse_value_keeps_text)
{
        const char *body = "{ \"options\": {\"cas\": 3},\n \"data\": { \"b\" : 1.50, \"a\": "
                           "\"x y\\\"}\", \"n\": 1e3 } }";
        struct cairn_buf plain = { 0 };
        Google__Protobuf__UInt64Value *cas;
        struct gw_error e;

        ck_assert_msg(gw_vault_parse_value(body, strlen(body), 16, &plain, &arena, &cas, &e), "%s",
                      e.message);
        /* compact, member order and number spellings as sent */
        ck_assert_str_eq(plain.p, "{\"b\":1.50,\"a\":\"x y\\\"}\",\"n\":1e3}");
        ck_assert_ptr_nonnull(cas);
        ck_assert_uint_eq(cas->value, 3);
        cairn_buf_cleanup(&plain);
        body = "{\"d\\u0061ta\":{}}"; /* the key decoded */
        ck_assert(gw_vault_parse_value(body, strlen(body), 16, &plain, &arena, &cas, &e));
        ck_assert_str_eq(plain.p, "{}");
        ck_assert_ptr_null(cas);
        cairn_buf_cleanup(&plain);
}
END_TEST

START_TEST(test_gw_vault_parse_value_refuses)
{
        value_refused("", "data", "no data provided");
        value_refused("{\"options\":{}}", "data", "no data provided");
        value_refused("{\"data\":[1]}", "data", "must be a JSON object");
        value_refused("{\"data\":\"x\"}", "data", "must be a JSON object");
        value_refused("{\"data\":{},\"options\":{\"cas\":\"x\"}}", "options.cas", "version number");
        value_refused("{\"data\":{},\"options\":{\"cas\":-1}}", "options.cas", "version number");
        value_refused("{\"data\":{},\"options\":{\"cas\":1.5}}", "options.cas", "version number");
        value_refused("{\"data\":{},\"options\":3}", "options", "object");
        value_refused("{\"data\":{}", "", "error parsing JSON");
        /* regression (found by the gateway_vault fuzz target): the refusal
         * read the body's type after freeing it */
        value_refused("[]", "", "must be an object, not an array");
        value_refused("{\"data\":{},\"data\":{}}", "", "error parsing JSON");
}
END_TEST

static void versions_refused(const char *body, const char *part)
{
        uint64_t *v;
        size_t n;
        struct gw_error e;

        ck_assert_msg(!gw_vault_parse_versions(body, strlen(body), 16, true, &arena, &v, &n, &e),
                      "accepted %s", body);
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.param, "versions");
        ck_assert_msg(strstr(e.message, part), "\"%s\" lacks \"%s\"", e.message, part);
}

START_TEST(test_gw_vault_parse_versions_forms)
{
        uint64_t *v;
        size_t n;
        struct gw_error e;

        ck_assert(
                gw_vault_parse_versions("{\"versions\":[1,2]}", 18, 16, true, &arena, &v, &n, &e));
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(v[1], 2);
        ck_assert(gw_vault_parse_versions("{\"versions\":\"3,4\"}", 18, 16, true, &arena, &v, &n,
                                          &e));
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(v[0], 3);
        ck_assert(gw_vault_parse_versions("{\"versions\":5}", 14, 16, true, &arena, &v, &n, &e));
        ck_assert_uint_eq(n, 1);
        ck_assert(gw_vault_parse_versions("", 0, 16, false, &arena, &v, &n, &e));
        ck_assert_uint_eq(n, 0);
        versions_refused("{}", "no version number provided");
        versions_refused("{\"versions\":[]}", "no version number provided");
        versions_refused("{\"versions\":[\"a\"]}", "list of version numbers");
        versions_refused("{\"versions\":[1,-2]}", "list of version numbers");
        versions_refused("{\"versions\":[1.5]}", "list of version numbers");
        versions_refused("{\"versions\":{\"a\":1}}", "list of version numbers");
        versions_refused("{\"versions\":\"1,,2\"}", "list of version numbers");
}
END_TEST

START_TEST(test_gw_vault_parse_metadata_fields)
{
        Cairn__Secrets__V1__WriteMetadataRequest req =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__INIT;
        const char *body = "{\"max_versions\":5,\"cas_required\":true,\"delete_version_after\":"
                           "\"3h25m19s\",\"custom_metadata\":{\"owner\":\"jdoe\"},\"rotate_after\":"
                           "86400}";
        struct gw_error e;

        ck_assert_msg(gw_vault_parse_metadata(body, strlen(body), 16, false, &arena, &req, &e),
                      "%s", e.message);
        ck_assert_uint_eq(req.max_versions->value, 5);
        ck_assert(req.cas_required->value);
        ck_assert_int_eq(req.delete_version_after->seconds, 12319);
        ck_assert_int_eq(req.rotate_after->seconds, 86400);
        ck_assert_uint_eq(req.n_custom_metadata, 1);
        ck_assert_str_eq(req.custom_metadata[0]->value, "jdoe");
        ck_assert(req.custom_metadata_set); /* POST replaces */
        /* a patch: null removes a key; untouched settings stay unset */
        Cairn__Secrets__V1__WriteMetadataRequest patch =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__INIT;
        body = "{\"custom_metadata\":{\"gone\":null,\"kept\":\"v\"}}";
        ck_assert(gw_vault_parse_metadata(body, strlen(body), 16, true, &arena, &patch, &e));
        ck_assert_ptr_null(patch.max_versions);
        ck_assert_ptr_null(patch.delete_version_after);
        ck_assert(!patch.custom_metadata_set);
        ck_assert_uint_eq(patch.n_remove_custom_keys, 1);
        ck_assert_str_eq(patch.remove_custom_keys[0], "gone");
        ck_assert_uint_eq(patch.n_custom_metadata, 1);
        /* hvac's update_metadata: "0s" and no custom_metadata keeps it */
        Cairn__Secrets__V1__WriteMetadataRequest keep =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__INIT;
        body = "{\"delete_version_after\":\"0s\",\"max_versions\":\"3\"}";
        ck_assert(gw_vault_parse_metadata(body, strlen(body), 16, false, &arena, &keep, &e));
        ck_assert(!keep.custom_metadata_set);
        ck_assert_uint_eq(keep.max_versions->value, 3);
}
END_TEST

static void metadata_refused(const char *body, bool patch, const char *field, const char *part)
{
        Cairn__Secrets__V1__WriteMetadataRequest req =
                CAIRN__SECRETS__V1__WRITE_METADATA_REQUEST__INIT;
        struct gw_error e;

        ck_assert_msg(!gw_vault_parse_metadata(body, strlen(body), 16, patch, &arena, &req, &e),
                      "accepted %s", body);
        ck_assert_int_eq(e.status, 400);
        ck_assert_msg(strcmp(e.param, field) == 0, "field \"%s\" for %s", e.param, body);
        ck_assert_msg(strstr(e.message, part), "\"%s\" lacks \"%s\"", e.message, part);
}

START_TEST(test_gw_vault_parse_metadata_refuses)
{
        metadata_refused("{\"delete_version_after\":\"3x\"}", false, "delete_version_after",
                         "unknown unit");
        metadata_refused("{\"delete_version_after\":\"soon\"}", false, "delete_version_after",
                         "not a duration");
        metadata_refused("{\"delete_version_after\":\"-1h\"}", false, "delete_version_after",
                         "negative");
        metadata_refused("{\"delete_version_after\":true}", false, "delete_version_after",
                         "duration");
        metadata_refused("{\"max_versions\":-1}", false, "max_versions", "integer");
        metadata_refused("{\"max_versions\":4294967296}", false, "max_versions", "integer");
        metadata_refused("{\"cas_required\":\"yes\"}", false, "cas_required", "true or false");
        metadata_refused("{\"custom_metadata\":[]}", false, "custom_metadata", "object");
        metadata_refused("{\"custom_metadata\":{\"k\":1}}", false, "custom_metadata.k", "strings");
        metadata_refused("{\"custom_metadata\":{\"k\":null}}", false, "custom_metadata.k",
                         "strings");
        metadata_refused("{\"custom_metadata\":null}", true, "custom_metadata", "null removes");
}
END_TEST

START_TEST(test_gw_vault_parse_config_and_query)
{
        Cairn__Secrets__V1__SetConfigRequest req = CAIRN__SECRETS__V1__SET_CONFIG_REQUEST__INIT;
        const char *body = "{\"max_versions\":10,\"delete_version_after\":\"0s\"}";
        struct gw_error e;
        uint64_t n;

        ck_assert(gw_vault_parse_config(body, strlen(body), 16, &arena, &req, &e));
        ck_assert_uint_eq(req.max_versions->value, 10);
        ck_assert_ptr_null(req.cas_required);
        ck_assert_int_eq(req.delete_version_after->seconds, 0);
        ck_assert(gw_vault_parse_uint("version", "7", UINT64_MAX, &n, &e));
        ck_assert_uint_eq(n, 7);
        ck_assert(!gw_vault_parse_uint("version", "x", UINT64_MAX, &n, &e));
        ck_assert_str_eq(e.param, "version");
        ck_assert(!gw_vault_parse_uint("depth", "-1", 100, &n, &e));
        ck_assert(!gw_vault_parse_uint("depth", "", 100, &n, &e));
}
END_TEST

/* Regression (found by the gateway_vault fuzz target): jansson skips a NUL
 * byte between tokens, and copying the text of "data" then never got past
 * it (the request's thread spun for good). */
START_TEST(test_gw_vault_parse_value_nul_byte)
{
        static const char body[] = "{\"data\":{\"o\":[1\0,2]}}";
        struct cairn_buf plain = { 0 };
        Google__Protobuf__UInt64Value *cas;
        uint64_t *versions;
        size_t n;
        struct gw_error e;

        ck_assert(!gw_vault_parse_value(body, sizeof(body) - 1, 16, &plain, &arena, &cas, &e));
        ck_assert_int_eq(e.status, 400);
        ck_assert_msg(strstr(e.message, "invalid character"), "%s", e.message);
        ck_assert(!gw_vault_parse_versions("{\"versions\":[1]}\0", 17, 16, true, &arena, &versions,
                                           &n, &e));
        cairn_buf_cleanup(&plain);
}
END_TEST

/* Regression (found by the gateway_vault fuzz target): 20 digits over
 * UINT64_MAX were read as UINT64_MAX, a number other than the one sent. */
START_TEST(test_gw_vault_parse_numbers_over_64_bits)
{
        const char *body = "{\"data\":{},\"options\":{\"cas\":\"19446744073709551615\"}}";
        struct cairn_buf plain = { 0 };
        Google__Protobuf__UInt64Value *cas;
        struct gw_error e;
        uint64_t n;

        ck_assert(gw_vault_parse_uint("version", "18446744073709551615", UINT64_MAX, &n, &e));
        ck_assert_uint_eq(n, UINT64_MAX);
        ck_assert(!gw_vault_parse_uint("version", "18446744073709551616", UINT64_MAX, &n, &e));
        ck_assert(!gw_vault_parse_uint("version", "19446744073709551615", UINT64_MAX, &n, &e));
        ck_assert(!gw_vault_parse_value(body, strlen(body), 16, &plain, &arena, &cas, &e));
        ck_assert_str_eq(e.param, "options.cas");
        cairn_buf_cleanup(&plain);
}
END_TEST

/* ---- answers ---- */

#define ENVELOPE_HEAD \
        "{\"request_id\":\"r-1\",\"lease_id\":\"\",\"renewable\":false,\"lease_duration\":0,\"data\":"
#define ENVELOPE_TAIL ",\"wrap_info\":null,\"warnings\":null,\"auth\":null,\"mount_type\":\"kv\"}"

static Google__Protobuf__Timestamp created = {
        PROTOBUF_C_MESSAGE_INIT(&google__protobuf__timestamp__descriptor), 1521685446, 945319214
};

START_TEST(test_gw_vault_read_json_shapes)
{
        Cairn__Secrets__V1__VersionMetadata v = CAIRN__SECRETS__V1__VERSION_METADATA__INIT;
        Cairn__Secrets__V1__ReadReply__CustomMetadataEntry e1 =
                CAIRN__SECRETS__V1__READ_REPLY__CUSTOM_METADATA_ENTRY__INIT;
        Cairn__Secrets__V1__ReadReply__CustomMetadataEntry e2 =
                CAIRN__SECRETS__V1__READ_REPLY__CUSTOM_METADATA_ENTRY__INIT;
        Cairn__Secrets__V1__ReadReply__CustomMetadataEntry *cm[] = { &e1, &e2 };
        Cairn__Secrets__V1__ReadReply reply = CAIRN__SECRETS__V1__READ_REPLY__INIT;
        Google__Protobuf__Timestamp deleted = created;
        int status;
        size_t len;
        char *body;

        v.version = 2;
        v.created_time = &created;
        reply.version = &v;
        body = gw_vault_read_json("r-1", &reply, "{\"foo\":\"bar\"}", 13, &status, &len);
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(body, ENVELOPE_HEAD "{\"data\":{\"foo\":\"bar\"},\"metadata\":{"
                                             "\"created_time\":\"2018-03-22T02:24:06.945319214Z\","
                                             "\"custom_metadata\":null,\"deletion_time\":\"\","
                                             "\"destroyed\":false,\"version\":2}}" ENVELOPE_TAIL);
        ck_assert_uint_eq(len, strlen(body));
        free(body);
        /* custom metadata sorted by key, as Go writes a map */
        e1.key = "zeta";
        e1.value = "1";
        e2.key = "alpha";
        e2.value = "2";
        reply.custom_metadata = cm;
        reply.n_custom_metadata = 2;
        /* a deleted version: Vault's 404, data null, the metadata kept */
        deleted.nanos = 0;
        v.deletion_time = &deleted;
        body = gw_vault_read_json("r-1", &reply, NULL, 0, &status, &len);
        ck_assert_int_eq(status, 404);
        ck_assert_str_eq(body,
                         ENVELOPE_HEAD "{\"data\":null,\"metadata\":{"
                                       "\"created_time\":\"2018-03-22T02:24:06.945319214Z\","
                                       "\"custom_metadata\":{\"alpha\":\"2\",\"zeta\":\"1\"},"
                                       "\"deletion_time\":\"2018-03-22T02:24:06Z\","
                                       "\"destroyed\":false,\"version\":2}},\"wrap_info\":null,"
                                       "\"warnings\":null,\"auth\":null,\"mount_type\":\"\"}");
        free(body);
}
END_TEST

START_TEST(test_gw_vault_metadata_json_versions_map)
{
        Cairn__Secrets__V1__VersionMetadata v[3] = { CAIRN__SECRETS__V1__VERSION_METADATA__INIT,
                                                     CAIRN__SECRETS__V1__VERSION_METADATA__INIT,
                                                     CAIRN__SECRETS__V1__VERSION_METADATA__INIT };
        Cairn__Secrets__V1__VersionMetadata *vs[] = { &v[0], &v[1], &v[2] };
        Cairn__Secrets__V1__Metadata m = CAIRN__SECRETS__V1__METADATA__INIT;
        Cairn__Secrets__V1__MetadataReply reply = CAIRN__SECRETS__V1__METADATA_REPLY__INIT;
        Google__Protobuf__Duration dva = {
                PROTOBUF_C_MESSAGE_INIT(&google__protobuf__duration__descriptor), 3600, 0
        };
        size_t len;
        char *body;

        v[0].version = 2;
        v[1].version = 10;
        v[2].version = 1;
        v[2].destroyed = true;
        m.versions = vs;
        m.n_versions = 3;
        m.current_version = 10;
        m.oldest_version = 1;
        m.created_time = &created;
        m.updated_time = &created;
        m.delete_version_after = &dva;
        reply.metadata = &m;
        body = gw_vault_metadata_json("r-1", &reply, &len);
        ck_assert_str_eq(
                body, ENVELOPE_HEAD
                "{\"cas_required\":false,\"created_time\":\"2018-03-22T02:24:06.945319214Z\","
                "\"current_version\":10,\"custom_metadata\":null,"
                "\"delete_version_after\":\"1h0m0s\",\"max_versions\":0,"
                "\"oldest_version\":1,\"updated_time\":\"2018-03-22T02:24:06.945319214Z\","
                "\"versions\":{\"1\":{\"created_time\":\"\",\"deletion_time\":\"\","
                "\"destroyed\":true},\"10\":{\"created_time\":\"\",\"deletion_time\":\"\","
                "\"destroyed\":false},\"2\":{\"created_time\":\"\",\"deletion_time\":\"\","
                "\"destroyed\":false}}}" ENVELOPE_TAIL);
        free(body);
}
END_TEST

START_TEST(test_gw_vault_list_config_write_json)
{
        char *keys[] = { "app/", "db" };
        Cairn__Secrets__V1__ConfigReply cfg = CAIRN__SECRETS__V1__CONFIG_REPLY__INIT;
        Cairn__Secrets__V1__WriteReply w = CAIRN__SECRETS__V1__WRITE_REPLY__INIT;
        Cairn__Secrets__V1__VersionMetadata v = CAIRN__SECRETS__V1__VERSION_METADATA__INIT;
        int status;
        size_t len;
        char *body;

        body = gw_vault_list_json("r-1", keys, 2, &status, &len);
        ck_assert_int_eq(status, 200);
        ck_assert_str_eq(body, ENVELOPE_HEAD "{\"keys\":[\"app/\",\"db\"]}" ENVELOPE_TAIL);
        free(body);
        body = gw_vault_list_json("r-1", keys, 0, &status, &len);
        ck_assert_int_eq(status, 404);
        ck_assert_str_eq(body, "{\"errors\":[]}");
        free(body);
        cfg.max_versions = 10;
        body = gw_vault_config_json("r-1", &cfg, &len);
        ck_assert_str_eq(body, ENVELOPE_HEAD "{\"cas_required\":false,\"delete_version_after\":"
                                             "\"0s\",\"max_versions\":10}" ENVELOPE_TAIL);
        free(body);
        v.version = 1;
        v.created_time = &created;
        w.version = &v;
        body = gw_vault_write_json("r-1", &w, &len);
        ck_assert_str_eq(body, ENVELOPE_HEAD "{\"created_time\":\"2018-03-22T02:24:06.945319214Z\","
                                             "\"custom_metadata\":null,\"deletion_time\":\"\","
                                             "\"destroyed\":false,\"version\":1}" ENVELOPE_TAIL);
        free(body);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_gw_error_vault_json_mapping)
{
        struct gw_error e;
        int status;
        size_t len;
        char *body;

        gw_error_from_status(&e, CAIRN_ERR_PRECONDITION,
                             "check-and-set parameter did not match the current version", "cas");
        body = gw_error_vault_json(&e, &status, &len);
        ck_assert_int_eq(status, 400);
        ck_assert_str_eq(
                body,
                "{\"errors\":[\"check-and-set parameter did not match the current version\"]}");
        free(body);
        gw_error_from_status(&e, CAIRN_ERR_INVALID,
                             "check-and-set parameter required for this call", "cas");
        body = gw_error_vault_json(&e, &status, &len);
        ck_assert_int_eq(status, 400);
        ck_assert_str_eq(body, "{\"errors\":[\"check-and-set parameter required for this call\"]}");
        free(body);
        gw_error_from_status(&e, CAIRN_ERR_PERMISSION, "policy ops denies read", NULL);
        body = gw_error_vault_json(&e, &status, &len);
        ck_assert_int_eq(status, 403);
        ck_assert_str_eq(body,
                         "{\"errors\":[\"1 error occurred:\\n\\t* permission denied\\n\\n\"]}");
        free(body);
        gw_error_from_status(&e, CAIRN_ERR_NOT_FOUND, "no secret app/db", NULL);
        body = gw_error_vault_json(&e, &status, &len);
        ck_assert_int_eq(status, 404);
        ck_assert_str_eq(body, "{\"errors\":[]}");
        free(body);
        /* a refused token: Vault's 403 */
        gw_error_set(&e, 401, "invalid_token", NULL, "unknown API key");
        body = gw_error_vault_json(&e, &status, &len);
        ck_assert_int_eq(status, 403);
        ck_assert_str_eq(body, "{\"errors\":[\"permission denied\"]}");
        free(body);
        gw_error_from_status(&e, CAIRN_ERR_UNAVAILABLE, "down", NULL);
        body = gw_error_vault_json(&e, &status, &len);
        ck_assert_int_eq(status, 503);
        ck_assert_str_eq(body, "{\"errors\":[\"down\"]}");
        free(body);
}
END_TEST

/* ---- the adapters' conversations ---- */

static struct gw_sealing *sealing;
static struct cairn_seal_keys *service; /* the secrets service's pair */
static struct gw_captures caps;
static struct gw_adapter_ctx ctx;
static const char *query_key, *query_value;

static int query_each(void *conn, int (*fn)(void *, const char *, const char *), void *opaque)
{
        (void)conn;
        return query_key ? fn(opaque, query_key, query_value) : 0;
}

static void conv_setup(void)
{
        sealing = gw_sealing_new();
        service = cairn_seal_keys_new();
        ck_assert_ptr_nonnull(sealing);
        memset(&ctx, 0, sizeof(ctx));
        ctx.caps = &caps;
        ctx.max_json_depth = 16;
        ctx.tenant = "acme";
        ctx.request_id = "r-1";
        ctx.sealing = sealing;
        ctx.query_each = query_each;
        query_key = query_value = NULL;
}

static void conv_teardown(void)
{
        gw_sealing_free(sealing);
        cairn_seal_keys_free(service);
}

static void on_path(const char *tmpl, const char *path, const char *body)
{
        ck_assert(gw_path_match(tmpl, path, &caps));
        ctx.body = body;
        ctx.body_len = body ? strlen(body) : 0;
}

static ProtobufCMessage *key_reply(uint32_t version)
{
        Cairn__Secrets__V1__ServiceKeyReply *k = calloc(1, sizeof(*k));

        cairn__secrets__v1__service_key_reply__init(k);
        k->key_version = version;
        k->public_key.data = service->pk;
        k->public_key.len = CAIRN_SEAL_KEY_BYTES;
        return &k->base;
}

/* What the service would read out of a sealed value. */
static char *opened(const Cairn__Secrets__V1__SealedValue *v)
{
        char *out = calloc(1, v->box.len);

        ck_assert_int_eq(cairn_seal_open(service, v->box.data, v->box.len, (uint8_t *)out), 0);
        return out;
}

START_TEST(test_gw_vault_write_fetches_key_and_retries_once)
{
        char body[] = "{\"data\":{\"password\":\"s3cret\"},\"options\":{\"cas\":0}}";
        struct cairn_status st;
        struct gw_error e = { 0 };
        const ProtobufCMessage *msg;
        const Cairn__Secrets__V1__WriteRequest *w;
        ProtobufCMessage *key;
        char *plain;

        on_path("/v1/secret/data/{path*}", "/v1/secret/data/app/db", body);
        /* no key known: the first call asks for it */
        msg = gw_vault_write.parse(&ctx, &e);
        ck_assert_ptr_nonnull(msg);
        ck_assert_ptr_eq(msg->descriptor, &cairn__secrets__v1__get_service_key_request__descriptor);
        ck_assert_ptr_eq(ctx.reply_type, &cairn__secrets__v1__service_key_reply__descriptor);
        key = key_reply(1);
        msg = gw_vault_write.next(&ctx, key, &st, &e);
        ck_assert_ptr_eq(msg->descriptor, &cairn__secrets__v1__write_request__descriptor);
        ck_assert_ptr_null(ctx.reply_type);
        w = (const Cairn__Secrets__V1__WriteRequest *)msg;
        ck_assert_str_eq(w->path, "app/db");
        ck_assert_uint_eq(w->cas->value, 0);
        ck_assert_uint_eq(w->data->key_version, 1);
        plain = opened(w->data);
        ck_assert_str_eq(plain, "{\"password\":\"s3cret\"}");
        free(plain);
        /* a rotation retired key 1: fetched again, sealed again, once */
        cairn_status_set(&st, CAIRN_ERR_PRECONDITION, "data", "SEAL_KEY_UNKNOWN", "retired");
        msg = gw_vault_write.next(&ctx, NULL, &st, &e);
        ck_assert_ptr_eq(msg->descriptor, &cairn__secrets__v1__get_service_key_request__descriptor);
        free(key); /* made by key_reply(): its key is borrowed, not owned */
        key = key_reply(2);
        msg = gw_vault_write.next(&ctx, key, &st, &e);
        ck_assert_uint_eq(((const Cairn__Secrets__V1__WriteRequest *)msg)->data->key_version, 2);
        msg = gw_vault_write.next(&ctx, NULL, &st, &e);
        ck_assert_ptr_null(msg); /* the second refusal is answered */
        ck_assert_int_eq(e.status, 0);
        free(key);
        gw_vault_write.release(&ctx, NULL);
        /* the request's copy of the value is wiped */
        ck_assert(body[0] == '\0' && body[5] == '\0');
        /* the key is kept: the next write seals at once */
        char body2[] = "{\"data\":{}}";
        on_path("/v1/secret/data/{path*}", "/v1/secret/data/x", body2);
        msg = gw_vault_write.parse(&ctx, &e);
        ck_assert_ptr_eq(msg->descriptor, &cairn__secrets__v1__write_request__descriptor);
        gw_vault_write.release(&ctx, NULL);
}
END_TEST

START_TEST(test_gw_vault_write_without_key_is_503)
{
        char body[] = "{\"data\":{\"a\":1}}";
        struct cairn_status st;
        struct gw_error e = { 0 };
        int status;
        size_t len;
        char *err;

        on_path("/v1/secret/data/{path*}", "/v1/secret/data/app", body);
        ck_assert_ptr_nonnull(gw_vault_patch.parse(&ctx, &e));
        cairn_status_set(&st, CAIRN_ERR_DEADLINE, NULL, NULL, "timed out");
        ck_assert_ptr_null(gw_vault_patch.next(&ctx, NULL, &st, &e));
        ck_assert_int_eq(e.status, 503);
        err = gw_error_vault_json(&e, &status, &len);
        ck_assert_msg(strstr(err, "cannot be fetched"), "%s", err);
        free(err);
        gw_vault_patch.release(&ctx, NULL);
}
END_TEST

START_TEST(test_gw_vault_read_opens_reply)
{
        const char *value = "{\"password\":\"s3cret\"}";
        Cairn__Secrets__V1__VersionMetadata v = CAIRN__SECRETS__V1__VERSION_METADATA__INIT;
        Cairn__Secrets__V1__ReadReply reply = CAIRN__SECRETS__V1__READ_REPLY__INIT;
        const Cairn__Secrets__V1__ReadRequest *req;
        uint8_t box[128];
        struct gw_error e = { 0 };
        size_t len;
        char *body;

        on_path("/v1/secret/data/{path*}", "/v1/secret/data/app/db", NULL);
        query_key = "version";
        query_value = "3";
        req = (const Cairn__Secrets__V1__ReadRequest *)gw_vault_read.parse(&ctx, &e);
        ck_assert_ptr_nonnull(req);
        ck_assert_uint_eq(req->version, 3);
        ck_assert_uint_eq(req->reply_key.len, CAIRN_SEAL_KEY_BYTES);
        ck_assert_int_eq(cairn_seal(req->reply_key.data, value, strlen(value), box), 0);
        v.version = 3;
        reply.version = &v;
        reply.data.data = box;
        reply.data.len = strlen(value) + CAIRN_SEAL_OVERHEAD;
        body = gw_vault_read.render(&ctx, &reply.base, &len);
        ck_assert_int_eq(ctx.status, 200);
        ck_assert(ctx.secret);
        ck_assert_msg(strstr(body, "\"data\":{\"data\":{\"password\":\"s3cret\"},"), "%s", body);
        free(body);
        /* not sealed to this gateway: not rendered */
        box[60] ^= 1;
        ck_assert_ptr_null(gw_vault_read.render(&ctx, &reply.base, &len));
        gw_vault_read.release(&ctx, NULL);
        query_value = "three";
        ck_assert_ptr_null(gw_vault_read.parse(&ctx, &e));
        ck_assert_int_eq(e.status, 400);
        ck_assert_str_eq(e.param, "version");
}
END_TEST

START_TEST(test_gw_vault_list_gathers_pages)
{
        char *p1[] = { "a", "b/" }, *p2[] = { "c" };
        Cairn__Secrets__V1__ListReply r1 = CAIRN__SECRETS__V1__LIST_REPLY__INIT;
        Cairn__Secrets__V1__ListReply r2 = CAIRN__SECRETS__V1__LIST_REPLY__INIT;
        const Cairn__Secrets__V1__ListRequest *req;
        struct cairn_status st;
        struct gw_error e = { 0 };
        size_t len;
        char *body;

        on_path("/v1/secret/metadata/{path*}", "/v1/secret/metadata/team/", NULL);
        query_key = "recursive";
        query_value = "true";
        req = (const Cairn__Secrets__V1__ListRequest *)gw_vault_list.parse(&ctx, &e);
        ck_assert_str_eq(req->prefix, "team/");
        ck_assert(req->recursive);
        r1.keys = p1;
        r1.n_keys = 2;
        r1.next_page_token = "t2";
        ck_assert_ptr_eq(gw_vault_list.next(&ctx, &r1.base, &st, &e), &req->base);
        ck_assert_str_eq(req->page_token, "t2");
        r2.keys = p2;
        r2.n_keys = 1;
        ck_assert_ptr_null(gw_vault_list.next(&ctx, &r2.base, &st, &e));
        body = gw_vault_list.render(&ctx, &r2.base, &len);
        ck_assert_msg(strstr(body, "{\"keys\":[\"a\",\"b/\",\"c\"]}"), "%s", body);
        free(body);
        gw_vault_list.release(&ctx, NULL);
        /* the top of the mount, and a bad recursive */
        on_path("/v1/secret/metadata", "/v1/secret/metadata", NULL);
        query_value = "maybe";
        ck_assert_ptr_null(gw_vault_list.parse(&ctx, &e));
        ck_assert_str_eq(e.param, "recursive");
}
END_TEST

START_TEST(test_gw_vault_deletes_answer_204)
{
        struct gw_error e = { 0 };
        const Cairn__Secrets__V1__DestroyRequest *req;
        size_t len;
        char *body;

        on_path("/v1/secret/destroy/{path*}", "/v1/secret/destroy/app", "{\"versions\":[1,2]}");
        req = (const Cairn__Secrets__V1__DestroyRequest *)gw_vault_destroy.parse(&ctx, &e);
        ck_assert_uint_eq(req->n_versions, 2);
        body = gw_vault_destroy.render(&ctx, &req->base, &len);
        ck_assert_int_eq(ctx.status, 204);
        ck_assert_uint_eq(len, 0);
        free(body);
        gw_vault_destroy.release(&ctx, NULL);
        on_path("/v1/secret/undelete/{path*}", "/v1/secret/undelete/app", "{\"versions\":[\"x\"]}");
        ck_assert_ptr_null(gw_vault_undelete.parse(&ctx, &e));
        ck_assert_str_eq(e.param, "versions");
        on_path("/v1/secret/data/{path*}", "/v1/secret/data/app", NULL);
        ck_assert_uint_eq(((const Cairn__Secrets__V1__DeleteRequest *)
                                   gw_vault_delete_latest.parse(&ctx, &e))
                                  ->n_versions,
                          0);
        gw_vault_delete_latest.release(&ctx, NULL);
}
END_TEST

static Suite *vault_suite(void)
{
        Suite *s = suite_create("gateway_vault");
        TCase *tc;

        tc = tcase_create("gw_vault_time");
        tcase_add_test(tc, test_gw_vault_time_format_nanoseconds);
        tcase_add_test(tc, test_gw_vault_duration_format_go);
        tcase_add_test(tc, test_gw_vault_duration_parse_forms);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_vault_parse");
        tcase_add_checked_fixture(tc, arena_setup, arena_teardown);
        tcase_add_test(tc, test_gw_vault_parse_value_keeps_text);
        tcase_add_test(tc, test_gw_vault_parse_value_refuses);
        tcase_add_test(tc, test_gw_vault_parse_versions_forms);
        tcase_add_test(tc, test_gw_vault_parse_metadata_fields);
        tcase_add_test(tc, test_gw_vault_parse_metadata_refuses);
        tcase_add_test(tc, test_gw_vault_parse_config_and_query);
        tcase_add_test(tc, test_gw_vault_parse_numbers_over_64_bits);
        tcase_add_test(tc, test_gw_vault_parse_value_nul_byte);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_vault_render");
        tcase_add_test(tc, test_gw_vault_read_json_shapes);
        tcase_add_test(tc, test_gw_vault_metadata_json_versions_map);
        tcase_add_test(tc, test_gw_vault_list_config_write_json);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_error_vault_json");
        tcase_add_test(tc, test_gw_error_vault_json_mapping);
        suite_add_tcase(s, tc);
        tc = tcase_create("gw_vault_adapters");
        tcase_add_checked_fixture(tc, conv_setup, conv_teardown);
        tcase_add_test(tc, test_gw_vault_write_fetches_key_and_retries_once);
        tcase_add_test(tc, test_gw_vault_write_without_key_is_503);
        tcase_add_test(tc, test_gw_vault_read_opens_reply);
        tcase_add_test(tc, test_gw_vault_list_gathers_pages);
        tcase_add_test(tc, test_gw_vault_deletes_answer_204);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(vault_suite());
}
