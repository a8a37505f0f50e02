/* Structured logging: every call becomes one JSON line, with secrets masked
 * and invalid UTF-8 replaced, written whole so threads never interleave. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "cairn/buf.h"
#include "cairn/log.h"
#include "cairn/utf8.h"

#define MSG_MAX  4096           /* bytes of message kept; the rest becomes "…" */
#define ELLIPSIS "\xe2\x80\xa6" /* … */
#define REPLACED "\xef\xbf\xbd" /* U+FFFD */
#define REDACTED "[REDACTED]"

static atomic_int min_level = CAIRN_LOG_INFO;
static char service[64] = "cairn";
static FILE *out; /* NULL: stdout */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread const struct cairn_log_ctx *ctx;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void cairn_log_init(const char *name, enum cairn_log_level level)
{
        snprintf(service, sizeof(service), "%s", name ? name : "");
        cairn_log_set_level(level);
}

void cairn_log_set_level(enum cairn_log_level level)
{
        atomic_store_explicit(&min_level, (int)level, memory_order_relaxed);
}

enum cairn_log_level cairn_log_get_level(void)
{
        return (enum cairn_log_level)atomic_load_explicit(&min_level, memory_order_relaxed);
}

int cairn_log_level_parse(const char *name)
{
        if (!name)
                return -1;
        for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
                if (strcasecmp(name, level_names[i]) == 0)
                        return (int)i;
        }
        return -1;
}

const char *cairn_log_level_str(enum cairn_log_level level)
{
        if ((int)level < 0 || (size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
                return "unknown";
        return level_names[level];
}

void cairn_log_set_stream(FILE *fp)
{
        out = fp;
}

void cairn_log_ctx_set(const struct cairn_log_ctx *c)
{
        ctx = c;
}

const struct cairn_log_ctx *cairn_log_ctx_get(void)
{
        return ctx;
}

static bool is_word(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
}

static bool is_b64url(unsigned char c)
{
        return is_word(c) || c == '-';
}

static bool is_space(unsigned char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Where a credential that follows "password=" and the like ends. A quoted
 * value runs to its closing quote. */
static size_t value_end(const char *s, size_t i, size_t len)
{
        if (i < len && (s[i] == '"' || s[i] == '\'')) {
                char q = s[i];
                size_t j = i + 1;

                while (j < len && s[j] != q)
                        j++;
                return j < len ? j + 1 : len;
        }
        while (i < len) {
                unsigned char c = (unsigned char)s[i];

                if (is_space(c) || c == '&' || c == ',' || c == ';' || c == '"' || c == '\'')
                        break;
                i++;
        }
        return i;
}

static bool has_prefix_ci(const char *s, size_t i, size_t len, const char *prefix)
{
        size_t n = strlen(prefix);

        return len - i >= n && strncasecmp(s + i, prefix, n) == 0;
}

/* What follows a marker. */
enum value_kind {
        VALUE_PLAIN, /* password=...: everything up to a delimiter */
        VALUE_AUTH,  /* an authorization header: a scheme word may come first */
        VALUE_TOKEN, /* after "Bearer ": a token68 credential, or nothing */
};

/* The markers after which a value is a credential. */
static const struct marker {
        const char *text;
        enum value_kind kind;
} markers[] = {
        { "authorization=", VALUE_AUTH }, { "authorization:", VALUE_AUTH },
        { "password=", VALUE_PLAIN },     { "secret=", VALUE_PLAIN },
        { "token=", VALUE_PLAIN },        { "api_key=", VALUE_PLAIN },
        { "apikey=", VALUE_PLAIN },       { "bearer ", VALUE_TOKEN },
};

/* The length of a JWT (eyJ... . ... . ...) starting at @p i, or 0. */
static size_t jwt_len(const char *s, size_t i, size_t len)
{
        size_t j = i, dots = 0, seg = 0;

        if (len - i < 3 || memcmp(s + i, "eyJ", 3) != 0)
                return 0;
        if (i > 0 && is_b64url((unsigned char)s[i - 1]))
                return 0;
        while (j < len) {
                unsigned char c = (unsigned char)s[j];

                if (is_b64url(c)) {
                        seg++;
                } else if (c == '.' && dots < 2 && seg > 0) {
                        dots++;
                        seg = 0;
                } else {
                        break;
                }
                j++;
        }
        /* An unsigned token ends with its second dot: still a token. */
        return dots == 2 ? j - i : 0;
}

/* The length of an API key (ck_ and at least 8 word characters) at @p i, or 0. */
static size_t api_key_len(const char *s, size_t i, size_t len)
{
        size_t j = i + 3;

        if (len - i < 3 || memcmp(s + i, "ck_", 3) != 0)
                return 0;
        if (i > 0 && is_word((unsigned char)s[i - 1]))
                return 0;
        while (j < len && is_word((unsigned char)s[j]))
                j++;
        return j - (i + 3) >= 8 ? j - i : 0;
}

static bool is_auth_scheme(const char *s, size_t n)
{
        static const char *const schemes[] = { "bearer", "basic",     "digest",
                                               "token",  "negotiate", "apikey" };

        for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
                if (strlen(schemes[k]) == n && strncasecmp(s, schemes[k], n) == 0)
                        return true;
        }
        return false;
}

/* RFC 7235 token68: base64, base64url and JWT characters. */
static bool is_token68(unsigned char c)
{
        return is_b64url(c) || c == '.' || c == '~' || c == '+' || c == '/';
}

#define TOKEN68_MIN 3 /* shorter runs are words ("is", "a"), never an issued credential */

/* The length of the token68 credential at @p i (with its '=' padding), or 0
 * when what is there cannot be one: the service's own help text ("send
 * Authorization: Bearer <token or API key>") is not a credential. */
static size_t token68_len(const char *s, size_t i, size_t len)
{
        size_t j = i;

        while (j < len && is_token68((unsigned char)s[j]))
                j++;
        if (j - i < TOKEN68_MIN)
                return 0;
        while (j < len && s[j] == '=')
                j++;
        return j - i;
}

/* The length of the credential after a marker of @p kind at @p i, or 0 when
 * there is none; for authorization a scheme ("Bearer", "Basic") goes with
 * its credential, and a scheme without one is no secret. */
static size_t credential_len(const char *s, size_t i, size_t len, enum value_kind kind)
{
        size_t end, cred;

        if (kind == VALUE_TOKEN)
                return token68_len(s, i, len);
        end = value_end(s, i, len);
        if (kind == VALUE_PLAIN || !is_auth_scheme(s + i, end - i))
                return end - i;
        cred = end;
        while (cred < len && s[cred] == ' ')
                cred++;
        end = token68_len(s, cred, len);
        return end ? cred + end - i : 0;
}

/* Copies @p s to @p b with every credential replaced by [REDACTED]. */
static void redact(struct cairn_buf *b, const char *s, size_t len)
{
        size_t i = 0, copied = 0;

        while (i < len) {
                size_t skip = 0, keep = 0;

                for (size_t m = 0; m < sizeof(markers) / sizeof(markers[0]); m++) {
                        if (!has_prefix_ci(s, i, len, markers[m].text))
                                continue;
                        keep = strlen(markers[m].text);
                        while (i + keep < len && (s[i + keep] == ' ' || s[i + keep] == '\t'))
                                keep++;
                        skip = credential_len(s, i + keep, len, markers[m].kind);
                        break;
                }
                if (skip == 0) {
                        keep = 0;
                        skip = api_key_len(s, i, len);
                }
                if (skip == 0)
                        skip = jwt_len(s, i, len);
                if (skip == 0) {
                        i += keep ? keep : 1;
                        continue;
                }
                cairn_buf_add(b, s + copied, i + keep - copied);
                cairn_buf_add(b, REDACTED, strlen(REDACTED));
                i += keep + skip;
                copied = i;
        }
        cairn_buf_add(b, s + copied, len - copied);
}

/* The length of the UTF-8 sequence a lead byte announces, 0 if it is none. */
static size_t seq_len(unsigned char c)
{
        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF)
                return 2;
        if (c >= 0xE0 && c <= 0xEF)
                return 3;
        if (c >= 0xF0 && c <= 0xF4)
                return 4;
        return 0;
}

/* Appends @p s to @p b with each byte that is not part of valid UTF-8
 * replaced by U+FFFD. */
static void sanitize(struct cairn_buf *b, const char *s, size_t len)
{
        if (cairn_utf8_valid(s, len)) {
                cairn_buf_add(b, s, len);
                return;
        }
        for (size_t i = 0; i < len;) {
                size_t n = seq_len((unsigned char)s[i]);

                if (n > 0 && n <= len - i && cairn_utf8_valid(s + i, n)) {
                        cairn_buf_add(b, s + i, n);
                        i += n;
                } else {
                        cairn_buf_add(b, REPLACED, strlen(REPLACED));
                        i++;
                }
        }
}

/* A JSON string of @p s, made valid UTF-8 first. */
static json_t *text_new(const char *s, size_t len)
{
        struct cairn_buf b = { 0 };
        json_t *js;

        if (cairn_utf8_valid(s, len))
                return json_stringn(s, len);
        sanitize(&b, s, len);
        js = b.oom ? NULL : json_stringn(b.p ? b.p : "", b.len);
        free(b.p);
        return js;
}

static void field_add(json_t *obj, const char *name, const char *value)
{
        if (value && value[0])
                json_object_set_new(obj, name, text_new(value, strlen(value)));
}

/* Cuts @p b to MSG_MAX bytes on a character boundary and marks the cut. */
static void truncate_msg(struct cairn_buf *b)
{
        size_t cut = MSG_MAX;

        if (b->oom || b->len <= MSG_MAX)
                return;
        while (cut > MSG_MAX - 3 && ((unsigned char)b->p[cut] & 0xC0) == 0x80)
                cut--;
        b->len = cut;
        cairn_buf_add(b, ELLIPSIS, strlen(ELLIPSIS));
}

/* RFC 3339 in UTC with milliseconds: 2026-11-23T16:30:07.123Z */
static void timestamp(char *ts, size_t size)
{
        struct timespec now;
        struct tm tm;
        unsigned ms;
        size_t n;

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        ms = (unsigned)(now.tv_nsec / 1000000) % 1000u;
        n = strftime(ts, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, size - n, ".%03uZ", ms);
}

void cairn_log_vwrite(enum cairn_log_level level, const char *fac, const char *fmt, va_list ap)
{
        const struct cairn_log_ctx *c = ctx;
        char stack[512];
        char *raw = stack;
        struct cairn_buf redacted = { 0 };
        struct cairn_buf msg = { 0 };
        char ts[40];
        json_t *obj;
        char *line;
        va_list copy;
        int n;

        if ((int)level < (int)cairn_log_get_level())
                return;
        timestamp(ts, sizeof(ts));

        va_copy(copy, ap);
        n = vsnprintf(stack, sizeof(stack), fmt, copy);
        va_end(copy);
        if (n < 0)
                n = 0;
        if ((size_t)n >= sizeof(stack)) {
                raw = malloc((size_t)n + 1);
                if (!raw)
                        return;
                vsnprintf(raw, (size_t)n + 1, fmt, ap);
        }
        /* Redact before cutting, so a cut cannot hide a secret from the
         * patterns; replace bad bytes before cutting, so the limit holds. */
        redact(&redacted, raw, (size_t)n);
        if (raw != stack)
                free(raw);
        sanitize(&msg, redacted.p ? redacted.p : "", redacted.len);
        free(redacted.p);
        truncate_msg(&msg);
        if (redacted.oom || msg.oom) {
                free(msg.p);
                return;
        }

        obj = json_object();
        if (!obj) {
                free(msg.p);
                return;
        }
        json_object_set_new(obj, "ts", json_string(ts));
        json_object_set_new(obj, "level", json_string(cairn_log_level_str(level)));
        json_object_set_new(obj, "service", text_new(service, strlen(service)));
        json_object_set_new(obj, "fac", text_new(fac ? fac : "", fac ? strlen(fac) : 0));
        json_object_set_new(obj, "msg", json_stringn(msg.p ? msg.p : "", msg.len));
        free(msg.p);
        if (c) {
                field_add(obj, "ce_id", c->ce_id);
                field_add(obj, "ce_type", c->ce_type);
                field_add(obj, "key", c->key);
                field_add(obj, "request_id", c->request_id);
                field_add(obj, "trace_id", c->trace_id);
                field_add(obj, "span_id", c->span_id);
        }
        line = json_dumps(obj, JSON_PRESERVE_ORDER | JSON_COMPACT);
        json_decref(obj);
        if (!line)
                return;

        /* One write of the whole line: lines from threads never interleave. */
        size_t len = strlen(line);
        FILE *fp;

        line[len] = '\n'; /* the NUL becomes the newline: len + 1 bytes go out */
        pthread_mutex_lock(&out_lock);
        fp = out ? out : stdout;
        fwrite(line, 1, len + 1, fp);
        fflush(fp);
        pthread_mutex_unlock(&out_lock);
        free(line);
}

void cairn_log_write(enum cairn_log_level level, const char *fac, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cairn_log_vwrite(level, fac, fmt, ap);
        va_end(ap);
}
