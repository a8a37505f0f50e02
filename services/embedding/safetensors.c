/* The safetensors header is checked here, byte by byte and tensor by tensor,
 * before anything reads a weight: the same rules as the format's reference
 * reader (known dtypes, sizes that match the shapes, tensors inside the file
 * that neither overlap nor leave gaps), with messages that name the tensor. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors.h"

/* clang-format off */
static const struct {
        const char *name;
        size_t size;
} dtypes[SAFETENSORS_DTYPE__COUNT] = {
        [SAFETENSORS_BOOL]    = { "BOOL", 1 },
        [SAFETENSORS_U8]      = { "U8", 1 },
        [SAFETENSORS_I8]      = { "I8", 1 },
        [SAFETENSORS_F8_E5M2] = { "F8_E5M2", 1 },
        [SAFETENSORS_F8_E4M3] = { "F8_E4M3", 1 },
        [SAFETENSORS_I16]     = { "I16", 2 },
        [SAFETENSORS_U16]     = { "U16", 2 },
        [SAFETENSORS_F16]     = { "F16", 2 },
        [SAFETENSORS_BF16]    = { "BF16", 2 },
        [SAFETENSORS_I32]     = { "I32", 4 },
        [SAFETENSORS_U32]     = { "U32", 4 },
        [SAFETENSORS_F32]     = { "F32", 4 },
        [SAFETENSORS_F64]     = { "F64", 8 },
        [SAFETENSORS_I64]     = { "I64", 8 },
        [SAFETENSORS_U64]     = { "U64", 8 },
};
/* clang-format on */

const char *safetensors_dtype_name(enum safetensors_dtype dtype)
{
        return (unsigned)dtype < SAFETENSORS_DTYPE__COUNT ? dtypes[dtype].name : "?";
}

size_t safetensors_dtype_size(enum safetensors_dtype dtype)
{
        return (unsigned)dtype < SAFETENSORS_DTYPE__COUNT ? dtypes[dtype].size : 0;
}

static cairn_err_t fail(char *errstr, size_t errstr_size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static cairn_err_t fail(char *errstr, size_t errstr_size, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
        return CAIRN_ERR_INVALID;
}

/* @p name as it may appear in a message: at most 120 bytes, control
 * characters, quotes and backslashes as '?'. The name is valid UTF-8
 * (jansson checks it); a cut may end it mid-character, which is harmless in
 * a log line but replaced too. */
static const char *printable(const char *name, char *buf, size_t size)
{
        size_t i = 0;

        for (; name[i] && i + 1 < size && i < 120; i++) {
                unsigned char c = (unsigned char)name[i];

                buf[i] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
        }
        while (name[i] && i > 0 && ((unsigned char)buf[i - 1] & 0x80))
                buf[--i] = '\0'; /* drop a character the cut split */
        buf[i] = '\0';
        return buf;
}

static int parse_dtype(const char *s, enum safetensors_dtype *dtype)
{
        for (int i = 0; i < SAFETENSORS_DTYPE__COUNT; i++) {
                if (strcmp(s, dtypes[i].name) == 0) {
                        *dtype = (enum safetensors_dtype)i;
                        return 0;
                }
        }
        return -1;
}

/* A JSON integer in [0, 2^63). */
static int parse_u64(const json_t *v, uint64_t *out)
{
        json_int_t i;

        if (!json_is_integer(v))
                return -1;
        i = json_integer_value(v);
        if (i < 0)
                return -1;
        *out = (uint64_t)i;
        return 0;
}

static cairn_err_t parse_tensor(struct safetensors_tensor *t, const json_t *info, size_t data_size,
                                char *errstr, size_t errstr_size)
{
        const json_t *dtype = json_object_get(info, "dtype");
        const json_t *shape = json_object_get(info, "shape");
        const json_t *offsets = json_object_get(info, "data_offsets");
        char pn[128];
        const char *name = printable(t->name, pn, sizeof(pn));
        uint64_t bytes;

        if (!json_is_object(info))
                return fail(errstr, errstr_size, "tensor \"%s\": not a JSON object", name);
        if (!json_is_string(dtype))
                return fail(errstr, errstr_size, "tensor \"%s\": no \"dtype\" string", name);
        if (parse_dtype(json_string_value(dtype), &t->dtype) != 0) {
                char pd[128];

                return fail(errstr, errstr_size, "tensor \"%s\": unknown dtype \"%s\"", name,
                            printable(json_string_value(dtype), pd, sizeof(pd)));
        }
        if (!json_is_array(shape))
                return fail(errstr, errstr_size, "tensor \"%s\": no \"shape\" array", name);
        t->ndim = json_array_size(shape);
        if (t->ndim > SAFETENSORS_MAX_DIMS)
                return fail(errstr, errstr_size, "tensor \"%s\": %zu dimensions, at most %d", name,
                            t->ndim, SAFETENSORS_MAX_DIMS);
        t->nelem = 1;
        for (size_t i = 0; i < t->ndim; i++) {
                if (parse_u64(json_array_get(shape, i), &t->shape[i]) != 0)
                        return fail(errstr, errstr_size,
                                    "tensor \"%s\": shape[%zu] is not a non-negative integer", name,
                                    i);
                if (__builtin_mul_overflow(t->nelem, t->shape[i], &t->nelem))
                        return fail(errstr, errstr_size, "tensor \"%s\": shape is too large", name);
        }
        if (__builtin_mul_overflow(t->nelem, (uint64_t)dtypes[t->dtype].size, &bytes))
                return fail(errstr, errstr_size, "tensor \"%s\": shape is too large", name);
        if (!json_is_array(offsets) || json_array_size(offsets) != 2 ||
            parse_u64(json_array_get(offsets, 0), &t->begin) != 0 ||
            parse_u64(json_array_get(offsets, 1), &t->end) != 0)
                return fail(errstr, errstr_size,
                            "tensor \"%s\": \"data_offsets\" is not two non-negative integers",
                            name);
        if (t->end < t->begin)
                return fail(errstr, errstr_size,
                            "tensor \"%s\": data_offsets [%llu, %llu) end before they begin", name,
                            (unsigned long long)t->begin, (unsigned long long)t->end);
        if (t->end > data_size)
                return fail(errstr, errstr_size,
                            "tensor \"%s\": data_offsets [%llu, %llu) lie outside the %zu bytes of "
                            "data in the file",
                            name, (unsigned long long)t->begin, (unsigned long long)t->end,
                            data_size);
        if (t->end - t->begin != bytes)
                return fail(errstr, errstr_size,
                            "tensor \"%s\": data_offsets [%llu, %llu) hold %llu bytes, but its "
                            "shape of %s needs %llu",
                            name, (unsigned long long)t->begin, (unsigned long long)t->end,
                            (unsigned long long)(t->end - t->begin), dtypes[t->dtype].name,
                            (unsigned long long)bytes);
        return CAIRN_OK;
}

static int by_begin(const void *a, const void *b)
{
        const struct safetensors_tensor *x = *(const struct safetensors_tensor *const *)a;
        const struct safetensors_tensor *y = *(const struct safetensors_tensor *const *)b;

        if (x->begin != y->begin)
                return x->begin < y->begin ? -1 : 1;
        if (x->end != y->end)
                return x->end < y->end ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int by_name(const void *a, const void *b)
{
        return strcmp(((const struct safetensors_tensor *)a)->name,
                      ((const struct safetensors_tensor *)b)->name);
}

/* The tensors, taken in the order of their data, must tile the data
 * exactly: each starts where the previous one ended, the last ends at the
 * end of the file. */
static cairn_err_t check_layout(struct safetensors *st, char *errstr, size_t errstr_size)
{
        struct safetensors_tensor **order;
        uint64_t at = 0;
        const char *prev = NULL;
        cairn_err_t err = CAIRN_OK;
        char pn[128], pp[128];

        if (st->n == 0) {
                if (st->data_size != 0)
                        return fail(errstr, errstr_size,
                                    "%zu bytes of data follow a header that names no tensor",
                                    st->data_size);
                return CAIRN_OK;
        }
        order = malloc(st->n * sizeof(*order));
        if (!order) {
                snprintf(errstr, errstr_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        for (size_t i = 0; i < st->n; i++)
                order[i] = &st->tensors[i];
        qsort(order, st->n, sizeof(*order), by_begin);
        for (size_t i = 0; i < st->n && !err; i++) {
                const struct safetensors_tensor *t = order[i];

                if (t->begin < at)
                        err = fail(errstr, errstr_size,
                                   "tensor \"%s\": data_offsets [%llu, %llu) overlap tensor \"%s\"",
                                   printable(t->name, pn, sizeof(pn)), (unsigned long long)t->begin,
                                   (unsigned long long)t->end, printable(prev, pp, sizeof(pp)));
                else if (t->begin > at)
                        err = fail(errstr, errstr_size,
                                   "tensor \"%s\": data_offsets [%llu, %llu) leave a gap of %llu "
                                   "bytes before it",
                                   printable(t->name, pn, sizeof(pn)), (unsigned long long)t->begin,
                                   (unsigned long long)t->end, (unsigned long long)(t->begin - at));
                at = t->end;
                prev = t->name;
        }
        if (!err && at != st->data_size)
                err = fail(errstr, errstr_size,
                           "%llu bytes of data after the last tensor (\"%s\") belong to no tensor",
                           (unsigned long long)(st->data_size - at),
                           printable(prev, pp, sizeof(pp)));
        free(order);
        return err;
}

static void free_tensors(struct safetensors *st)
{
        for (size_t i = 0; i < st->n; i++)
                free(st->tensors[i].name);
        free(st->tensors);
        st->tensors = NULL;
        st->n = 0;
}

static cairn_err_t check_metadata(const json_t *meta, char *errstr, size_t errstr_size)
{
        const char *key;
        const json_t *v;

        if (!json_is_object(meta))
                return fail(errstr, errstr_size, "\"__metadata__\" is not a JSON object");
        json_object_foreach((json_t *)meta, key, v) {
                char pk[128];

                if (!json_is_string(v))
                        return fail(errstr, errstr_size,
                                    "\"__metadata__\": the value of \"%s\" is not a string",
                                    printable(key, pk, sizeof(pk)));
        }
        return CAIRN_OK;
}

cairn_err_t safetensors_parse(struct safetensors *st, const void *buf, size_t size, char *errstr,
                              size_t errstr_size)
{
        const uint8_t *p = buf;
        uint64_t hlen = 0;
        json_t *root;
        json_error_t jerr;
        const char *key;
        json_t *v;
        size_t cap;
        cairn_err_t err = CAIRN_OK;

        memset(st, 0, sizeof(*st));
        if (size < 8)
                return fail(errstr, errstr_size, "%zu bytes: too short for a safetensors file",
                            size);
        for (int i = 7; i >= 0; i--)
                hlen = hlen << 8 | p[i];
        if (hlen > SAFETENSORS_HEADER_MAX)
                return fail(errstr, errstr_size, "header of %llu bytes: larger than %zu",
                            (unsigned long long)hlen, SAFETENSORS_HEADER_MAX);
        if (hlen > size - 8)
                return fail(errstr, errstr_size,
                            "header of %llu bytes: longer than the %zu bytes after its length",
                            (unsigned long long)hlen, size - 8);
        if (hlen == 0 || p[8] != '{')
                return fail(errstr, errstr_size, "the header is not a JSON object");
        root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return fail(errstr, errstr_size, "the header is not valid JSON: %s (byte %d)",
                            jerr.text, jerr.position);
        if (!json_is_object(root)) {
                json_decref(root);
                return fail(errstr, errstr_size, "the header is not a JSON object");
        }
        st->base = p;
        st->size = size;
        st->data = p + 8 + hlen;
        st->data_size = size - 8 - (size_t)hlen;
        cap = json_object_size(root);
        st->tensors = calloc(cap ? cap : 1, sizeof(*st->tensors));
        if (!st->tensors) {
                json_decref(root);
                snprintf(errstr, errstr_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        json_object_foreach(root, key, v) {
                struct safetensors_tensor *t;

                if (strcmp(key, "__metadata__") == 0) {
                        err = check_metadata(v, errstr, errstr_size);
                        if (err)
                                break;
                        continue;
                }
                t = &st->tensors[st->n];
                t->name = strdup(key);
                if (!t->name) {
                        snprintf(errstr, errstr_size, "out of memory");
                        err = CAIRN_ERR_EXHAUSTED;
                        break;
                }
                st->n++;
                err = parse_tensor(t, v, st->data_size, errstr, errstr_size);
                if (err)
                        break;
                t->data = st->data + t->begin;
        }
        json_decref(root);
        if (!err)
                err = check_layout(st, errstr, errstr_size);
        if (err) {
                free_tensors(st);
                memset(st, 0, sizeof(*st));
                return err;
        }
        qsort(st->tensors, st->n, sizeof(*st->tensors), by_name);
        return CAIRN_OK;
}

cairn_err_t safetensors_open(struct safetensors *st, const char *path, char *errstr,
                             size_t errstr_size)
{
        struct stat sb;
        void *map;
        int fd;
        cairn_err_t err;
        char why[512];

        memset(st, 0, sizeof(*st));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(errstr, errstr_size, "cannot open %s: %s", path, strerror(errno));
                return CAIRN_ERR_NOT_FOUND;
        }
        if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
                close(fd);
                snprintf(errstr, errstr_size, "%s: not a regular file", path);
                return CAIRN_ERR_INVALID;
        }
        if (sb.st_size < 8) {
                close(fd);
                snprintf(errstr, errstr_size, "%s: %lld bytes: too short for a safetensors file",
                         path, (long long)sb.st_size);
                return CAIRN_ERR_INVALID;
        }
        map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED) {
                snprintf(errstr, errstr_size, "cannot map %s: %s", path, strerror(errno));
                return CAIRN_ERR_EXHAUSTED;
        }
        err = safetensors_parse(st, map, (size_t)sb.st_size, why, sizeof(why));
        if (err) {
                munmap(map, (size_t)sb.st_size);
                snprintf(errstr, errstr_size, "%s: %s", path, why);
                return err;
        }
        st->map_size = (size_t)sb.st_size;
        return CAIRN_OK;
}

void safetensors_cleanup(struct safetensors *st)
{
        free_tensors(st);
        if (st->map_size)
                munmap((void *)st->base, st->map_size);
        memset(st, 0, sizeof(*st));
}

const struct safetensors_tensor *safetensors_find(const struct safetensors *st, const char *name)
{
        struct safetensors_tensor key = { .name = (char *)name };

        if (!st->n)
                return NULL;
        return bsearch(&key, st->tensors, st->n, sizeof(*st->tensors), by_name);
}
