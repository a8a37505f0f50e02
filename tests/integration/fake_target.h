/* A translation service that workflow steps call, played by the test on a
 * thread of its own over raw librdkafka (fake_target.c). Where
 * fake_service.h takes one request at a time on the test's thread, this one
 * keeps up with hundreds of runs: it records every request it receives
 * (ce_id, attempt, time, its first text) and answers as the test's policy
 * says — a TranslateReply, a cairn.v1.Status, or nothing — after a hold,
 * counting the answers held at once. Replies go where the request says
 * (cairn_reply_to, its partition when given) with the request's key, as
 * the real services answer. */
#ifndef CAIRN_TESTS_FAKE_TARGET_H
#define CAIRN_TESTS_FAKE_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/err.h"
#include "harness.h"

#define FAKE_TARGET_TEXT 2048

/* One request as received. */
struct fake_target_req {
        char ce_id[200];  /* "<run_id>/<step>/<attempt>" */
        unsigned attempt; /* the ce_id's last number (0: none) */
        char key[128];
        char reply_to[256];
        int32_t reply_partition;     /* -1: none given */
        int64_t deadline_ms;         /* cairn_deadline, 0: none */
        int64_t at_ms;               /* wall clock, unix ms, as history times are */
        char text[FAKE_TARGET_TEXT]; /* texts[0] of its TranslateRequest, cut short */
};

enum fake_target_action {
        FAKE_TARGET_ANSWER, /* a TranslateReply whose one translation is reply_text */
        FAKE_TARGET_FAIL,   /* a cairn.v1.Status of code */
        FAKE_TARGET_IGNORE, /* nothing (fake_target_answer() may answer it later) */
};

struct fake_target_decision {
        enum fake_target_action action;
        cairn_err_t code;
        int hold_ms;                       /* answer this much after receiving */
        char reply_text[FAKE_TARGET_TEXT]; /* "" : "re:" and the request's text */
};

/* Decides what to do with @p req; @p d comes zeroed (answer at once).
 * Runs on the fake's thread with its lock held: it must not call
 * fake_target_*(). */
typedef void (*fake_target_policy)(void *opaque, const struct fake_target_req *req,
                                   struct fake_target_decision *d);

struct fake_target;

/* Consumes every partition of @p topic on @p b from its start, with
 * @p policy (NULL: answer everything at once). */
struct fake_target *fake_target_start(const struct harness_broker *b, const char *topic,
                                      fake_target_policy policy, void *opaque);
void fake_target_stop(struct fake_target *t);

/* Starts counting the most answers held at once afresh. */
void fake_target_reset_held(struct fake_target *t);

/* Requests received so far (each delivery counts). */
size_t fake_target_count(struct fake_target *t);
/* Waits until at least @p n requests came; false after @p timeout_ms. */
bool fake_target_wait(struct fake_target *t, size_t n, int timeout_ms);
/* A copy of request @p i (in the order received) into @p out; false when
 * there is none. */
bool fake_target_get(struct fake_target *t, size_t i, struct fake_target_req *out);
/* Copies of the requests whose ce_id starts with @p prefix (a run's:
 * "<run_id>/"), in the order received, into @p out (up to @p max); how
 * many there are. */
size_t fake_target_find(struct fake_target *t, const char *prefix, struct fake_target_req *out,
                        size_t max);
/* The most answers held back at once since the start or the last
 * fake_target_reset_held(). */
size_t fake_target_max_held(struct fake_target *t);

/* Answers request @p i now with a TranslateReply of @p text (a late reply
 * to a request the policy ignored); waits until the broker has it. */
void fake_target_answer(struct fake_target *t, size_t i, const char *text);

#endif
