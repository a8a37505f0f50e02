/* Unit tests for the safetensors reader: files built in memory, one fault
 * at a time. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedding/safetensors.h"
#include "../unit.h"

/* A file: the 8-byte length, @p header, then @p data_size bytes 0, 1, 2...
 * Returns a malloc'ed buffer of *@p size bytes. */
static uint8_t *file_of(const char *header, size_t data_size, size_t *size)
{
        size_t hlen = strlen(header);
        uint8_t *p = malloc(8 + hlen + data_size + 1);

        ck_assert_ptr_nonnull(p);
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t)((uint64_t)hlen >> (8 * i));
        memcpy(p + 8, header, hlen);
        for (size_t i = 0; i < data_size; i++)
                p[8 + hlen + i] = (uint8_t)i;
        *size = 8 + hlen + data_size;
        return p;
}

static const char good[] =
        "{\"__metadata__\": {\"format\": \"pt\"}, "
        "\"b.weight\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [32, 56]}, "
        "\"a.ids\": {\"dtype\": \"I64\", \"shape\": [4], \"data_offsets\": [0, 32]}, "
        "\"c.scalar\": {\"dtype\": \"BF16\", \"shape\": [], \"data_offsets\": [56, 58]}, "
        "\"d.empty\": {\"dtype\": \"F16\", \"shape\": [0, 5], \"data_offsets\": [58, 58]}}  ";

START_TEST(test_safetensors_parse_reads_tensors)
{
        struct safetensors st;
        const struct safetensors_tensor *t;
        char errstr[256];
        size_t size;
        uint8_t *buf = file_of(good, 58, &size);

        ck_assert_msg(safetensors_parse(&st, buf, size, errstr, sizeof(errstr)) == CAIRN_OK, "%s",
                      errstr);
        ck_assert_uint_eq(st.n, 4);
        /* sorted by name */
        ck_assert_str_eq(st.tensors[0].name, "a.ids");
        ck_assert_str_eq(st.tensors[3].name, "d.empty");
        t = safetensors_find(&st, "b.weight");
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->dtype, SAFETENSORS_F32);
        ck_assert_uint_eq(t->ndim, 2);
        ck_assert_uint_eq(t->shape[0], 2);
        ck_assert_uint_eq(t->shape[1], 3);
        ck_assert_uint_eq(t->nelem, 6);
        ck_assert_ptr_eq(t->data, buf + 8 + strlen(good) + 32);
        ck_assert_uint_eq(((const uint8_t *)t->data)[0], 32);
        t = safetensors_find(&st, "c.scalar");
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(t->ndim, 0);
        ck_assert_uint_eq(t->nelem, 1);
        ck_assert_uint_eq(safetensors_find(&st, "d.empty")->nelem, 0);
        ck_assert_ptr_null(safetensors_find(&st, "e"));
        ck_assert_str_eq(safetensors_dtype_name(SAFETENSORS_BF16), "BF16");
        ck_assert_uint_eq(safetensors_dtype_size(SAFETENSORS_I64), 8);
        safetensors_cleanup(&st);
        free(buf);
}
END_TEST

START_TEST(test_safetensors_parse_empty_header)
{
        struct safetensors st;
        char errstr[256];
        size_t size;
        uint8_t *buf = file_of("{}", 0, &size);

        ck_assert_int_eq(safetensors_parse(&st, buf, size, errstr, sizeof(errstr)), CAIRN_OK);
        ck_assert_uint_eq(st.n, 0);
        ck_assert_ptr_null(safetensors_find(&st, "x"));
        safetensors_cleanup(&st);
        free(buf);
}
END_TEST

#define T(name, dtype, shape, b, e)                                                             \
        "\"" name "\": {\"dtype\": \"" dtype "\", \"shape\": " shape ", \"data_offsets\": [" #b \
        ", " #e "]}"

/* Headers (with their data size) that must be refused, and what the
 * message must say. */
static const struct {
        /* cppcheck-suppress unusedStructMember ; read through refused[_i] */
        const char *header;
        /* cppcheck-suppress unusedStructMember ; read through refused[_i] */
        size_t data;
        /* cppcheck-suppress unusedStructMember ; read through refused[_i] */
        const char *says;
} refused[] = {
        { "not json", 0, "not a JSON object" },
        { "[1, 2]", 0, "not a JSON object" },
        { "{\"a\": ", 0, "not valid JSON" },
        { "{" T("a", "F32", "[1]", 0, 4) ", " T("a", "F32", "[1]", 4, 8) "}", 8, "duplicate" },
        { "{" T("w", "F31", "[1]", 0, 4) "}", 4, "tensor \"w\": unknown dtype \"F31\"" },
        { "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, "tensor \"w\": no \"dtype\"" },
        { "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4,
          "tensor \"w\": no \"shape\"" },
        { "{" T("w", "F32", "[-1]", 0, 4) "}", 4, "tensor \"w\": shape[0] is not a non-negative" },
        { "{" T("w", "F32", "[1.5]", 0, 4) "}", 4, "shape[0] is not" },
        { "{" T("w", "U8", "[1,1,1,1,1,1,1,1,1]", 0, 1) "}", 1, "tensor \"w\": 9 dimensions" },
        { "{" T("w", "F64", "[4294967296, 4294967296]", 0, 8) "}", 8, "shape is too large" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4,
          "tensor \"w\": \"data_offsets\" is not two" },
        { "{" T("w", "F32", "[1]", 8, 4) "}", 8, "end before they begin" },
        { "{" T("w", "F32", "[1]", 0, 4) "}", 2, "tensor \"w\": data_offsets [0, 4) lie outside" },
        { "{" T("w", "F32", "[2]", 0, 4) "}", 4,
          "tensor \"w\": data_offsets [0, 4) hold 4 bytes, but its shape of F32 needs 8" },
        { "{" T("a", "F32", "[2]", 0, 8) ", " T("b", "F32", "[1]", 4, 8) "}", 8,
          "tensor \"b\": data_offsets [4, 8) overlap tensor \"a\"" },
        { "{" T("a", "F32", "[1]", 0, 4) ", " T("b", "F32", "[1]", 8, 12) "}", 12,
          "tensor \"b\": data_offsets [8, 12) leave a gap of 4 bytes" },
        { "{" T("a", "F32", "[1]", 0, 4) "}", 6, "2 bytes of data after the last tensor (\"a\")" },
        { "{}", 3, "3 bytes of data follow a header that names no tensor" },
        { "{\"__metadata__\": {\"k\": 1}}", 0, "\"__metadata__\": the value of \"k\"" },
        { "{\"__metadata__\": []}", 0, "\"__metadata__\" is not a JSON object" },
        { "{\"w\": 3}", 0, "tensor \"w\": not a JSON object" },
        { "{" T("w\\u0001\\\"", "F31", "[1]", 0, 4) "}", 4, "tensor \"w??\": unknown dtype" },
};

START_TEST(test_safetensors_parse_refuses)
{
        struct safetensors st;
        char errstr[256] = "";
        size_t size;
        uint8_t *buf = file_of(refused[_i].header, refused[_i].data, &size);

        ck_assert_msg(safetensors_parse(&st, buf, size, errstr, sizeof(errstr)) ==
                              CAIRN_ERR_INVALID,
                      "case %d accepted", _i);
        ck_assert_msg(strstr(errstr, refused[_i].says), "case %d: \"%s\" lacks \"%s\"", _i, errstr,
                      refused[_i].says);
        ck_assert_ptr_null(st.tensors);
        safetensors_cleanup(&st);
        free(buf);
}
END_TEST

START_TEST(test_safetensors_parse_refuses_bad_lengths)
{
        struct safetensors st;
        char errstr[256];
        uint8_t buf[16] = { 0 };

        ck_assert_int_eq(safetensors_parse(&st, buf, 7, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, "too short"));
        buf[0] = 9; /* a header of 9 bytes in a file of 16 */
        ck_assert_int_eq(safetensors_parse(&st, buf, 16, errstr, sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, "header of 9 bytes: longer than the 8 bytes"));
        memset(buf, 0xFF, 8); /* 2^64 - 1 */
        ck_assert_int_eq(safetensors_parse(&st, buf, 16, errstr, sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, "larger than 100000000"));
        memset(buf, 0, 8); /* an empty header */
        ck_assert_int_eq(safetensors_parse(&st, buf, 16, errstr, sizeof(errstr)),
                         CAIRN_ERR_INVALID);
}
END_TEST

START_TEST(test_safetensors_open_maps_the_file)
{
        char path[] = "/tmp/cairn-safetensors-XXXXXX", errstr[512];
        struct safetensors st;
        size_t size;
        uint8_t *buf = file_of(good, 58, &size);
        int fd = mkstemp(path);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, buf, size), (ssize_t)size);
        close(fd);
        ck_assert_msg(safetensors_open(&st, path, errstr, sizeof(errstr)) == CAIRN_OK, "%s",
                      errstr);
        ck_assert_uint_eq(st.n, 4);
        ck_assert_uint_eq(st.map_size, size);
        ck_assert_int_eq(memcmp(st.base, buf, size), 0);
        safetensors_cleanup(&st);
        /* cut short: refused, naming the file and the tensor */
        ck_assert_int_eq(truncate(path, (off_t)size - 3), 0);
        ck_assert_int_eq(safetensors_open(&st, path, errstr, sizeof(errstr)), CAIRN_ERR_INVALID);
        ck_assert_ptr_nonnull(strstr(errstr, path));
        ck_assert_ptr_nonnull(strstr(errstr, "tensor \""));
        unlink(path);
        ck_assert_int_eq(safetensors_open(&st, path, errstr, sizeof(errstr)), CAIRN_ERR_NOT_FOUND);
        ck_assert_ptr_nonnull(strstr(errstr, "cannot open"));
        free(buf);
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("safetensors");
        TCase *tc = tcase_create("safetensors_parse");

        tcase_add_test(tc, test_safetensors_parse_reads_tensors);
        tcase_add_test(tc, test_safetensors_parse_empty_header);
        tcase_add_loop_test(tc, test_safetensors_parse_refuses, 0,
                            sizeof(refused) / sizeof(refused[0]));
        tcase_add_test(tc, test_safetensors_parse_refuses_bad_lengths);
        suite_add_tcase(s, tc);

        tc = tcase_create("safetensors_open");
        tcase_add_test(tc, test_safetensors_open_maps_the_file);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
