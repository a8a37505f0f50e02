/* Benchmarks of the secrets service through the bus, on the pass's broker
 * (Apache Kafka under tests/bench/run.sh) and a PostgreSQL of its own:
 *
 *  1. in process: what the crypto of one read and one write costs
 *     (libsodium's primitives as services/secrets/envelope.c and
 *     cairn/seal.h call them), beside the audit row's hash, the JSON and the
 *     bytea text a read also handles;
 *  2. the data set: 100,000 versions (10,000 secrets of 10 versions, each
 *     value a 100-byte JSON object), written through the bus with 64 in
 *     flight: the load rate;
 *  3. reads, closed loop with INFLIGHT in flight, against GetServiceKey (the
 *     same service and audit, nothing else), ReadMetadata (a row, no
 *     crypto) and a raw librdkafka ping-pong (lib/pingpong.c), taking turns
 *     in rounds; CPU per request of the service, PostgreSQL and the broker;
 *  4. reads (and GetServiceKey) open loop at OPEN_RATE a second, latency
 *     measured from each request's scheduled send time;
 *  5. writes, closed loop and open loop at WRITE_RATE a second;
 *  6. a key rotation: the rewrap of every version while a reader reads
 *     REWRAP_READ_RATE a second, before, during and after it;
 *  7. reads and GetServiceKey again with bus.workers WORKERS_MORE instead
 *     of 4, to see how much of a read's time is a wait for a worker.
 *
 * Prints "name value" lines.   secrets [seconds-per-phase]
 * BENCH_SECRETS_SCALE=N divides the data set's size by N (a quick look). */
#define _GNU_SOURCE
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/pg.h"
#include "cairn/seal.h"
#include "cairn/secrets/v1/secrets.pb-c.h"
#include "harness.h"
#include "lib/pingpong.h"
#include "lib/proc.h"

#define ROOT_KEY         "k1 MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"
#define TENANT           "t1"
#define VERSIONS         10 /* a secret's versions: secrets.max_versions' default */
#define VALUE_BYTES      100
#define BOXES            64 /* distinct sealed values the writes cycle through */
#define LOAD_INFLIGHT    64
#define INFLIGHT         16
#define ROUNDS           10
#define OPEN_RATE        1000
#define WRITE_RATE       200
#define REWRAP_READ_RATE 200
#define WORKERS_MORE     16 /* bus.workers of the last runs, against the default 4 */
#define MAX_SAMPLES      2000000
#define CALL_TIMEOUT_MS  30000

static int seconds = 5;
/* reads at these rates too, open loop: where latency turns */
static const int sweep[] = { 250, 500, 750 };
static int n_secrets = 10000;
static struct harness_broker broker;
static struct harness_proc secrets;
static struct harness_client client;
static struct harness_pg pg;
static struct cairn_seal_keys *me;
static const char *topic;
static char state[512];
static uint32_t key_version;
static uint8_t boxes[BOXES][VALUE_BYTES + CAIRN_SEAL_OVERHEAD];

/* ---- 1: crypto in process ---- */

/* Nanoseconds per call of @p fn: the best of 5 runs of @p n calls. */
static double best_ns(void (*fn)(void), int n)
{
        double best = 1e30;

        for (int r = 0; r < 5; r++) {
                int64_t t0 = cairn_mono_us();

                for (int i = 0; i < n; i++)
                        fn();
                double ns = (double)(cairn_mono_us() - t0) * 1000.0 / n;
                if (ns < best)
                        best = ns;
        }
        return best;
}

/* What the steps work on: a version of a 100-byte value as stored. */
static uint8_t kek[32], dek[32], ad[64], wrapped[24 + 32 + 16], ct[24 + VALUE_BYTES + 16];
static uint8_t plain[VALUE_BYTES + 64], box[VALUE_BYTES + CAIRN_SEAL_OVERHEAD];
static size_t ad_len;
static char value[VALUE_BYTES + 1], *wrapped_hex, *ct_hex, audit_row[200];
static struct cairn_seal_keys *service_keys;

static void step_unwrap(void)
{
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(dek, NULL, NULL, wrapped + 24,
                                                       sizeof(wrapped) - 24, ad, ad_len, wrapped,
                                                       kek) != 0)
                abort();
}

static void step_decrypt(void)
{
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, NULL, NULL, ct + 24, sizeof(ct) - 24,
                                                       ad, ad_len, ct, dek) != 0)
                abort();
}

static void step_seal(void)
{
        if (cairn_seal(me->pk, value, VALUE_BYTES, box) != 0)
                abort();
}

static void step_unseal(void)
{
        static uint8_t sealed[VALUE_BYTES + CAIRN_SEAL_OVERHEAD];
        static bool ready;

        if (!ready) {
                cairn_seal(service_keys->pk, value, VALUE_BYTES, sealed);
                ready = true;
        }
        if (cairn_seal_open(service_keys, sealed, sizeof(sealed), plain) != 0)
                abort();
}

/* A write's envelope: a new data key, wrapped, and the value under it. */
static void step_envelope_seal(void)
{
        uint8_t k[32], w[sizeof(wrapped)], c[sizeof(ct)];

        crypto_aead_xchacha20poly1305_ietf_keygen(k);
        randombytes_buf(w, 24);
        crypto_aead_xchacha20poly1305_ietf_encrypt(w + 24, NULL, k, 32, ad, ad_len, NULL, w, kek);
        randombytes_buf(c, 24);
        crypto_aead_xchacha20poly1305_ietf_encrypt(c + 24, NULL, (const uint8_t *)value,
                                                   VALUE_BYTES, ad, ad_len, NULL, c, k);
        sodium_memzero(k, sizeof(k));
}

static void step_audit_hash(void)
{
        uint8_t h[32];

        crypto_hash_sha256(h, (const uint8_t *)audit_row, sizeof(audit_row));
}

/* The value's JSON parsed and printed again, as the service does to check
 * it before sealing it to the caller. */
static void step_json(void)
{
        json_t *v = json_loadb(value, VALUE_BYTES, JSON_REJECT_DUPLICATES, NULL);
        char *s = json_dumps(v, JSON_COMPACT);

        if (!s)
                abort();
        free(s);
        json_decref(v);
}

/* The wrapped key and ciphertext from PostgreSQL's bytea text. */
static void step_bytea(void)
{
        uint8_t *a = NULL, *b = NULL;
        size_t al, bl;

        if (!cairn_pg_bytea_decode(wrapped_hex, &a, &al) || !cairn_pg_bytea_decode(ct_hex, &b, &bl))
                abort();
        free(a);
        free(b);
}

static void value_make(char *out, unsigned *seed)
{
        static const char alnum[] =
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        int n = snprintf(out, VALUE_BYTES + 1, "{\"password\":\"");

        while (n < VALUE_BYTES - 2)
                out[n++] = alnum[rand_r(seed) % (sizeof(alnum) - 1)];
        out[n++] = '"';
        out[n++] = '}';
        out[n] = '\0';
}

static void crypto_bench(void)
{
        unsigned seed = 1;
        double unwrap, decrypt, seal, unseal, envelope;

        ck_assert_int_ge(sodium_init(), 0);
        service_keys = cairn_seal_keys_new();
        value_make(value, &seed);
        crypto_aead_xchacha20poly1305_ietf_keygen(kek);
        crypto_aead_xchacha20poly1305_ietf_keygen(dek);
        /* the associated data of "t1", "app/s00042", version 7: label, tenant, path, version */
        ad_len = 4 + 16 + 4 + 2 + 4 + 10 + 4 + 8;
        randombytes_buf(ad, ad_len);
        randombytes_buf(wrapped, 24);
        crypto_aead_xchacha20poly1305_ietf_encrypt(wrapped + 24, NULL, dek, 32, ad, ad_len, NULL,
                                                   wrapped, kek);
        randombytes_buf(ct, 24);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ct + 24, NULL, (const uint8_t *)value,
                                                   VALUE_BYTES, ad, ad_len, NULL, ct, dek);
        wrapped_hex = cairn_pg_bytea_encode(wrapped, sizeof(wrapped));
        ct_hex = cairn_pg_bytea_encode(ct, sizeof(ct));
        memset(audit_row, 'a', sizeof(audit_row));
        unwrap = best_ns(step_unwrap, 20000) / 1000;
        decrypt = best_ns(step_decrypt, 20000) / 1000;
        seal = best_ns(step_seal, 2000) / 1000;
        unseal = best_ns(step_unseal, 2000) / 1000;
        envelope = best_ns(step_envelope_seal, 20000) / 1000;
        printf("crypto_unwrap_us %.3f\ncrypto_decrypt_us %.3f\ncrypto_seal_us %.3f\n", unwrap,
               decrypt, seal);
        printf("crypto_read_us %.3f\n", unwrap + decrypt + seal);
        printf("crypto_unseal_us %.3f\ncrypto_envelope_seal_us %.3f\ncrypto_write_us %.3f\n",
               unseal, envelope, unseal + envelope);
        printf("audit_hash_us %.3f\n", best_ns(step_audit_hash, 20000) / 1000);
        printf("json_us %.3f\n", best_ns(step_json, 20000) / 1000);
        printf("bytea_us %.3f\n", best_ns(step_bytea, 20000) / 1000);
        free(wrapped_hex);
        free(ct_hex);
        cairn_seal_keys_free(service_keys);
        fflush(stdout);
}

/* ---- calls ---- */

enum op { OP_READ, OP_KEY, OP_META, OP_WRITE, OP_RAW, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "read", "key", "meta", "write", "raw" };
static const char *const op_types[OP_COUNT] = { "cairn.secrets.v1.ReadRequest",
                                                "cairn.secrets.v1.GetServiceKeyRequest",
                                                "cairn.secrets.v1.ReadMetadataRequest",
                                                "cairn.secrets.v1.WriteRequest", NULL };

/* The calls of one load. */
struct pending {
        sem_t slots; /* closed loop: the calls it may still start */
        atomic_long inflight, done, errors, bad;
        struct harness_samples lat;
};

struct call {
        struct pending *p;
        int64_t t0; /* when it was (to be) sent: latency counts from here */
        enum op op;
};

static void pending_init(struct pending *p, int window)
{
        memset(p, 0, sizeof(*p));
        sem_init(&p->slots, 0, (unsigned)(window > 0 ? window : 1));
        harness_samples_init(&p->lat, MAX_SAMPLES);
}

static void pending_free(struct pending *p)
{
        sem_destroy(&p->slots);
        harness_samples_free(&p->lat);
}

static void pending_end(struct pending *p, int64_t t0)
{
        harness_samples_add(&p->lat, (double)(cairn_mono_us() - t0));
        atomic_fetch_add(&p->done, 1);
        atomic_fetch_sub(&p->inflight, 1);
        sem_post(&p->slots);
}

/* Checks a read's reply: a value of VALUE_BYTES sealed to us, opened for
 * one read in 64. */
static bool read_ok(const struct cairn_reply *reply)
{
        static atomic_long n;
        Cairn__Secrets__V1__ReadReply *r = cairn__secrets__v1__read_reply__unpack(NULL, reply->len,
                                                                                  reply->payload);
        uint8_t out[VALUE_BYTES];
        bool ok = r && r->data.len == VALUE_BYTES + CAIRN_SEAL_OVERHEAD;

        if (ok && atomic_fetch_add(&n, 1) % 64 == 0)
                ok = cairn_seal_open(me, r->data.data, r->data.len, out) == 0 &&
                     memcmp(out, "{\"password\":\"", 13) == 0;
        if (r)
                cairn__secrets__v1__read_reply__free_unpacked(r, NULL);
        return ok;
}

static void on_reply(const struct cairn_reply *reply, void *opaque)
{
        struct call *c = opaque;

        if (reply->err) {
                if (atomic_fetch_add(&c->p->errors, 1) == 0)
                        fprintf(stderr, "first %s error: %s: %s\n", op_names[c->op],
                                cairn_err_str(reply->err), reply->st.message);
        } else if (c->op == OP_READ && !read_ok(reply)) {
                atomic_fetch_add(&c->p->bad, 1);
        }
        pending_end(c->p, c->t0);
        free(c);
}

static const struct cairn_call_opts owner = { .timeout_ms = CALL_TIMEOUT_MS,
                                              .principal = "bench",
                                              .role = "owner" };

static void path_of(int i, char *out, size_t size)
{
        snprintf(out, size, "app/s%05d", i % n_secrets);
}

/* Starts one call of @p op, counted in @p p, its latency from @p t0;
 * @p i picks the secret. */
static void send_op(struct pending *p, enum op op, int64_t t0, int i)
{
        Cairn__Secrets__V1__ReadRequest rd = CAIRN__SECRETS__V1__READ_REQUEST__INIT;
        Cairn__Secrets__V1__GetServiceKeyRequest key =
                CAIRN__SECRETS__V1__GET_SERVICE_KEY_REQUEST__INIT;
        Cairn__Secrets__V1__ReadMetadataRequest meta =
                CAIRN__SECRETS__V1__READ_METADATA_REQUEST__INIT;
        Cairn__Secrets__V1__WriteRequest wr = CAIRN__SECRETS__V1__WRITE_REQUEST__INIT;
        Cairn__Secrets__V1__SealedValue sv = CAIRN__SECRETS__V1__SEALED_VALUE__INIT;
        const ProtobufCMessage *msg = &rd.base;
        struct call *c = malloc(sizeof(*c));
        struct cairn_status st;
        char path[32];

        if (!c)
                abort();
        path_of(i, path, sizeof(path));
        switch (op) {
        case OP_READ:
                rd.path = path;
                rd.reply_key.data = me->pk;
                rd.reply_key.len = CAIRN_SEAL_KEY_BYTES;
                break;
        case OP_KEY:
                msg = &key.base;
                break;
        case OP_META:
                meta.path = path;
                msg = &meta.base;
                break;
        case OP_WRITE:
                sv.key_version = key_version;
                sv.box.data = boxes[i % BOXES];
                sv.box.len = sizeof(boxes[0]);
                wr.path = path;
                wr.data = &sv;
                msg = &wr.base;
                break;
        default:
                abort();
        }
        c->p = p;
        c->t0 = t0;
        c->op = op;
        atomic_fetch_add(&p->inflight, 1);
        if (cairn_bus_call_async(client.cli, topic, TENANT, msg, &owner, on_reply, c, &st) !=
            CAIRN_OK) {
                if (atomic_fetch_add(&p->errors, 1) == 0)
                        fprintf(stderr, "first %s error: %s\n", op_names[op], st.message);
                pending_end(p, t0);
                free(c);
        }
}

/* ---- the raw ping-pong, driven like the calls ---- */

static struct bench_pingpong raw;
static struct pending *raw_pending;

static void on_pong(void *opaque, int64_t t0)
{
        (void)opaque;
        if (raw_pending)
                pending_end(raw_pending, t0);
}

/* One request of @p op; @p i picks the secret. */
static void start_one(struct pending *p, enum op op, int64_t t0, int i)
{
        if (op == OP_RAW) {
                raw_pending = p;
                atomic_fetch_add(&p->inflight, 1);
                bench_pingpong_send(&raw, t0);
        } else {
                send_op(p, op, t0, i);
        }
}

static void drain(struct pending *p)
{
        int64_t until = cairn_mono_us() + 2LL * CALL_TIMEOUT_MS * 1000;

        while (atomic_load(&p->inflight) > 0 && cairn_mono_us() < until)
                usleep(1000);
}

static int next_secret(void)
{
        static unsigned seed = 12345;

        return rand_r(&seed) % n_secrets;
}

/* Keeps @p window calls of @p op outstanding for @p us; returns the calls
 * answered within that time (then waits for the rest). */
static long closed_loop(struct pending *p, enum op op, int window, int64_t us)
{
        int64_t end = cairn_mono_us() + us;
        long base = atomic_load(&p->done), answered;
        static int write_next;

        sem_destroy(&p->slots);
        sem_init(&p->slots, 0, (unsigned)window);
        while (cairn_mono_us() < end) {
                sem_wait(&p->slots);
                start_one(p, op, cairn_mono_us(), op == OP_WRITE ? write_next++ : next_secret());
        }
        answered = atomic_load(&p->done) - base;
        drain(p);
        return answered;
}

/* Sends @p op at @p rate a second for @p us on a fixed schedule, each
 * call's latency from its scheduled time (so a queue shows, instead of
 * slowing the sender); returns how late the sender itself was at most, in
 * microseconds. */
static int64_t open_loop(struct pending *p, enum op op, double rate, int64_t us)
{
        int64_t start = cairn_mono_us() + 1000, late = 0;
        long total = (long)(rate * (double)us / 1e6);
        static int write_next = 1 << 20;

        for (long i = 0; i < total; i++) {
                int64_t due = start + (int64_t)((double)i * 1e6 / rate), now = cairn_mono_us();

                if (due > now)
                        usleep((useconds_t)(due - now));
                else if (now - due > late)
                        late = now - due;
                start_one(p, op, due, op == OP_WRITE ? write_next++ : next_secret());
        }
        drain(p);
        return late;
}

/* ---- the stack ---- */

static void service_key_get(void)
{
        Cairn__Secrets__V1__GetServiceKeyRequest in =
                CAIRN__SECRETS__V1__GET_SERVICE_KEY_REQUEST__INIT;
        Cairn__Secrets__V1__ServiceKeyReply *out = NULL;
        struct cairn_status st;

        ck_assert_msg(cairn_bus_call(client.cli, topic, TENANT, &in.base, &owner,
                                     &cairn__secrets__v1__service_key_reply__descriptor, NULL,
                                     (ProtobufCMessage **)&out, &st) == CAIRN_OK,
                      "GetServiceKey: %s", st.message);
        ck_assert_uint_eq(out->public_key.len, CAIRN_SEAL_KEY_BYTES);
        key_version = out->key_version;
        for (int b = 0; b < BOXES; b++) {
                char v[VALUE_BYTES + 1];
                unsigned seed = 1000 + (unsigned)b;

                value_make(v, &seed);
                ck_assert_int_eq(cairn_seal(out->public_key.data, v, VALUE_BYTES, boxes[b]), 0);
        }
        protobuf_c_message_free_unpacked(&out->base, NULL);
}

/* The service's settings beyond deploy/dev/secrets.yaml. */
static char secrets_env[4][700];

/* Starts cairn-secrets with @p extra ("NAME=value", or NULL) too. */
static void secrets_start(const char *extra)
{
        harness_service_start(&secrets, &broker, "secrets",
                              (const char *const[]){ secrets_env[0], secrets_env[1], secrets_env[2],
                                                     secrets_env[3], extra, NULL });
        ck_assert_msg(harness_wait_ready(&secrets, 60000), "secrets not ready (%s)",
                      secrets.log_path);
}

static void stack_start(void)
{
        const char *tmp = getenv("TMPDIR");
        char keyfile[600];

        snprintf(state, sizeof(state), "%s/bench-secrets-%d", tmp && tmp[0] ? tmp : "/tmp",
                 (int)getpid());
        harness_broker_start(&broker, 1);
        harness_pg_start(&pg, state);
        topic = harness_topic("cairn.secrets.v1.requests");
        snprintf(keyfile, sizeof(keyfile), "%s/root.key", state);
        harness_write_file(keyfile, ROOT_KEY);
        ck_assert_int_eq(chmod(keyfile, 0600), 0);
        snprintf(secrets_env[0], sizeof(secrets_env[0]), "CAIRN_PG_URL=%s", pg.url);
        snprintf(secrets_env[1], sizeof(secrets_env[1]), "CAIRN_SECRETS_ROOT_KEY_FILE=%s", keyfile);
        snprintf(secrets_env[2], sizeof(secrets_env[2]), "CAIRN_SECRETS_AUDIT_TOPIC=%s",
                 harness_topic("cairn.audit.v1"));
        snprintf(secrets_env[3], sizeof(secrets_env[3]), "CAIRN_SECRETS_EVENTS_TOPIC=%s",
                 harness_topic("cairn.secrets.v1.events"));
        secrets_start(NULL);
        harness_client_start(&client, &broker, "bench");
        harness_client_direct(&client, topic, CALL_TIMEOUT_MS);
        service_key_get();
}

static void stack_stop(void)
{
        harness_client_stop(&client);
        harness_service_stop(&secrets, 30000);
        harness_pg_stop(&pg);
        harness_broker_stop(&broker);
        cairn_seal_keys_free(me);
        me = NULL;
        if (state[0]) {
                char cmd[600];

                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", state);
                harness_sh(NULL, 0, cmd);
        }
}

/* CPU time so far of the processes a request goes through, microseconds. */
struct cpu {
        double svc, pg, broker, self;
        double all; /* the whole machine's busy time (/proc/stat), every process's */
        int64_t at; /* when, monotonic µs */
};

static void cpu_now(struct cpu *c)
{
        c->all = bench_machine_busy_us();
        c->at = cairn_mono_us();
        c->svc = harness_proc_cpu_us(secrets.pid);
        c->pg = bench_tree_cpu_us(bench_pg_postmaster(pg.port));
        c->broker = harness_proc_cpu_us(bench_broker_pid(&broker));
        c->self = harness_proc_cpu_us(getpid());
}

static void cpu_add(struct cpu *sum, const struct cpu *a, const struct cpu *b)
{
        sum->svc += b->svc - a->svc;
        sum->pg += b->pg - a->pg;
        sum->broker += b->broker - a->broker;
        sum->self += b->self - a->self;
        sum->all += b->all - a->all;
        sum->at += b->at - a->at;
}

/* The cores the machine was busy over @p c's time: ours (the four
 * processes) and everything else's (neighbours), as NAME_cores_*. */
static void cores_print(const char *name, const struct cpu *c)
{
        double ours = c->svc + c->pg + c->broker + c->self;

        if (c->at <= 0)
                return;
        /* others: never below 0, which tick rounding can make it */
        printf("%s_cores_ours %.2f\n%s_cores_others %.2f\n", name, ours / (double)c->at, name,
               c->all > ours ? (c->all - ours) / (double)c->at : 0.0);
}

/* What each process spent per request, µs, as NAME_cpu_us_PROCESS. */
static void cpu_print(const char *name, const struct cpu *c, long requests)
{
        if (requests <= 0)
                return;
        printf("%s_cpu_us_service %.0f\n%s_cpu_us_pg %.0f\n%s_cpu_us_broker %.0f\n"
               "%s_cpu_us_client %.0f\n",
               name, c->svc / (double)requests, name, c->pg / (double)requests, name,
               c->broker / (double)requests, name, c->self / (double)requests);
}

/* The service's own time for requests of @p type so far: the sum and count
 * of its cairn_bus_request_duration_seconds. */
static void handler_time(const char *type, double *sum, double *count)
{
        char name[160];

        snprintf(name, sizeof(name), "cairn_bus_request_duration_seconds_sum{type=\"%s\"}", type);
        *sum = harness_metric(secrets.admin_port, name);
        snprintf(name, sizeof(name), "cairn_bus_request_duration_seconds_count{type=\"%s\"}", type);
        *count = harness_metric(secrets.admin_port, name);
}

static void print_pcts(const char *name, struct harness_samples *s)
{
        printf("%s_p50_ms %.3f\n%s_p99_ms %.3f\n%s_max_ms %.3f\n", name,
               harness_samples_pct(s, 0.5) / 1000.0, name, harness_samples_pct(s, 0.99) / 1000.0,
               name, harness_samples_pct(s, 1.0) / 1000.0);
}

/* ---- 2: the data set ---- */

static void load(void)
{
        struct pending p;
        int total = n_secrets * VERSIONS;
        int64_t t0 = cairn_mono_us();
        struct cpu a, b, sum = { 0 };
        double secs;

        pending_init(&p, LOAD_INFLIGHT);
        cpu_now(&a);
        /* version k of every secret before version k + 1 of any */
        for (int i = 0; i < total; i++) {
                sem_wait(&p.slots);
                send_op(&p, OP_WRITE, cairn_mono_us(), i);
        }
        drain(&p);
        cpu_now(&b);
        cpu_add(&sum, &a, &b);
        secs = (double)(cairn_mono_us() - t0) / 1e6;
        ck_assert_int_eq(atomic_load(&p.errors), 0);
        printf("secrets %d\nversions_per_secret %d\nload_versions %d\nload_inflight %d\n"
               "load_seconds %.1f\nload_per_sec %.0f\n",
               n_secrets, VERSIONS, total, LOAD_INFLIGHT, secs, total / secs);
        print_pcts("load", &p.lat);
        cpu_print("load", &sum, total);
        pending_free(&p);
        fflush(stdout);
}

/* Statistics for the data just loaded, as after any bulk import. */
static void analyze(void)
{
        char out[256];

        ck_assert_msg(harness_pg_scalar(pg.url, "ANALYZE", out, sizeof(out)) == 0, "ANALYZE: %s",
                      out);
        ck_assert_int_eq(harness_pg_scalar(pg.url, "SELECT count(*) FROM secrets_versions", out,
                                           sizeof(out)),
                         0);
        printf("stored_versions %s\n", out);
}

/* ---- 3: reads, closed loop, against their baselines ---- */

/* The bytes of a read's request, packed, and of its reply, as the raw
 * ping-pong's sizes. */
static void read_sizes(size_t *req_len, size_t *reply_len)
{
        Cairn__Secrets__V1__ReadRequest in = CAIRN__SECRETS__V1__READ_REQUEST__INIT;
        Cairn__Secrets__V1__ReadReply *out = NULL;
        struct cairn_status st;
        char path[32];

        path_of(0, path, sizeof(path));
        in.path = path;
        in.reply_key.data = me->pk;
        in.reply_key.len = CAIRN_SEAL_KEY_BYTES;
        *req_len = cairn__secrets__v1__read_request__get_packed_size(&in);
        ck_assert_msg(cairn_bus_call(client.cli, topic, TENANT, &in.base, &owner,
                                     &cairn__secrets__v1__read_reply__descriptor, NULL,
                                     (ProtobufCMessage **)&out, &st) == CAIRN_OK,
                      "Read: %s", st.message);
        *reply_len = cairn__secrets__v1__read_reply__get_packed_size(out);
        protobuf_c_message_free_unpacked(&out->base, NULL);
}

static void reads_closed(void)
{
        enum op sides[4] = { OP_READ, OP_KEY, OP_META, OP_RAW };
        struct pending p[4];
        struct cpu sum[4] = { { 0 } };
        long answered[4] = { 0 }, done0[4];
        double hs0[4], hc0[4], hs1, hc1;
        int64_t us = (int64_t)seconds * 1000000 / ROUNDS;
        uint8_t ping[1024] = { 0 };
        size_t req_len, reply_len;

        for (int k = 0; k < 4; k++)
                pending_init(&p[k], INFLIGHT);
        /* the raw pair: a read's sizes (its request, and its reply) */
        read_sizes(&req_len, &reply_len);
        printf("read_request_bytes %zu\nread_reply_bytes %zu\n", req_len, reply_len);
        bench_pingpong_start(&raw, &broker, "secrets", TENANT, ping, req_len, reply_len);
        raw_pending = &p[3];
        raw.on_pong = on_pong;
        /* warm every path up (and the broker's JIT), unrecorded */
        for (int k = 0; k < 4; k++)
                closed_loop(&p[k], sides[k], INFLIGHT, 1000000);
        for (int k = 0; k < 4; k++) {
                harness_samples_reset(&p[k].lat);
                done0[k] = atomic_load(&p[k].done);
                if (op_types[sides[k]])
                        handler_time(op_types[sides[k]], &hs0[k], &hc0[k]);
        }
        for (int r = 0; r < ROUNDS; r++)
                for (int j = 0; j < 4; j++) {
                        int k = (r + j) % 4;
                        struct cpu a, b;

                        cpu_now(&a);
                        answered[k] += closed_loop(&p[k], sides[k], INFLIGHT, us);
                        cpu_now(&b);
                        cpu_add(&sum[k], &a, &b);
                }
        printf("inflight %d\nrounds %d\nround_secs %.2f\n", INFLIGHT, ROUNDS, (double)us / 1e6);
        for (int k = 0; k < 4; k++) {
                const char *n = op_names[sides[k]];
                char name[64];

                printf("closed_%s_per_sec %.0f\nclosed_%s_errors %ld\n", n,
                       (double)answered[k] / ((double)us * ROUNDS / 1e6), n,
                       atomic_load(&p[k].errors) + atomic_load(&p[k].bad));
                snprintf(name, sizeof(name), "closed_%s", n);
                print_pcts(name, &p[k].lat);
                cpu_print(name, &sum[k], atomic_load(&p[k].done) - done0[k]);
                cores_print(name, &sum[k]);
                if (op_types[sides[k]]) {
                        handler_time(op_types[sides[k]], &hs1, &hc1);
                        if (hc1 > hc0[k])
                                printf("closed_%s_in_service_ms %.3f\n", n,
                                       (hs1 - hs0[k]) / (hc1 - hc0[k]) * 1000);
                }
        }
        bench_pingpong_stop(&raw);
        for (int k = 0; k < 4; k++)
                pending_free(&p[k]);
        fflush(stdout);
}

/* ---- 4: reads at a fixed rate ---- */

static void open_phase(const char *name, enum op op, double rate)
{
        struct pending p;
        struct cpu a, b, sum = { 0 };
        double hs0, hc0, hs1, hc1;
        int64_t late;
        char n[64];

        pending_init(&p, 1);
        handler_time(op_types[op], &hs0, &hc0);
        cpu_now(&a);
        late = open_loop(&p, op, rate, (int64_t)seconds * 1000000);
        cpu_now(&b);
        cpu_add(&sum, &a, &b);
        handler_time(op_types[op], &hs1, &hc1);
        printf("%s_rate %.0f\n%s_requests %ld\n%s_errors %ld\n%s_sender_late_max_ms %.3f\n", name,
               rate, name, atomic_load(&p.done), name, atomic_load(&p.errors) + atomic_load(&p.bad),
               name, (double)late / 1000);
        print_pcts(name, &p.lat);
        snprintf(n, sizeof(n), "%s", name);
        cpu_print(n, &sum, atomic_load(&p.done));
        cores_print(n, &sum);
        if (hc1 > hc0)
                printf("%s_in_service_ms %.3f\n", name, (hs1 - hs0) / (hc1 - hc0) * 1000);
        pending_free(&p);
        fflush(stdout);
}

/* ---- 5: writes ---- */

static void writes(void)
{
        struct pending p;
        struct cpu a, b, sum = { 0 };
        long answered;
        double hs0, hc0, hs1, hc1;

        pending_init(&p, INFLIGHT);
        closed_loop(&p, OP_WRITE, INFLIGHT, 1000000); /* warm-up, unrecorded */
        harness_samples_reset(&p.lat);
        long done0 = atomic_load(&p.done);
        handler_time(op_types[OP_WRITE], &hs0, &hc0);
        cpu_now(&a);
        answered = closed_loop(&p, OP_WRITE, INFLIGHT, (int64_t)seconds * 1000000);
        cpu_now(&b);
        cpu_add(&sum, &a, &b);
        handler_time(op_types[OP_WRITE], &hs1, &hc1);
        printf("closed_write_per_sec %.0f\nclosed_write_errors %ld\n", (double)answered / seconds,
               atomic_load(&p.errors));
        print_pcts("closed_write", &p.lat);
        cpu_print("closed_write", &sum, atomic_load(&p.done) - done0);
        cores_print("closed_write", &sum);
        if (hc1 > hc0)
                printf("closed_write_in_service_ms %.3f\n", (hs1 - hs0) / (hc1 - hc0) * 1000);
        pending_free(&p);
        open_phase("open_write", OP_WRITE, WRITE_RATE);
}

/* ---- 6: rotation and rewrap under reads ---- */

enum { BEFORE, DURING, AFTER, STAGES };

struct reader {
        pthread_t thread;
        atomic_int stage;
        atomic_bool stop;
        struct pending p[STAGES];
};

static void *reader_run(void *arg)
{
        struct reader *rd = arg;
        int64_t start = cairn_mono_us() + 1000;

        for (long i = 0; !atomic_load(&rd->stop); i++) {
                int64_t due = start + i * 1000000 / REWRAP_READ_RATE, now = cairn_mono_us();

                if (due > now)
                        usleep((useconds_t)(due - now));
                send_op(&rd->p[atomic_load(&rd->stage)], OP_READ, due, next_secret());
        }
        return NULL;
}

static Cairn__Secrets__V1__KeyStatusReply *keys_call(bool rotate)
{
        Cairn__Secrets__V1__RotateKeyRequest rot = CAIRN__SECRETS__V1__ROTATE_KEY_REQUEST__INIT;
        Cairn__Secrets__V1__KeyStatusRequest ks = CAIRN__SECRETS__V1__KEY_STATUS_REQUEST__INIT;
        Cairn__Secrets__V1__KeyStatusReply *out = NULL;
        struct cairn_status st;

        ck_assert_msg(cairn_bus_call(client.cli, topic, TENANT, rotate ? &rot.base : &ks.base,
                                     &owner, &cairn__secrets__v1__key_status_reply__descriptor,
                                     NULL, (ProtobufCMessage **)&out, &st) == CAIRN_OK,
                      "%s: %s", rotate ? "RotateKey" : "KeyStatus", st.message);
        return out;
}

static double ts_s(const Google__Protobuf__Timestamp *ts)
{
        return ts ? (double)ts->seconds + ts->nanos / 1e9 : 0;
}

static void rewrap(void)
{
        static struct reader rd;
        Cairn__Secrets__V1__KeyStatusReply *ks;
        struct cpu a, b, sum = { 0 };
        int64_t t0, t1 = 0;
        uint32_t target;
        bool finished = false;
        int polls = 0;

        for (int s = 0; s < STAGES; s++)
                pending_init(&rd.p[s], 1);
        pthread_create(&rd.thread, NULL, reader_run, &rd);
        sleep((unsigned)seconds);
        atomic_store(&rd.stage, DURING);
        cpu_now(&a);
        t0 = cairn_mono_us();
        ks = keys_call(true);
        target = ks->current_version;
        protobuf_c_message_free_unpacked(&ks->base, NULL);
        do {
                usleep(250 * 1000);
                ks = keys_call(false);
                polls++;
                finished = ks->rewrap && ks->rewrap->target_version == target &&
                           ks->rewrap->finished;
                if (finished) {
                        t1 = cairn_mono_us();
                        printf("rewrap_total %llu\nrewrap_server_s %.2f\nrewrap_min_decryption %u\n",
                               (unsigned long long)ks->rewrap->total,
                               ts_s(ks->rewrap->finished_time) - ts_s(ks->rewrap->started_time),
                               ks->min_decryption_version);
                }
                protobuf_c_message_free_unpacked(&ks->base, NULL);
        } while (!finished && cairn_mono_us() - t0 < 1800LL * 1000000);
        ck_assert_msg(finished, "the rewrap did not finish in 30 minutes");
        cpu_now(&b);
        cpu_add(&sum, &a, &b);
        atomic_store(&rd.stage, AFTER);
        sleep((unsigned)seconds);
        atomic_store(&rd.stop, true);
        pthread_join(rd.thread, NULL);
        for (int s = 0; s < STAGES; s++)
                drain(&rd.p[s]);
        printf("rewrap_target %u\nrewrap_s %.2f\nrewrap_polls %d\n", target,
               (double)(t1 - t0) / 1e6, polls);
        cpu_print("rewrap", &sum, n_secrets * VERSIONS);
        printf("rewrap_read_rate %d\n", REWRAP_READ_RATE);
        for (int s = 0; s < STAGES; s++) {
                static const char *const names[STAGES] = { "before", "during", "after" };
                char n[64];

                snprintf(n, sizeof(n), "rewrap_read_%s", names[s]);
                printf("%s_requests %ld\n%s_errors %ld\n", n, atomic_load(&rd.p[s].done), n,
                       atomic_load(&rd.p[s].errors) + atomic_load(&rd.p[s].bad));
                print_pcts(n, &rd.p[s].lat);
                pending_free(&rd.p[s]);
        }
        fflush(stdout);
}

/* ---- 7: the same service with more workers ---- */

/* Reads and GetServiceKey again, closed loop and at OPEN_RATE, with
 * bus.workers @p n: how much of a read's time is a wait for one of the 4
 * workers, each of which waits for its audit row's commit. */
static void workers(int n)
{
        char env[64], name[64];
        enum op ops[2] = { OP_READ, OP_KEY };
        struct pending p[2];
        long answered[2] = { 0 };
        int64_t us = (int64_t)seconds * 1000000 / 2;

        ck_assert_int_eq(harness_service_stop(&secrets, 30000), 0);
        snprintf(env, sizeof(env), "CAIRN_BUS_WORKERS=%d", n);
        secrets_start(env);
        printf("workers_more %d\n", n);
        for (int k = 0; k < 2; k++) {
                pending_init(&p[k], INFLIGHT);
                closed_loop(&p[k], ops[k], INFLIGHT, 2000000); /* the group's partitions, warm-up */
                harness_samples_reset(&p[k].lat);
        }
        for (int r = 0; r < 4; r++)
                for (int j = 0; j < 2; j++) {
                        int k = (r + j) % 2;

                        answered[k] += closed_loop(&p[k], ops[k], INFLIGHT, us / 2);
                }
        for (int k = 0; k < 2; k++) {
                printf("workers_closed_%s_per_sec %.0f\nworkers_closed_%s_errors %ld\n",
                       op_names[ops[k]], (double)answered[k] / ((double)us * 2 / 1e6),
                       op_names[ops[k]], atomic_load(&p[k].errors) + atomic_load(&p[k].bad));
                snprintf(name, sizeof(name), "workers_closed_%s", op_names[ops[k]]);
                print_pcts(name, &p[k].lat);
                pending_free(&p[k]);
        }
        open_phase("workers_open_read", OP_READ, OPEN_RATE);
        open_phase("workers_open_key", OP_KEY, OPEN_RATE);
}

START_TEST(bench_secrets)
{
        printf("seconds %d\n", seconds);
        me = cairn_seal_keys_new(); /* the caller's: reads come back sealed to it */
        ck_assert_ptr_nonnull(me);
        crypto_bench();
        stack_start();
        load();
        analyze();
        reads_closed();
        open_phase("open_read", OP_READ, OPEN_RATE);
        open_phase("open_key", OP_KEY, OPEN_RATE);
        for (int k = 0; k < (int)(sizeof(sweep) / sizeof(sweep[0])); k++) {
                char name[64];

                snprintf(name, sizeof(name), "open_read_%d", sweep[k]);
                open_phase(name, OP_READ, sweep[k]);
        }
        writes();
        rewrap();
        workers(WORKERS_MORE);
}
END_TEST

int main(int argc, char **argv)
{
        const char *scale = getenv("BENCH_SECRETS_SCALE");

        if (argc > 1)
                seconds = atoi(argv[1]);
        if (seconds < 1)
                seconds = 1;
        if (scale && atoi(scale) > 1)
                n_secrets /= atoi(scale);
        return harness_bench_run("secrets", bench_secrets, 7200, stack_stop);
}
