/* CTranslate2 model.bin reading (ct2_model.h has the layout). A cursor
 * walks the bytes; every read checks what is left first, so a truncated or
 * lying file ends in an error naming where it went wrong, never a read past
 * its end. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct2_model.h"

/* Variables and aliases a file may declare: far more than any real model
 * (Whisper large has about 1,300), few enough that the tables stay small. */
#define MAX_VARIABLES 100000

static const char *const dtype_names[CT2_DTYPE__COUNT] = {
        "float32", "int8", "int16", "int32", "float16", "bfloat16",
};
static const size_t dtype_sizes[CT2_DTYPE__COUNT] = { 4, 1, 2, 4, 2, 2 };

const char *ct2_dtype_name(enum ct2_dtype dtype)
{
        return (unsigned)dtype < CT2_DTYPE__COUNT ? dtype_names[dtype] : "unknown";
}

size_t ct2_dtype_size(enum ct2_dtype dtype)
{
        return (unsigned)dtype < CT2_DTYPE__COUNT ? dtype_sizes[dtype] : 0;
}

struct cursor {
        const uint8_t *p, *end;
        char *errstr;
        size_t errstr_size;
};

static cairn_err_t fail(struct cursor *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static cairn_err_t fail(struct cursor *c, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(c->errstr, c->errstr_size, fmt, ap);
        va_end(ap);
        return CAIRN_ERR_INVALID;
}

static int take(struct cursor *c, size_t n, const uint8_t **out)
{
        if ((size_t)(c->end - c->p) < n)
                return -1;
        *out = c->p;
        c->p += n;
        return 0;
}

static int u8(struct cursor *c, uint32_t *v)
{
        const uint8_t *b;

        if (take(c, 1, &b))
                return -1;
        *v = b[0];
        return 0;
}

static int u16(struct cursor *c, uint32_t *v)
{
        const uint8_t *b;

        if (take(c, 2, &b))
                return -1;
        *v = (uint32_t)b[0] | (uint32_t)b[1] << 8;
        return 0;
}

static int u32(struct cursor *c, uint32_t *v)
{
        const uint8_t *b;

        if (take(c, 4, &b))
                return -1;
        *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
        return 0;
}

/* A u16-length string that ends with its NUL and holds no other. */
static int string(struct cursor *c, const char **out)
{
        uint32_t len;
        const uint8_t *b;

        if (u16(c, &len) || len == 0 || take(c, len, &b))
                return -1;
        if (b[len - 1] != '\0' || memchr(b, '\0', len - 1))
                return -1;
        *out = (const char *)b;
        return 0;
}

static int by_name(const void *a, const void *b)
{
        return strcmp(((const struct ct2_variable *)a)->name,
                      ((const struct ct2_variable *)b)->name);
}

const struct ct2_variable *ct2_model_find(const struct ct2_model *m, const char *name)
{
        const struct ct2_variable key = { .name = name };
        const struct ct2_variable *v;

        v = bsearch(&key, m->vars, m->n_vars, sizeof(*m->vars), by_name);
        if (v)
                return v;
        for (size_t i = 0; i < m->n_aliases; i++) {
                if (!strcmp(m->aliases[i].name, name)) {
                        return bsearch(&(struct ct2_variable){ .name = m->aliases[i].target },
                                       m->vars, m->n_vars, sizeof(*m->vars), by_name);
                }
        }
        return NULL;
}

static cairn_err_t variable(struct cursor *c, size_t i, struct ct2_variable *v)
{
        uint32_t rank, dtype, bytes;
        uint64_t need;

        if (string(c, &v->name))
                return fail(c, "variable %zu: name missing, cut short or not a string", i);
        if (u8(c, &rank))
                return fail(c, "variable \"%s\": file ends before its rank", v->name);
        if (rank > CT2_MAX_RANK)
                return fail(c, "variable \"%s\": rank %" PRIu32 " (at most %d)", v->name, rank,
                            CT2_MAX_RANK);
        v->rank = rank;
        v->nelem = 1;
        for (unsigned d = 0; d < rank; d++) {
                if (u32(c, &v->dims[d]))
                        return fail(c, "variable \"%s\": file ends inside its shape", v->name);
                /* dims are below 2^32 and at most 8 of them: stop before
                 * the product could wrap */
                if (v->dims[d] && v->nelem > UINT64_MAX / v->dims[d])
                        return fail(c, "variable \"%s\": shape too large", v->name);
                v->nelem *= v->dims[d];
        }
        if (u8(c, &dtype))
                return fail(c, "variable \"%s\": file ends before its dtype", v->name);
        if (dtype >= CT2_DTYPE__COUNT)
                return fail(c, "variable \"%s\": unknown dtype %" PRIu32, v->name, dtype);
        v->dtype = (enum ct2_dtype)dtype;
        if (u32(c, &bytes))
                return fail(c, "variable \"%s\": file ends before its byte count", v->name);
        need = v->nelem > UINT64_MAX / 8 ? UINT64_MAX : v->nelem * dtype_sizes[dtype];
        if (bytes != need) {
                char shape[CT2_MAX_RANK * 12 + 3];
                size_t len = 0;

                shape[len++] = '[';
                for (unsigned d = 0; d < rank; d++)
                        len += (size_t)snprintf(shape + len, sizeof(shape) - len, "%s%" PRIu32,
                                                d ? ", " : "", v->dims[d]);
                snprintf(shape + len, sizeof(shape) - len, "]");
                return fail(c, "variable \"%s\": %" PRIu32 " bytes, but %s of %s needs %" PRIu64,
                            v->name, bytes, shape, dtype_names[dtype], need);
        }
        if (take(c, bytes, (const uint8_t **)&v->data))
                return fail(c,
                            "variable \"%s\": its %" PRIu32 " bytes run past the end of the file",
                            v->name, bytes);
        return CAIRN_OK;
}

cairn_err_t ct2_model_parse(struct ct2_model *m, const void *buf, size_t size, char *errstr,
                            size_t errstr_size)
{
        struct cursor c = { buf, (const uint8_t *)buf + size, errstr, errstr_size };
        uint32_t count;
        cairn_err_t err;

        memset(m, 0, sizeof(*m));
        m->base = buf;
        m->size = size;
        if (u32(&c, &m->version))
                return fail(&c, "file ends before its version");
        if (m->version != CT2_BINARY_VERSION)
                return fail(&c, "binary version %" PRIu32 " (this reader knows %d)", m->version,
                            CT2_BINARY_VERSION);
        if (string(&c, &m->spec))
                return fail(&c, "spec name missing or not a string");
        if (u32(&c, &m->revision))
                return fail(&c, "file ends before the spec revision");
        if (u32(&c, &count))
                return fail(&c, "file ends before the variable count");
        /* each variable takes at least 8 bytes: no table larger than the file */
        if (count > MAX_VARIABLES || count > (size_t)(c.end - c.p) / 8)
                return fail(&c, "%" PRIu32 " variables do not fit the file", count);
        m->vars = calloc(count ? count : 1, sizeof(*m->vars));
        if (!m->vars) {
                snprintf(errstr, errstr_size, "out of memory");
                return CAIRN_ERR_EXHAUSTED;
        }
        m->n_vars = count;
        for (size_t i = 0; i < count; i++) {
                err = variable(&c, i, &m->vars[i]);
                if (err)
                        goto out;
        }
        qsort(m->vars, m->n_vars, sizeof(*m->vars), by_name);
        for (size_t i = 1; i < m->n_vars; i++) {
                if (!strcmp(m->vars[i - 1].name, m->vars[i].name)) {
                        err = fail(&c, "variable \"%s\" declared twice", m->vars[i].name);
                        goto out;
                }
        }
        if (u32(&c, &count)) {
                err = fail(&c, "file ends before the alias count");
                goto out;
        }
        if (count > MAX_VARIABLES || count > (size_t)(c.end - c.p) / 6) {
                err = fail(&c, "%" PRIu32 " aliases do not fit the file", count);
                goto out;
        }
        m->aliases = calloc(count ? count : 1, sizeof(*m->aliases));
        if (!m->aliases) {
                snprintf(errstr, errstr_size, "out of memory");
                err = CAIRN_ERR_EXHAUSTED;
                goto out;
        }
        m->n_aliases = count;
        for (size_t i = 0; i < count; i++) {
                struct ct2_alias *a = &m->aliases[i];

                if (string(&c, &a->name) || string(&c, &a->target)) {
                        err = fail(&c, "alias %zu: cut short or not a string", i);
                        goto out;
                }
                if (!bsearch(&(struct ct2_variable){ .name = a->target }, m->vars, m->n_vars,
                             sizeof(*m->vars), by_name)) {
                        err = fail(&c, "alias \"%s\": no variable \"%s\"", a->name, a->target);
                        goto out;
                }
        }
        if (c.p != c.end) {
                err = fail(&c, "%zu bytes after the aliases", (size_t)(c.end - c.p));
                goto out;
        }
        return CAIRN_OK;
out:
        free(m->vars);
        free(m->aliases);
        memset(m, 0, sizeof(*m));
        return err;
}

cairn_err_t ct2_model_open(struct ct2_model *m, const char *path, char *errstr, size_t errstr_size)
{
        struct stat sb;
        void *map;
        int fd;
        cairn_err_t err;
        char why[256];

        memset(m, 0, sizeof(*m));
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return CAIRN_ERR_NOT_FOUND;
        }
        if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
                snprintf(errstr, errstr_size, "%s: not a regular, non-empty file", path);
                close(fd);
                return CAIRN_ERR_INVALID;
        }
        map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        close(fd);
        if (map == MAP_FAILED) {
                snprintf(errstr, errstr_size, "%s: mmap: %s", path, strerror(errno));
                return CAIRN_ERR_UNAVAILABLE;
        }
        err = ct2_model_parse(m, map, (size_t)sb.st_size, why, sizeof(why));
        if (err) {
                snprintf(errstr, errstr_size, "%s: %s", path, why);
                munmap(map, (size_t)sb.st_size);
                return err;
        }
        m->map_size = (size_t)sb.st_size;
        return CAIRN_OK;
}

void ct2_model_cleanup(struct ct2_model *m)
{
        free(m->vars);
        free(m->aliases);
        if (m->map_size)
                munmap((void *)m->base, m->map_size);
        memset(m, 0, sizeof(*m));
}

void ct2_half_to_float(const void *in, float *out, size_t n)
{
        const unsigned char *p = in;

        for (size_t i = 0; i < n; i++) {
                uint16_t half;

                /* model.bin aligns nothing: read each value bytewise */
                memcpy(&half, p + 2 * i, sizeof(half));
                const uint32_t h = half, sign = (h & 0x8000u) << 16;
                uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;

                if (exp == 0x1f) {
                        bits = sign | 0x7f800000u | man << 13; /* inf, NaN */
                } else if (exp) {
                        bits = sign | (exp + 112) << 23 | man << 13;
                } else if (man) {
                        /* subnormal: normalise */
                        exp = 113;
                        while (!(man & 0x400)) {
                                man <<= 1;
                                exp--;
                        }
                        bits = sign | exp << 23 | (man & 0x3ff) << 13;
                } else {
                        bits = sign;
                }
                memcpy(&out[i], &bits, sizeof(bits));
        }
}
