/* Sealed values at the gateway: its key pair, and the secrets service's
 * public key kept behind a mutex, read by the event-loop threads (writes),
 * written by their replies and by the refresh thread. The refresh makes a
 * blocking call on its own thread, never on an event-loop thread. */
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/bus.h"
#include "cairn/log.h"
#include "cairn/periodic.h"
#include "cairn/secrets/v1/secrets.pb-c.h"
#include "sealing.h"

#define GW_SEALING_TENANT_MAX 128

struct gw_sealing {
        struct cairn_seal_keys *keys;
        pthread_mutex_t mu;
        bool known;
        uint32_t version;
        uint8_t pk[CAIRN_SEAL_KEY_BYTES];
        char tenant[GW_SEALING_TENANT_MAX + 1]; /* the last that needed the key */

        struct cairn_periodic *refresh;
        struct cairn_bus_client *bus;
        const char *topic;
        long long timeout_ms;
};

struct gw_sealing *gw_sealing_new(void)
{
        struct gw_sealing *s = calloc(1, sizeof(*s));

        if (!s)
                abort();
        s->keys = cairn_seal_keys_new();
        if (!s->keys) {
                free(s);
                return NULL;
        }
        pthread_mutex_init(&s->mu, NULL);
        return s;
}

void gw_sealing_free(struct gw_sealing *s)
{
        if (!s)
                return;
        gw_sealing_refresh_stop(s);
        cairn_seal_keys_free(s->keys);
        pthread_mutex_destroy(&s->mu);
        free(s);
}

const uint8_t *gw_sealing_reply_key(const struct gw_sealing *s)
{
        return s->keys->pk;
}

char *gw_sealing_open(const struct gw_sealing *s, const uint8_t *box, size_t len, size_t *lenp)
{
        char *out;

        if (len < CAIRN_SEAL_OVERHEAD)
                return NULL;
        out = malloc(len - CAIRN_SEAL_OVERHEAD + 1);
        if (!out)
                abort();
        if (cairn_seal_open(s->keys, box, len, (uint8_t *)out) != 0) {
                gw_sealing_wipe(out, len - CAIRN_SEAL_OVERHEAD);
                return NULL;
        }
        out[len - CAIRN_SEAL_OVERHEAD] = '\0';
        *lenp = len - CAIRN_SEAL_OVERHEAD;
        return out;
}

void gw_sealing_wipe(void *p, size_t len)
{
        if (!p)
                return;
        sodium_memzero(p, len);
        free(p);
}

bool gw_sealing_service_key(struct gw_sealing *s, const char *tenant, uint32_t *version,
                            uint8_t *pk)
{
        bool known;

        pthread_mutex_lock(&s->mu);
        snprintf(s->tenant, sizeof(s->tenant), "%s", tenant ? tenant : "");
        known = s->known;
        if (known) {
                *version = s->version;
                memcpy(pk, s->pk, CAIRN_SEAL_KEY_BYTES);
        }
        pthread_mutex_unlock(&s->mu);
        return known;
}

void gw_sealing_service_key_set(struct gw_sealing *s, uint32_t version, const uint8_t *pk)
{
        pthread_mutex_lock(&s->mu);
        s->known = true;
        s->version = version;
        memcpy(s->pk, pk, CAIRN_SEAL_KEY_BYTES);
        pthread_mutex_unlock(&s->mu);
}

void gw_sealing_service_key_forget(struct gw_sealing *s, uint32_t version)
{
        pthread_mutex_lock(&s->mu);
        if (s->known && s->version == version)
                s->known = false;
        pthread_mutex_unlock(&s->mu);
}

/* @locality the refresh thread */
static void refresh(void *arg)
{
        struct gw_sealing *s = arg;
        Cairn__Secrets__V1__GetServiceKeyRequest req =
                CAIRN__SECRETS__V1__GET_SERVICE_KEY_REQUEST__INIT;
        struct cairn_call_opts opts = { 0 };
        ProtobufCMessage *msg = NULL;
        const Cairn__Secrets__V1__ServiceKeyReply *reply;
        struct cairn_status st;
        cairn_err_t err;

        char tenant[GW_SEALING_TENANT_MAX + 1];

        pthread_mutex_lock(&s->mu);
        memcpy(tenant, s->tenant, sizeof(tenant));
        pthread_mutex_unlock(&s->mu);
        if (!tenant[0])
                return; /* no write has needed it yet */
        opts.timeout_ms = s->timeout_ms;
        opts.principal = "cairn-gateway";
        opts.role = "service";
        err = cairn_bus_call(s->bus, s->topic, tenant, &req.base, &opts,
                             &cairn__secrets__v1__service_key_reply__descriptor, NULL, &msg, &st);
        if (err != CAIRN_OK) {
                cairn_log(WARN, "SEAL", "refreshing the secrets service's key failed: %s: %s",
                          cairn_err_str(err), st.message);
                return;
        }
        reply = (const Cairn__Secrets__V1__ServiceKeyReply *)msg;
        if (reply->public_key.len == CAIRN_SEAL_KEY_BYTES)
                gw_sealing_service_key_set(s, reply->key_version, reply->public_key.data);
        else
                cairn_log(WARN, "SEAL", "the secrets service's key is %zu bytes, not %d",
                          reply->public_key.len, CAIRN_SEAL_KEY_BYTES);
        protobuf_c_message_free_unpacked(msg, NULL);
}

void gw_sealing_refresh_start(struct gw_sealing *s, struct cairn_bus_client *bus, const char *topic,
                              long long interval_ms, long long timeout_ms)
{
        s->bus = bus;
        s->topic = topic;
        s->timeout_ms = timeout_ms;
        s->refresh = cairn_periodic_start(interval_ms, refresh, s, false);
}

void gw_sealing_refresh_stop(struct gw_sealing *s)
{
        if (!s)
                return;
        cairn_periodic_stop(s->refresh);
        s->refresh = NULL;
}
