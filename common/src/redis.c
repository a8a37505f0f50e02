/* The Redis connection pool: lazy connects with bounded timeouts, a "down"
 * window after failures so callers fail fast, and EVALSHA with NOSCRIPT
 * handled once here.
 *
 * Threads: every function may be called from any thread; the pool's lock is
 * held only to take or return a connection, never across I/O. */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cairn/clock.h"
#include "cairn/log.h"
#include "cairn/metrics.h"
#include "cairn/redis.h"

/* clang-format off */
#define CAIRN_CONF_STRUCT struct cairn_redis_conf
/* clang-format on */

const struct cairn_conf_item cairn_redis_conf_items[] = {
        CAIRN_CONF_ROW("redis.host", CAIRN_CONF_STRING, "127.0.0.1", 0, -1, 0, host,
                       "Redis server host name or address"),
        CAIRN_CONF_ROW("redis.port", CAIRN_CONF_INT, "6379", 1, 65535, 0, port,
                       "Redis server port"),
        CAIRN_CONF_ROW("redis.password", CAIRN_CONF_STRING, "", 0, -1, CAIRN_CONF_SECRET, password,
                       "password sent with AUTH; empty sends none"),
        CAIRN_CONF_ROW("redis.db", CAIRN_CONF_INT, "0", 0, 15, 0, db, "database number (SELECT)"),
        CAIRN_CONF_ROW("redis.pool_size", CAIRN_CONF_INT, "8", 1, 256, 0, pool_size,
                       "connections kept open at most"),
        CAIRN_CONF_ROW(
                "redis.connect_timeout_ms", CAIRN_CONF_INT, "50", 1, 10000, 0, connect_timeout_ms,
                "time a connect may take; callers wait at most this plus the command timeout"),
        CAIRN_CONF_ROW("redis.command_timeout_ms", CAIRN_CONF_INT, "50", 1, 10000, 0,
                       command_timeout_ms,
                       "time one command may take before the connection counts as broken"),
        CAIRN_CONF_ROW(
                "redis.retry_interval_ms", CAIRN_CONF_INT, "1000", 10, 600000, 0, retry_interval_ms,
                "after a failure, calls fail at once for this long before a reconnect is tried"),
        CAIRN_CONF_END,
};

struct cairn_redis {
        const struct cairn_redis_conf *rconf;

        pthread_mutex_t lock;
        pthread_cond_t returned; /* a connection went back to the pool */
        redisContext **idle;
        size_t nidle;
        size_t nopen;            /* idle + lent out + connecting */
        int64_t down_until_us;   /* monotonic; 0 when up */
        atomic_bool down_logged; /* read without the lock on every answer */

        struct cairn_series *s_up;
        struct cairn_series *s_errors;
};

static struct timeval tv_of(long long ms)
{
        return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

struct cairn_redis *cairn_redis_new(const struct cairn_redis_conf *rconf,
                                    struct cairn_metrics *metrics)
{
        struct cairn_redis *redis = calloc(1, sizeof(*redis));

        if (!redis)
                abort();
        redis->rconf = rconf;
        redis->idle = calloc((size_t)rconf->pool_size, sizeof(*redis->idle));
        if (!redis->idle)
                abort();
        pthread_mutex_init(&redis->lock, NULL);
        pthread_cond_init(&redis->returned, NULL);
        atomic_init(&redis->down_logged, false);
        if (metrics) {
                redis->s_up = cairn_metric_series(
                        cairn_metrics_gauge(metrics, "cairn_redis_up",
                                            "1 while Redis answers, 0 after a failure", NULL),
                        NULL);
                redis->s_errors = cairn_metric_series(
                        cairn_metrics_counter(metrics, "cairn_redis_errors_total",
                                              "Redis connects or commands that failed", NULL),
                        NULL);
                cairn_series_set(redis->s_up, 1);
        }
        return redis;
}

void cairn_redis_free(struct cairn_redis *redis)
{
        if (!redis)
                return;
        for (size_t i = 0; i < redis->nidle; i++)
                redisFree(redis->idle[i]);
        free(redis->idle);
        pthread_cond_destroy(&redis->returned);
        pthread_mutex_destroy(&redis->lock);
        free(redis);
}

bool cairn_redis_down(struct cairn_redis *redis)
{
        bool down;

        pthread_mutex_lock(&redis->lock);
        down = redis->down_until_us > cairn_mono_us();
        pthread_mutex_unlock(&redis->lock);
        return down;
}

/* Records a failure: calls fail fast until the retry interval passed. */
static void mark_down(struct cairn_redis *redis, const char *why)
{
        bool first;

        pthread_mutex_lock(&redis->lock);
        redis->down_until_us = cairn_mono_us() + redis->rconf->retry_interval_ms * 1000;
        first = !redis->down_logged;
        redis->down_logged = true;
        /* Under the lock, so the gauge ends where the state does when an
         * answer and a failure race. */
        if (redis->s_up)
                cairn_series_set(redis->s_up, 0);
        pthread_mutex_unlock(&redis->lock);
        if (redis->s_errors)
                cairn_series_inc(redis->s_errors);
        if (first)
                cairn_log(WARN, "REDIS", "redis %s:%lld unreachable: %s; retrying every %lld ms",
                          redis->rconf->host, redis->rconf->port, why,
                          redis->rconf->retry_interval_ms);
}

/* Records an answer. Only an answer counts: a server frozen by SIGSTOP (or
 * wedged) still completes TCP connects from its listen backlog, so a
 * connect alone would report it up again before every command times out. */
static void mark_up(struct cairn_redis *redis)
{
        bool was_down;

        if (!atomic_load(&redis->down_logged))
                return; /* the common case, without the lock */
        pthread_mutex_lock(&redis->lock);
        was_down = redis->down_logged;
        redis->down_logged = false;
        redis->down_until_us = 0;
        if (was_down && redis->s_up)
                cairn_series_set(redis->s_up, 1);
        pthread_mutex_unlock(&redis->lock);
        if (was_down)
                cairn_log(INFO, "REDIS", "redis %s:%lld reachable again", redis->rconf->host,
                          redis->rconf->port);
}

/* Opens, authenticates and selects; NULL with @p errstr set on failure. */
static redisContext *connect_one(struct cairn_redis *redis, char *errstr, size_t errstr_size)
{
        const struct cairn_redis_conf *rc = redis->rconf;
        redisContext *c = redisConnectWithTimeout(rc->host, (int)rc->port,
                                                  tv_of(rc->connect_timeout_ms));
        redisReply *r;

        if (!c || c->err) {
                snprintf(errstr, errstr_size, "connect: %s", c ? c->errstr : "out of memory");
                if (c)
                        redisFree(c);
                return NULL;
        }
        redisSetTimeout(c, tv_of(rc->command_timeout_ms));
        if (rc->password && rc->password[0]) {
                r = redisCommand(c, "AUTH %s", rc->password);
                if (!r || r->type == REDIS_REPLY_ERROR) {
                        snprintf(errstr, errstr_size, "AUTH failed: %s", r ? r->str : c->errstr);
                        if (r)
                                freeReplyObject(r);
                        redisFree(c);
                        return NULL;
                }
                freeReplyObject(r);
        }
        if (rc->db) {
                r = redisCommand(c, "SELECT %lld", rc->db);
                if (!r || r->type == REDIS_REPLY_ERROR) {
                        snprintf(errstr, errstr_size, "SELECT %lld failed: %s", rc->db,
                                 r ? r->str : c->errstr);
                        if (r)
                                freeReplyObject(r);
                        redisFree(c);
                        return NULL;
                }
                freeReplyObject(r);
        }
        return c;
}

/* Takes a connection from the pool or opens one. NULL when Redis is down,
 * the connect failed, or every connection stayed lent out for a command
 * timeout. */
static redisContext *acquire(struct cairn_redis *redis, char *errstr, size_t errstr_size)
{
        redisContext *c = NULL;
        int64_t now = cairn_mono_us();
        int64_t until = now + redis->rconf->command_timeout_ms * 1000;

        pthread_mutex_lock(&redis->lock);
        for (;;) {
                if (redis->down_until_us > cairn_mono_us()) {
                        pthread_mutex_unlock(&redis->lock);
                        snprintf(errstr, errstr_size, "redis is down (next attempt within %lld ms)",
                                 redis->rconf->retry_interval_ms);
                        return NULL;
                }
                if (redis->nidle > 0) {
                        c = redis->idle[--redis->nidle];
                        pthread_mutex_unlock(&redis->lock);
                        return c;
                }
                if (redis->nopen < (size_t)redis->rconf->pool_size) {
                        redis->nopen++;
                        break;
                }
                now = cairn_mono_us();
                if (now >= until) {
                        pthread_mutex_unlock(&redis->lock);
                        snprintf(errstr, errstr_size, "all %lld redis connections busy",
                                 redis->rconf->pool_size);
                        return NULL;
                }
                struct timespec ts = cairn_timespec_in(CLOCK_REALTIME, until - now);
                pthread_cond_timedwait(&redis->returned, &redis->lock, &ts);
        }
        pthread_mutex_unlock(&redis->lock);

        c = connect_one(redis, errstr, errstr_size);
        if (!c) {
                pthread_mutex_lock(&redis->lock);
                redis->nopen--;
                pthread_cond_signal(&redis->returned);
                pthread_mutex_unlock(&redis->lock);
                mark_down(redis, errstr);
                return NULL;
        }
        return c;
}

/* Returns @p c to the pool, or closes it when it failed (hiredis contexts
 * with err set are unusable). */
static void release(struct cairn_redis *redis, redisContext *c)
{
        pthread_mutex_lock(&redis->lock);
        if (c->err) {
                redis->nopen--;
                pthread_mutex_unlock(&redis->lock);
                redisFree(c);
        } else {
                redis->idle[redis->nidle++] = c;
                pthread_mutex_unlock(&redis->lock);
        }
        pthread_mutex_lock(&redis->lock);
        pthread_cond_signal(&redis->returned);
        pthread_mutex_unlock(&redis->lock);
}

/* Sends on a pooled connection; on an I/O error of a connection that was
 * idle (the server may have restarted meanwhile) tries once more on a new one. */
static redisReply *run(struct cairn_redis *redis, int argc, const char **argv,
                       const size_t *argvlen, char *errstr, size_t errstr_size)
{
        for (int attempt = 0; attempt < 2; attempt++) {
                redisContext *c = acquire(redis, errstr, errstr_size);
                redisReply *r;

                if (!c)
                        return NULL;
                r = redisCommandArgv(c, argc, argv, argvlen);
                if (r) {
                        release(redis, c);
                        mark_up(redis);
                        return r;
                }
                snprintf(errstr, errstr_size, "%s: %s", argv[0], c->err ? c->errstr : "no reply");
                bool timeout = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
                if (!c->err)
                        c->err = REDIS_ERR_OTHER;
                release(redis, c);
                if (timeout)
                        break;
        }
        mark_down(redis, errstr);
        return NULL;
}

redisReply *cairn_redis_commandargv(struct cairn_redis *redis, int argc, const char **argv,
                                    const size_t *argvlen, char *errstr, size_t errstr_size)
{
        return run(redis, argc, argv, argvlen, errstr, errstr_size);
}

redisReply *cairn_redis_command(struct cairn_redis *redis, char *errstr, size_t errstr_size,
                                const char *fmt, ...)
{
        for (int attempt = 0; attempt < 2; attempt++) {
                redisContext *c = acquire(redis, errstr, errstr_size);
                redisReply *r;
                va_list ap;

                if (!c)
                        return NULL;
                va_start(ap, fmt);
                r = redisvCommand(c, fmt, ap);
                va_end(ap);
                if (r) {
                        release(redis, c);
                        mark_up(redis);
                        return r;
                }
                snprintf(errstr, errstr_size, "command: %s", c->err ? c->errstr : "no reply");
                bool timeout = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
                if (!c->err)
                        c->err = REDIS_ERR_OTHER;
                release(redis, c);
                if (timeout)
                        break;
        }
        mark_down(redis, errstr);
        return NULL;
}

void cairn_redis_script_init(struct cairn_redis_script *script, const char *source)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;

        script->source = source;
        EVP_Digest(source, strlen(source), md, &mdlen, EVP_sha1(), NULL);
        for (unsigned int i = 0; i < mdlen && i < 20; i++)
                snprintf(script->sha1 + 2 * i, 3, "%02x", md[i]);
}

redisReply *cairn_redis_eval(struct cairn_redis *redis, const struct cairn_redis_script *script,
                             int nkeys, int argc, const char **argv, char *errstr,
                             size_t errstr_size)
{
        const char *args[3 + 32];
        char nk[16];
        redisReply *r;

        if (argc > 32) {
                snprintf(errstr, errstr_size, "too many script arguments");
                return NULL;
        }
        snprintf(nk, sizeof(nk), "%d", nkeys);
        args[0] = "EVALSHA";
        args[1] = script->sha1;
        args[2] = nk;
        for (int i = 0; i < argc; i++)
                args[3 + i] = argv[i];
        r = run(redis, 3 + argc, args, NULL, errstr, errstr_size);
        if (!r || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0)
                return r;
        freeReplyObject(r);
        r = cairn_redis_command(redis, errstr, errstr_size, "SCRIPT LOAD %s", script->source);
        if (!r)
                return NULL;
        if (r->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size, "SCRIPT LOAD: %s", r->str);
                freeReplyObject(r);
                return NULL;
        }
        freeReplyObject(r);
        return run(redis, 3 + argc, args, NULL, errstr, errstr_size);
}

bool cairn_redis_ready(void *opaque, char *why, size_t why_size)
{
        struct cairn_redis *redis = opaque;
        redisReply *r;

        /* A readiness probe is allowed one real attempt even while down. */
        pthread_mutex_lock(&redis->lock);
        redis->down_until_us = 0;
        pthread_mutex_unlock(&redis->lock);
        r = cairn_redis_command(redis, why, why_size, "PING");
        if (!r)
                return false;
        bool ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        if (!ok)
                snprintf(why, why_size, "PING answered %s", r->str ? r->str : "something else");
        freeReplyObject(r);
        return ok;
}

int cairn_redis_pipeline(struct cairn_redis *redis, size_t ncmds, const int *argc,
                         const char *const *const *argv, const size_t *const *argvlen,
                         redisReply **replies, char *errstr, size_t errstr_size)
{
        redisContext *c;
        size_t got = 0;

        for (size_t i = 0; i < ncmds; i++)
                replies[i] = NULL;
        if (ncmds == 0)
                return 0;
        c = acquire(redis, errstr, errstr_size);
        if (!c)
                return -1;
        for (size_t i = 0; i < ncmds; i++) {
                if (redisAppendCommandArgv(c, argc[i], (const char **)argv[i],
                                           argvlen ? argvlen[i] : NULL) != REDIS_OK)
                        goto fail;
        }
        for (got = 0; got < ncmds; got++) {
                void *r = NULL;

                if (redisGetReply(c, &r) != REDIS_OK || !r)
                        goto fail;
                replies[got] = r;
        }
        release(redis, c);
        mark_up(redis);
        return 0;
fail:
        snprintf(errstr, errstr_size, "pipeline: %s", c->err ? c->errstr : "no reply");
        if (!c->err)
                c->err = REDIS_ERR_OTHER;
        release(redis, c);
        for (size_t i = 0; i < got; i++) {
                freeReplyObject(replies[i]);
                replies[i] = NULL;
        }
        mark_down(redis, errstr);
        return -1;
}
