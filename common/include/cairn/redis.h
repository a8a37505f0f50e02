/* A small pool of hiredis connections to one Redis server, with bounded
 * connect and command timeouts, reconnect after failures (at most once per
 * retry interval, so a dead server costs callers nothing but a flag check),
 * Lua scripts run by EVALSHA with NOSCRIPT handled by loading them again,
 * and a readiness check.
 *
 * Every call blocks its thread for at most the connect timeout plus the
 * command timeout: callers on latency-critical threads keep both small. */
#ifndef CAIRN_REDIS_H
#define CAIRN_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "cairn/conf.h"
#include "cairn/err.h"

struct cairn_metrics;

/* Settings, loaded through cairn_redis_conf_items (section "redis"). */
struct cairn_redis_conf {
        const char *host;
        long long port;
        const char *password; /* secret; empty: no AUTH */
        long long db;
        long long pool_size; /* connections kept open at most */
        long long connect_timeout_ms;
        long long command_timeout_ms;
        long long retry_interval_ms; /* after a failure, no new connect before this */
};

extern const struct cairn_conf_item cairn_redis_conf_items[];

struct cairn_redis;

/* Creates the pool; connects lazily, so a server that is down at start is
 * no error. @p rconf is borrowed and must outlive the pool; @p metrics may
 * be NULL. */
struct cairn_redis *cairn_redis_new(const struct cairn_redis_conf *rconf,
                                    struct cairn_metrics *metrics);

void cairn_redis_free(struct cairn_redis *redis);

/* Runs one command (printf-like, hiredis's format). Returns the reply (the
 * caller frees it with freeReplyObject) or NULL when the server cannot be
 * reached or timed out, with the reason in @p errstr. A Redis error reply
 * (REDIS_REPLY_ERROR) is returned as a reply, not as NULL.
 * @locality any thread. */
redisReply *cairn_redis_command(struct cairn_redis *redis, char *errstr, size_t errstr_size,
                                const char *fmt, ...);

/* The same with an argument vector (binary-safe; @p argvlen may be NULL for
 * NUL-terminated strings). */
redisReply *cairn_redis_commandargv(struct cairn_redis *redis, int argc, const char **argv,
                                    const size_t *argvlen, char *errstr, size_t errstr_size);

/* A Lua script known by its SHA-1, computed once by cairn_redis_script_init(). */
struct cairn_redis_script {
        const char *source; /* borrowed, usually a string literal */
        char sha1[41];
};

void cairn_redis_script_init(struct cairn_redis_script *script, const char *source);

/* EVALSHA @p script with @p nkeys keys followed by the other arguments of
 * @p argv (@p argc in all, NUL-terminated strings); loads the script and
 * retries once when the server answers NOSCRIPT (after a restart or a
 * SCRIPT FLUSH). Returns as cairn_redis_command(). */
redisReply *cairn_redis_eval(struct cairn_redis *redis, const struct cairn_redis_script *script,
                             int nkeys, int argc, const char **argv, char *errstr,
                             size_t errstr_size);

/* Readiness: PING answered PONG within the timeouts. Usable as a
 * cairn_ready_fn. */
bool cairn_redis_ready(void *redis, char *why, size_t why_size);

/* True when the last attempt to reach the server failed and the retry
 * interval has not passed yet: calls would fail at once. */
bool cairn_redis_down(struct cairn_redis *redis);

/* Sends @p ncmds commands (argc[i] arguments argv[i], lengths argvlen[i],
 * which may be NULL for NUL-terminated strings) on one connection without
 * waiting between them, then reads every reply into @p replies[i] (the
 * caller frees each with freeReplyObject). Returns 0, or -1 when the
 * server cannot be reached or a reply did not come in time (no replies are
 * left to free), with the reason in @p errstr. Used by the embedding cache
 * for SET EX of many entries in one round trip. @locality any thread. */
int cairn_redis_pipeline(struct cairn_redis *redis, size_t ncmds, const int *argc,
                         const char *const *const *argv, const size_t *const *argvlen,
                         redisReply **replies, char *errstr, size_t errstr_size);

#endif
