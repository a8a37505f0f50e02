/* Unit tests for the CTranslate2 model.bin reader: files built in memory,
 * one fault at a time, each refused with a message naming what is wrong;
 * then the real tiny.en model with one variable spoiled, refused by
 * whisper_model_load() naming the variable. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "speech/ct2_model.h"
#include "speech/whisper.h"
#include "../unit.h"

struct file {
        uint8_t *p;
        size_t len, cap;
};

static void put(struct file *f, const void *b, size_t n)
{
        if (f->len + n > f->cap) {
                f->cap = 2 * (f->len + n) + 64;
                f->p = realloc(f->p, f->cap);
                ck_assert_ptr_nonnull(f->p);
        }
        memcpy(f->p + f->len, b, n);
        f->len += n;
}

static void u8(struct file *f, uint32_t v)
{
        uint8_t b = (uint8_t)v;

        put(f, &b, 1);
}

static void u16(struct file *f, uint32_t v)
{
        uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

        put(f, b, 2);
}

static void u32(struct file *f, uint32_t v)
{
        uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

        put(f, b, 4);
}

static void str(struct file *f, const char *s)
{
        u16(f, (uint32_t)strlen(s) + 1);
        put(f, s, strlen(s) + 1);
}

/* A variable of @p rank dims @p dims, dtype @p dtype, declaring @p bytes
 * bytes and holding @p have of them. */
static void var(struct file *f, const char *name, unsigned rank, const uint32_t *dims,
                unsigned dtype, uint32_t bytes, uint32_t have)
{
        str(f, name);
        u8(f, rank);
        for (unsigned d = 0; d < rank; d++)
                u32(f, dims[d]);
        u8(f, dtype);
        u32(f, bytes);
        for (uint32_t i = 0; i < have; i++)
                u8(f, i);
}

static void header(struct file *f, uint32_t version, uint32_t count)
{
        u32(f, version);
        str(f, "WhisperSpec");
        u32(f, 3);
        u32(f, count);
}

/* A good file: two variables and an alias. */
static struct file good(void)
{
        struct file f = { 0 };
        const uint32_t w[2] = { 2, 3 };

        header(&f, 6, 3);
        var(&f, "decoder/embeddings/weight", 2, w, CT2_FLOAT16, 12, 12);
        var(&f, "decoder/num_heads", 0, NULL, CT2_INT16, 2, 2);
        var(&f, "encoder/conv1/bias", 1, (const uint32_t[]){ 3 }, CT2_FLOAT32, 12, 12);
        u32(&f, 1);
        str(&f, "decoder/projection/weight");
        str(&f, "decoder/embeddings/weight");
        return f;
}

START_TEST(test_ct2_model_parse_reads_variables)
{
        struct file f = good();
        struct ct2_model m;
        const struct ct2_variable *v;
        char errstr[256];

        ck_assert_msg(ct2_model_parse(&m, f.p, f.len, errstr, sizeof(errstr)) == CAIRN_OK, "%s",
                      errstr);
        ck_assert_uint_eq(m.version, 6);
        ck_assert_str_eq(m.spec, "WhisperSpec");
        ck_assert_uint_eq(m.revision, 3);
        ck_assert_uint_eq(m.n_vars, 3);
        v = ct2_model_find(&m, "decoder/embeddings/weight");
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(v->rank, 2);
        ck_assert_uint_eq(v->dims[1], 3);
        ck_assert_uint_eq(v->nelem, 6);
        ck_assert_int_eq(v->dtype, CT2_FLOAT16);
        ck_assert_ptr_eq(ct2_model_find(&m, "decoder/projection/weight"), v);
        v = ct2_model_find(&m, "decoder/num_heads");
        ck_assert_ptr_nonnull(v);
        ck_assert_uint_eq(v->rank, 0);
        ck_assert_uint_eq(v->nelem, 1);
        ck_assert_ptr_null(ct2_model_find(&m, "nothing"));
        ct2_model_cleanup(&m);
        free(f.p);
}
END_TEST

START_TEST(test_ct2_model_parse_refuses_every_truncation)
{
        struct file f = good();
        struct ct2_model m;
        char errstr[256];

        for (size_t len = 0; len < f.len; len++) {
                uint8_t *copy = malloc(len + 1);

                memcpy(copy, f.p, len);
                errstr[0] = '\0';
                ck_assert_int_eq(ct2_model_parse(&m, copy, len, errstr, sizeof(errstr)),
                                 CAIRN_ERR_INVALID);
                ck_assert_msg(errstr[0], "no message at length %zu", len);
                ck_assert_ptr_null(m.vars);
                free(copy);
        }
        free(f.p);
}
END_TEST

struct refusal {
        const char *what, *message;
};

static const struct refusal refused[] = {
        { "version", "binary version 5" },
        { "dtype", "variable \"w\": unknown dtype 9" },
        { "shape", "variable \"w\": 12 bytes, but [2, 2] of float16 needs 8" },
        { "out of file", "variable \"w\": its 8 bytes run past the end of the file" },
        { "rank", "variable \"w\": rank 9" },
        { "alias", "alias \"a\": no variable \"nothing\"" },
        { "twice", "variable \"w\" declared twice" },
        { "trailing", "1 bytes after the aliases" },
        { "name", "variable 0: name missing" },
};

START_TEST(test_ct2_model_parse_refuses)
{
        const struct refusal *r = &refused[_i];
        const uint32_t dims[2] = { 2, 2 };
        struct file f = { 0 };
        struct ct2_model m;
        char errstr[256];

        header(&f, strcmp(r->what, "version") ? 6 : 5, strcmp(r->what, "twice") ? 1 : 2);
        if (!strcmp(r->what, "dtype"))
                var(&f, "w", 2, dims, 9, 8, 8);
        else if (!strcmp(r->what, "shape"))
                var(&f, "w", 2, dims, CT2_FLOAT16, 12, 12);
        else if (!strcmp(r->what, "out of file"))
                var(&f, "w", 2, dims, CT2_FLOAT16, 8, 3); /* and no alias count */
        else if (!strcmp(r->what, "rank"))
                var(&f, "w", 9, (const uint32_t[9]){ 1, 1, 1, 1, 1, 1, 1, 1, 1 }, CT2_INT8, 1, 1);
        else if (!strcmp(r->what, "name")) {
                u16(&f, 2);
                put(&f, "ab", 2); /* no NUL */
                u8(&f, 0);
                u8(&f, CT2_INT8);
                u32(&f, 1);
                u8(&f, 0);
        } else
                var(&f, "w", 2, dims, CT2_FLOAT16, 8, 8);
        if (!strcmp(r->what, "twice"))
                var(&f, "w", 2, dims, CT2_FLOAT16, 8, 8);
        if (!strcmp(r->what, "alias")) {
                u32(&f, 1);
                str(&f, "a");
                str(&f, "nothing");
        } else if (strcmp(r->what, "out of file")) {
                u32(&f, 0);
        }
        if (!strcmp(r->what, "trailing"))
                u8(&f, 0);
        ck_assert_int_eq(ct2_model_parse(&m, f.p, f.len, errstr, sizeof(errstr)),
                         CAIRN_ERR_INVALID);
        ck_assert_msg(strstr(errstr, r->message), "%s: \"%s\" lacks \"%s\"", r->what, errstr,
                      r->message);
        free(f.p);
}
END_TEST

START_TEST(test_ct2_half_to_float_values)
{
        const uint16_t in[] = { 0x3c00, 0xc000, 0x0000, 0x8000, 0x7bff,
                                0x0001, 0x03ff, 0x7c00, 0x7e00 };
        float out[9];

        ct2_half_to_float(in, out, 9);
        ck_assert(out[0] == 1.0f);
        ck_assert(out[1] == -2.0f);
        ck_assert(out[2] == 0.0f && !signbit(out[2]));
        ck_assert(out[3] == 0.0f && signbit(out[3]));
        ck_assert(out[4] == 65504.0f);
        ck_assert(out[5] == ldexpf(1.0f, -24));
        ck_assert(out[6] == ldexpf(1023.0f, -24));
        ck_assert(isinf(out[7]));
        ck_assert(isnan(out[8]));
}
END_TEST

START_TEST(test_ct2_model_open_names_the_file)
{
        struct ct2_model m;
        char errstr[512];

        ck_assert_int_eq(ct2_model_open(&m, "/nonexistent/model.bin", errstr, sizeof(errstr)),
                         CAIRN_ERR_NOT_FOUND);
        ck_assert_ptr_nonnull(strstr(errstr, "/nonexistent/model.bin"));
}
END_TEST

/* The tiny.en model directory, or NULL (the test is then skipped). */
static const char *model_dir(void)
{
        static char dir[4096];
        const char *home = getenv("HOME");

        snprintf(dir, sizeof(dir), "%s/.cache/cairn/models/whisper-tiny.en", home ? home : "/");
        return access(dir, R_OK) == 0 ? dir : NULL;
}

/* A copy of the model directory whose model.bin has @p edit applied at the
 * variable @p name's header: returns the directory (under TMPDIR). */
static const char *spoiled(const char *src, const char *name, int edit)
{
        static char dir[4096];
        char path[4200], cmd[9000];
        FILE *fp;
        uint8_t *buf;
        long size;
        size_t nlen = strlen(name) + 1;

        snprintf(dir, sizeof(dir), "%s/ct2-model-XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(cmd, sizeof(cmd), "cp '%s/config.json' '%s/vocabulary.txt' '%s/'", src, src, dir);
        ck_assert_int_eq(system(cmd), 0);
        snprintf(path, sizeof(path), "%s/model.bin", src);
        fp = fopen(path, "rb");
        ck_assert_ptr_nonnull(fp);
        fseek(fp, 0, SEEK_END);
        size = ftell(fp);
        rewind(fp);
        buf = malloc((size_t)size);
        ck_assert_uint_eq(fread(buf, 1, (size_t)size, fp), (size_t)size);
        fclose(fp);
        if (edit == 'T') {
                size /= 2; /* truncated */
        } else {
                uint8_t *at = NULL;

                for (long i = 0; i + 2 + (long)nlen < size; i++) {
                        if ((size_t)(buf[i] | buf[i + 1] << 8) == nlen &&
                            !memcmp(buf + i + 2, name, nlen)) {
                                at = buf + i + 2 + nlen; /* the rank */
                                break;
                        }
                }
                ck_assert_ptr_nonnull(at);
                if (edit == 'V')
                        buf[0] = 7; /* version */
                else if (edit == 'D')
                        at[1 + 4 * at[0]] = CT2_INT8; /* dtype: byte count no longer fits */
                else if (edit == 'S') {
                        /* [384] float16 as [192] float32: same bytes, wrong shape */
                        at[1] = 192;
                        at[2] = 0;
                        at[1 + 4 * at[0]] = CT2_FLOAT32;
                } else if (edit == 'O') {
                        at[1 + 4 * at[0] + 1 + 3] = 0x7f; /* a byte count past the end */
                        at[1 + 4] = 0x3f;
                }
        }
        snprintf(path, sizeof(path), "%s/model.bin", dir);
        fp = fopen(path, "wb");
        ck_assert_ptr_nonnull(fp);
        ck_assert_uint_eq(fwrite(buf, 1, (size_t)size, fp), (size_t)size);
        fclose(fp);
        free(buf);
        return dir;
}

static void remove_dir(const char *dir)
{
        char cmd[4200];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

static const struct {
        int edit;
        const char *message;
} spoils[] = {
        { 'T', "model.bin: " },
        { 'V', "binary version 7" },
        { 'D', "variable \"encoder/conv1/bias\": 768 bytes, but [384] of int8 needs 384" },
        { 'S', "variable \"encoder/conv1/bias\": dimension 0 is 192, expected 384" },
        { 'O', "variable \"encoder/conv1/bias\"" },
};

START_TEST(test_whisper_model_load_refuses_spoiled_model)
{
        const char *src = model_dir(), *dir;
        char errstr[512];
        struct whisper_model *m;

        if (!src) {
                printf("SKIPPED: no whisper-tiny.en model (deploy/models.sh)\n");
                return;
        }
        dir = spoiled(src, "encoder/conv1/bias", spoils[_i].edit);
        errstr[0] = '\0';
        m = whisper_model_load(dir, errstr, sizeof(errstr));
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(errstr, spoils[_i].message), "%c: \"%s\" lacks \"%s\"",
                      spoils[_i].edit, errstr, spoils[_i].message);
        remove_dir(dir);
}
END_TEST

START_TEST(test_whisper_model_load_reads_tiny_en)
{
        const char *src = model_dir();
        char errstr[512];
        struct whisper_model *m;

        if (!src) {
                printf("SKIPPED: no whisper-tiny.en model (deploy/models.sh)\n");
                return;
        }
        m = whisper_model_load(src, errstr, sizeof(errstr));
        ck_assert_msg(m != NULL, "%s", errstr);
        ck_assert(whisper_model_english_only(m));
        whisper_model_free(m);
        ck_assert_ptr_null(whisper_model_load("/nonexistent", errstr, sizeof(errstr)));
        ck_assert_ptr_nonnull(strstr(errstr, "/nonexistent/model.bin"));
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("ct2_model");
        TCase *tc = tcase_create("ct2_model_parse");

        tcase_add_test(tc, test_ct2_model_parse_reads_variables);
        tcase_add_test(tc, test_ct2_model_parse_refuses_every_truncation);
        tcase_add_loop_test(tc, test_ct2_model_parse_refuses, 0,
                            sizeof(refused) / sizeof(refused[0]));
        suite_add_tcase(s, tc);
        tc = tcase_create("ct2_half_to_float");
        tcase_add_test(tc, test_ct2_half_to_float_values);
        suite_add_tcase(s, tc);
        tc = tcase_create("ct2_model_open");
        tcase_add_test(tc, test_ct2_model_open_names_the_file);
        suite_add_tcase(s, tc);
        tc = tcase_create("whisper_model_load");
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test_whisper_model_load_reads_tiny_en);
        tcase_add_loop_test(tc, test_whisper_model_load_refuses_spoiled_model, 0,
                            sizeof(spoils) / sizeof(spoils[0]));
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
