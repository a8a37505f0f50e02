/* Structured logging: one JSON object per line on stdout with ts, level,
 * service, fac (a short facility), msg and the fields of the request being
 * handled on this thread (ce_id, ce_type, key, trace_id, span_id). */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include <stdarg.h>
#include <stdio.h>

enum cairn_log_level {
        CAIRN_LOG_DEBUG = 0,
        CAIRN_LOG_INFO,
        CAIRN_LOG_WARN,
        CAIRN_LOG_ERROR,
};

/* Per-thread request fields added to every line written while they are set.
 * All strings are borrowed: they must outlive the cairn_log_ctx_set() scope. */
struct cairn_log_ctx {
        const char *ce_id;
        const char *ce_type;
        const char *key;
        const char *request_id;
        const char *trace_id;
        const char *span_id;
};

/* Sets the service name and minimum level; call once from main before
 * threads start. @p service is copied. */
void cairn_log_init(const char *service, enum cairn_log_level level);

/* Changes the level at runtime (thread-safe). */
void cairn_log_set_level(enum cairn_log_level level);
enum cairn_log_level cairn_log_get_level(void);

/* Parses "debug", "info", "warn", "error"; returns -1 otherwise. */
int cairn_log_level_parse(const char *name);
const char *cairn_log_level_str(enum cairn_log_level level);

/* Redirects output (tests); NULL restores stdout. Not thread-safe. */
void cairn_log_set_stream(FILE *fp);

/* Sets (or with NULL clears) this thread's request fields. @p ctx is borrowed. */
void cairn_log_ctx_set(const struct cairn_log_ctx *ctx);
const struct cairn_log_ctx *cairn_log_ctx_get(void);

void cairn_log_write(enum cairn_log_level level, const char *fac, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void cairn_log_vwrite(enum cairn_log_level level, const char *fac, const char *fmt, va_list ap);

/* The level is checked before the arguments are formatted. */
#define cairn_log(LVL, FAC, ...)                                            \
        do {                                                                \
                if (CAIRN_LOG_##LVL >= cairn_log_get_level())               \
                        cairn_log_write(CAIRN_LOG_##LVL, FAC, __VA_ARGS__); \
        } while (0)

#endif
