/* The secrets service's test fixture (secrets_fixture.h). */
#include "secrets_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void start(struct sfx *f, const char *const *extra_env)
{
        char e[4][700];
        const char *env[32] = { e[0], e[1], e[2], e[3] };
        size_t n = 4;

        snprintf(e[0], sizeof(e[0]), "CAIRN_PG_URL=%s", f->pg_url);
        snprintf(e[1], sizeof(e[1]), "CAIRN_SECRETS_ROOT_KEY_FILE=%s", f->key_file);
        snprintf(e[2], sizeof(e[2]), "CAIRN_SECRETS_AUDIT_TOPIC=%s",
                 harness_topic("cairn.audit.v1"));
        snprintf(e[3], sizeof(e[3]), "CAIRN_SECRETS_EVENTS_TOPIC=%s",
                 harness_topic("cairn.secrets.v1.events"));
        for (size_t i = 0; extra_env && extra_env[i] && n < 31; i++)
                env[n++] = extra_env[i];
        env[n] = NULL;
        harness_service_start(&f->proc, f->broker, "secrets", env);
        ck_assert_msg(harness_wait_ready(&f->proc, 30000), "secrets not ready (%s)",
                      f->proc.log_path);
}

void sfx_start(struct sfx *f, const struct harness_broker *b, const char *const *extra_env)
{
        memset(f, 0, sizeof(*f));
        f->broker = b;
        harness_pg_database(f->pg_url, sizeof(f->pg_url));
        f->topic = harness_topic("cairn.secrets.v1.requests");
        snprintf(f->key_file, sizeof(f->key_file), "%s/root.key", b->dir);
        harness_write_file(f->key_file, SFX_ROOT_KEY);
        ck_assert_int_eq(chmod(f->key_file, 0600), 0);
        start(f, extra_env);
        harness_client_start(&f->client, b, "itest");
        harness_client_direct(&f->client, f->topic, 0);
        f->me = cairn_seal_keys_new();
        ck_assert_ptr_nonnull(f->me);
        pthread_mutex_init(&f->key_lock, NULL);
}

void sfx_restart(struct sfx *f, const char *const *extra_env)
{
        start(f, extra_env);
}

void sfx_stop(struct sfx *f)
{
        cairn_seal_keys_free(f->me);
        harness_client_stop(&f->client);
        pthread_mutex_destroy(&f->key_lock);
        ck_assert_int_eq(harness_service_stop(&f->proc, 10000), 0);
}

cairn_err_t sfx_call(struct sfx *f, const char *tenant, const char *principal, const char *role,
                     const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *reply_desc,
                     const char *ce_id, ProtobufCMessage **reply, struct cairn_status *st)
{
        struct cairn_call_opts opts = {
                .timeout_ms = 20000, .ce_id = ce_id, .principal = principal, .role = role
        };

        *reply = NULL;
        return cairn_bus_call(f->client.cli, f->topic, tenant, msg, &opts, reply_desc, NULL, reply,
                              st);
}

void sfx_service_key(struct sfx *f, uint32_t *version, uint8_t *pk)
{
        Cairn__Secrets__V1__GetServiceKeyRequest in =
                CAIRN__SECRETS__V1__GET_SERVICE_KEY_REQUEST__INIT;
        Cairn__Secrets__V1__ServiceKeyReply *out;
        struct cairn_status st;

        cairn_err_t err;

        /* The tests' way to the key, not what they test: a call the client
         * could not make (no reply partition assigned yet on a loaded
         * machine) is made again, at most three times. */
        for (int i = 0;; i++) {
                err = sfx_call(f, "t1", "alice", "owner", &in.base,
                               &cairn__secrets__v1__service_key_reply__descriptor, NULL,
                               (ProtobufCMessage **)&out, &st);
                if (err != CAIRN_ERR_UNAVAILABLE || i == 2)
                        break;
                fprintf(stderr, "secrets fixture: GetServiceKey: %s; asked again\n", st.message);
        }
        ck_assert_msg(err == CAIRN_OK, "GetServiceKey: %s: %s", cairn_err_str(err), st.message);
        ck_assert_uint_eq(out->public_key.len, CAIRN_SEAL_KEY_BYTES);
        *version = out->key_version;
        memcpy(pk, out->public_key.data, CAIRN_SEAL_KEY_BYTES);
        protobuf_c_message_free_unpacked(&out->base, NULL);
}

/* One write sealed to the kept service key. */
static cairn_err_t write_once(struct sfx *f, const char *tenant, const char *role, const char *path,
                              const char *json, long long cas, const char *ce_id, uint64_t *version,
                              struct cairn_status *st)
{
        Cairn__Secrets__V1__WriteRequest in = CAIRN__SECRETS__V1__WRITE_REQUEST__INIT;
        Cairn__Secrets__V1__SealedValue sv = CAIRN__SECRETS__V1__SEALED_VALUE__INIT;
        Google__Protobuf__UInt64Value c = GOOGLE__PROTOBUF__UINT64_VALUE__INIT;
        Cairn__Secrets__V1__WriteReply *out = NULL;
        size_t n = strlen(json);
        uint8_t pk[CAIRN_SEAL_KEY_BYTES], *box = malloc(n + CAIRN_SEAL_OVERHEAD);
        cairn_err_t err;

        pthread_mutex_lock(&f->key_lock);
        if (!f->have_key) {
                sfx_service_key(f, &f->key_version, f->key);
                f->have_key = true;
        }
        sv.key_version = f->key_version;
        memcpy(pk, f->key, sizeof(pk));
        pthread_mutex_unlock(&f->key_lock);
        ck_assert_int_eq(cairn_seal(pk, json, n, box), 0);
        sv.box.data = box;
        sv.box.len = n + CAIRN_SEAL_OVERHEAD;
        in.path = (char *)path;
        in.data = &sv;
        if (cas >= 0) {
                c.value = (uint64_t)cas;
                in.cas = &c;
        }
        err = sfx_call(f, tenant, "alice", role, &in.base,
                       &cairn__secrets__v1__write_reply__descriptor, ce_id,
                       (ProtobufCMessage **)&out, st);
        if (err == CAIRN_OK && version)
                *version = out->version->version;
        if (out)
                protobuf_c_message_free_unpacked(&out->base, NULL);
        free(box);
        return err;
}

cairn_err_t sfx_write(struct sfx *f, const char *tenant, const char *role, const char *path,
                      const char *json, long long cas, const char *ce_id, uint64_t *version,
                      struct cairn_status *st)
{
        cairn_err_t err = write_once(f, tenant, role, path, json, cas, ce_id, version, st);

        if (err == CAIRN_ERR_PRECONDITION && strcmp(st->reason, "SEAL_KEY_UNKNOWN") == 0) {
                pthread_mutex_lock(&f->key_lock);
                f->have_key = false;
                pthread_mutex_unlock(&f->key_lock);
                err = write_once(f, tenant, role, path, json, cas, ce_id, version, st);
        }
        return err;
}

cairn_err_t sfx_read(struct sfx *f, const char *tenant, const char *role, const char *path,
                     uint64_t version, char *json, size_t size,
                     Cairn__Secrets__V1__VersionMetadata *meta, struct cairn_status *st)
{
        Cairn__Secrets__V1__ReadRequest in = CAIRN__SECRETS__V1__READ_REQUEST__INIT;
        Cairn__Secrets__V1__ReadReply *out = NULL;
        cairn_err_t err;

        in.path = (char *)path;
        in.version = version;
        in.reply_key.data = f->me->pk;
        in.reply_key.len = CAIRN_SEAL_KEY_BYTES;
        json[0] = '\0';
        err = sfx_call(f, tenant, "alice", role, &in.base,
                       &cairn__secrets__v1__read_reply__descriptor, NULL, (ProtobufCMessage **)&out,
                       st);
        if (err != CAIRN_OK)
                return err;
        if (out->data.len) {
                ck_assert_uint_lt(out->data.len - CAIRN_SEAL_OVERHEAD, size);
                ck_assert_int_eq(cairn_seal_open(f->me, out->data.data, out->data.len,
                                                 (uint8_t *)json),
                                 0);
                json[out->data.len - CAIRN_SEAL_OVERHEAD] = '\0';
        }
        if (meta) {
                meta->version = out->version->version;
                meta->deleted = out->version->deleted;
                meta->destroyed = out->version->destroyed;
        }
        protobuf_c_message_free_unpacked(&out->base, NULL);
        return err;
}

void sfx_sql(struct sfx *f, const char *q, char *out, size_t size)
{
        ck_assert_msg(harness_pg_scalar(f->pg_url, q, out, size) == 0, "sql failed: %s: %s", q,
                      out);
}
