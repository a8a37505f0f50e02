/* Idempotency keys: the first request with a key claims it in Redis (with
 * its body's hash), its response is stored under the key for the TTL, and a
 * later request with the same key gets that response back, or 422 when its
 * body differs. Keys are scoped to the tenant.
 *
 * Redis value: "P <hash>" while the first request runs (expires after
 * PENDING_MS, so a crashed gateway does not block the key for long), then
 * "D <hash> <status>\n<body>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "idem.h"

#define PENDING_MS 120000

bool gw_idem_key_valid(const char *key)
{
        size_t n = key ? strlen(key) : 0;

        if (n == 0 || n > 255)
                return false;
        for (size_t i = 0; i < n; i++)
                if (key[i] < 0x21 || key[i] > 0x7e)
                        return false;
        return true;
}

static void key_of(char *out, size_t size, const char *tenant, const char *key)
{
        snprintf(out, size, "cairn:idem:{%s}:%s", tenant, key);
}

enum gw_idem_state gw_idem_begin(struct cairn_redis *redis, const char *tenant, const char *key,
                                 const char *body_hash, long long ttl_s, struct gw_idem_hit *hit)
{
        char rkey[512], val[80], errstr[256];
        redisReply *r;

        (void)ttl_s;
        memset(hit, 0, sizeof(*hit));
        key_of(rkey, sizeof(rkey), tenant, key);
        snprintf(val, sizeof(val), "P %s", body_hash);
        for (int attempt = 0; attempt < 2; attempt++) {
                r = cairn_redis_command(redis, errstr, sizeof(errstr), "SET %s %s NX PX %d", rkey,
                                        val, PENDING_MS);
                if (!r || r->type == REDIS_REPLY_ERROR)
                        goto unavailable;
                bool claimed = r->type == REDIS_REPLY_STATUS;
                freeReplyObject(r);
                if (claimed)
                        return GW_IDEM_NEW;

                r = cairn_redis_command(redis, errstr, sizeof(errstr), "GET %s", rkey);
                if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL))
                        goto unavailable;
                if (r->type == REDIS_REPLY_NIL) {
                        freeReplyObject(r);
                        continue; /* expired in between: claim again */
                }
                const char *s = r->str;
                size_t len = r->len;
                enum gw_idem_state st;
                if (len < 66 || (s[0] != 'P' && s[0] != 'D') || s[1] != ' ') {
                        freeReplyObject(r);
                        snprintf(errstr, sizeof(errstr), "malformed value under %.200s", rkey);
                        goto unavailable;
                }
                if (memcmp(s + 2, body_hash, 64) != 0) {
                        st = GW_IDEM_MISMATCH;
                } else if (s[0] == 'P') {
                        st = GW_IDEM_IN_PROGRESS;
                } else {
                        const char *nl = memchr(s, '\n', len);
                        st = GW_IDEM_REPLAY;
                        hit->status = atoi(s + 67);
                        if (!nl || hit->status < 100 || hit->status > 599) {
                                freeReplyObject(r);
                                snprintf(errstr, sizeof(errstr), "malformed value under %.200s",
                                         rkey);
                                goto unavailable;
                        }
                        hit->len = len - (size_t)(nl + 1 - s);
                        hit->body = malloc(hit->len + 1);
                        if (!hit->body)
                                abort();
                        memcpy(hit->body, nl + 1, hit->len);
                        hit->body[hit->len] = '\0';
                }
                freeReplyObject(r);
                return st;
        }
        snprintf(errstr, sizeof(errstr), "key kept expiring");
unavailable:
        if (r)
                freeReplyObject(r);
        cairn_log(WARN, "IDEM", "idempotency key not checked (%s): request runs without", errstr);
        return GW_IDEM_UNAVAILABLE;
}

void gw_idem_finish(struct cairn_redis *redis, const char *tenant, const char *key,
                    const char *body_hash, long long ttl_s, int status, const char *body,
                    size_t len)
{
        char rkey[512], errstr[256], head[96];
        redisReply *r;

        key_of(rkey, sizeof(rkey), tenant, key);
        if (status >= 500 || status == 429) {
                /* Not an answer worth replaying: a retry runs again. */
                r = cairn_redis_command(redis, errstr, sizeof(errstr), "DEL %s", rkey);
        } else {
                int n = snprintf(head, sizeof(head), "D %s %d\n", body_hash, status);
                char *val = malloc((size_t)n + len);

                if (!val)
                        abort();
                memcpy(val, head, (size_t)n);
                memcpy(val + n, body, len);
                r = cairn_redis_command(redis, errstr, sizeof(errstr), "SET %s %b PX %lld", rkey,
                                        val, (size_t)n + len, ttl_s * 1000);
                free(val);
        }
        if (!r)
                cairn_log(WARN, "IDEM", "idempotent response not stored: %s", errstr);
        else
                freeReplyObject(r);
}
