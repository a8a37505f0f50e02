/* The JSON mapping (cairn/pbjson.h) against an implementation of its own:
 * Google's protobuf runtime for Python. tests/integration/pbjson_vectors.py
 * makes a few hundred seeded random cairn.testing.v1.Kinds messages, every
 * field kind with edge values, each as binary and as the JSON
 * json_format.MessageToJson prints, in four forms (lowerCamelCase or proto
 * names, with or without default values). For every message and form:
 *   (a) the binary, unpacked by protobuf-c and rendered by
 *       cairn_pbjson_render(), equals Python's JSON as a JSON value, numbers
 *       compared by value (Python prints 1.0 where a reader sees 1, and
 *       floats as the shortest decimal that reads back as the same float,
 *       as we do);
 *   (b) Python's JSON, read by cairn_pbjson_parse(), is the message of the
 *       binary. Both messages are put in one canonical form (map entries
 *       sorted by key; Python writes maps in hash order, JSON objects come in
 *       text order) and packed by protobuf-c, whose packer writes fields in
 *       number order from the struct alone, and the bytes compared: equal
 *       bytes are equal messages, NaNs included (by their bits);
 *   (c) our JSON, read back by Python's json_format.Parse, serialises
 *       (deterministically) to the bytes Python serialises the binary to.
 * Nothing here needs a broker. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cairn/pbjson.h"
#include "cairn/testing/v1/kinds.pb-c.h"
#include "harness.h"
#include "pbjson_internal.h"

#define VECTORS 300

static const struct {
        const char *python; /* suffix of Python's file */
        const char *ours;   /* suffix of ours, for (c) */
        unsigned flags;
} forms[] = {
        { ".json", ".c.json", 0 },
        { ".proto.json", ".c.proto.json", CAIRN_PBJSON_PROTO_NAMES },
        { ".defaults.json", ".c.defaults.json", CAIRN_PBJSON_EMIT_DEFAULTS },
        { ".defaults_proto.json", ".c.defaults_proto.json",
          CAIRN_PBJSON_EMIT_DEFAULTS | CAIRN_PBJSON_PROTO_NAMES },
};

static char dir[512];

static char *slurp(const char *path, size_t *len)
{
        FILE *fp = fopen(path, "rb");
        char *p;
        long n;

        ck_assert_msg(fp, "cannot open %s", path);
        fseek(fp, 0, SEEK_END);
        n = ftell(fp);
        fseek(fp, 0, SEEK_SET);
        p = malloc((size_t)n + 1);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(fread(p, 1, (size_t)n, fp), n);
        p[n] = '\0';
        fclose(fp);
        *len = (size_t)n;
        return p;
}

static void spill(const char *path, const char *text, size_t len)
{
        FILE *fp = fopen(path, "wb");

        ck_assert_msg(fp, "cannot write %s", path);
        ck_assert_int_eq(fwrite(text, 1, len, fp), len);
        fclose(fp);
}

/* Runs pbjson_vectors.py with @p args under the first Python that has
 * google.protobuf (a pyenv python3 ahead in PATH may not: Debian's has it). */
static int python(const char *args)
{
        char cmd[2048];
        int rc;

        snprintf(cmd, sizeof(cmd),
                 "for py in python3 /usr/bin/python3; do "
                 "\"$py\" -c 'import google.protobuf' 2>/dev/null && "
                 "exec \"$py\" '%s/tests/integration/pbjson_vectors.py' %s; done; exit 77",
                 harness_root(), args);
        rc = system(cmd);
        ck_assert_msg(WIFEXITED(rc), "pbjson_vectors.py did not exit");
        ck_assert_msg(WEXITSTATUS(rc) != 77,
                      "no Python with google.protobuf (Debian python3-protobuf; deploy/deps.sh)");
        return WEXITSTATUS(rc);
}

/* JSON equality with numbers by value; @p where names the first difference. */
static bool same(const json_t *a, const json_t *b, char *where, size_t size)
{
        size_t len = strlen(where);
        const char *key;
        json_t *va;
        size_t i;

        if (json_is_number(a) && json_is_number(b)) {
                if (json_is_integer(a) && json_is_integer(b))
                        return json_integer_value(a) == json_integer_value(b);
                return json_number_value(a) == json_number_value(b);
        }
        if (json_typeof(a) != json_typeof(b))
                return false;
        switch (json_typeof(a)) {
        case JSON_STRING:
                return json_string_length(a) == json_string_length(b) &&
                       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) ==
                               0;
        case JSON_OBJECT:
                if (json_object_size(a) != json_object_size(b)) {
                        snprintf(where + len, size - len, " (%zu keys against %zu)",
                                 json_object_size(a), json_object_size(b));
                        return false;
                }
                json_object_foreach((json_t *)a, key, va) {
                        json_t *vb = json_object_get(b, key);

                        snprintf(where + len, size - len, ".%s", key);
                        if (!vb || !same(va, vb, where, size))
                                return false;
                        where[len] = '\0';
                }
                return true;
        case JSON_ARRAY:
                if (json_array_size(a) != json_array_size(b))
                        return false;
                json_array_foreach(a, i, va) {
                        snprintf(where + len, size - len, "[%zu]", i);
                        if (!same(va, json_array_get(b, i), where, size))
                                return false;
                        where[len] = '\0';
                }
                return true;
        default:
                return true; /* true, false, null */
        }
}

/* Map entries in key order, so that two equal maps pack to equal bytes. */
static int key_cmp(const void *pa, const void *pb, void *opaque)
{
        const ProtobufCFieldDescriptor *fk = opaque;
        const void *a = pbjson_member(*(ProtobufCMessage *const *)pa, fk);
        const void *b = pbjson_member(*(ProtobufCMessage *const *)pb, fk);

        switch (fk->type) {
        case PROTOBUF_C_TYPE_STRING:
                return strcmp(*(char *const *)a, *(char *const *)b);
        case PROTOBUF_C_TYPE_BOOL:
                return *(const protobuf_c_boolean *)a - *(const protobuf_c_boolean *)b;
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
                return (*(const int32_t *)a > *(const int32_t *)b) -
                       (*(const int32_t *)a < *(const int32_t *)b);
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
                return (*(const uint32_t *)a > *(const uint32_t *)b) -
                       (*(const uint32_t *)a < *(const uint32_t *)b);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
                return (*(const int64_t *)a > *(const int64_t *)b) -
                       (*(const int64_t *)a < *(const int64_t *)b);
        default:
                return (*(const uint64_t *)a > *(const uint64_t *)b) -
                       (*(const uint64_t *)a < *(const uint64_t *)b);
        }
}

static void canon(ProtobufCMessage *msg)
{
        const ProtobufCMessageDescriptor *desc = msg->descriptor;

        for (unsigned i = 0; i < desc->n_fields; i++) {
                const ProtobufCFieldDescriptor *fd = &desc->fields[i];

                if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
                        continue;
                if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(size_t *)pbjson_quantifier(msg, fd);
                        ProtobufCMessage **arr = *(ProtobufCMessage ***)pbjson_member(msg, fd);

                        for (size_t j = 0; j < n; j++)
                                canon(arr[j]);
                        if (pbjson_is_map(fd) && n > 1)
                                qsort_r(arr, n, sizeof(*arr), key_cmp,
                                        (void *)&(
                                                (const ProtobufCMessageDescriptor *)fd->descriptor)
                                                ->fields[0]);
                } else if (pbjson_field_present(msg, fd)) {
                        canon(*(ProtobufCMessage **)pbjson_member(msg, fd));
                }
        }
}

static uint8_t *packed(ProtobufCMessage *msg, size_t *len)
{
        uint8_t *p;

        canon(msg);
        *len = protobuf_c_message_get_packed_size(msg);
        p = malloc(*len + 1);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(protobuf_c_message_pack(msg, p), *len);
        return p;
}

/* Marks the fields of Kinds that @p msg sets. A NullValue field without
 * presence only ever holds its default: the forms with defaults show it. */
static void cover(const ProtobufCMessage *msg, bool *seen)
{
        const ProtobufCMessageDescriptor *desc = msg->descriptor;

        for (unsigned i = 0; i < desc->n_fields; i++) {
                const ProtobufCFieldDescriptor *fd = &desc->fields[i];

                if (fd->label == PROTOBUF_C_LABEL_REPEATED)
                        seen[i] |= *(const size_t *)pbjson_quantifier(msg, fd) > 0;
                else
                        seen[i] |= pbjson_field_present(msg, fd) ||
                                   (pbjson_is_null_value(fd) &&
                                    !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF));
        }
}

START_TEST(test_python_vectors)
{
        const ProtobufCMessageDescriptor *desc = &cairn__testing__v1__kinds__descriptor;
        bool seen[256] = { false };
        char args[1024], path[700];
        unsigned covered = 0, compared = 0;

        ck_assert_uint_le(desc->n_fields, 256);
        snprintf(args, sizeof(args), "gen '%s' --count %d", dir, VECTORS);
        ck_assert_int_eq(python(args), 0);

        for (int i = 0; i < VECTORS; i++) {
                ProtobufCMessage *orig;
                uint8_t *want;
                size_t bin_len, want_len;
                char *bin;

                snprintf(path, sizeof(path), "%s/%04d.bin", dir, i);
                bin = slurp(path, &bin_len);
                orig = protobuf_c_message_unpack(desc, NULL, bin_len, (const uint8_t *)bin);
                ck_assert_msg(orig, "protobuf-c cannot unpack %s", path);
                free(bin);
                cover(orig, seen);
                for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
                        struct cairn_pbjson_error err;
                        ProtobufCMessage *back;
                        json_t *theirs, *mine;
                        json_error_t jerr;
                        char where[512] = "";
                        char *py, *ours;
                        size_t py_len, ours_len, got_len;
                        uint8_t *got;

                        snprintf(path, sizeof(path), "%s/%04d%s", dir, i, forms[f].python);
                        py = slurp(path, &py_len);

                        /* (a) protobuf-c's message rendered by us = Python's JSON */
                        ours = cairn_pbjson_render(orig, forms[f].flags, &ours_len);
                        ck_assert_msg(ours, "%s: cairn_pbjson_render failed", path);
                        theirs = json_loadb(py, py_len, 0, &jerr);
                        mine = json_loadb(ours, ours_len, 0, &jerr);
                        ck_assert_msg(theirs && mine, "%s: unreadable JSON: %s", path, jerr.text);
                        if (!same(mine, theirs, where, sizeof(where))) {
                                fprintf(stderr, "ours:   %s\npython: %s\n", ours, py);
                                ck_abort_msg("%s: ours differs at %s (both printed above)", path,
                                             where[0] ? where : "(top)");
                        }
                        json_decref(theirs);
                        json_decref(mine);

                        /* (b) Python's JSON parsed by us = the binary's message */
                        ck_assert_msg(cairn_pbjson_parse(desc, py, py_len, 64, &back, &err) ==
                                              CAIRN_OK,
                                      "%s: cairn_pbjson_parse: %s: %s", path, err.field,
                                      err.message);
                        want = packed(orig, &want_len);
                        got = packed(back, &got_len);
                        if (got_len != want_len || memcmp(got, want, got_len) != 0) {
                                char *again = cairn_pbjson_render(back, forms[f].flags, NULL);

                                fprintf(stderr, "python: %s\nparsed: %s\n", py,
                                        again ? again : "(render failed)");
                                snprintf(path, sizeof(path), "%s/%04d.want", dir, i);
                                spill(path, (char *)want, want_len);
                                snprintf(path, sizeof(path), "%s/%04d.got", dir, i);
                                spill(path, (char *)got, got_len);
                                snprintf(path, sizeof(path), "%s/%04d%s", dir, i, forms[f].python);
                                ck_abort_msg("%s: parsed message differs from the binary "
                                             "(both printed above, packed in %04d.want and "
                                             "%04d.got)",
                                             path, i, i);
                        }
                        free(got);
                        free(want);
                        protobuf_c_message_free_unpacked(back, NULL);

                        /* (c) ours, for Python to read back below */
                        snprintf(path, sizeof(path), "%s/%04d%s", dir, i, forms[f].ours);
                        spill(path, ours, ours_len);
                        free(ours);
                        free(py);
                        compared++;
                }
                protobuf_c_message_free_unpacked(orig, NULL);
        }

        snprintf(args, sizeof(args), "check '%s'", dir);
        ck_assert_msg(python(args) == 0, "Python read our JSON differently (see above)");

        for (unsigned i = 0; i < desc->n_fields; i++) {
                ck_assert_msg(seen[i], "no vector sets field %s", desc->fields[i].name);
                covered++;
        }
        /* on failure the vectors stay for a look, in $TMPDIR, which
         * tests/run.sh empties when a run starts */
        snprintf(args, sizeof(args), "rm -rf '%s'", dir);
        harness_sh(NULL, 0, args);
        printf("0030-pbjson_python: %d messages, %u JSON texts each way, %u of %u fields of "
               "cairn.testing.v1.Kinds set (every scalar, repeated, map, oneof member and "
               "well-known type)\n",
               VECTORS, compared, covered, desc->n_fields);
}
END_TEST

static void setup(void)
{
        const char *tmp = getenv("TMPDIR");

        snprintf(dir, sizeof(dir), "%s/pbjson-vectors-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        ck_assert_int_eq(mkdir(dir, 0755), 0);
}

int main(void)
{
        Suite *s = suite_create("0030-pbjson_python");
        TCase *tc = tcase_create("vectors");

        /* No broker involved: the Apache pass has nothing to add. */
        if (harness_apache()) {
                printf("0030-pbjson_python: not run in the Apache pass (no broker involved)\n");
                printf("0 passed, 0 failed\n");
                return 0;
        }
        tcase_add_checked_fixture(tc, setup, NULL);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_python_vectors);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
