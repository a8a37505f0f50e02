/* cairn-memory over the bus, on a real PostgreSQL, with cairn-embedding
 * (its lexical model) embedding what comes without a vector:
 *   - store and get, the history of every change, UUIDv7 ids;
 *   - an identical content (however spaced or cased) in the same scope is
 *     the same memory, returned unchanged; in another scope, a new one;
 *   - a near duplicate (cosine >= the threshold) updates the memory: a
 *     new version, the old one closed, both kept;
 *   - a redelivered request (same ce_id) gets the same reply and changes
 *     nothing;
 *   - hybrid search keeps a keyword-only hit that vector search misses,
 *     and reports each ranking; filters, scopes, and nothing across users
 *     or tenants;
 *   - update and delete: new versions, deleted memories gone from get,
 *     list and search, the history complete; a search as of a past time
 *     sees the versions current then;
 *   - list pages; bad input named by field; expiry; change events; links;
 *   - a user exported page by page (every version, then the history), then
 *     erased: nothing of them left in any table, the erasure recorded, other
 *     users untouched;
 *   - the same through the gateway's /v1/memories routes: roles, tenants,
 *     the user in the key. */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/pbjson.h"
#include "cairn/resilience.h"
#include "gw_fixture.h"
#include "harness.h"

#define DIM 384
#define KEY "t1/u1"

static struct harness_broker broker;
static struct harness_proc embedding, memory;
static struct gwf_gateway gateway;
static int http_port;

#define KEY_MEMBER "ck_it_mem_member_0123456789abcdef"
#define KEY_VIEWER "ck_it_mem_viewer_0123456789abcdef"
#define KEY_OTHER  "ck_it_mem_other_0123456789abcdefg"
#define KEY_ADMIN  "ck_it_mem_admin_0123456789abcdefg"
static struct harness_client client;
static char pg_url[512];
static const char *topic;

static void gateway_start(void)
{
        static const struct gwf_api_key keys[] = {
                { KEY_MEMBER, "it-member", "t1", "member" },
                { KEY_VIEWER, "it-viewer", "t1", "viewer" },
                { KEY_OTHER, "it-other", "t2", "owner" },
                { KEY_ADMIN, "it-admin", "t1", "admin" },
        };
        char e[2][700];

        curl_global_init(CURL_GLOBAL_ALL);
        snprintf(e[0], sizeof(e[0]), "CAIRN_UPSTREAM_MEMORY_TOPIC=%s", topic);
        snprintf(e[1], sizeof(e[1]), "CAIRN_UPSTREAM_EMBEDDING_TOPIC=%s",
                 harness_topic("cairn.embedding.v1.requests"));
        gwf_gateway_start(&gateway, &broker, keys, sizeof(keys) / sizeof(keys[0]),
                          (const char *const[]){ e[0], e[1], NULL });
        http_port = gateway.http_port;
}

static void setup(void)
{
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        topic = harness_topic("cairn.memory.v1.requests");
        harness_service_start(&embedding, &broker, "embedding", NULL);
        harness_memory_start(&memory, &broker, pg_url,
                             (const char *const[]){ "CAIRN_MEMORY_EMBEDDING_MODEL="
                                                    "cairn-lexical-384",
                                                    "CAIRN_MEMORY_EXPIRY_INTERVAL_MS=200", NULL });
        gateway_start();
        ck_assert_msg(harness_wait_ready(&embedding, 30000), "embedding not ready (%s)",
                      embedding.log_path);
        ck_assert_msg(harness_wait_ready(&memory, 30000), "memory not ready (%s)", memory.log_path);
        ck_assert_msg(harness_wait_ready(&gateway.proc, 30000), "gateway not ready (%s)",
                      gateway.proc.log_path);
        harness_client_start(&client, &broker, "itest");
        harness_client_direct(&client, topic, 0);
}

static void teardown(void)
{
        harness_client_stop(&client);
        gwf_gateway_stop(&gateway);
        harness_service_stop(&memory, 10000);
        harness_service_stop(&embedding, 10000);
        harness_broker_stop(&broker);
}

/* Calls the service with @p ce_id (NULL: a new one); returns the code. */
static cairn_err_t call(const char *key, const ProtobufCMessage *msg,
                        const ProtobufCMessageDescriptor *reply_desc, const char *ce_id,
                        ProtobufCMessage **reply, struct cairn_status *st)
{
        struct cairn_call_opts opts = { .timeout_ms = 20000, .ce_id = ce_id };

        *reply = NULL;
        return cairn_bus_call(client.cli, topic, key, msg, &opts, reply_desc, NULL, reply, st);
}

/* A unit vector along axis @p a, turned by @p mix towards axis @p b. */
static void vec(float *v, int a, int b, float mix)
{
        memset(v, 0, DIM * sizeof(float));
        v[a] = 1.0f - mix;
        v[b] += mix;
}

static Cairn__Memory__V1__StoreReply *store(const char *key, const char *user, const char *agent,
                                            const char *content, const float *v, const char *ce_id,
                                            cairn_err_t want, struct cairn_status *st)
{
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        cairn_err_t err;

        in.user_id = (char *)user;
        in.agent_id = (char *)agent;
        in.content = (char *)content;
        if (v) {
                in.embedding = (float *)v;
                in.n_embedding = DIM;
        }
        err = call(key, &in.base, &cairn__memory__v1__store_reply__descriptor, ce_id, &out, st);
        ck_assert_msg(err == want, "store %s: %d (%s), want %d", content, err, st->message, want);
        return (Cairn__Memory__V1__StoreReply *)out;
}

static void store_free(Cairn__Memory__V1__StoreReply *r)
{
        if (r)
                protobuf_c_message_free_unpacked(&r->base, NULL);
}

static long long sql_count(const char *sql)
{
        char out[64];

        ck_assert_msg(harness_pg_scalar(pg_url, sql, out, sizeof(out)) == 0, "%s: %s", sql, out);
        return atoll(out);
}

START_TEST(test_store_get_and_history)
{
        Cairn__Memory__V1__GetRequest get = CAIRN__MEMORY__V1__GET_REQUEST__INIT;
        Cairn__Memory__V1__HistoryRequest hist = CAIRN__MEMORY__V1__HISTORY_REQUEST__INIT;
        Cairn__Memory__V1__GetReply *g;
        Cairn__Memory__V1__HistoryReply *h;
        Cairn__Memory__V1__StoreReply *r;
        struct cairn_status st;
        float v[DIM];

        vec(v, 0, 1, 0);
        r = store(KEY, "u1", "", "Alice prefers window seats", v, NULL, CAIRN_OK, &st);
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_int_eq(r->results[0]->outcome,
                         CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED);
        ck_assert_uint_eq(strlen(r->results[0]->memory->id), 36);
        ck_assert_int_eq(r->results[0]->memory->id[14], '7'); /* UUIDv7 */
        ck_assert_str_eq(r->results[0]->memory->model, "caller");
        ck_assert_uint_eq(r->results[0]->memory->version, 1);
        get.id = r->results[0]->memory->id;
        ck_assert_int_eq(call(KEY, &get.base, &cairn__memory__v1__get_reply__descriptor, NULL,
                              (ProtobufCMessage **)&g, &st),
                         CAIRN_OK);
        ck_assert_str_eq(g->memory->content, "Alice prefers window seats");
        ck_assert_str_eq(g->memory->user_id, "u1");
        ck_assert_ptr_null(g->memory->valid_to);
        protobuf_c_message_free_unpacked(&g->base, NULL);
        hist.id = r->results[0]->memory->id;
        ck_assert_int_eq(call(KEY, &hist.base, &cairn__memory__v1__history_reply__descriptor, NULL,
                              (ProtobufCMessage **)&h, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(h->n_entries, 1);
        ck_assert_int_eq(h->entries[0]->event, CAIRN__MEMORY__V1__HISTORY_EVENT__HISTORY_EVENT_ADD);
        ck_assert_str_eq(h->entries[0]->new_content, "Alice prefers window seats");
        protobuf_c_message_free_unpacked(&h->base, NULL);
        /* another tenant, or another user of this one, does not see it */
        ck_assert_int_eq(call("t2/u1", &get.base, &cairn__memory__v1__get_reply__descriptor, NULL,
                              (ProtobufCMessage **)&g, &st),
                         CAIRN_ERR_NOT_FOUND);
        ck_assert_int_eq(call("t1/u2", &get.base, &cairn__memory__v1__get_reply__descriptor, NULL,
                              (ProtobufCMessage **)&g, &st),
                         CAIRN_ERR_NOT_FOUND);
        store_free(r);
}
END_TEST

START_TEST(test_exact_duplicate_is_returned_unchanged)
{
        Cairn__Memory__V1__StoreReply *a, *b, *c;
        struct cairn_status st;
        float v[DIM], w[DIM];

        vec(v, 2, 3, 0);
        vec(w, 4, 5, 0);
        a = store(KEY, "u1", "", "The wifi password is hunter2", v, NULL, CAIRN_OK, &st);
        /* the same text however spaced or cased, even with another vector */
        b = store(KEY, "u1", "", "  the WIFI password  is hunter2 ", w, NULL, CAIRN_OK, &st);
        ck_assert_int_eq(b->results[0]->outcome,
                         CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_DUPLICATE);
        ck_assert_str_eq(b->results[0]->memory->id, a->results[0]->memory->id);
        ck_assert_str_eq(b->results[0]->memory->content, "The wifi password is hunter2");
        ck_assert_uint_eq(b->results[0]->memory->version, 1);
        /* another scope (an agent's) is another memory */
        c = store(KEY, "u1", "agent-7", "The wifi password is hunter2", v, NULL, CAIRN_OK, &st);
        ck_assert_int_eq(c->results[0]->outcome,
                         CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED);
        ck_assert_str_ne(c->results[0]->memory->id, a->results[0]->memory->id);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE content ILIKE "
                                   "'%hunter2%'"),
                         2);
        store_free(a);
        store_free(b);
        store_free(c);
}
END_TEST

START_TEST(test_near_duplicate_updates_and_keeps_versions)
{
        Cairn__Memory__V1__StoreReply *a, *b;
        struct cairn_status st;
        float v[DIM], w[DIM];
        char sql[256];

        vec(v, 10, 11, 0);
        vec(w, 10, 11, 0.05f); /* cosine about 0.9986 */
        a = store(KEY, "u1", "", "Bob lives in Lisbon", v, NULL, CAIRN_OK, &st);
        b = store(KEY, "u1", "", "Bob lives in Porto now", w, NULL, CAIRN_OK, &st);
        ck_assert_int_eq(b->results[0]->outcome,
                         CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_MERGED);
        ck_assert_str_eq(b->results[0]->memory->id, a->results[0]->memory->id);
        ck_assert_uint_eq(b->results[0]->memory->version, 2);
        ck_assert_str_eq(b->results[0]->memory->content, "Bob lives in Porto now");
        ck_assert_float_ge(b->results[0]->similarity, 0.95f);
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM memories WHERE id = '%s' AND valid_to IS NOT NULL",
                 a->results[0]->memory->id);
        ck_assert_int_eq(sql_count(sql), 1);
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM memory_history WHERE memory_id = '%s' AND event = "
                 "'UPDATE' AND old_content = 'Bob lives in Lisbon'",
                 a->results[0]->memory->id);
        ck_assert_int_eq(sql_count(sql), 1);
        store_free(a);
        store_free(b);
}
END_TEST

START_TEST(test_redelivery_changes_nothing)
{
        Cairn__Memory__V1__StoreReply *a, *b;
        struct cairn_status st;
        float v[DIM];
        const char *ce_id = "7d0e4a52-5f1c-4b0e-9b7e-5a4c1d2e3f40";

        vec(v, 20, 21, 0);
        a = store(KEY, "u1", "", "Carol's birthday is 3 May", v, ce_id, CAIRN_OK, &st);
        b = store(KEY, "u1", "", "Carol's birthday is 3 May", v, ce_id, CAIRN_OK, &st);
        /* the very same reply: created, not duplicate */
        ck_assert_int_eq(b->results[0]->outcome,
                         CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED);
        ck_assert_str_eq(b->results[0]->memory->id, a->results[0]->memory->id);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE content LIKE 'Carol%'"), 1);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_history h JOIN memories m ON "
                                   "m.id = h.memory_id WHERE m.content LIKE 'Carol%'"),
                         1);
        store_free(a);
        store_free(b);
}
END_TEST

static Cairn__Memory__V1__SearchReply *search(const char *key, const char *user, const char *q,
                                              const float *v, Cairn__Memory__V1__SearchMode mode,
                                              uint32_t top_k, struct cairn_status *st)
{
        Cairn__Memory__V1__SearchRequest in = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        ProtobufCMessage *out;

        in.user_id = (char *)user;
        in.query = (char *)q;
        in.mode = mode;
        in.top_k = top_k;
        if (v) {
                in.vector = (float *)v;
                in.n_vector = DIM;
        }
        ck_assert_int_eq(call(key, &in.base, &cairn__memory__v1__search_reply__descriptor, NULL,
                              &out, st),
                         CAIRN_OK);
        return (Cairn__Memory__V1__SearchReply *)out;
}

static const Cairn__Memory__V1__SearchResult *find(const Cairn__Memory__V1__SearchReply *r,
                                                   const char *content)
{
        for (size_t i = 0; i < r->n_results; i++)
                if (strcmp(r->results[i]->memory->content, content) == 0)
                        return r->results[i];
        return NULL;
}

START_TEST(test_hybrid_keeps_keyword_only_hit)
{
        Cairn__Memory__V1__StoreReply *s[4];
        Cairn__Memory__V1__SearchReply *r;
        const Cairn__Memory__V1__SearchResult *code, *near;
        struct cairn_status st;
        float v[DIM], q[DIM];

        /* the query vector points at the travel memories; the order code
         * is far from it but is the only text with the code */
        vec(v, 30, 31, 0);
        s[0] = store("t1/u3", "u3", "", "Flight to Oslo on Friday morning", v, NULL, CAIRN_OK, &st);
        vec(v, 30, 32, 0.5f); /* cosine 0.71 to the first: not a near duplicate */
        s[1] = store("t1/u3", "u3", "", "Hotel near the Oslo harbour", v, NULL, CAIRN_OK, &st);
        vec(v, 30, 33, 0.6f);
        s[2] = store("t1/u3", "u3", "", "Train from Oslo to Bergen", v, NULL, CAIRN_OK, &st);
        vec(v, 40, 41, 0);
        s[3] = store("t1/u3", "u3", "", "Replacement part order XK-4471 shipped", v, NULL, CAIRN_OK,
                     &st);
        vec(q, 30, 31, 0.01f);

        r = search("t1/u3", "u3", "XK-4471", q, CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR,
                   1, &st);
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_str_eq(r->results[0]->memory->content, "Flight to Oslo on Friday morning");
        protobuf_c_message_free_unpacked(&r->base, NULL);

        r = search("t1/u3", "u3", "XK-4471", q, CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID,
                   2, &st);
        code = find(r, "Replacement part order XK-4471 shipped");
        near = find(r, "Flight to Oslo on Friday morning");
        ck_assert_msg(code && near, "hybrid top 2 lost a ranking's best (%zu results)",
                      r->n_results);
        ck_assert_uint_eq(code->keyword_rank, 1);
        ck_assert_float_gt(code->keyword_score, 0);
        ck_assert_uint_eq(near->vector_rank, 1);
        ck_assert_float_gt(near->vector_score, 0.99f);
        protobuf_c_message_free_unpacked(&r->base, NULL);

        r = search("t1/u3", "u3", "harbour", NULL,
                   CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_KEYWORD, 5, &st);
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_str_eq(r->results[0]->memory->content, "Hotel near the Oslo harbour");
        protobuf_c_message_free_unpacked(&r->base, NULL);

        /* another user and another tenant find nothing */
        r = search("t1/u4", "u4", "Oslo", q, CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID, 5,
                   &st);
        ck_assert_uint_eq(r->n_results, 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        r = search("t9/u3", "u3", "Oslo", q, CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID, 5,
                   &st);
        ck_assert_uint_eq(r->n_results, 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        for (int i = 0; i < 4; i++)
                store_free(s[i]);
}
END_TEST

/* User u8's memories matching @p query (hybrid) as of @p when (NULL: now). */
static Cairn__Memory__V1__SearchReply *search_as_of(const char *query,
                                                    Google__Protobuf__Timestamp *when)
{
        Cairn__Memory__V1__SearchRequest in = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        struct cairn_status st;

        in.user_id = "u8";
        in.query = (char *)query;
        in.top_k = 5;
        in.as_of = when;
        ck_assert_int_eq(call("t1/u8", &in.base, &cairn__memory__v1__search_reply__descriptor, NULL,
                              &out, &st),
                         CAIRN_OK);
        return (Cairn__Memory__V1__SearchReply *)out;
}

/* A search as of a past time sees the versions current then: before an
 * update, the old content; after a delete, what was deleted. */
START_TEST(test_search_as_of)
{
        Cairn__Memory__V1__UpdateRequest up = CAIRN__MEMORY__V1__UPDATE_REQUEST__INIT;
        Cairn__Memory__V1__DeleteRequest del = CAIRN__MEMORY__V1__DELETE_REQUEST__INIT;
        Google__Protobuf__StringValue content = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
        Google__Protobuf__Timestamp t1, t2;
        Cairn__Memory__V1__StoreReply *s;
        Cairn__Memory__V1__UpdateReply *u;
        Cairn__Memory__V1__SearchReply *r;
        ProtobufCMessage *out;
        struct cairn_status st;
        float v[DIM];

        vec(v, 80, 81, 0);
        s = store("t1/u8", "u8", "", "Frank works at Acme", v, NULL, CAIRN_OK, &st);
        t1 = *s->results[0]->memory->valid_from;
        up.id = s->results[0]->memory->id;
        content.value = "Frank works at Globex";
        up.content = &content;
        ck_assert_int_eq(call("t1/u8", &up.base, &cairn__memory__v1__update_reply__descriptor, NULL,
                              (ProtobufCMessage **)&u, &st),
                         CAIRN_OK);
        t2 = *u->memory->valid_from;
        protobuf_c_message_free_unpacked(&u->base, NULL);
        del.id = up.id;
        ck_assert_int_eq(call("t1/u8", &del.base, &cairn__memory__v1__delete_reply__descriptor,
                              NULL, &out, &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);

        r = search_as_of("Frank works", &t1);
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_str_eq(r->results[0]->memory->content, "Frank works at Acme");
        ck_assert_uint_eq(r->results[0]->memory->version, 1);
        ck_assert_uint_eq(r->results[0]->keyword_rank, 1);
        ck_assert_uint_eq(r->results[0]->vector_rank, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        r = search_as_of("Frank works", &t2);
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_str_eq(r->results[0]->memory->content, "Frank works at Globex");
        protobuf_c_message_free_unpacked(&r->base, NULL);
        r = search_as_of("Frank works", NULL); /* now: deleted */
        ck_assert_uint_eq(r->n_results, 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        store_free(s);
}
END_TEST

START_TEST(test_update_and_delete)
{
        Cairn__Memory__V1__UpdateRequest up = CAIRN__MEMORY__V1__UPDATE_REQUEST__INIT;
        Cairn__Memory__V1__DeleteRequest del = CAIRN__MEMORY__V1__DELETE_REQUEST__INIT;
        Cairn__Memory__V1__GetRequest get = CAIRN__MEMORY__V1__GET_REQUEST__INIT;
        Cairn__Memory__V1__HistoryRequest hist = CAIRN__MEMORY__V1__HISTORY_REQUEST__INIT;
        Google__Protobuf__StringValue content = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
        Cairn__Memory__V1__StoreReply *s;
        Cairn__Memory__V1__UpdateReply *u;
        Cairn__Memory__V1__HistoryReply *h;
        Cairn__Memory__V1__SearchReply *r;
        ProtobufCMessage *out;
        struct cairn_status st;
        float v[DIM];

        vec(v, 50, 51, 0);
        s = store("t1/u5", "u5", "", "Dentist appointment on Tuesday", v, NULL, CAIRN_OK, &st);
        /* new content, embedded by the embedding service */
        up.id = s->results[0]->memory->id;
        content.value = "Dentist appointment moved to Thursday";
        up.content = &content;
        ck_assert_int_eq(call("t1/u5", &up.base, &cairn__memory__v1__update_reply__descriptor, NULL,
                              (ProtobufCMessage **)&u, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(u->memory->version, 2);
        ck_assert_str_eq(u->memory->content, "Dentist appointment moved to Thursday");
        ck_assert_str_eq(u->memory->model, "cairn-lexical-384");
        protobuf_c_message_free_unpacked(&u->base, NULL);

        r = search("t1/u5", "u5", "Thursday", NULL,
                   CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID, 5, &st);
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_uint_eq(r->results[0]->memory->version, 2);
        protobuf_c_message_free_unpacked(&r->base, NULL);

        del.id = s->results[0]->memory->id;
        ck_assert_int_eq(call("t1/u5", &del.base, &cairn__memory__v1__delete_reply__descriptor,
                              NULL, &out, &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);
        /* gone from get and search; deleting again is NOT_FOUND */
        get.id = del.id;
        ck_assert_int_eq(call("t1/u5", &get.base, &cairn__memory__v1__get_reply__descriptor, NULL,
                              &out, &st),
                         CAIRN_ERR_NOT_FOUND);
        ck_assert_str_eq(st.field, "id");
        r = search("t1/u5", "u5", "Dentist Thursday", NULL,
                   CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID, 5, &st);
        ck_assert_uint_eq(r->n_results, 0);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        ck_assert_int_eq(call("t1/u5", &del.base, &cairn__memory__v1__delete_reply__descriptor,
                              NULL, &out, &st),
                         CAIRN_ERR_NOT_FOUND);
        hist.id = del.id;
        ck_assert_int_eq(call("t1/u5", &hist.base, &cairn__memory__v1__history_reply__descriptor,
                              NULL, (ProtobufCMessage **)&h, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(h->n_entries, 3);
        ck_assert_int_eq(h->entries[1]->event,
                         CAIRN__MEMORY__V1__HISTORY_EVENT__HISTORY_EVENT_UPDATE);
        ck_assert_str_eq(h->entries[1]->old_content, "Dentist appointment on Tuesday");
        ck_assert_int_eq(h->entries[2]->event,
                         CAIRN__MEMORY__V1__HISTORY_EVENT__HISTORY_EVENT_DELETE);
        protobuf_c_message_free_unpacked(&h->base, NULL);
        store_free(s);
}
END_TEST

START_TEST(test_list_pages)
{
        Cairn__Memory__V1__ListRequest in = CAIRN__MEMORY__V1__LIST_REQUEST__INIT;
        Cairn__Memory__V1__ListReply *r;
        struct cairn_status st;
        char text[64], token[128] = "";
        int seen = 0, pages = 0;

        for (int i = 0; i < 7; i++) {
                snprintf(text, sizeof(text), "list item number %d", i);
                store_free(store("t1/u6", "u6", "", text, NULL, NULL, CAIRN_OK, &st));
        }
        in.user_id = "u6";
        in.page_size = 3;
        do {
                in.page_token = token;
                ck_assert_int_eq(call("t1/u6", &in.base, &cairn__memory__v1__list_reply__descriptor,
                                      NULL, (ProtobufCMessage **)&r, &st),
                                 CAIRN_OK);
                seen += (int)r->n_memories;
                pages++;
                snprintf(token, sizeof(token), "%s", r->next_page_token);
                protobuf_c_message_free_unpacked(&r->base, NULL);
        } while (token[0] && pages < 10);
        ck_assert_int_eq(seen, 7);
        ck_assert_int_eq(pages, 3);
}
END_TEST

START_TEST(test_export_then_erase)
{
        Cairn__Memory__V1__ExportUserRequest ex = CAIRN__MEMORY__V1__EXPORT_USER_REQUEST__INIT;
        Cairn__Memory__V1__EraseUserRequest er = CAIRN__MEMORY__V1__ERASE_USER_REQUEST__INIT;
        Cairn__Memory__V1__UpdateRequest up = CAIRN__MEMORY__V1__UPDATE_REQUEST__INIT;
        Google__Protobuf__StringValue content = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
        const char *erase_id = "0b5e1a52-5f1c-4b0e-9b7e-5a4c1d2e3f41";
        Cairn__Memory__V1__EraseUserReply *e1, *e2;
        Cairn__Memory__V1__ExportUserReply *r;
        Cairn__Memory__V1__StoreReply *a, *b, *other;
        ProtobufCMessage *out;
        struct cairn_status st;
        char token[128] = "";
        int memories = 0, history = 0, pages = 0;
        bool history_started = false;
        float v[DIM];

        vec(v, 70, 71, 0);
        a = store("t1/e1", "e1", "", "Erin keeps bees", v, NULL, CAIRN_OK, &st);
        vec(v, 72, 73, 0);
        b = store("t1/e1", "e1", "", "Erin's hives are on the roof", v, NULL, CAIRN_OK, &st);
        other = store("t1/e2", "e2", "", "Emil keeps chickens", v, NULL, CAIRN_OK, &st);
        up.id = a->results[0]->memory->id;
        content.value = "Erin keeps three bee hives";
        up.content = &content;
        ck_assert_int_eq(call("t1/e1", &up.base, &cairn__memory__v1__update_reply__descriptor, NULL,
                              &out, &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);

        /* 3 versions, then 3 history entries, 2 a page */
        ex.user_id = "e1";
        ex.page_size = 2;
        do {
                ex.page_token = token;
                ck_assert_int_eq(call("t1/e1", &ex.base,
                                      &cairn__memory__v1__export_user_reply__descriptor, NULL,
                                      (ProtobufCMessage **)&r, &st),
                                 CAIRN_OK);
                for (size_t i = 0; i < r->n_items; i++) {
                        if (r->items[i]->item_case == CAIRN__MEMORY__V1__EXPORT_ITEM__ITEM_MEMORY) {
                                ck_assert_msg(!history_started, "a version after the history");
                                ck_assert_str_eq(r->items[i]->memory->user_id, "e1");
                                memories++;
                        } else {
                                history_started = true;
                                history++;
                        }
                }
                snprintf(token, sizeof(token), "%s", r->next_page_token);
                protobuf_c_message_free_unpacked(&r->base, NULL);
        } while (token[0] && ++pages < 10);
        ck_assert_int_eq(memories, 3);
        ck_assert_int_eq(history, 3);

        er.user_id = "e1";
        ck_assert_int_eq(call("t1/e1", &er.base, &cairn__memory__v1__erase_user_reply__descriptor,
                              erase_id, (ProtobufCMessage **)&e1, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(e1->memories, 2);
        ck_assert_uint_eq(e1->versions, 3);
        ck_assert_uint_eq(e1->history_entries, 3);
        ck_assert_uint_ge(e1->requests, 3);
        /* nothing of e1 anywhere; e2 untouched; the erasure recorded */
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE user_id = 'e1'"), 0);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_history WHERE user_id = 'e1'"), 0);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_requests WHERE user_id = 'e1'"), 0);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_requests WHERE "
                                   "encode(reply, 'escape') LIKE '%Erin%'"),
                         0);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE user_id = 'e2'"), 1);
        ck_assert_int_eq(sql_count("SELECT versions FROM memory_erasures WHERE user_id = 'e1'"), 3);
        /* the same erase again: the same reply */
        ck_assert_int_eq(call("t1/e1", &er.base, &cairn__memory__v1__erase_user_reply__descriptor,
                              erase_id, (ProtobufCMessage **)&e2, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(e2->versions, 3);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_erasures WHERE user_id = 'e1'"), 1);
        {
                Cairn__Memory__V1__SearchReply *sr;

                vec(v, 70, 71, 0);
                sr = search("t1/e1", "e1", "bees", v,
                            CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_HYBRID, 5, &st);
                ck_assert_uint_eq(sr->n_results, 0);
                protobuf_c_message_free_unpacked(&sr->base, NULL);
        }
        protobuf_c_message_free_unpacked(&e1->base, NULL);
        protobuf_c_message_free_unpacked(&e2->base, NULL);
        store_free(a);
        store_free(b);
        store_free(other);
}
END_TEST

/* A metadata filter that only a far memory passes: the vector ranking
 * widens past memory.candidates until the filter lets one through. */
START_TEST(test_filters_widen_the_vector_ranking)
{
        static Cairn__Memory__V1__MemoryInput items[60], *ptrs[60];
        static float vecs[60][DIM];
        static char texts[60][48];
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        Cairn__Memory__V1__SearchRequest q = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        Google__Protobuf__Struct *near_meta, *far_meta;
        Cairn__Memory__V1__SearchReply *r;
        ProtobufCMessage *out;
        struct cairn_status st;
        float v[DIM];

        ck_assert_int_eq(cairn_pbjson_parse(&google__protobuf__struct__descriptor, "{\"k\": \"x\"}",
                                            10, 8, (ProtobufCMessage **)&near_meta, NULL),
                         CAIRN_OK);
        ck_assert_int_eq(cairn_pbjson_parse(&google__protobuf__struct__descriptor, "{\"k\": \"y\"}",
                                            10, 8, (ProtobufCMessage **)&far_meta, NULL),
                         CAIRN_OK);
        /* 120 memories at cosine 0.71 to the query, 0.5 to each other */
        in.user_id = "w1";
        for (int batch = 0; batch < 2; batch++) {
                for (int i = 0; i < 60; i++) {
                        int n = batch * 60 + i;

                        cairn__memory__v1__memory_input__init(&items[i]);
                        snprintf(texts[i], sizeof(texts[i]), "near memory %c%c", 'a' + n / 26,
                                 'a' + n % 26);
                        vec(vecs[i], 1 + n, 0, 0.5f);
                        items[i].content = texts[i];
                        items[i].metadata = near_meta;
                        items[i].embedding = vecs[i];
                        items[i].n_embedding = DIM;
                        ptrs[i] = &items[i];
                }
                in.items = ptrs;
                in.n_items = 60;
                ck_assert_int_eq(call("t1/w1", &in.base,
                                      &cairn__memory__v1__store_reply__descriptor, NULL, &out, &st),
                                 CAIRN_OK);
                protobuf_c_message_free_unpacked(out, NULL);
        }
        vec(v, 200, 201, 0);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memories WHERE user_id = 'w1'"), 120);
        store_free(store("t1/w1", "w1", "", "the far one", v, NULL, CAIRN_OK, &st));
        ck_assert_int_eq(sql_count("UPDATE memories SET metadata = '{\"k\": \"y\"}' WHERE "
                                   "user_id = 'w1' AND content = 'the far one' RETURNING 1"),
                         1);
        vec(v, 0, 1, 0);
        q.user_id = "w1";
        q.vector = v;
        q.n_vector = DIM;
        q.mode = CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR;
        q.top_k = 1;
        q.metadata = far_meta;
        {
                cairn_err_t err = call("t1/w1", &q.base,
                                       &cairn__memory__v1__search_reply__descriptor, NULL,
                                       (ProtobufCMessage **)&r, &st);

                ck_assert_msg(err == CAIRN_OK, "search: %d %s", err, st.message);
        }
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_str_eq(r->results[0]->memory->content, "the far one");
        ck_assert_uint_eq(r->results[0]->vector_rank, 1);
        protobuf_c_message_free_unpacked(&r->base, NULL);
        protobuf_c_message_free_unpacked(&near_meta->base, NULL);
        protobuf_c_message_free_unpacked(&far_meta->base, NULL);
}
END_TEST

static cairn_err_t get_id(const char *key, const char *id, struct cairn_status *st)
{
        Cairn__Memory__V1__GetRequest get = CAIRN__MEMORY__V1__GET_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        cairn_err_t err;

        get.id = (char *)id;
        err = call(key, &get.base, &cairn__memory__v1__get_reply__descriptor, NULL, &out, st);
        if (out)
                protobuf_c_message_free_unpacked(out, NULL);
        return err;
}

static cairn_err_t link_memories(const char *user, const char *from, const char *to,
                                 const char *kind, float strength, struct cairn_status *st)
{
        Cairn__Memory__V1__LinkRequest in = CAIRN__MEMORY__V1__LINK_REQUEST__INIT;
        ProtobufCMessage *out = NULL;
        char key[64];
        cairn_err_t err;

        snprintf(key, sizeof(key), "t1/%s", user);
        in.user_id = (char *)user;
        in.from_id = (char *)from;
        in.to_id = (char *)to;
        in.kind = (char *)kind;
        in.strength = strength;
        err = call(key, &in.base, &cairn__memory__v1__link_reply__descriptor, NULL, &out, st);
        if (out)
                protobuf_c_message_free_unpacked(out, NULL);
        return err;
}

/* A store links the new memory to its close neighbours (similar); Link
 * adds links of any kind; a search with include_linked brings each
 * result's links one hop, strongest first; Unlink removes them, either
 * way round; the export carries them. */
START_TEST(test_links)
{
        Cairn__Memory__V1__UnlinkRequest un = CAIRN__MEMORY__V1__UNLINK_REQUEST__INIT;
        Cairn__Memory__V1__SearchRequest in = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;
        Cairn__Memory__V1__StoreReply *a, *b, *c;
        Cairn__Memory__V1__SearchReply *r;
        Cairn__Memory__V1__UnlinkReply *u;
        struct cairn_status st;
        float v[DIM];

        vec(v, 110, 111, 0);
        a = store("t1/l1", "l1", "", "Hana runs the Berlin marathon", v, NULL, CAIRN_OK, &st);
        vec(v, 110, 111, 0.3f); /* cosine 0.92 to a: linked, not merged */
        b = store("t1/l1", "l1", "", "Hana trains on Sundays", v, NULL, CAIRN_OK, &st);
        ck_assert_int_eq(b->results[0]->outcome,
                         CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED);
        vec(v, 112, 113, 0);
        c = store("t1/l1", "l1", "", "Hana's coach is Ida", v, NULL, CAIRN_OK, &st);
        ck_assert_int_eq(link_memories("l1", c->results[0]->memory->id, a->results[0]->memory->id,
                                       "mentions", 0.5f, &st),
                         CAIRN_OK);
        ck_assert_int_eq(link_memories("l1", a->results[0]->memory->id, a->results[0]->memory->id,
                                       "", 0, &st),
                         CAIRN_ERR_INVALID);
        ck_assert_int_eq(link_memories("l1", a->results[0]->memory->id,
                                       "018bcfe5-687b-7000-8000-000000000000", "", 0, &st),
                         CAIRN_ERR_NOT_FOUND);
        ck_assert_int_eq(link_memories("l2", c->results[0]->memory->id, a->results[0]->memory->id,
                                       "", 0, &st),
                         CAIRN_ERR_NOT_FOUND); /* another user's */

        vec(v, 110, 111, 0);
        in.user_id = "l1";
        in.vector = v;
        in.n_vector = DIM;
        in.mode = CAIRN__MEMORY__V1__SEARCH_MODE__SEARCH_MODE_VECTOR;
        in.top_k = 1;
        in.include_linked = true;
        ck_assert_int_eq(call("t1/l1", &in.base, &cairn__memory__v1__search_reply__descriptor, NULL,
                              (ProtobufCMessage **)&r, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(r->n_results, 1);
        ck_assert_str_eq(r->results[0]->memory->id, a->results[0]->memory->id);
        ck_assert_uint_eq(r->results[0]->n_linked, 2);
        ck_assert_str_eq(r->results[0]->linked[0]->memory->content, "Hana trains on Sundays");
        ck_assert_str_eq(r->results[0]->linked[0]->kind, "similar");
        ck_assert_float_gt(r->results[0]->linked[0]->strength, 0.9f);
        ck_assert_str_eq(r->results[0]->linked[1]->kind, "mentions");
        protobuf_c_message_free_unpacked(&r->base, NULL);

        un.user_id = "l1";
        un.from_id = a->results[0]->memory->id; /* the other way round */
        un.to_id = c->results[0]->memory->id;
        ck_assert_int_eq(call("t1/l1", &un.base, &cairn__memory__v1__unlink_reply__descriptor, NULL,
                              (ProtobufCMessage **)&u, &st),
                         CAIRN_OK);
        ck_assert_uint_eq(u->removed, 1);
        protobuf_c_message_free_unpacked(&u->base, NULL);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_links WHERE user_id = 'l1'"), 1);
        store_free(a);
        store_free(b);
        store_free(c);
}
END_TEST

/* The MemoryEvents of key @p key on the events topic, from its start, until
 * @p want arrived or 20 s passed; returns how many, types in @p types. Each
 * carries the CloudEvents headers, its event_id as ce_id. */
static int events_of(const char *key, Cairn__Memory__V1__MemoryEventType *types, int want)
{
        const char *topic_ev = harness_topic("cairn.memory.v1.events");
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_topic_t *rkt;
        rd_kafka_t *rk;
        char errstr[512];
        int64_t until = cairn_mono_us() + 20 * 1000000LL;
        int n = 0;

        rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap, errstr, sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", harness_topic("itest-events"), errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        ck_assert_msg(rk != NULL, "%s", errstr);
        rkt = rd_kafka_topic_new(rk, topic_ev, NULL);
        ck_assert(rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
        parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int p = 0; p < md->topics[0].partition_cnt; p++)
                rd_kafka_topic_partition_list_add(parts, topic_ev, p)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        while (n < want && cairn_mono_us() < until) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
                rd_kafka_headers_t *h = NULL;
                Cairn__Memory__V1__MemoryEvent *ev;
                char ce_type[128], ce_id[64];

                if (!m)
                        continue;
                if (m->err || m->key_len != strlen(key) || memcmp(m->key, key, m->key_len) != 0) {
                        rd_kafka_message_destroy(m);
                        continue;
                }
                ck_assert(rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR);
                ck_assert_int_gt(cairn_headers_get(h, CAIRN_H_TYPE, ce_type, sizeof(ce_type)), 0);
                ck_assert_str_eq(ce_type, "cairn.memory.v1.MemoryEvent");
                ck_assert_int_gt(cairn_headers_get(h, CAIRN_H_ID, ce_id, sizeof(ce_id)), 0);
                ev = cairn__memory__v1__memory_event__unpack(NULL, m->len, m->payload);
                ck_assert_ptr_nonnull(ev);
                ck_assert_str_eq(ev->event_id, ce_id);
                types[n++] = ev->type;
                cairn__memory__v1__memory_event__free_unpacked(ev, NULL);
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return n;
}

/* Past expires_at a memory is gone: at once from reads, and within a
 * sweep closed for good (valid_to = expires_at, a DELETE "expiry" in the
 * history); the same content stored again is a new memory. */
START_TEST(test_expiry)
{
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        Google__Protobuf__Timestamp exp = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        Cairn__Memory__V1__StoreReply *a, *b;
        struct cairn_status st;
        char sql[256], id[37];
        int64_t at = cairn_now_ms() + 1500;
        float v[DIM];
        long long closed = 0;

        vec(v, 90, 91, 0);
        exp.seconds = at / 1000;
        exp.nanos = (int32_t)(at % 1000) * 1000000;
        in.user_id = "u9";
        in.content = "Temporary parking code 4411";
        in.expires_at = &exp;
        in.embedding = v;
        in.n_embedding = DIM;
        ck_assert_int_eq(call("t1/u9", &in.base, &cairn__memory__v1__store_reply__descriptor, NULL,
                              (ProtobufCMessage **)&a, &st),
                         CAIRN_OK);
        snprintf(id, sizeof(id), "%s", a->results[0]->memory->id);
        ck_assert_int_eq(get_id("t1/u9", id, &st), CAIRN_OK);
        while (cairn_now_ms() < at + 100)
                usleep(50 * 1000);
        ck_assert_int_eq(get_id("t1/u9", id, &st), CAIRN_ERR_NOT_FOUND);
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM memories m JOIN memory_history h ON h.memory_id = m.id "
                 "WHERE m.id = '%s' AND m.valid_to = m.expires_at AND h.event = 'DELETE' AND "
                 "h.request_id = 'expiry'",
                 id);
        for (int i = 0; i < 100 && closed == 0; i++) {
                closed = sql_count(sql);
                if (!closed)
                        usleep(50 * 1000);
        }
        ck_assert_int_eq(closed, 1);
        b = store("t1/u9", "u9", "", "Temporary parking code 4411", v, NULL, CAIRN_OK, &st);
        ck_assert_int_eq(b->results[0]->outcome,
                         CAIRN__MEMORY__V1__STORE_OUTCOME__STORE_OUTCOME_CREATED);
        ck_assert_str_ne(b->results[0]->memory->id, id);
        {
                Cairn__Memory__V1__MemoryEventType types[4];

                ck_assert_int_eq(events_of("t1/u9", types, 3), 3);
                ck_assert_int_eq(types[1],
                                 CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_EXPIRED);
        }
        store_free(a);
        store_free(b);
}
END_TEST

/* Every change is published after it commits, in order, on the events
 * topic keyed like the requests: stored, updated, deleted, erased. */
START_TEST(test_events)
{
        Cairn__Memory__V1__UpdateRequest up = CAIRN__MEMORY__V1__UPDATE_REQUEST__INIT;
        Cairn__Memory__V1__DeleteRequest del = CAIRN__MEMORY__V1__DELETE_REQUEST__INIT;
        Cairn__Memory__V1__EraseUserRequest er = CAIRN__MEMORY__V1__ERASE_USER_REQUEST__INIT;
        Google__Protobuf__StringValue content = GOOGLE__PROTOBUF__STRING_VALUE__INIT;
        Cairn__Memory__V1__MemoryEventType types[8];
        Cairn__Memory__V1__StoreReply *s;
        ProtobufCMessage *out;
        struct cairn_status st;
        float v[DIM];

        vec(v, 100, 101, 0);
        s = store("t1/ev1", "ev1", "", "Gus plays the cello", v, NULL, CAIRN_OK, &st);
        up.id = s->results[0]->memory->id;
        content.value = "Gus plays the cello and the piano";
        up.content = &content;
        ck_assert_int_eq(call("t1/ev1", &up.base, &cairn__memory__v1__update_reply__descriptor,
                              NULL, &out, &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);
        del.id = up.id;
        ck_assert_int_eq(call("t1/ev1", &del.base, &cairn__memory__v1__delete_reply__descriptor,
                              NULL, &out, &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);
        er.user_id = "ev1";
        ck_assert_int_eq(call("t1/ev1", &er.base, &cairn__memory__v1__erase_user_reply__descriptor,
                              NULL, &out, &st),
                         CAIRN_OK);
        protobuf_c_message_free_unpacked(out, NULL);
        ck_assert_int_eq(events_of("t1/ev1", types, 4), 4);
        ck_assert_int_eq(types[0], CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_STORED);
        ck_assert_int_eq(types[1], CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_UPDATED);
        ck_assert_int_eq(types[2], CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_DELETED);
        ck_assert_int_eq(types[3], CAIRN__MEMORY__V1__MEMORY_EVENT_TYPE__MEMORY_EVENT_TYPE_ERASED);
        ck_assert_int_eq(sql_count("SELECT count(*) FROM memory_outbox WHERE user_id = 'ev1'"), 0);
        store_free(s);
}
END_TEST

START_TEST(test_bad_input_names_the_field)
{
        Cairn__Memory__V1__StoreRequest in = CAIRN__MEMORY__V1__STORE_REQUEST__INIT;
        ProtobufCMessage *out;
        struct cairn_status st;
        float v[DIM], short_v[8] = { 1 };

        vec(v, 60, 61, 0);
        store(KEY, "u1", "", "", v, NULL, CAIRN_ERR_INVALID, &st);
        ck_assert_str_eq(st.field, "content");
        store(KEY, "u1", "", "   ", v, NULL, CAIRN_ERR_INVALID, &st);
        ck_assert_str_eq(st.field, "content");
        store(KEY, "", "", "no user", v, NULL, CAIRN_ERR_INVALID, &st);
        ck_assert_str_eq(st.field, "user_id");
        store(KEY, "someone-else", "", "wrong user", v, NULL, CAIRN_ERR_INVALID, &st);
        ck_assert_str_eq(st.reason, "KEY_MISMATCH");
        in.user_id = "u1";
        in.content = "short vector";
        in.embedding = short_v;
        in.n_embedding = 8;
        ck_assert_int_eq(call(KEY, &in.base, &cairn__memory__v1__store_reply__descriptor, NULL,
                              &out, &st),
                         CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "embedding");
        ck_assert_int_eq(get_id(KEY, "not-a-uuid", &st), CAIRN_ERR_INVALID);
        ck_assert_str_eq(st.field, "id");
        ck_assert_int_eq(get_id(KEY, "018bcfe5-687b-7000-8000-000000000000", &st),
                         CAIRN_ERR_NOT_FOUND);
        {
                Cairn__Memory__V1__SearchRequest s = CAIRN__MEMORY__V1__SEARCH_REQUEST__INIT;

                s.user_id = "u1";
                s.query = "anything";
                s.top_k = 100000;
                ck_assert_int_eq(call(KEY, &s.base, &cairn__memory__v1__search_reply__descriptor,
                                      NULL, &out, &st),
                                 CAIRN_ERR_INVALID);
                ck_assert_str_eq(st.field, "top_k");
        }
}
END_TEST

/* @p method @p path with @p key and a JSON @p body (or NULL); the body
 * parsed into *@p json when it is JSON. Returns the status. */
static long http(const char *method, const char *path, const char *key, const char *body,
                 json_t **json)
{
        char auth[128];
        const char *headers[] = { auth, "Content-Type: application/json", NULL };
        struct gwf_resp r;
        long status;

        snprintf(auth, sizeof(auth), "X-API-Key: %s", key);
        status = gwf_http(http_port, method, path, headers, body, body ? strlen(body) : 0, &r);
        *json = r.body ? json_loads(r.body, 0, NULL) : NULL;
        gwf_resp_free(&r);
        return status;
}

START_TEST(test_http_routes)
{
        json_t *j, *res;
        char path[256], id[64];

        ck_assert_int_eq(http("POST", "/v1/memories", KEY_MEMBER,
                              "{\"user_id\": \"h1\", \"content\": \"Dana drinks oat milk\", "
                              "\"metadata\": {\"source\": \"chat\"}}",
                              &j),
                         200);
        res = json_array_get(json_object_get(j, "results"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(res, "outcome")),
                         "STORE_OUTCOME_CREATED");
        snprintf(id, sizeof(id), "%s",
                 json_string_value(json_object_get(json_object_get(res, "memory"), "id")));
        json_decref(j);

        /* a viewer reads but does not write */
        ck_assert_int_eq(http("POST", "/v1/memories", KEY_VIEWER,
                              "{\"user_id\": \"h1\", \"content\": \"x\"}", &j),
                         403);
        json_decref(j);
        ck_assert_int_eq(http("POST", "/v1/memories/search", KEY_VIEWER,
                              "{\"user_id\": \"h1\", \"query\": \"oat milk\", "
                              "\"metadata\": {\"source\": \"chat\"}}",
                              &j),
                         200);
        res = json_array_get(json_object_get(j, "results"), 0);
        ck_assert_ptr_nonnull(res);
        ck_assert_str_eq(json_string_value(
                                 json_object_get(json_object_get(res, "memory"), "content")),
                         "Dana drinks oat milk");
        ck_assert_int_eq(json_integer_value(json_object_get(res, "keywordRank")), 1);
        json_decref(j);

        snprintf(path, sizeof(path), "/v1/memories/%s?user_id=h1", id);
        ck_assert_int_eq(http("GET", path, KEY_VIEWER, NULL, &j), 200);
        json_decref(j);
        /* another tenant, or another user in the key, finds nothing */
        ck_assert_int_eq(http("GET", path, KEY_OTHER, NULL, &j), 404);
        json_decref(j);
        snprintf(path, sizeof(path), "/v1/memories/%s?user_id=h2", id);
        ck_assert_int_eq(http("GET", path, KEY_MEMBER, NULL, &j), 404);
        json_decref(j);

        ck_assert_int_eq(http("GET", "/v1/memories?user_id=h1", KEY_VIEWER, NULL, &j), 200);
        ck_assert_uint_eq(json_array_size(json_object_get(j, "memories")), 1);
        json_decref(j);

        snprintf(path, sizeof(path), "/v1/memories/%s", id);
        ck_assert_int_eq(http("DELETE", path, KEY_MEMBER, NULL, &j), 200);
        json_decref(j);
        ck_assert_int_eq(http("GET", path, KEY_MEMBER, NULL, &j), 404);
        json_decref(j);
        snprintf(path, sizeof(path), "/v1/memories/%s/history", id);
        ck_assert_int_eq(http("GET", path, KEY_VIEWER, NULL, &j), 200);
        ck_assert_uint_eq(json_array_size(json_object_get(j, "entries")), 2);
        json_decref(j);

        /* export (NDJSON, one item a line) and erase: admins only */
        {
                char auth[128];
                const char *headers[] = { auth, NULL };
                struct gwf_resp r;
                int lines = 0;

                snprintf(auth, sizeof(auth), "X-API-Key: %s", KEY_MEMBER);
                ck_assert_int_eq(gwf_http(http_port, "GET", "/v1/users/h1/memories/export", headers,
                                          NULL, 0, &r),
                                 403);
                gwf_resp_free(&r);
                snprintf(auth, sizeof(auth), "X-API-Key: %s", KEY_ADMIN);
                ck_assert_int_eq(gwf_http(http_port, "GET", "/v1/users/h1/memories/export", headers,
                                          NULL, 0, &r),
                                 200);
                for (const char *l = r.body; l && *l;
                     l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "")
                        lines++;
                ck_assert_msg(lines == 3, "%d lines: %s", lines,
                              r.body); /* 1 version, ADD, DELETE */
                gwf_resp_free(&r);
        }
        ck_assert_int_eq(http("DELETE", "/v1/users/h1/memories", KEY_MEMBER, NULL, &j), 403);
        json_decref(j);
        ck_assert_int_eq(http("DELETE", "/v1/users/h1/memories", KEY_ADMIN, NULL, &j), 200);
        /* 64-bit integers are JSON strings in the proto3 mapping */
        ck_assert_str_eq(json_string_value(json_object_get(j, "versions")), "1");
        json_decref(j);

        /* bad input: 400 naming the field */
        ck_assert_int_eq(http("POST", "/v1/memories", KEY_MEMBER,
                              "{\"user_id\": \"h1\", \"content\": \"\"}", &j),
                         400);
        {
                char *text = json_dumps(j, 0);

                ck_assert_msg(text && strstr(text, "content"), "%s", text ? text : "(none)");
                free(text);
        }
        json_decref(j);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("0033-memory_service");
        TCase *tc = tcase_create("memory");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_store_get_and_history);
        tcase_add_test(tc, test_exact_duplicate_is_returned_unchanged);
        tcase_add_test(tc, test_near_duplicate_updates_and_keeps_versions);
        tcase_add_test(tc, test_redelivery_changes_nothing);
        tcase_add_test(tc, test_hybrid_keeps_keyword_only_hit);
        tcase_add_test(tc, test_update_and_delete);
        tcase_add_test(tc, test_search_as_of);
        tcase_add_test(tc, test_expiry);
        tcase_add_test(tc, test_events);
        tcase_add_test(tc, test_links);
        tcase_add_test(tc, test_filters_widen_the_vector_ranking);
        tcase_add_test(tc, test_list_pages);
        tcase_add_test(tc, test_bad_input_names_the_field);
        tcase_add_test(tc, test_export_then_erase);
        tcase_add_test(tc, test_http_routes);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
