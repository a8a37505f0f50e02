/* Unit tests for the proto3 JSON mapping: every field kind both ways (on
 * cairn.testing.v1.Kinds, tests/proto), the well-known types, every error
 * naming its field, the depth limit, binding text parameters, OpenAPI
 * schemas and the message registry. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pbjson.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/testing/v1/kinds.pb-c.h"
#include "../unit.h"

#define KINDS  (&cairn__testing__v1__kinds__descriptor)
#define NESTED (&cairn__testing__v1__nested__descriptor)

typedef Cairn__Testing__V1__Kinds Kinds;

static Kinds *parse_ok(const char *text)
{
        struct cairn_pbjson_error err;
        ProtobufCMessage *msg = NULL;
        cairn_err_t e = cairn_pbjson_parse(KINDS, text, strlen(text), 64, &msg, &err);

        ck_assert_msg(e == CAIRN_OK, "%s: %s: %s", text, err.field, err.message);
        ck_assert_ptr_nonnull(msg);
        return (Kinds *)msg;
}

/* Parsing @p text fails with INVALID, naming @p field, with @p part in the message. */
static void parse_fails(const ProtobufCMessageDescriptor *desc, const char *text, const char *field,
                        const char *part)
{
        struct cairn_pbjson_error err;
        ProtobufCMessage *msg = (ProtobufCMessage *)1;
        cairn_err_t e = cairn_pbjson_parse(desc, text, strlen(text), 64, &msg, &err);

        ck_assert_msg(e == CAIRN_ERR_INVALID, "%s: accepted", text);
        ck_assert_ptr_null(msg);
        ck_assert_msg(strcmp(err.field, field) == 0, "%s: field \"%s\", want \"%s\" (%s)", text,
                      err.field, field, err.message);
        ck_assert_msg(strstr(err.message, part), "%s: message \"%s\" lacks \"%s\"", text,
                      err.message, part);
}

static char *render(const void *msg, unsigned flags)
{
        char *text = cairn_pbjson_render(msg, flags, NULL);

        ck_assert_ptr_nonnull(text);
        return text;
}

/* Parses @p text and renders it back, which must give @p want. */
static void both_ways(const char *text, unsigned flags, const char *want)
{
        Kinds *k = parse_ok(text);
        char *out = render(k, flags);

        ck_assert_msg(strcmp(out, want) == 0, "%s\n rendered %s\n want     %s", text, out, want);
        free(out);
        protobuf_c_message_free_unpacked(&k->base, NULL);
}

static void free_msg(void *msg)
{
        protobuf_c_message_free_unpacked(msg, NULL);
}

/* ---- JSON to message ---- */

START_TEST(test_cairn_pbjson_parse_scalars)
{
        Kinds *k = parse_ok(
                "{\"fDouble\": -2.5, \"fFloat\": 0.1, \"fInt32\": -2147483648,"
                " \"fInt64\": \"-9223372036854775808\", \"fUint32\": 4294967295,"
                " \"fUint64\": \"18446744073709551615\", \"fSint32\": \"-7\","
                " \"fSint64\": 9007199254740993, \"fFixed32\": 1e3,"
                " \"fFixed64\": \"00042\", \"fSfixed32\": -1.0,"
                " \"fSfixed64\": \"-1\", \"fBool\": true, \"fString\": \"h\\u00e9\\ud83d\\ude00\","
                " \"fBytes\": \"-_8\", \"fEnum\": \"COLOR_BLUE\"}");

        ck_assert(k->f_double == -2.5);
        ck_assert(k->f_float == 0.1f);
        ck_assert_int_eq(k->f_int32, INT32_MIN);
        ck_assert(k->f_int64 == INT64_MIN);
        ck_assert_uint_eq(k->f_uint32, UINT32_MAX);
        ck_assert(k->f_uint64 == UINT64_MAX);
        ck_assert_int_eq(k->f_sint32, -7);
        ck_assert(k->f_sint64 == 9007199254740993LL);
        ck_assert_uint_eq(k->f_fixed32, 1000);
        ck_assert(k->f_fixed64 == 42);
        ck_assert_int_eq(k->f_sfixed32, -1);
        ck_assert(k->f_sfixed64 == -1);
        ck_assert(k->f_bool);
        ck_assert_str_eq(k->f_string, "h\xc3\xa9\xf0\x9f\x98\x80");
        ck_assert_uint_eq(k->f_bytes.len, 2); /* URL-safe, unpadded */
        ck_assert_int_eq(k->f_bytes.data[0], 0xfb);
        ck_assert_int_eq(k->f_bytes.data[1], 0xff);
        ck_assert_int_eq(k->f_enum, CAIRN__TESTING__V1__COLOR__COLOR_BLUE);
        free_msg(k);

        k = parse_ok(
                "{\"fDouble\": \"NaN\", \"fFloat\": \"-Infinity\", \"rDouble\": [\"Infinity\","
                " \"1.5e2\", 3], \"fBytes\": \"+/8=\", \"fEnum\": -3, \"rEnum\": [77, \"COLOR_RED\"]}");
        ck_assert(isnan(k->f_double));
        ck_assert(isinf(k->f_float) && k->f_float < 0);
        ck_assert_uint_eq(k->n_r_double, 3);
        ck_assert(isinf(k->r_double[0]) && k->r_double[1] == 150 && k->r_double[2] == 3);
        ck_assert_uint_eq(k->f_bytes.len, 2);
        ck_assert_int_eq(k->f_enum, CAIRN__TESTING__V1__COLOR__COLOR_BLUE);
        ck_assert_uint_eq(k->n_r_enum, 2);
        ck_assert_int_eq(k->r_enum[0], 77); /* proto3 enums are open */
        free_msg(k);
}
END_TEST

START_TEST(test_cairn_pbjson_parse_proto_names)
{
        Kinds *k = parse_ok("{\"f_int64\": 5, \"double__under_2x\": 2, \"a1b_c\": \"x\","
                            " \"f_nested\": {\"name\": \"n\"}, \"m_int32_int32\": {\"1\": 2}}");

        ck_assert(k->f_int64 == 5);
        ck_assert_int_eq(k->double__under_2x, 2);
        ck_assert_str_eq(k->a1b_c, "x");
        ck_assert_str_eq(k->f_nested->name, "n");
        ck_assert_uint_eq(k->n_m_int32_int32, 1);
        free_msg(k);
        k = parse_ok("{\"doubleUnder2x\": 3, \"a1bC\": \"y\"}");
        ck_assert_int_eq(k->double__under_2x, 3);
        ck_assert_str_eq(k->a1b_c, "y");
        free_msg(k);
}
END_TEST

START_TEST(test_cairn_pbjson_parse_repeated_and_maps)
{
        Kinds *k = parse_ok("{\"rString\": [\"a\", \"\", \"c\"], \"rBytes\": [\"\", \"AQ==\"],"
                            " \"rNested\": [{}, {\"count\": 2, \"child\": {\"name\": \"x\"}}],"
                            " \"rBool\": [], \"mBoolString\": {\"true\": \"t\", \"false\": \"f\"},"
                            " \"mSint64Enum\": {\"-9223372036854775808\": \"COLOR_RED\"},"
                            " \"mUint32Bytes\": {\"4294967295\": \"/w==\"},"
                            " \"mFixed64Nested\": {\"7\": {\"name\": \"seven\"}},"
                            " \"mStringString\": {\"\": \"empty key\", \"\\u00e9\": \"e\"}}");

        ck_assert_uint_eq(k->n_r_string, 3);
        ck_assert_str_eq(k->r_string[1], "");
        ck_assert_uint_eq(k->n_r_bytes, 2);
        ck_assert_uint_eq(k->r_bytes[0].len, 0);
        ck_assert_int_eq(k->r_bytes[1].data[0], 1);
        ck_assert_uint_eq(k->n_r_nested, 2);
        ck_assert_str_eq(k->r_nested[1]->child->name, "x");
        ck_assert_uint_eq(k->n_r_bool, 0);
        ck_assert_uint_eq(k->n_m_bool_string, 2);
        ck_assert(k->m_bool_string[0]->key && !k->m_bool_string[1]->key);
        ck_assert(k->m_sint64_enum[0]->key == INT64_MIN);
        ck_assert_int_eq(k->m_sint64_enum[0]->value, CAIRN__TESTING__V1__COLOR__COLOR_RED);
        ck_assert_uint_eq(k->m_uint32_bytes[0]->key, UINT32_MAX);
        ck_assert_str_eq(k->m_fixed64_nested[0]->value->name, "seven");
        ck_assert_str_eq(k->m_string_string[0]->key, "");
        ck_assert_str_eq(k->m_string_string[1]->key, "\xc3\xa9");
        free_msg(k);
}
END_TEST

START_TEST(test_cairn_pbjson_parse_oneof)
{
        Kinds *k = parse_ok("{\"oString\": \"\"}");

        /* a member set to its default is set */
        ck_assert_int_eq(k->choice_case, CAIRN__TESTING__V1__KINDS__CHOICE_O_STRING);
        ck_assert_str_eq(k->o_string, "");
        free_msg(k);
        k = parse_ok("{\"oNested\": {}, \"pFloat\": 1.5}");
        ck_assert_int_eq(k->choice_case, CAIRN__TESTING__V1__KINDS__CHOICE_O_NESTED);
        ck_assert_int_eq(k->other_case, CAIRN__TESTING__V1__KINDS__OTHER_P_FLOAT);
        ck_assert(k->p_float == 1.5f);
        free_msg(k);
        /* a null member is no member: it does not clash */
        k = parse_ok("{\"oInt64\": null, \"oTimestamp\": \"1970-01-01T00:00:00Z\"}");
        ck_assert_int_eq(k->choice_case, CAIRN__TESTING__V1__KINDS__CHOICE_O_TIMESTAMP);
        free_msg(k);
        /* except NullValue, for which null is the value */
        k = parse_ok("{\"oNull\": null}");
        ck_assert_int_eq(k->choice_case, CAIRN__TESTING__V1__KINDS__CHOICE_O_NULL);
        free_msg(k);
        parse_fails(KINDS, "{\"oString\": \"a\", \"oBytes\": \"\"}", "oBytes",
                    "\"oString\" and \"oBytes\" belong to one oneof");
        parse_fails(KINDS, "{\"oNull\": null, \"o_int64\": 1}", "o_int64",
                    "\"oNull\" and \"o_int64\"");
}
END_TEST

START_TEST(test_cairn_pbjson_parse_null_is_default)
{
        Kinds *k = parse_ok("{\"fInt32\": null, \"fString\": null, \"fNested\": null,"
                            " \"rInt32\": null, \"mStringString\": null, \"wTimestamp\": null,"
                            " \"wInt32\": null, \"wValue\": null, \"wNull\": null,"
                            " \"rValue\": [null, 1], \"mStringValue\": {\"n\": null}}");

        ck_assert_int_eq(k->f_int32, 0);
        ck_assert_str_eq(k->f_string, "");
        ck_assert_ptr_null(k->f_nested);
        ck_assert_uint_eq(k->n_r_int32, 0);
        ck_assert_uint_eq(k->n_m_string_string, 0);
        ck_assert_ptr_null(k->w_timestamp);
        ck_assert_ptr_null(k->w_int32);
        /* a Value takes null as a value */
        ck_assert_ptr_nonnull(k->w_value);
        ck_assert_int_eq(k->w_value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
        ck_assert_uint_eq(k->n_r_value, 2);
        ck_assert_int_eq(k->r_value[0]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
        ck_assert_int_eq(k->m_string_value[0]->value->kind_case,
                         GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
        free_msg(k);
}
END_TEST

START_TEST(test_cairn_pbjson_parse_wkt)
{
        Kinds *k = parse_ok(
                "{\"wTimestamp\": \"2024-02-29T23:59:59.12+01:30\","
                " \"wDuration\": \"-1.5s\", \"rDuration\": [\"-0.000000001s\", \"315576000000s\", \"0s\","
                " \"00000000000001.000s\"],"
                " \"rTimestamp\": [\"0001-01-01T00:00:00Z\", \"9999-12-31T23:59:59.999999999Z\","
                " \"1969-12-31T23:59:59.000001-00:00\"],"
                " \"wStruct\": {\"a\": [1, \"s\", true, null, {\"b\": {}}], \"c\": -0.5},"
                " \"wList\": [[], {}], \"wDouble\": \"NaN\", \"wFloat\": 0, \"wInt64\": \"-5\","
                " \"wUint64\": 5, \"wInt32\": 0, \"wUint32\": \"9\", \"wBool\": false,"
                " \"wString\": \"\", \"wBytes\": \"AA\", \"wEmpty\": {},"
                " \"wFieldMask\": \"user.displayName,photo,a1B\"}");
        Google__Protobuf__Value *a;

        ck_assert(k->w_timestamp->seconds == 1709251199 - 5400); /* 2024-03-01 is 1709251200 */
        ck_assert_int_eq(k->w_timestamp->nanos, 120000000);
        ck_assert(k->w_duration->seconds == -1 && k->w_duration->nanos == -500000000);
        ck_assert(k->r_duration[0]->seconds == 0 && k->r_duration[0]->nanos == -1);
        ck_assert(k->r_duration[1]->seconds == 315576000000LL);
        ck_assert(k->r_duration[3]->seconds == 1 && k->r_duration[3]->nanos == 0);
        ck_assert(k->r_timestamp[0]->seconds == -62135596800LL);
        ck_assert(k->r_timestamp[1]->seconds == 253402300799LL);
        ck_assert_int_eq(k->r_timestamp[1]->nanos, 999999999);
        ck_assert(k->r_timestamp[2]->seconds == -1 && k->r_timestamp[2]->nanos == 1000);
        ck_assert_uint_eq(k->w_struct->n_fields, 2);
        ck_assert_str_eq(k->w_struct->fields[0]->key, "a");
        a = k->w_struct->fields[0]->value;
        ck_assert_int_eq(a->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE);
        ck_assert_uint_eq(a->list_value->n_values, 5);
        ck_assert(a->list_value->values[0]->number_value == 1);
        ck_assert_str_eq(a->list_value->values[1]->string_value, "s");
        ck_assert(a->list_value->values[2]->bool_value);
        ck_assert_int_eq(a->list_value->values[3]->kind_case,
                         GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
        ck_assert_int_eq(a->list_value->values[4]->kind_case,
                         GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE);
        ck_assert(k->w_struct->fields[1]->value->number_value == -0.5);
        ck_assert_uint_eq(k->w_list->n_values, 2);
        ck_assert(isnan(k->w_double->value));
        ck_assert_ptr_nonnull(k->w_float); /* present, holding its default */
        ck_assert(k->w_int64->value == -5 && k->w_uint64->value == 5);
        ck_assert_ptr_nonnull(k->w_int32);
        ck_assert_uint_eq(k->w_uint32->value, 9);
        ck_assert(k->w_bool && !k->w_bool->value);
        ck_assert_str_eq(k->w_string->value, "");
        ck_assert_uint_eq(k->w_bytes->value.len, 1);
        ck_assert_ptr_nonnull(k->w_empty);
        ck_assert_uint_eq(k->w_field_mask->n_paths, 3);
        ck_assert_str_eq(k->w_field_mask->paths[0], "user.display_name");
        ck_assert_str_eq(k->w_field_mask->paths[1], "photo");
        ck_assert_str_eq(k->w_field_mask->paths[2], "a1_b");
        free_msg(k);

        k = parse_ok("{\"wFieldMask\": \"\"}");
        ck_assert_uint_eq(k->w_field_mask->n_paths, 0);
        free_msg(k);
}
END_TEST

/* A top-level well-known type takes its JSON form too. */
START_TEST(test_cairn_pbjson_parse_wkt_top_level)
{
        struct cairn_pbjson_error err;
        ProtobufCMessage *msg;
        Google__Protobuf__Timestamp *ts;
        Google__Protobuf__Value *v;

        ck_assert_int_eq(cairn_pbjson_parse(&google__protobuf__timestamp__descriptor,
                                            "\"1970-01-01T00:00:01.5Z\"", 24, 4, &msg, &err),
                         CAIRN_OK);
        ts = (Google__Protobuf__Timestamp *)msg;
        ck_assert(ts->seconds == 1 && ts->nanos == 500000000);
        free_msg(msg);
        ck_assert_int_eq(cairn_pbjson_parse(&google__protobuf__value__descriptor, "null", 4, 4,
                                            &msg, &err),
                         CAIRN_OK);
        v = (Google__Protobuf__Value *)msg;
        ck_assert_int_eq(v->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
        free_msg(msg);
        parse_fails(&google__protobuf__duration__descriptor, "1.5", "", "expected a duration");
        parse_fails(KINDS, "null", "", "expected an object");
        parse_fails(KINDS, "[]", "", "expected an object (cairn.testing.v1.Kinds)");
}
END_TEST

START_TEST(test_cairn_pbjson_parse_errors_name_the_field)
{
        static const struct {
                const char *json, *field, *part;
        } cases[] = {
                { "{\"nope\": 1}", "nope", "unknown field \"nope\" in cairn.testing.v1.Kinds" },
                { "{\"rNested\": [{}, {\"nmae\": 1}]}", "rNested[1].nmae", "unknown field" },
                { "{\"fNested\": {\"child\": {\"count\": \"x\"}}}", "fNested.child.count",
                  "\"x\" is not an integer (int32)" },
                { "{\"fInt32\": 2147483648}", "fInt32", "out of range for int32" },
                { "{\"fInt32\": -2147483649}", "fInt32", "out of range for int32" },
                { "{\"fSint32\": \"2147483648\"}", "fSint32", "out of range for sint32" },
                { "{\"fUint32\": -1}", "fUint32", "out of range for uint32" },
                { "{\"fFixed32\": 4294967296}", "fFixed32", "out of range for fixed32" },
                { "{\"fInt64\": \"9223372036854775808\"}", "fInt64", "out of range for int64" },
                { "{\"fSfixed64\": \"-9223372036854775809\"}", "fSfixed64", "out of range" },
                { "{\"fUint64\": \"18446744073709551616\"}", "fUint64", "out of range for uint64" },
                { "{\"fFixed64\": \"-1\"}", "fFixed64", "out of range for fixed64" },
                { "{\"fInt32\": 1.5}", "fInt32", "got a fraction" },
                { "{\"fInt32\": \"1.0\"}", "fInt32", "is not an integer" },
                { "{\"fInt32\": \" 1\"}", "fInt32", "is not an integer" },
                { "{\"fInt64\": true}", "fInt64", "expected an integer (int64), got a bool" },
                { "{\"fFloat\": 1e39}", "fFloat", "out of range for float" },
                { "{\"fDouble\": \"nan\"}", "fDouble", "is not a number" },
                { "{\"fDouble\": \"0x10\"}", "fDouble", "is not a number" },
                { "{\"fDouble\": {}}", "fDouble", "got an object" },
                { "{\"fBool\": \"true\"}", "fBool", "expected true or false" },
                { "{\"fBool\": 1}", "fBool", "expected true or false" },
                { "{\"fString\": 5}", "fString", "expected a string" },
                { "{\"fString\": \"a\\u0000b\"}", "fString", "U+0000" },
                { "{\"fBytes\": \"Zm9v!\"}", "fBytes", "not base64" },
                { "{\"fBytes\": \"Zh==\"}", "fBytes", "not base64" },
                { "{\"fEnum\": \"COLOR_PURPLE\"}", "fEnum",
                  "\"COLOR_PURPLE\" is not a value of enum cairn.testing.v1.Color" },
                { "{\"fEnum\": 2147483648}", "fEnum", "out of range" },
                { "{\"fEnum\": true}", "fEnum", "expected a name or number" },
                { "{\"fNested\": []}", "fNested", "expected an object (cairn.testing.v1.Nested)" },
                { "{\"rInt32\": {}}", "rInt32", "expected an array" },
                { "{\"rInt32\": [1, null]}", "rInt32[1]", "null is not allowed" },
                { "{\"rNested\": [null]}", "rNested[0]", "null is not allowed" },
                { "{\"mStringString\": []}", "mStringString", "expected an object (map)" },
                { "{\"mStringString\": {\"k\": null}}", "mStringString.k", "null is not allowed" },
                { "{\"mInt32Int32\": {\"x\": 1}}", "mInt32Int32.x", "decimal integer (int32)" },
                { "{\"mInt32Int32\": {\"2147483648\": 1}}", "mInt32Int32.2147483648",
                  "out of range for int32" },
                { "{\"mInt32Int32\": {\"1\": 1, \"01\": 2}}", "mInt32Int32.01",
                  "duplicate map key 1" },
                { "{\"mBoolString\": {\"True\": \"\"}}", "mBoolString.True",
                  "\"true\" or \"false\"" },
                { "{\"mFixed64Nested\": {\"1\": {\"name\": 1}}}", "mFixed64Nested.1.name",
                  "expected a string" },
                { "{\"fInt32\": 1, \"f_int32\": 2}", "f_int32", "name the same field" },
                { "{\"fNested\": {\"a\": 1, \"a\": 2}}", "fNested.a", "duplicate key" },
                { "{\"rNested\": [{\"name\": \"\xff\"}]}", "rNested[0].name", "invalid UTF-8" },
                { "{\"fInt32\": 1,}", "", "invalid JSON" },
                { "{\"fString\": \"x\"} trailing", "", "invalid JSON" },
                { "{\"rInt32\": [1, 2", "rInt32[1]", "invalid JSON" },
                { "", "", "invalid JSON" },
                { "{\"wTimestamp\": \"2024-01-01 00:00:00Z\"}", "wTimestamp", "RFC 3339" },
                { "{\"wTimestamp\": \"2024-02-30T00:00:00Z\"}", "wTimestamp", "RFC 3339" },
                { "{\"wTimestamp\": \"2024-01-01T00:00:00\"}", "wTimestamp", "RFC 3339" },
                { "{\"wTimestamp\": \"2024-01-01T00:00:00.1234567891Z\"}", "wTimestamp",
                  "RFC 3339" },
                { "{\"wTimestamp\": \"2024-01-01t00:00:00z\"}", "wTimestamp", "RFC 3339" },
                { "{\"wTimestamp\": \"0001-01-01T00:00:00+00:01\"}", "wTimestamp", "out of range" },
                { "{\"rTimestamp\": [1]}", "rTimestamp[0]", "RFC 3339" },
                { "{\"wDuration\": \"1.5\"}", "wDuration", "expected a duration" },
                { "{\"wDuration\": \"315576000001s\"}", "wDuration", "out of range" },
                { "{\"wDuration\": \"9999999999999s\"}", "wDuration", "out of range" },
                { "{\"wDuration\": \"-.5s\"}", "wDuration", "expected a duration" },
                { "{\"wFieldMask\": \"a_b\"}", "wFieldMask", "'_' is not allowed" },
                { "{\"wStruct\": []}", "wStruct", "expected an object" },
                { "{\"wStruct\": {\"a\": {\"b\": [\"\\u0000\"]}}}", "wStruct.a.b[0]", "U+0000" },
                { "{\"wList\": {}}", "wList", "expected an array" },
                { "{\"wInt64\": 1.5}", "wInt64", "got a fraction" },
                { "{\"wBool\": null, \"wEmpty\": {\"x\": 1}}", "wEmpty.x",
                  "unknown field \"x\" in google.protobuf.Empty" },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                parse_fails(KINDS, cases[i].json, cases[i].field, cases[i].part);
}
END_TEST

START_TEST(test_cairn_pbjson_parse_depth)
{
        static const char deep_struct[] = "{\"wStruct\":{\"a\":[[[1]]]}}";
        char text[4096];
        struct cairn_pbjson_error err;
        ProtobufCMessage *msg;
        size_t n = 0;

        /* {"child":{"child":...{}...}}: depth 1 + levels */
        for (int i = 0; i < 9; i++)
                n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"child\":");
        n += (size_t)snprintf(text + n, sizeof(text) - n, "{}");
        for (int i = 0; i < 9; i++)
                text[n++] = '}';
        text[n] = '\0';
        ck_assert_int_eq(cairn_pbjson_parse(NESTED, text, n, 10, &msg, &err), CAIRN_OK);
        free_msg(msg);
        ck_assert_int_eq(cairn_pbjson_parse(NESTED, text, n, 9, &msg, &err), CAIRN_ERR_INVALID);
        ck_assert_str_eq(err.field, "child.child.child.child.child.child.child.child.child");
        ck_assert_str_eq(err.message, "nested deeper than 9 levels");

        /* arrays and free-form Structs count the same */
        ck_assert_int_eq(cairn_pbjson_parse(KINDS, deep_struct, strlen(deep_struct), 4, &msg, &err),
                         CAIRN_ERR_INVALID);
        ck_assert_str_eq(err.field, "wStruct.a[0][0]");
        ck_assert_int_eq(cairn_pbjson_parse(KINDS, deep_struct, strlen(deep_struct), 5, &msg, &err),
                         CAIRN_OK);
        free_msg(msg);

        /* no caller goes past CAIRN_PBJSON_DEPTH_MAX, nor past the reader's own limit */
        n = 0;
        for (int i = 0; i < 150; i++)
                n += (size_t)snprintf(text + n, sizeof(text) - n, "[");
        for (int i = 0; i < 150; i++)
                text[n++] = ']';
        text[n] = '\0';
        ck_assert_int_eq(cairn_pbjson_parse(&google__protobuf__value__descriptor, text, n, 1000,
                                            &msg, &err),
                         CAIRN_ERR_INVALID);
        ck_assert(strstr(err.message, "nested deeper than 100 levels"));
        {
                size_t big = 3000;
                char *deep = malloc(2 * big + 1);

                memset(deep, '[', big);
                memset(deep + big, ']', big);
                ck_assert_int_eq(cairn_pbjson_parse(&google__protobuf__value__descriptor, deep,
                                                    2 * big, 50, &msg, &err),
                                 CAIRN_ERR_INVALID);
                ck_assert(strstr(err.message, "nested deeper than 50 levels"));
                free(deep);
        }
}
END_TEST

START_TEST(test_cairn_pbjson_from_json_checks_built_values)
{
        struct cairn_pbjson_error err;
        ProtobufCMessage *msg;
        json_t *obj = json_object();

        /* values built by a caller are not checked by a reader: we check them */
        json_object_set_new(obj, "fString", json_stringn_nocheck("\xc3\x28", 2));
        ck_assert_int_eq(cairn_pbjson_from_json(KINDS, obj, &msg, &err), CAIRN_ERR_INVALID);
        ck_assert_str_eq(err.field, "fString");
        ck_assert_str_eq(err.message, "invalid UTF-8");
        json_object_set_new(obj, "fString", json_stringn("a\0b", 3));
        ck_assert_int_eq(cairn_pbjson_from_json(KINDS, obj, &msg, &err), CAIRN_ERR_INVALID);
        json_object_set_new(obj, "fString", json_string("ok"));
        json_object_set_new(obj, "fDouble", json_real(2.5));
        ck_assert_int_eq(cairn_pbjson_from_json(KINDS, obj, &msg, NULL), CAIRN_OK);
        ck_assert_str_eq(((Kinds *)msg)->f_string, "ok");
        free_msg(msg);
        json_decref(obj);
}
END_TEST

/* ---- message to JSON ---- */

START_TEST(test_cairn_pbjson_render_scalars)
{
        Kinds k = CAIRN__TESTING__V1__KINDS__INIT;
        uint8_t bytes[] = { 0xfb, 0xff, 0x00 };
        char *out;

        k.f_double = 0.1;
        k.f_float = 0.1f;
        k.f_int32 = -1;
        k.f_int64 = INT64_MIN;
        k.f_uint32 = UINT32_MAX;
        k.f_uint64 = UINT64_MAX;
        k.f_sint64 = -2;
        k.f_fixed64 = 1;
        k.f_bool = 1;
        k.f_string = "tab\tquote\" \xc3\xa9 \x01";
        k.f_bytes.len = 3;
        k.f_bytes.data = bytes;
        k.f_enum = 77;
        out = render(&k, 0);
        ck_assert_str_eq(out, "{\"fDouble\":0.1,\"fFloat\":0.1,\"fInt32\":-1,"
                              "\"fInt64\":\"-9223372036854775808\",\"fUint32\":4294967295,"
                              "\"fUint64\":\"18446744073709551615\",\"fSint64\":\"-2\","
                              "\"fFixed64\":\"1\",\"fBool\":true,"
                              "\"fString\":\"tab\\tquote\\\" \xc3\xa9 \\u0001\","
                              "\"fBytes\":\"+/8A\",\"fEnum\":77}");
        free(out);

        k = (Kinds)CAIRN__TESTING__V1__KINDS__INIT;
        k.f_double = NAN;
        k.f_float = -INFINITY;
        k.f_enum = CAIRN__TESTING__V1__COLOR__COLOR_BLUE;
        k.double__under_2x = 1;
        out = render(&k, 0);
        ck_assert_str_eq(out, "{\"fDouble\":\"NaN\",\"fFloat\":\"-Infinity\","
                              "\"fEnum\":\"COLOR_BLUE\",\"doubleUnder2x\":1}");
        free(out);
        out = render(&k, CAIRN_PBJSON_PROTO_NAMES);
        ck_assert_str_eq(out, "{\"f_double\":\"NaN\",\"f_float\":\"-Infinity\","
                              "\"f_enum\":\"COLOR_BLUE\",\"double__under_2x\":1}");
        free(out);
}
END_TEST

START_TEST(test_cairn_pbjson_render_reals_read_back)
{
        /* shortest text that reads back as the same float or double; floats
         * try 6 to 9 digits, as Python's json_format does */
        both_ways("{\"fFloat\": 3.4028234663852886e38, \"rFloat\": [1.0e-45, 16777216, 0.3, -0.0],"
                  " \"rDouble\": [5e-324, 1.7976931348623157e308, 0.30000000000000004, 1e21, 100]}",
                  0,
                  "{\"fFloat\":3.4028235e+38,\"rDouble\":[4.94065645841247e-324,"
                  "1.7976931348623157e+308,0.30000000000000004,1e+21,100.0],"
                  "\"rFloat\":[1.4013e-45,16777216.0,0.3,-0.0]}");
}
END_TEST

START_TEST(test_cairn_pbjson_render_defaults)
{
        Cairn__Testing__V1__Nested n = CAIRN__TESTING__V1__NESTED__INIT;
        char *out;

        out = render(&n, 0);
        ck_assert_str_eq(out, "{}");
        free(out);
        out = render(&n, CAIRN_PBJSON_EMIT_DEFAULTS);
        ck_assert_str_eq(out, "{\"name\":\"\",\"count\":0,\"colors\":[]}");
        free(out);
        /* unset messages and oneofs stay out; NullValue shows as null */
        both_ways(
                "{\"fNested\": {}}", CAIRN_PBJSON_EMIT_DEFAULTS | CAIRN_PBJSON_PROTO_NAMES,
                "{\"f_double\":0.0,\"f_float\":0.0,\"f_int32\":0,\"f_int64\":\"0\",\"f_uint32\":0,"
                "\"f_uint64\":\"0\",\"f_sint32\":0,\"f_sint64\":\"0\",\"f_fixed32\":0,"
                "\"f_fixed64\":\"0\",\"f_sfixed32\":0,\"f_sfixed64\":\"0\",\"f_bool\":false,"
                "\"f_string\":\"\",\"f_bytes\":\"\",\"f_enum\":\"COLOR_UNSPECIFIED\","
                "\"f_nested\":{\"name\":\"\",\"count\":0,\"colors\":[]},"
                "\"r_double\":[],\"r_float\":[],\"r_int32\":[],\"r_int64\":[],\"r_uint32\":[],"
                "\"r_uint64\":[],\"r_sint32\":[],\"r_sint64\":[],\"r_fixed32\":[],"
                "\"r_fixed64\":[],\"r_sfixed32\":[],\"r_sfixed64\":[],\"r_bool\":[],"
                "\"r_string\":[],\"r_bytes\":[],\"r_enum\":[],\"r_nested\":[],"
                "\"m_string_string\":{},\"m_int32_int32\":{},\"m_int64_string\":{},"
                "\"m_uint32_bytes\":{},\"m_uint64_double\":{},\"m_sint32_float\":{},"
                "\"m_sint64_enum\":{},\"m_fixed32_bool\":{},\"m_fixed64_nested\":{},"
                "\"m_sfixed32_uint64\":{},\"m_sfixed64_sint64\":{},\"m_bool_string\":{},"
                "\"m_string_nested\":{},\"m_string_value\":{},\"m_string_timestamp\":{},"
                "\"w_null\":null,\"r_timestamp\":[],\"r_duration\":[],\"r_value\":[],"
                "\"r_int64_value\":[],\"r_struct\":[],\"double__under_2x\":0,\"a1b_c\":\"\"}");
        /* a set oneof member shows even at its default */
        both_ways("{\"oDouble\": 0, \"pBool\": false}", 0, "{\"oDouble\":0.0,\"pBool\":false}");
}
END_TEST

START_TEST(test_cairn_pbjson_render_maps)
{
        both_ways("{\"mInt32Int32\": {\"-1\": 0, \"007\": -7}, \"mBoolString\": {\"false\": \"\"},"
                  " \"mUint64Double\": {\"18446744073709551615\": \"NaN\"},"
                  " \"mSfixed64Sint64\": {\"-9223372036854775808\": \"9223372036854775807\"},"
                  " \"mStringNested\": {\"k\": {}}, \"mStringValue\": {\"v\": [null]},"
                  " \"mStringTimestamp\": {\"t\": \"2000-01-01T00:00:00.100Z\"}}",
                  0,
                  "{\"mInt32Int32\":{\"-1\":0,\"7\":-7},\"mUint64Double\":"
                  "{\"18446744073709551615\":\"NaN\"},\"mSfixed64Sint64\":"
                  "{\"-9223372036854775808\":\"9223372036854775807\"},\"mBoolString\":"
                  "{\"false\":\"\"},\"mStringNested\":{\"k\":{}},\"mStringValue\":{\"v\":[null]},"
                  "\"mStringTimestamp\":{\"t\":\"2000-01-01T00:00:00.100Z\"}}");
}
END_TEST

START_TEST(test_cairn_pbjson_render_wkt)
{
        both_ways("{\"rTimestamp\": [\"1970-01-01T00:00:00Z\", \"1969-12-31T23:59:59.5Z\","
                  " \"2024-02-29T12:00:00.000001Z\", \"9999-12-31T23:59:59.999999999Z\","
                  " \"0001-01-01T00:00:00.020Z\", \"2000-03-01T01:00:00+01:00\"],"
                  " \"rDuration\": [\"0s\", \"1.5s\", \"-0.000000001s\", \"-315576000000.000001s\","
                  " \"3600.000010s\"]}",
                  0,
                  "{\"rTimestamp\":[\"1970-01-01T00:00:00Z\",\"1969-12-31T23:59:59.500Z\","
                  "\"2024-02-29T12:00:00.000001Z\",\"9999-12-31T23:59:59.999999999Z\","
                  "\"0001-01-01T00:00:00.020Z\",\"2000-03-01T00:00:00Z\"],"
                  "\"rDuration\":[\"0s\",\"1.500s\",\"-0.000000001s\",\"-315576000000.000001s\","
                  "\"3600.000010s\"]}");
        both_ways("{\"wStruct\": {\"z\": {\"y\": [1, 2.5, \"\", false, null, {}]}},"
                  " \"wValue\": \"s\", \"wList\": [], \"rValue\": [{}, [], 0, true],"
                  " \"rStruct\": [{}], \"wNull\": null}",
                  0,
                  "{\"wStruct\":{\"z\":{\"y\":[1.0,2.5,\"\",false,null,{}]}},\"wValue\":\"s\","
                  "\"wList\":[],\"rValue\":[{},[],0.0,true],\"rStruct\":[{}]}");
        both_ways("{\"wDouble\": 0, \"wFloat\": 0.1, \"wInt64\": 0, \"wUint64\": \"0\","
                  " \"wInt32\": 0, \"wUint32\": 0, \"wBool\": false, \"wString\": \"\","
                  " \"wBytes\": \"\", \"wEmpty\": {}, \"wFieldMask\": \"a.bC,d\","
                  " \"rInt64Value\": [\"1\", 2]}",
                  0,
                  "{\"wDouble\":0.0,\"wFloat\":0.1,\"wInt64\":\"0\",\"wUint64\":\"0\","
                  "\"wInt32\":0,\"wUint32\":0,\"wBool\":false,\"wString\":\"\",\"wBytes\":\"\","
                  "\"wEmpty\":{},\"wFieldMask\":\"a.bC,d\",\"rInt64Value\":[\"1\",\"2\"]}");
}
END_TEST

/* Encoding @p msg fails with INVALID, naming @p field, with @p part in the message. */
static void encode_fails(const void *msg, unsigned flags, const char *field, const char *part)
{
        struct cairn_pbjson_error err;
        json_t *json = json_null();

        ck_assert_int_eq(cairn_pbjson_encode(msg, flags, &json, &err), CAIRN_ERR_INVALID);
        ck_assert_ptr_null(json);
        ck_assert_str_eq(err.field, field);
        ck_assert_msg(strstr(err.message, part), "\"%s\" lacks \"%s\"", err.message, part);
        ck_assert_ptr_null(cairn_pbjson_to_json(msg, flags));
        ck_assert_ptr_null(cairn_pbjson_render(msg, flags, NULL));
}

/* Values that have no JSON form fail, naming the field. */
START_TEST(test_cairn_pbjson_encode_errors_name_the_field)
{
        {
                Cairn__Testing__V1__Nested n = CAIRN__TESTING__V1__NESTED__INIT, *np = &n;
                Kinds k = CAIRN__TESTING__V1__KINDS__INIT;

                n.name = "\xff";
                k.n_r_nested = 1;
                k.r_nested = &np;
                encode_fails(&k, 0, "rNested[0].name", "invalid UTF-8 in string");
        }
        {
                Google__Protobuf__Timestamp ok = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
                Google__Protobuf__Timestamp late = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
                Google__Protobuf__Timestamp bad_nanos = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
                Google__Protobuf__Timestamp *list[] = { &ok, &late };
                Kinds k = CAIRN__TESTING__V1__KINDS__INIT;

                late.seconds = 253402300800LL; /* 10000-01-01 */
                k.n_r_timestamp = 2;
                k.r_timestamp = list;
                encode_fails(&k, CAIRN_PBJSON_PROTO_NAMES, "r_timestamp[1]",
                             "timestamp out of range");
                bad_nanos.nanos = -1;
                k.n_r_timestamp = 0;
                k.w_timestamp = &bad_nanos;
                encode_fails(&k, 0, "wTimestamp", "timestamp out of range");
        }
        {
                Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
                Kinds k = CAIRN__TESTING__V1__KINDS__INIT;

                d.seconds = 1;
                d.nanos = -1; /* signs disagree */
                k.w_duration = &d;
                encode_fails(&k, 0, "wDuration", "duration out of range");
        }
        {
                Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
                Kinds k = CAIRN__TESTING__V1__KINDS__INIT;

                v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
                v.number_value = INFINITY;
                k.w_value = &v;
                encode_fails(&k, 0, "wValue", "NaN and Infinity");
        }
        {
                Google__Protobuf__FieldMask fm = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
                Kinds k = CAIRN__TESTING__V1__KINDS__INIT;
                char *paths[] = { "ok", "Bad" };
                json_t *json;

                fm.n_paths = 2;
                fm.paths = paths;
                k.w_field_mask = &fm;
                encode_fails(&k, 0, "wFieldMask", "\"Bad\"");
                paths[1] = "a_1";
                encode_fails(&k, 0, "wFieldMask", "\"a_1\"");
                paths[1] = "a_b";
                ck_assert_int_eq(cairn_pbjson_encode(&k.base, 0, &json, NULL), CAIRN_OK);
                ck_assert_str_eq(json_string_value(json_object_get(json, "wFieldMask")), "ok,aB");
                json_decref(json);
        }
}
END_TEST

START_TEST(test_cairn_pbjson_encode_depth)
{
        Cairn__Testing__V1__Nested levels[120];
        struct cairn_pbjson_error err;
        json_t *json;

        for (int i = 0; i < 120; i++) {
                levels[i] = (Cairn__Testing__V1__Nested)CAIRN__TESTING__V1__NESTED__INIT;
                levels[i].child = i + 1 < 120 ? &levels[i + 1] : NULL;
        }
        ck_assert_int_eq(cairn_pbjson_encode(&levels[0].base, 0, &json, &err), CAIRN_ERR_INVALID);
        ck_assert_str_eq(err.message, "nested deeper than 100 levels");
        ck_assert(strncmp(err.field, "child.child.", 12) == 0);
        ck_assert_int_eq(cairn_pbjson_encode(&levels[21].base, 0, &json, &err), CAIRN_OK);
        json_decref(json);
}
END_TEST

/* parse(render(m)) packs to the bytes of m, for messages of every kind. */
START_TEST(test_cairn_pbjson_render_round_trips)
{
        static const char *docs[] = {
                "{}",
                "{\"fDouble\": 1e-300, \"fFloat\": -1.5, \"fInt64\": \"123\", \"fString\": \"\\\"\\\\/\\b\","
                " \"fBytes\": \"AAECAwQ=\", \"fEnum\": 2, \"fNested\": {\"colors\": [1, -3, 0]}}",
                "{\"rUint32\": [0, 4294967295], \"rSint64\": [\"-1\", 1], \"rFixed32\": [7],"
                " \"rSfixed32\": [-7], \"rSfixed64\": [\"-9223372036854775808\"], \"rBool\": [true, false],"
                " \"rInt64\": [0], \"rUint64\": [\"0\"], \"rInt32\": [1], \"rFixed64\": [\"3\"],"
                " \"rSint32\": [-2147483648], \"rFloat\": [\"NaN\", 1e-38]}",
                "{\"mSint32Float\": {\"-5\": 0.25}, \"mFixed32Bool\": {\"0\": true},"
                " \"mSfixed32Uint64\": {\"-1\": \"1\"}, \"mInt64String\": {\"9\": \"nine\"}}",
                "{\"oBytes\": \"\", \"pFloat\": \"Infinity\", \"wStruct\": {},"
                " \"wValue\": {\"k\": [1, {\"z\": null}]}, \"wUint32\": 4294967295}",
                "{\"oEnum\": \"COLOR_UNSPECIFIED\"}",
                "{\"oNull\": null, \"wNull\": \"NULL_VALUE\"}",
        };

        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
                for (unsigned flags = 0; flags < 4; flags++) {
                        Kinds *a = parse_ok(docs[i]), *b;
                        char *text = render(a, flags);
                        size_t la = protobuf_c_message_get_packed_size(&a->base), lb;
                        uint8_t *pa = malloc(la + 1), *pb;

                        b = parse_ok(text);
                        lb = protobuf_c_message_get_packed_size(&b->base);
                        pb = malloc(lb + 1);
                        protobuf_c_message_pack(&a->base, pa);
                        protobuf_c_message_pack(&b->base, pb);
                        ck_assert_msg(la == lb && memcmp(pa, pb, la) == 0, "%s -> %s", docs[i],
                                      text);
                        free(pa);
                        free(pb);
                        free(text);
                        free_msg(a);
                        free_msg(b);
                }
}
END_TEST

START_TEST(test_cairn_pbjson_dump_shortest_reals)
{
        json_t *v = json_pack("[f, f, f, f, f, I, s, {s:n}]", 1.0, -0.0, 0.1, 1e300, 2.5e-5,
                              (json_int_t)-3, "\xe2\x80\xa8\x1f", "k\"");
        size_t len;
        char *out = cairn_pbjson_dump(v, &len);

        ck_assert_str_eq(
                out, "[1.0,-0.0,0.1,1e+300,2.5e-05,-3,\"\xe2\x80\xa8\\u001f\",{\"k\\\"\":null}]");
        ck_assert_uint_eq(len, strlen(out));
        free(out);
        json_decref(v);
}
END_TEST

/* ---- text parameters into a body ---- */

START_TEST(test_cairn_pbjson_bind_scalars)
{
        json_t *obj = json_object();
        struct cairn_pbjson_error err;
        char *out;

        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fInt32", "-12", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "f_uint64", "18446744073709551615", &err),
                         CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fBool", "true", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fFloat", "0.5", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fDouble", "-Infinity", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fEnum", "COLOR_GREEN", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fString", "a b", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fBytes", "aGk", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "rEnum", "1", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "r_enum", "COLOR_BLUE", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fNested.child.name", "deep", &err),
                         CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "f_nested.count", "3", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "wTimestamp", "2024-01-01T00:00:00Z", &err),
                         CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "wInt64", "-4", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "wUint32", "4", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "wFieldMask", "a.bC", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "wValue", "free text", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "oInt64", "5", &err), CAIRN_OK);
        /* replaced, not appended */
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fInt32", "-13", &err), CAIRN_OK);

        out = cairn_pbjson_dump(obj, NULL);
        ck_assert_str_eq(out, "{\"fInt32\":-13,\"fUint64\":\"18446744073709551615\",\"fBool\":true,"
                              "\"fFloat\":0.5,\"fDouble\":\"-Infinity\",\"fEnum\":\"COLOR_GREEN\","
                              "\"fString\":\"a b\",\"fBytes\":\"aGk\",\"rEnum\":[1,\"COLOR_BLUE\"],"
                              "\"fNested\":{\"child\":{\"name\":\"deep\"},\"count\":3},"
                              "\"wTimestamp\":\"2024-01-01T00:00:00Z\",\"wInt64\":\"-4\","
                              "\"wUint32\":4,\"wFieldMask\":\"a.bC\",\"wValue\":\"free text\","
                              "\"oInt64\":\"5\"}");
        free(out);
        {
                ProtobufCMessage *msg;
                Kinds *k;

                ck_assert_int_eq(cairn_pbjson_from_json(KINDS, obj, &msg, &err), CAIRN_OK);
                k = (Kinds *)msg;
                ck_assert_int_eq(k->f_nested->count, 3);
                ck_assert_str_eq(k->f_nested->child->name, "deep");
                ck_assert_uint_eq(k->n_r_enum, 2);
                free_msg(msg);
        }
        json_decref(obj);

        /* a body that spells a field by its proto name keeps that spelling */
        obj = json_pack("{s:{s:i}, s:[i]}", "f_nested", "count", 1, "r_int32", 1);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fNested.name", "n", &err), CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "rInt32", "2", &err), CAIRN_OK);
        out = cairn_pbjson_dump(obj, NULL);
        ck_assert_str_eq(out, "{\"f_nested\":{\"count\":1,\"name\":\"n\"},\"r_int32\":[1,2]}");
        free(out);
        json_decref(obj);
}
END_TEST

START_TEST(test_cairn_pbjson_bind_errors_name_the_parameter)
{
        static const struct {
                const char *path, *text, *part;
        } cases[] = {
                { "nope", "1", "unknown field \"nope\" in cairn.testing.v1.Kinds" },
                { "fNested.nope", "1", "unknown field \"nope\" in cairn.testing.v1.Nested" },
                { "fInt32.x", "1", "not a message field" },
                { "rNested.name", "x", "not a message field" },
                { "wTimestamp.seconds", "1", "not a message field" },
                { "fNested..name", "x", "not a field path" },
                { "", "x", "not a field path" },
                { "fNested", "x", "cannot be given as text" },
                { "mStringString", "x", "a map cannot be given as text" },
                { "fInt32", "12x", "\"12x\" is not an integer (int32)" },
                { "fInt32", "2147483648", "out of range for int32" },
                { "fUint64", "-1", "out of range for uint64" },
                { "fFloat", "1e40", "out of range for float" },
                { "fDouble", "one", "is not a number" },
                { "fBool", "yes", "expected true or false" },
                { "fEnum", "COLOR_PINK", "is not a value of enum" },
                { "fBytes", "!!", "not base64" },
                { "fString", "\xc3", "invalid UTF-8" },
                { "wTimestamp", "yesterday", "RFC 3339" },
                { "wDuration", "5m", "expected a duration" },
                { "wInt32", "x", "is not an integer (int32)" },
                { "wFieldMask", "a_b", "'_' is not allowed" },
        };
        struct cairn_pbjson_error err;

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                json_t *obj = json_object();

                ck_assert_msg(cairn_pbjson_bind(KINDS, obj, cases[i].path, cases[i].text, &err) ==
                                      CAIRN_ERR_INVALID,
                              "%s=%s accepted", cases[i].path, cases[i].text);
                ck_assert_str_eq(err.field, cases[i].path);
                ck_assert_msg(strstr(err.message, cases[i].part), "%s=%s: \"%s\" lacks \"%s\"",
                              cases[i].path, cases[i].text, err.message, cases[i].part);
                json_decref(obj);
        }
        {
                json_t *obj = json_pack("{s:i, s:i}", "fNested", 1, "rInt32", 1);

                ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fNested.name", "x", &err),
                                 CAIRN_ERR_INVALID);
                ck_assert(strstr(err.message, "other than an object"));
                ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "rInt32", "2", &err),
                                 CAIRN_ERR_INVALID);
                ck_assert(strstr(err.message, "other than an array"));
                json_decref(obj);
                obj = json_array();
                ck_assert_int_eq(cairn_pbjson_bind(KINDS, obj, "fInt32", "1", &err),
                                 CAIRN_ERR_INVALID);
                json_decref(obj);
        }
}
END_TEST

/* ---- OpenAPI ---- */

static json_t *prop(json_t *components, const char *type, const char *field)
{
        json_t *s = json_object_get(json_object_get(json_object_get(components, type),
                                                    "properties"),
                                    field);

        ck_assert_msg(s, "no schema for %s.%s", type, field);
        return s;
}

static void schema_is(json_t *components, const char *field, const char *want)
{
        char *got = cairn_pbjson_dump(prop(components, "cairn.testing.v1.Kinds", field), NULL);

        ck_assert_msg(strcmp(got, want) == 0, "%s: %s, want %s", field, got, want);
        free(got);
}

START_TEST(test_cairn_pbjson_schema_kinds)
{
        json_t *components = json_object();
        json_t *ref = cairn_pbjson_schema(KINDS, components);
        char *text = cairn_pbjson_dump(ref, NULL);

        ck_assert_str_eq(text, "{\"$ref\":\"#/components/schemas/cairn.testing.v1.Kinds\"}");
        free(text);
        json_decref(ref);
        /* Kinds, Nested and Empty (a message like any other); the other
         * well-known types and the map entries are inline */
        ck_assert_uint_eq(json_object_size(components), 3);
        schema_is(components, "fInt32", "{\"type\":\"integer\",\"format\":\"int32\"}");
        schema_is(
                components, "fUint32",
                "{\"type\":\"integer\",\"format\":\"int64\",\"minimum\":0,\"maximum\":4294967295}");
        schema_is(components, "fSint64", "{\"type\":\"string\",\"format\":\"int64\"}");
        schema_is(components, "fFixed64", "{\"type\":\"string\",\"format\":\"uint64\"}");
        schema_is(components, "fFloat", "{\"type\":\"number\",\"format\":\"float\"}");
        schema_is(components, "fBool", "{\"type\":\"boolean\"}");
        schema_is(components, "fBytes", "{\"type\":\"string\",\"format\":\"byte\"}");
        schema_is(components, "fEnum",
                  "{\"type\":\"string\",\"enum\":[\"COLOR_BLUE\",\"COLOR_UNSPECIFIED\","
                  "\"COLOR_RED\",\"COLOR_GREEN\"]}");
        schema_is(components, "fNested",
                  "{\"$ref\":\"#/components/schemas/cairn.testing.v1.Nested\"}");
        schema_is(components, "rString", "{\"type\":\"array\",\"items\":{\"type\":\"string\"}}");
        schema_is(components, "mStringNested",
                  "{\"type\":\"object\",\"additionalProperties\":"
                  "{\"$ref\":\"#/components/schemas/cairn.testing.v1.Nested\"}}");
        schema_is(components, "mInt32Int32",
                  "{\"type\":\"object\",\"additionalProperties\":"
                  "{\"type\":\"integer\",\"format\":\"int32\"}}");
        schema_is(components, "wTimestamp", "{\"type\":\"string\",\"format\":\"date-time\"}");
        schema_is(components, "wStruct", "{\"type\":\"object\",\"additionalProperties\":{}}");
        schema_is(components, "wValue", "{}");
        schema_is(components, "wList", "{\"type\":\"array\",\"items\":{}}");
        schema_is(components, "wNull", "{\"nullable\":true,\"enum\":[null]}");
        schema_is(components, "wInt64",
                  "{\"type\":\"string\",\"format\":\"int64\",\"nullable\":true}");
        schema_is(components, "wEmpty",
                  "{\"$ref\":\"#/components/schemas/google.protobuf.Empty\"}");
        schema_is(components, "doubleUnder2x", "{\"type\":\"integer\",\"format\":\"int32\"}");
        /* the recursive Nested refers to itself */
        text = cairn_pbjson_dump(prop(components, "cairn.testing.v1.Nested", "child"), NULL);
        ck_assert_str_eq(text, "{\"$ref\":\"#/components/schemas/cairn.testing.v1.Nested\"}");
        free(text);
        json_decref(components);
}
END_TEST

START_TEST(test_cairn_pbjson_schema_every_registered_type)
{
        json_t *components = json_object();

        for (size_t i = 0; cairn_pb_messages[i]; i++) {
                json_t *ref = cairn_pbjson_schema(cairn_pb_messages[i], components);

                ck_assert_ptr_nonnull(ref);
                ck_assert_ptr_nonnull(json_object_get(components, cairn_pb_messages[i]->name));
                json_decref(ref);
        }
        ck_assert_str_eq(json_string_value(
                                 json_object_get(json_object_get(components,
                                                                 "google.protobuf.Timestamp"),
                                                 "format")),
                         "date-time");
        json_decref(components);
}
END_TEST

/* ---- the registry ---- */

START_TEST(test_cairn_pb_message_find_by_full_name)
{
        size_t n = 0;

        ck_assert_ptr_eq(cairn_pb_message_find("cairn.embedding.v1.EmbedRequest"),
                         &cairn__embedding__v1__embed_request__descriptor);
        ck_assert_ptr_eq(cairn_pb_message_find("google.protobuf.Timestamp"),
                         &google__protobuf__timestamp__descriptor);
        ck_assert_ptr_nonnull(cairn_pb_message_find("cairn.v1.Status"));
        ck_assert_ptr_null(cairn_pb_message_find("cairn.embedding.v1.Nope"));
        ck_assert_ptr_null(cairn_pb_message_find("EmbedRequest"));
        /* test protos stay out of libcairn */
        ck_assert_ptr_null(cairn_pb_message_find("cairn.testing.v1.Kinds"));
        for (; cairn_pb_messages[n]; n++)
                ck_assert_ptr_eq(cairn_pb_message_find(cairn_pb_messages[n]->name),
                                 cairn_pb_messages[n]);
        ck_assert_uint_ge(n, 20);
}
END_TEST

START_TEST(test_cairn_timestamp_set_us)
{
        Google__Protobuf__Timestamp ts;

        cairn_timestamp_set_us(&ts, 1700000000123456LL);
        ck_assert_int_eq(ts.seconds, 1700000000);
        ck_assert_int_eq(ts.nanos, 123456000);
        cairn_timestamp_set_us(&ts, -1); /* a microsecond before the epoch */
        ck_assert_int_eq(ts.seconds, -1);
        ck_assert_int_eq(ts.nanos, 999999000);
        cairn_timestamp_set_us(&ts, -2000000);
        ck_assert_int_eq(ts.seconds, -2);
        ck_assert_int_eq(ts.nanos, 0);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("pbjson");
        TCase *tc = tcase_create("cairn_timestamp_set_us");

        tcase_add_test(tc, test_cairn_timestamp_set_us);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pbjson_parse");

        tcase_add_test(tc, test_cairn_pbjson_parse_scalars);
        tcase_add_test(tc, test_cairn_pbjson_parse_proto_names);
        tcase_add_test(tc, test_cairn_pbjson_parse_repeated_and_maps);
        tcase_add_test(tc, test_cairn_pbjson_parse_oneof);
        tcase_add_test(tc, test_cairn_pbjson_parse_null_is_default);
        tcase_add_test(tc, test_cairn_pbjson_parse_wkt);
        tcase_add_test(tc, test_cairn_pbjson_parse_wkt_top_level);
        tcase_add_test(tc, test_cairn_pbjson_parse_errors_name_the_field);
        tcase_add_test(tc, test_cairn_pbjson_parse_depth);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pbjson_from_json");
        tcase_add_test(tc, test_cairn_pbjson_from_json_checks_built_values);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pbjson_render");
        tcase_add_test(tc, test_cairn_pbjson_render_scalars);
        tcase_add_test(tc, test_cairn_pbjson_render_reals_read_back);
        tcase_add_test(tc, test_cairn_pbjson_render_defaults);
        tcase_add_test(tc, test_cairn_pbjson_render_maps);
        tcase_add_test(tc, test_cairn_pbjson_render_wkt);
        tcase_add_test(tc, test_cairn_pbjson_render_round_trips);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pbjson_encode");
        tcase_add_test(tc, test_cairn_pbjson_encode_errors_name_the_field);
        tcase_add_test(tc, test_cairn_pbjson_encode_depth);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pbjson_dump");
        tcase_add_test(tc, test_cairn_pbjson_dump_shortest_reals);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pbjson_bind");
        tcase_add_test(tc, test_cairn_pbjson_bind_scalars);
        tcase_add_test(tc, test_cairn_pbjson_bind_errors_name_the_parameter);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pbjson_schema");
        tcase_add_test(tc, test_cairn_pbjson_schema_kinds);
        tcase_add_test(tc, test_cairn_pbjson_schema_every_registered_type);
        suite_add_tcase(s, tc);
        tc = tcase_create("cairn_pb_message_find");
        tcase_add_test(tc, test_cairn_pb_message_find_by_full_name);
        suite_add_tcase(s, tc);
        return unit_run(s);
}
