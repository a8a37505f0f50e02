/* The well-known types that have a JSON form of their own, both ways:
 * Timestamp (RFC 3339), Duration ("1.5s"), Struct, Value and ListValue
 * (free-form JSON), the wrappers (their bare value) and FieldMask
 * ("a.b,cD"). Fields are reached through the descriptors, by number, so any
 * copy of these types' descriptors works. */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/utf8.h"
#include "pbjson_internal.h"

#define TIMESTAMP_MIN -62135596800LL /* 0001-01-01T00:00:00Z */
#define TIMESTAMP_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define DURATION_MAX  315576000000LL /* 10000 years of 365.25 days */
#define NANOS_PER_SEC 1000000000

/* Value's oneof members, by field number. */
enum { VALUE_NULL = 1, VALUE_NUMBER, VALUE_STRING, VALUE_BOOL, VALUE_STRUCT, VALUE_LIST };

static const ProtobufCFieldDescriptor *field(const ProtobufCMessageDescriptor *desc, unsigned id)
{
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(desc, id);

        assert(fd && "well-known type without its field");
        return fd;
}

/* ---- calendar: days since 1970-01-01 of a proleptic Gregorian date ---- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
        int64_t era;
        unsigned yoe, doy, doe;

        y -= m <= 2; /* years start in March */
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned)(y - era * 400); /* [0, 399] */
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
        int64_t era;
        unsigned doe, yoe, doy, mp;

        z += 719468;
        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned)(z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
        static const unsigned days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

        return m == 2 && leap ? 29 : days[m - 1];
}

/* Exactly @p n digits at *@p s, advancing it. */
static bool digits(const char **s, int n, unsigned *v)
{
        *v = 0;
        for (int i = 0; i < n; i++) {
                unsigned d = (unsigned)((*s)[i] - '0');

                if (d > 9)
                        return false;
                *v = *v * 10 + d;
        }
        *s += n;
        return true;
}

/* ".f" with 1 to 9 digits at *@p s, if any, as nanoseconds. */
static bool fraction(const char **s, int32_t *nanos)
{
        int n = 0;

        *nanos = 0;
        if (**s != '.')
                return true;
        (*s)++;
        while (**s >= '0' && **s <= '9') {
                if (++n > 9)
                        return false;
                *nanos = *nanos * 10 + (**s - '0');
                (*s)++;
        }
        for (int i = n; i < 9; i++)
                *nanos *= 10;
        return n > 0;
}

/* Appends "", ".fff", ".ffffff" or ".fffffffff": as few digit groups as
 * hold @p nanos (0 <= nanos < 1e9). */
static void fraction_add(struct cairn_buf *b, int32_t nanos)
{
        if (nanos == 0)
                return;
        if (nanos % 1000000 == 0)
                cairn_buf_printf(b, ".%03" PRId32, nanos / 1000000);
        else if (nanos % 1000 == 0)
                cairn_buf_printf(b, ".%06" PRId32, nanos / 1000);
        else
                cairn_buf_printf(b, ".%09" PRId32, nanos);
}

/* A string JSON value from @p b, which is cleaned up. */
static cairn_err_t buf_to_json(struct pbjson_walk *w, struct cairn_buf *b, json_t **out)
{
        *out = b->oom ? NULL : json_stringn(b->p ? b->p : "", b->len);
        cairn_buf_cleanup(b);
        return *out ? CAIRN_OK : pbjson_oom(w);
}

/* ---- Timestamp ---- */

void cairn_timestamp_set_us(Google__Protobuf__Timestamp *ts, int64_t unix_us)
{
        int64_t us = unix_us % 1000000;

        google__protobuf__timestamp__init(ts);
        ts->seconds = unix_us / 1000000 - (us < 0);
        ts->nanos = (int32_t)((us < 0 ? us + 1000000 : us) * 1000);
}

static bool timestamp_parse(const char *s, int64_t *secs, int32_t *nanos)
{
        unsigned y, mo, d, h, mi, sec, oh = 0, om = 0;
        int64_t t, off = 0;

        if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) || *s++ != '-' ||
            !digits(&s, 2, &d) || *s++ != 'T' || !digits(&s, 2, &h) || *s++ != ':' ||
            !digits(&s, 2, &mi) || *s++ != ':' || !digits(&s, 2, &sec) || !fraction(&s, nanos))
                return false;
        if (*s == 'Z') {
                s++;
        } else if (*s == '+' || *s == '-') {
                int sign = *s++ == '-' ? -1 : 1;

                if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) || oh > 23 || om > 59)
                        return false;
                off = sign * (int64_t)(oh * 3600 + om * 60);
        } else {
                return false;
        }
        if (*s || y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
            mi > 59 || sec > 59)
                return false;
        t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
        *secs = t;
        return true;
}

static cairn_err_t timestamp_from_json(struct pbjson_walk *w, ProtobufCMessage *msg,
                                       const json_t *v)
{
        const ProtobufCFieldDescriptor *fs = field(msg->descriptor, 1),
                                       *fn = field(msg->descriptor, 2);
        int64_t secs;
        int32_t nanos;

        if (!json_is_string(v) || !timestamp_parse(json_string_value(v), &secs, &nanos))
                return pbjson_fail(w, "expected an RFC 3339 timestamp such as "
                                      "\"2024-05-01T12:00:00.5Z\" or with an offset \"+02:00\"");
        if (secs < TIMESTAMP_MIN || secs > TIMESTAMP_MAX)
                return pbjson_fail(w, "timestamp out of range (years 0001 to 9999)");
        *(int64_t *)pbjson_member(msg, fs) = secs;
        *(int32_t *)pbjson_member(msg, fn) = nanos;
        return CAIRN_OK;
}

static cairn_err_t timestamp_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg,
                                     json_t **out)
{
        int64_t secs = *(const int64_t *)pbjson_member(msg, field(msg->descriptor, 1));
        int32_t nanos = *(const int32_t *)pbjson_member(msg, field(msg->descriptor, 2));
        struct cairn_buf b = { 0 };
        int64_t days, rem, y;
        unsigned m, d;

        if (secs < TIMESTAMP_MIN || secs > TIMESTAMP_MAX || nanos < 0 || nanos >= NANOS_PER_SEC)
                return pbjson_fail(w,
                                   "timestamp out of range (seconds %" PRId64 ", nanos %" PRId32
                                   ")",
                                   secs, nanos);
        days = secs / 86400;
        rem = secs % 86400;
        if (rem < 0) {
                rem += 86400;
                days--;
        }
        civil_from_days(days, &y, &m, &d);
        cairn_buf_printf(&b, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m, d, (int)(rem / 3600),
                         (int)(rem / 60 % 60), (int)(rem % 60));
        fraction_add(&b, nanos);
        cairn_buf_adds(&b, "Z");
        return buf_to_json(w, &b, out);
}

/* ---- Duration ---- */

static cairn_err_t duration_from_json(struct pbjson_walk *w, ProtobufCMessage *msg, const json_t *v)
{
        const ProtobufCFieldDescriptor *fs = field(msg->descriptor, 1),
                                       *fn = field(msg->descriptor, 2);
        const char *s;
        bool neg;
        int64_t secs = 0;
        int32_t nanos;
        int n = 0;

        if (!json_is_string(v))
                return pbjson_fail(w, "expected a duration such as \"1.5s\"");
        s = json_string_value(v);
        neg = *s == '-';
        if (neg)
                s++;
        for (; *s >= '0' && *s <= '9'; s++, n++) {
                secs = secs * 10 + (*s - '0');
                if (secs > DURATION_MAX) /* stops long before int64_t would overflow */
                        return pbjson_fail(w, "duration out of range (at most 315576000000s)");
        }
        if (n == 0 || !fraction(&s, &nanos) || *s != 's' || s[1])
                return pbjson_fail(w, "expected a duration such as \"1.5s\"");
        *(int64_t *)pbjson_member(msg, fs) = neg ? -secs : secs;
        *(int32_t *)pbjson_member(msg, fn) = neg ? -nanos : nanos;
        return CAIRN_OK;
}

static cairn_err_t duration_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg,
                                    json_t **out)
{
        int64_t secs = *(const int64_t *)pbjson_member(msg, field(msg->descriptor, 1));
        int32_t nanos = *(const int32_t *)pbjson_member(msg, field(msg->descriptor, 2));
        struct cairn_buf b = { 0 };

        if (secs < -DURATION_MAX || secs > DURATION_MAX || nanos <= -NANOS_PER_SEC ||
            nanos >= NANOS_PER_SEC || (secs > 0 && nanos < 0) || (secs < 0 && nanos > 0))
                return pbjson_fail(w,
                                   "duration out of range (seconds %" PRId64 ", nanos %" PRId32 ")",
                                   secs, nanos);
        cairn_buf_printf(&b, "%s%" PRId64, secs < 0 || nanos < 0 ? "-" : "",
                         secs < 0 ? -secs : secs);
        fraction_add(&b, nanos < 0 ? -nanos : nanos);
        cairn_buf_adds(&b, "s");
        return buf_to_json(w, &b, out);
}

/* ---- FieldMask: paths in lowerCamelCase, comma-separated ---- */

static cairn_err_t field_mask_from_json(struct pbjson_walk *w, ProtobufCMessage *msg,
                                        const json_t *v)
{
        const ProtobufCFieldDescriptor *fp = field(msg->descriptor, 1);
        size_t *n = pbjson_quantifier(msg, fp), count = 1;
        char ***paths = pbjson_member(msg, fp);
        const char *s, *p;

        if (!json_is_string(v))
                return pbjson_fail(w, "expected a field mask such as \"user.displayName,photo\"");
        s = json_string_value(v);
        if (!cairn_utf8_valid(s, json_string_length(v)))
                return pbjson_fail(w, "invalid UTF-8");
        if (strchr(s, '_'))
                return pbjson_fail(w, "field mask paths are lowerCamelCase: '_' is not allowed");
        if (!*s)
                return CAIRN_OK;
        for (p = s; *p; p++)
                count += *p == ',';
        *paths = calloc(count, sizeof(char *));
        if (!*paths)
                return pbjson_oom(w);
        for (p = s;; p += strcspn(p, ",") + 1) {
                size_t len = strcspn(p, ","), upper = 0, k = 0;
                char *path;

                for (size_t i = 0; i < len; i++)
                        upper += p[i] >= 'A' && p[i] <= 'Z';
                path = malloc(len + upper + 1);
                if (!path)
                        return pbjson_oom(w);
                for (size_t i = 0; i < len; i++) {
                        if (p[i] >= 'A' && p[i] <= 'Z') {
                                path[k++] = '_';
                                path[k++] = (char)(p[i] - 'A' + 'a');
                        } else {
                                path[k++] = p[i];
                        }
                }
                path[k] = '\0';
                (*paths)[(*n)++] = path;
                if (!p[len])
                        break;
        }
        return CAIRN_OK;
}

static cairn_err_t field_mask_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg,
                                      json_t **out)
{
        const ProtobufCFieldDescriptor *fp = field(msg->descriptor, 1);
        size_t n = *(const size_t *)pbjson_quantifier(msg, fp);
        char *const *paths = *(char *const *const *)pbjson_member(msg, fp);
        struct cairn_buf b = { 0 };

        for (size_t i = 0; i < n; i++) {
                const char *p = paths[i] ? paths[i] : "";

                if (i)
                        cairn_buf_add(&b, ",", 1);
                if (!cairn_utf8_valid(p, strlen(p))) {
                        cairn_buf_cleanup(&b);
                        return pbjson_fail(w, "invalid UTF-8 in field mask path");
                }
                for (; *p; p++) {
                        char c = *p;

                        if ((c >= 'A' && c <= 'Z') || (c == '_' && !(p[1] >= 'a' && p[1] <= 'z'))) {
                                cairn_buf_cleanup(&b);
                                return pbjson_fail(w,
                                                   "field mask path \"%s\" has no "
                                                   "lowerCamelCase form",
                                                   paths[i]);
                        }
                        if (c == '_')
                                c = (char)(*++p - 'a' + 'A');
                        cairn_buf_add(&b, &c, 1);
                }
        }
        return buf_to_json(w, &b, out);
}

/* ---- Struct, Value, ListValue ---- */

static cairn_err_t value_from_json(struct pbjson_walk *w, ProtobufCMessage *msg, const json_t *v);
static cairn_err_t value_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg, json_t **out);

/* A new message of the type of message field @p fd, stored in @p msg (so
 * that freeing @p msg frees it) and returned through @p sub. */
static cairn_err_t sub_new(struct pbjson_walk *w, ProtobufCMessage *msg,
                           const ProtobufCFieldDescriptor *fd, ProtobufCMessage **sub)
{
        *sub = pbjson_message_new(fd->descriptor);
        if (!*sub)
                return pbjson_oom(w);
        *(ProtobufCMessage **)pbjson_member(msg, fd) = *sub;
        if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                *(uint32_t *)pbjson_quantifier(msg, fd) = fd->id;
        return CAIRN_OK;
}

static cairn_err_t struct_from_json(struct pbjson_walk *w, ProtobufCMessage *msg, const json_t *v)
{
        const ProtobufCFieldDescriptor *ff = field(msg->descriptor, 1);
        const ProtobufCMessageDescriptor *entry_desc = ff->descriptor;
        const ProtobufCFieldDescriptor *fk = field(entry_desc, 1), *fv = field(entry_desc, 2);
        size_t *n = pbjson_quantifier(msg, ff);
        ProtobufCMessage ***entries = pbjson_member(msg, ff);
        const char *key;
        json_t *item;
        cairn_err_t err;

        if (!json_is_object(v))
                return pbjson_fail(w, "expected an object");
        err = pbjson_enter(w);
        if (err)
                return err;
        if (json_object_size(v)) {
                *entries = calloc(json_object_size(v), sizeof(ProtobufCMessage *));
                if (!*entries)
                        return pbjson_oom(w);
        }
        json_object_foreach((json_t *)v, key, item) {
                size_t mark = pbjson_path_key(w, key);
                ProtobufCMessage *entry = pbjson_message_new(entry_desc), *value;

                if (!entry)
                        return pbjson_oom(w);
                (*entries)[(*n)++] = entry;
                err = pbjson_map_key_from_text(w, fk, key, pbjson_member(entry, fk));
                if (!err)
                        err = sub_new(w, entry, fv, &value);
                if (!err)
                        err = value_from_json(w, value, item);
                if (err)
                        return err;
                pbjson_path_cut(w, mark);
        }
        w->depth--;
        return CAIRN_OK;
}

static cairn_err_t list_from_json(struct pbjson_walk *w, ProtobufCMessage *msg, const json_t *v)
{
        const ProtobufCFieldDescriptor *fl = field(msg->descriptor, 1);
        size_t *n = pbjson_quantifier(msg, fl);
        ProtobufCMessage ***values = pbjson_member(msg, fl);
        cairn_err_t err;

        if (!json_is_array(v))
                return pbjson_fail(w, "expected an array");
        err = pbjson_enter(w);
        if (err)
                return err;
        if (json_array_size(v)) {
                *values = calloc(json_array_size(v), sizeof(ProtobufCMessage *));
                if (!*values)
                        return pbjson_oom(w);
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
                size_t mark = pbjson_path_index(w, i);
                ProtobufCMessage *value = pbjson_message_new(fl->descriptor);

                if (!value)
                        return pbjson_oom(w);
                (*values)[(*n)++] = value;
                err = value_from_json(w, value, json_array_get(v, i));
                if (err)
                        return err;
                pbjson_path_cut(w, mark);
        }
        w->depth--;
        return CAIRN_OK;
}

static cairn_err_t value_from_json(struct pbjson_walk *w, ProtobufCMessage *msg, const json_t *v)
{
        const ProtobufCMessageDescriptor *desc = msg->descriptor;
        const ProtobufCFieldDescriptor *fd;
        ProtobufCMessage *sub;
        cairn_err_t err;

        switch (json_typeof(v)) {
        case JSON_NULL:
                fd = field(desc, VALUE_NULL);
                *(int *)pbjson_member(msg, fd) = 0;
                break;
        case JSON_INTEGER:
        case JSON_REAL:
                fd = field(desc, VALUE_NUMBER);
                *(double *)pbjson_member(msg, fd) = json_number_value(v);
                break;
        case JSON_STRING:
                fd = field(desc, VALUE_STRING);
                err = pbjson_scalar_from_json(w, fd, v, pbjson_member(msg, fd));
                if (err)
                        return err;
                break;
        case JSON_TRUE:
        case JSON_FALSE:
                fd = field(desc, VALUE_BOOL);
                *(protobuf_c_boolean *)pbjson_member(msg, fd) = json_is_true(v);
                break;
        case JSON_OBJECT:
                err = sub_new(w, msg, field(desc, VALUE_STRUCT), &sub);
                return err ? err : struct_from_json(w, sub, v);
        case JSON_ARRAY:
                err = sub_new(w, msg, field(desc, VALUE_LIST), &sub);
                return err ? err : list_from_json(w, sub, v);
        default:
                return pbjson_fail(w, "unexpected JSON");
        }
        *(uint32_t *)pbjson_quantifier(msg, fd) = fd->id;
        return CAIRN_OK;
}

static cairn_err_t struct_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg, json_t **out)
{
        const ProtobufCFieldDescriptor *ff = field(msg->descriptor, 1);
        const ProtobufCFieldDescriptor *fk = field(ff->descriptor, 1),
                                       *fv = field(ff->descriptor, 2);
        size_t n = *(const size_t *)pbjson_quantifier(msg, ff);
        ProtobufCMessage *const *entries = *(ProtobufCMessage *const *const *)pbjson_member(msg,
                                                                                            ff);
        cairn_err_t err = pbjson_enter(w);
        json_t *obj;

        if (err)
                return err;
        obj = json_object();
        if (!obj)
                return pbjson_oom(w);
        for (size_t i = 0; i < n && !err; i++) {
                const char *key = "";
                const ProtobufCMessage *value = NULL;
                size_t mark;
                json_t *item = NULL;

                if (entries[i]) {
                        key = *(char *const *)pbjson_member(entries[i], fk);
                        key = key ? key : "";
                        value = *(ProtobufCMessage *const *)pbjson_member(entries[i], fv);
                }
                mark = pbjson_path_key(w, key);
                if (!cairn_utf8_valid(key, strlen(key)))
                        err = pbjson_fail(w, "invalid UTF-8 in key");
                else if (!value)
                        item = json_null(); /* a Value left unset reads as null */
                else
                        err = value_to_json(w, value, &item);
                if (!err && json_object_set_new(obj, key, item) != 0)
                        err = pbjson_oom(w);
                pbjson_path_cut(w, mark);
        }
        if (err) {
                json_decref(obj);
                return err;
        }
        w->depth--;
        *out = obj;
        return CAIRN_OK;
}

static cairn_err_t list_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg, json_t **out)
{
        const ProtobufCFieldDescriptor *fl = field(msg->descriptor, 1);
        size_t n = *(const size_t *)pbjson_quantifier(msg, fl);
        ProtobufCMessage *const *values = *(ProtobufCMessage *const *const *)pbjson_member(msg, fl);
        cairn_err_t err = pbjson_enter(w);
        json_t *arr;

        if (err)
                return err;
        arr = json_array();
        if (!arr)
                return pbjson_oom(w);
        for (size_t i = 0; i < n && !err; i++) {
                size_t mark = pbjson_path_index(w, i);
                json_t *item = NULL;

                if (!values[i])
                        item = json_null();
                else
                        err = value_to_json(w, values[i], &item);
                if (!err && json_array_append_new(arr, item) != 0)
                        err = pbjson_oom(w);
                pbjson_path_cut(w, mark);
        }
        if (err) {
                json_decref(arr);
                return err;
        }
        w->depth--;
        *out = arr;
        return CAIRN_OK;
}

static cairn_err_t value_to_json(struct pbjson_walk *w, const ProtobufCMessage *msg, json_t **out)
{
        const ProtobufCMessageDescriptor *desc = msg->descriptor;

        for (unsigned id = VALUE_NULL; id <= VALUE_LIST; id++) {
                const ProtobufCFieldDescriptor *fd = field(desc, id);
                const void *member = pbjson_member(msg, fd);
                double d;

                if (!pbjson_field_present(msg, fd))
                        continue;
                switch (id) {
                case VALUE_NULL:
                        break;
                case VALUE_NUMBER:
                        d = *(const double *)member;
                        if (!isfinite(d))
                                return pbjson_fail(w, "NaN and Infinity have no JSON form "
                                                      "in a google.protobuf.Value");
                        *out = json_real(d);
                        return *out ? CAIRN_OK : pbjson_oom(w);
                case VALUE_STRING:
                case VALUE_BOOL:
                        return pbjson_scalar_to_json(w, fd, member, out);
                case VALUE_STRUCT:
                        return struct_to_json(w, *(ProtobufCMessage *const *)member, out);
                case VALUE_LIST:
                        return list_to_json(w, *(ProtobufCMessage *const *)member, out);
                }
                break;
        }
        /* null_value, or nothing set: either way null */
        *out = json_null();
        return CAIRN_OK;
}

/* ---- dispatch ---- */

cairn_err_t pbjson_wkt_from_json(struct pbjson_walk *w, enum pbjson_wkt kind, ProtobufCMessage *msg,
                                 const json_t *v)
{
        const ProtobufCFieldDescriptor *fd;

        switch (kind) {
        case PBJSON_WKT_TIMESTAMP:
                return timestamp_from_json(w, msg, v);
        case PBJSON_WKT_DURATION:
                return duration_from_json(w, msg, v);
        case PBJSON_WKT_STRUCT:
                return struct_from_json(w, msg, v);
        case PBJSON_WKT_VALUE:
                return value_from_json(w, msg, v);
        case PBJSON_WKT_LIST_VALUE:
                return list_from_json(w, msg, v);
        case PBJSON_WKT_FIELD_MASK:
                return field_mask_from_json(w, msg, v);
        case PBJSON_WKT_WRAPPER:
                fd = field(msg->descriptor, 1);
                return pbjson_scalar_from_json(w, fd, v, pbjson_member(msg, fd));
        case PBJSON_WKT_ANY:
                return pbjson_fail(w, "google.protobuf.Any is not supported");
        case PBJSON_WKT_NONE:
                break;
        }
        assert(!"not a well-known type");
        return CAIRN_ERR_INTERNAL;
}

cairn_err_t pbjson_wkt_to_json(struct pbjson_walk *w, enum pbjson_wkt kind,
                               const ProtobufCMessage *msg, json_t **out)
{
        const ProtobufCFieldDescriptor *fd;

        switch (kind) {
        case PBJSON_WKT_TIMESTAMP:
                return timestamp_to_json(w, msg, out);
        case PBJSON_WKT_DURATION:
                return duration_to_json(w, msg, out);
        case PBJSON_WKT_STRUCT:
                return struct_to_json(w, msg, out);
        case PBJSON_WKT_VALUE:
                return value_to_json(w, msg, out);
        case PBJSON_WKT_LIST_VALUE:
                return list_to_json(w, msg, out);
        case PBJSON_WKT_FIELD_MASK:
                return field_mask_to_json(w, msg, out);
        case PBJSON_WKT_WRAPPER:
                fd = field(msg->descriptor, 1);
                return pbjson_scalar_to_json(w, fd, pbjson_member(msg, fd), out);
        case PBJSON_WKT_ANY:
                return pbjson_fail(w, "google.protobuf.Any is not supported");
        case PBJSON_WKT_NONE:
                break;
        }
        assert(!"not a well-known type");
        return CAIRN_ERR_INTERNAL;
}
