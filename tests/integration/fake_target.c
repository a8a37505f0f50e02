/* A translation service that workflow steps call, played by the test
 * (fake_target.h). One thread consumes, decides, holds and answers; the
 * test's thread reads what it recorded under the same lock. Nothing here
 * asserts off the test's thread: a failure to answer is printed, and the
 * test sees the run stall. */
#include <check.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "cairn/headers.h"
#include "cairn/status.h"
#include "cairn/translation/v1/translation.pb-c.h"
#include "fake_target.h"

#define POLL_MS 5

/* An answer held until due_us. */
struct held {
        size_t req;
        int64_t due_us;
        struct fake_target_decision d;
};

struct fake_target {
        rd_kafka_t *in, *out;
        fake_target_policy policy;
        void *opaque;
        pthread_t thread;
        atomic_bool stop;
        pthread_mutex_t lock;
        struct fake_target_req *reqs; /* under lock */
        size_t nreqs, cap;
        struct held *held; /* the thread's own */
        size_t nheld, held_cap;
        size_t max_held; /* under lock */
};

/* ---- answering ---- */

static uint8_t *reply_pack(const char *text, size_t *lenp)
{
        Cairn__Translation__V1__TranslateReply reply =
                CAIRN__TRANSLATION__V1__TRANSLATE_REPLY__INIT;
        Cairn__Translation__V1__Translation tr = CAIRN__TRANSLATION__V1__TRANSLATION__INIT;
        Cairn__Translation__V1__Translation *trs[1] = { &tr };
        uint8_t *buf;

        tr.index = 0;
        tr.text = (char *)text;
        tr.source = "en";
        tr.engine = "fake";
        reply.n_translations = 1;
        reply.translations = trs;
        *lenp = cairn__translation__v1__translate_reply__get_packed_size(&reply);
        buf = malloc(*lenp ? *lenp : 1);
        if (!buf)
                abort();
        cairn__translation__v1__translate_reply__pack(&reply, buf);
        return buf;
}

/* Sends the answer @p d to @p r; 0, or librdkafka's error. */
static int answer(struct fake_target *t, const struct fake_target_req *r,
                  const struct fake_target_decision *d)
{
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);
        char id[37], text[FAKE_TARGET_TEXT + 8];
        const char *type;
        uint8_t *payload;
        size_t len;

        if (d->action == FAKE_TARGET_FAIL) {
                struct cairn_status st;

                cairn_status_set(&st, d->code, NULL, NULL, "the fake target fails %s on purpose",
                                 r->ce_id);
                payload = cairn_status_pack(&st, &len);
                type = CAIRN_STATUS_TYPE;
        } else {
                if (d->reply_text[0])
                        snprintf(text, sizeof(text), "%s", d->reply_text);
                else
                        snprintf(text, sizeof(text), "re:%s", r->text);
                payload = reply_pack(text, &len);
                type = "cairn.translation.v1.TranslateReply";
        }
        cairn_uuid(id);
        cairn_headers_add(hdrs, CAIRN_H_SPECVERSION, "1.0");
        cairn_headers_add(hdrs, CAIRN_H_ID, id);
        cairn_headers_add(hdrs, CAIRN_H_SOURCE, "fake-target");
        cairn_headers_add(hdrs, CAIRN_H_TYPE, type);
        cairn_headers_add(hdrs, CAIRN_H_CONTENT_TYPE, CAIRN_CONTENT_TYPE_PROTOBUF);
        cairn_headers_add(hdrs, CAIRN_H_CORRELATION, r->ce_id);
        rd_kafka_resp_err_t err =
                rd_kafka_producev(t->out, RD_KAFKA_V_TOPIC(r->reply_to),
                                  RD_KAFKA_V_PARTITION(r->reply_partition >= 0
                                                               ? r->reply_partition
                                                               : RD_KAFKA_PARTITION_UA),
                                  RD_KAFKA_V_KEY(r->key, strlen(r->key)),
                                  RD_KAFKA_V_VALUE(payload, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);

        if (err)
                rd_kafka_headers_destroy(hdrs);
        free(payload);
        return (int)err;
}

/* ---- receiving ---- */

static void header(rd_kafka_headers_t *hdrs, const char *name, char *out, size_t size)
{
        if (!hdrs || cairn_headers_get(hdrs, name, out, size) < 0)
                out[0] = '\0';
}

static void parse(const rd_kafka_message_t *rkm, struct fake_target_req *r)
{
        rd_kafka_headers_t *hdrs = NULL;
        char num[32];
        const char *slash;

        memset(r, 0, sizeof(*r));
        rd_kafka_message_headers(rkm, &hdrs);
        header(hdrs, CAIRN_H_ID, r->ce_id, sizeof(r->ce_id));
        header(hdrs, CAIRN_H_REPLY_TO, r->reply_to, sizeof(r->reply_to));
        header(hdrs, CAIRN_H_REPLY_PART, num, sizeof(num));
        r->reply_partition = num[0] ? atoi(num) : -1;
        header(hdrs, CAIRN_H_DEADLINE, num, sizeof(num));
        r->deadline_ms = strtoll(num, NULL, 10);
        slash = strrchr(r->ce_id, '/');
        r->attempt = slash ? (unsigned)strtoul(slash + 1, NULL, 10) : 0;
        snprintf(r->key, sizeof(r->key), "%.*s", (int)rkm->key_len,
                 rkm->key ? (const char *)rkm->key : "");
        r->at_ms = cairn_now_ms();

        Cairn__Translation__V1__TranslateRequest *req =
                cairn__translation__v1__translate_request__unpack(NULL, rkm->len, rkm->payload);

        if (req && req->n_texts)
                snprintf(r->text, sizeof(r->text), "%s", req->texts[0]);
        if (req)
                cairn__translation__v1__translate_request__free_unpacked(req, NULL);
}

static void receive(struct fake_target *t, const rd_kafka_message_t *rkm)
{
        struct fake_target_decision d = { 0 };
        struct fake_target_req *r;

        pthread_mutex_lock(&t->lock);
        if (t->nreqs == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 256;
                t->reqs = realloc(t->reqs, t->cap * sizeof(*t->reqs));
                if (!t->reqs)
                        abort();
        }
        r = &t->reqs[t->nreqs++];
        parse(rkm, r);
        if (t->policy)
                t->policy(t->opaque, r, &d);
        if (d.action != FAKE_TARGET_IGNORE) {
                if (t->nheld == t->held_cap) {
                        t->held_cap = t->held_cap ? t->held_cap * 2 : 64;
                        t->held = realloc(t->held, t->held_cap * sizeof(*t->held));
                        if (!t->held)
                                abort();
                }
                t->held[t->nheld++] = (struct held){ t->nreqs - 1,
                                                     cairn_mono_us() + (int64_t)d.hold_ms * 1000,
                                                     d };
                if (t->nheld > t->max_held)
                        t->max_held = t->nheld;
        }
        pthread_mutex_unlock(&t->lock);
}

/* Sends the held answers that are due, in the order they came. */
static void answer_due(struct fake_target *t)
{
        int64_t now = cairn_mono_us();
        size_t kept = 0;

        for (size_t i = 0; i < t->nheld; i++) {
                struct held *h = &t->held[i];

                if (h->due_us > now) {
                        t->held[kept++] = *h;
                        continue;
                }
                pthread_mutex_lock(&t->lock);
                struct fake_target_req r = t->reqs[h->req];

                pthread_mutex_unlock(&t->lock);
                int err = answer(t, &r, &h->d);

                if (err)
                        fprintf(stderr, "fake target: answering %s failed: %s\n", r.ce_id,
                                rd_kafka_err2str(err));
        }
        pthread_mutex_lock(&t->lock);
        t->nheld = kept;
        pthread_mutex_unlock(&t->lock);
}

static void *target_main(void *arg)
{
        struct fake_target *t = arg;

        while (!atomic_load(&t->stop)) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(t->in, POLL_MS);

                if (rkm && !rkm->err)
                        receive(t, rkm);
                if (rkm)
                        rd_kafka_message_destroy(rkm);
                answer_due(t);
                rd_kafka_poll(t->out, 0);
        }
        return NULL;
}

/* A reply the broker did not take: the run would wait for nothing. */
static void delivered(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        (void)rk;
        (void)opaque;
        if (rkm->err)
                fprintf(stderr, "fake target: a reply to %s was lost: %s\n",
                        rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
}

/* ---- the test's side ---- */

static rd_kafka_conf_t *client_conf(const struct harness_broker *b)
{
        rd_kafka_conf_t *kc = rd_kafka_conf_new();

        rd_kafka_conf_set(kc, "bootstrap.servers", b->bootstrap, NULL, 0);
        rd_kafka_conf_set(kc, "linger.ms", "0", NULL, 0);
        rd_kafka_conf_set(kc, "socket.nagle.disable", "true", NULL, 0);
        /* the dev broker holds an empty fetch for all of it */
        rd_kafka_conf_set(kc, "fetch.wait.max.ms", harness_apache() ? "50" : "1", NULL, 0);
        return kc;
}

struct fake_target *fake_target_start(const struct harness_broker *b, const char *topic,
                                      fake_target_policy policy, void *opaque)
{
        struct fake_target *t = calloc(1, sizeof(*t));
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *parts;
        rd_kafka_conf_t *kc;
        char errstr[512];

        ck_assert_ptr_nonnull(t);
        t->policy = policy;
        t->opaque = opaque;
        pthread_mutex_init(&t->lock, NULL);
        kc = client_conf(b);
        rd_kafka_conf_set_dr_msg_cb(kc, delivered);
        t->out = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, sizeof(errstr));
        ck_assert_msg(t->out != NULL, "%s", errstr);
        /* a producer's metadata request creates the topic on the dev broker */
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(t->out, topic, NULL);

        for (int i = 0; i < 100; i++) {
                if (md)
                        rd_kafka_metadata_destroy(md);
                md = NULL;
                if (rd_kafka_metadata(t->out, 0, rkt, &md, 5000) == 0 && md->topic_cnt == 1 &&
                    !md->topics[0].err && md->topics[0].partition_cnt > 0)
                        break;
                usleep(100 * 1000);
        }
        ck_assert_msg(md && md->topic_cnt == 1 && md->topics[0].partition_cnt > 0,
                      "topic %s has no partitions", topic);

        kc = client_conf(b);
        rd_kafka_conf_set(kc, "group.id", harness_topic("fake-target"), NULL, 0);
        rd_kafka_conf_set(kc, "enable.auto.commit", "false", NULL, 0);
        t->in = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, sizeof(errstr));
        ck_assert_msg(t->in != NULL, "%s", errstr);
        rd_kafka_poll_set_consumer(t->in);
        parts = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
                rd_kafka_topic_partition_list_add(parts, topic, i)->offset =
                        RD_KAFKA_OFFSET_BEGINNING;
        ck_assert_int_eq(rd_kafka_assign(t->in, parts), 0);
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        ck_assert_int_eq(pthread_create(&t->thread, NULL, target_main, t), 0);
        return t;
}

void fake_target_stop(struct fake_target *t)
{
        if (!t)
                return;
        atomic_store(&t->stop, true);
        pthread_join(t->thread, NULL);
        rd_kafka_consumer_close(t->in);
        rd_kafka_destroy(t->in);
        rd_kafka_flush(t->out, 5000);
        rd_kafka_destroy(t->out);
        pthread_mutex_destroy(&t->lock);
        free(t->reqs);
        free(t->held);
        free(t);
}

void fake_target_reset_held(struct fake_target *t)
{
        pthread_mutex_lock(&t->lock);
        t->max_held = t->nheld;
        pthread_mutex_unlock(&t->lock);
}

size_t fake_target_count(struct fake_target *t)
{
        pthread_mutex_lock(&t->lock);
        size_t n = t->nreqs;

        pthread_mutex_unlock(&t->lock);
        return n;
}

bool fake_target_wait(struct fake_target *t, size_t n, int timeout_ms)
{
        int64_t until = cairn_mono_us() + (int64_t)timeout_ms * 1000;

        while (fake_target_count(t) < n) {
                if (cairn_mono_us() > until)
                        return false;
                usleep(10 * 1000);
        }
        return true;
}

bool fake_target_get(struct fake_target *t, size_t i, struct fake_target_req *out)
{
        pthread_mutex_lock(&t->lock);
        bool ok = i < t->nreqs;

        if (ok)
                *out = t->reqs[i];
        pthread_mutex_unlock(&t->lock);
        return ok;
}

size_t fake_target_find(struct fake_target *t, const char *prefix, struct fake_target_req *out,
                        size_t max)
{
        size_t n = 0, plen = strlen(prefix);

        pthread_mutex_lock(&t->lock);
        for (size_t i = 0; i < t->nreqs; i++)
                if (strncmp(t->reqs[i].ce_id, prefix, plen) == 0) {
                        if (n < max)
                                out[n] = t->reqs[i];
                        n++;
                }
        pthread_mutex_unlock(&t->lock);
        return n;
}

size_t fake_target_max_held(struct fake_target *t)
{
        pthread_mutex_lock(&t->lock);
        size_t n = t->max_held;

        pthread_mutex_unlock(&t->lock);
        return n;
}

void fake_target_answer(struct fake_target *t, size_t i, const char *text)
{
        struct fake_target_decision d = { .action = FAKE_TARGET_ANSWER };
        struct fake_target_req r;

        ck_assert_msg(fake_target_get(t, i, &r), "no request %zu", i);
        snprintf(d.reply_text, sizeof(d.reply_text), "%s", text);
        ck_assert_int_eq(answer(t, &r, &d), 0);
        ck_assert_int_eq(rd_kafka_flush(t->out, 10000), 0);
}
