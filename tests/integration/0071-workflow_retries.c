/* The workflow service's guarantees about calls, against a translation
 * service the test plays itself (fake_target.h) so that it can fail, stay
 * silent, hold answers and count what it receives: retries with Temporal's
 * backoff, non-retryable codes and maximum attempts; an attempt's timeout
 * and a late reply to it; fan-out within max_parallel, per-element
 * conditions and a join that sees the list in order; cancel running the
 * compensations newest first, and terminate running none. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/clock.h"
#include "fake_target.h"
#include "harness.h"
#include "workflow_client.h"

#define TENANT "acme"
#define CALL   "\"service\": \"translation\", \"type\": \"cairn.translation.v1.TranslateRequest\""
/* A TranslateRequest of one text, @p text a JSON string. */
#define REQUEST(text) "\"request\": {\"texts\": [" text "], \"source\": \"en\", \"target\": \"es\"}"

static struct harness_broker broker;
static struct harness_proc workflow;
static struct harness_client client;
static struct fake_target *target;
static char pg_url[512];

/* What the fake does is written in the request's text:
 *   flaky:...   fails twice with UNAVAILABLE, then answers
 *   invalid:... fails with INVALID_ARGUMENT
 *   down:...    fails with UNAVAILABLE, always
 *   silent:...  answers attempt 1 never, later ones 250 ms after
 *   slow:...    answers 150 ms after
 *   else        answers at once ("re:" and the text) */
static void policy(void *opaque, const struct fake_target_req *req, struct fake_target_decision *d)
{
        (void)opaque;
        if (strncmp(req->text, "flaky:", 6) == 0 && req->attempt <= 2) {
                d->action = FAKE_TARGET_FAIL;
                d->code = CAIRN_ERR_UNAVAILABLE;
        } else if (strncmp(req->text, "invalid:", 8) == 0) {
                d->action = FAKE_TARGET_FAIL;
                d->code = CAIRN_ERR_INVALID;
        } else if (strncmp(req->text, "down:", 5) == 0) {
                d->action = FAKE_TARGET_FAIL;
                d->code = CAIRN_ERR_UNAVAILABLE;
        } else if (strncmp(req->text, "silent:", 7) == 0) {
                d->action = req->attempt == 1 ? FAKE_TARGET_IGNORE : FAKE_TARGET_ANSWER;
                d->hold_ms = 250;
                snprintf(d->reply_text, sizeof(d->reply_text), "on-time");
        } else if (strncmp(req->text, "slow:", 5) == 0) {
                d->hold_ms = 150;
        }
}

static void setup(void)
{
        harness_broker_start(&broker, 1);
        harness_pg_database(pg_url, sizeof(pg_url));
        target = fake_target_start(&broker, harness_topic("cairn.translation.v1.requests"), policy,
                                   NULL);
        harness_workflow_start(&workflow, &broker, pg_url,
                               (const char *const[]){ "CAIRN_WORKFLOW_POLL_MS=20", NULL });
        ck_assert_msg(harness_wait_ready(&workflow, 30000), "workflow not ready (%s)",
                      workflow.log_path);
        harness_client_start(&client, &broker, "itest-wf-retries");
        harness_client_direct(&client, harness_topic("cairn.workflow.v1.requests"), 0);
        wfc_init(&client, harness_topic("cairn.workflow.v1.requests"), TENANT);
}

static void teardown(void)
{
        harness_client_stop(&client);
        ck_assert_int_eq(harness_service_stop(&workflow, 15000), 0);
        fake_target_stop(target);
        harness_broker_stop(&broker);
}

/* ---- helpers ---- */

#define MAX_SEEN 64

/* The requests of run @p run_id the fake received, in order. */
static size_t seen(const char *run_id, struct fake_target_req *out)
{
        char prefix[64];
        size_t n;

        snprintf(prefix, sizeof(prefix), "%s/", run_id);
        n = fake_target_find(target, prefix, out, MAX_SEEN);
        ck_assert_int_le(n, MAX_SEEN);
        return n;
}

static void assert_ce_id(const struct fake_target_req *r, const char *run_id, const char *step,
                         unsigned attempt)
{
        char want[200];

        snprintf(want, sizeof(want), "%s/%s/%u", run_id, step, attempt);
        ck_assert_str_eq(r->ce_id, want);
}

/* The @p nth (from 0) event @p event of step @p step. */
static const json_t *nth_event(const json_t *events, const char *event, const char *step, int nth)
{
        const json_t *e;
        size_t i;

        json_array_foreach(events, i, e)
                if (strcmp(wfc_str(e, "event"), event) == 0 &&
                    strcmp(wfc_str(e, "step"), step) == 0 && nth-- == 0)
                        return e;
        ck_abort_msg("no %s of %s in %s", event, step, wfc_dump(events));
        return NULL;
}

/* The time of the @p nth (from 0) event @p event of step @p step. */
static int64_t event_ms(const json_t *events, const char *event, const char *step, int nth)
{
        return wfc_time_ms(json_object_get(nth_event(events, event, step, nth), "time"));
}

/* The delay the @p nth (from 0) STEP_RETRIED event of step @p step gives. */
static const char *retry_delay(const json_t *events, const char *step, int nth)
{
        const json_t *e = nth_event(events, "EVENT_TYPE_STEP_RETRIED", step, nth);

        return wfc_str(json_object_get(e, "detail"), "delay");
}

static long long error_code(const json_t *obj)
{
        return json_integer_value(json_object_get(json_object_get(obj, "error"), "code"));
}

/* The text of a TranslateReply in JSON form. */
static const char *reply_text(const json_t *reply)
{
        return wfc_str(json_array_get(json_object_get(reply, "translations"), 0), "text");
}

/* ---- retries ---- */

/* clang-format off */
static const char retrying[] =
        "{\"type\": \"retrying\", \"steps\": [{\"id\": \"tr\", \"call\": {"
        CALL ", " REQUEST("\"${input.text}\"") ","
        " \"retry\": {\"initialInterval\": \"0.2s\", \"backoffCoefficient\": 2,"
        " \"maximumInterval\": \"10s\"}}}]}";
/* clang-format on */

START_TEST(test_retries_follow_the_backoff)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id;
        json_t *run, *h;

        wfc_register(retrying);
        run_id = wfc_start("retrying", "flaky-1", "{\"text\": \"flaky:one\"}");
        run = wfc_wait_closed("flaky-1", 15000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", wfc_dump(run));
        ck_assert_int_eq(json_integer_value(json_object_get(wfc_step(run, "tr"), "attempt")), 3);
        ck_assert_str_eq(reply_text(json_object_get(json_object_get(run, "output"), "tr")),
                         "re:flaky:one");

        /* three dispatches, one per attempt, each its own ce_id */
        ck_assert_int_eq(seen(run_id, r), 3);
        for (unsigned i = 0; i < 3; i++)
                assert_ce_id(&r[i], run_id, "tr", i + 1);
        /* 0.2 s before attempt 2, 0.4 s before attempt 3: never sooner
         * (how much later depends on the machine's load) */
        int64_t gap1 = r[1].at_ms - r[0].at_ms, gap2 = r[2].at_ms - r[1].at_ms;

        ck_assert_msg(gap1 >= 200, "attempt 2 came %lld ms after 1", (long long)gap1);
        ck_assert_msg(gap2 >= 400, "attempt 3 came %lld ms after 2", (long long)gap2);
        /* each attempt carries its own deadline: the default start-to-close */
        ck_assert_int_gt(r[2].deadline_ms, r[2].at_ms + 50000);

        h = wfc_history("flaky-1");
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_RETRIED", "tr"), 2);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_SCHEDULED", "tr"), 3);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_COMPLETED", "tr"), 1);
        /* the history's own times: retried, then scheduled again after the delay */
        ck_assert_int_ge(event_ms(h, "EVENT_TYPE_STEP_SCHEDULED", "tr", 1) -
                                 event_ms(h, "EVENT_TYPE_STEP_RETRIED", "tr", 0),
                         200);
        ck_assert_int_ge(event_ms(h, "EVENT_TYPE_STEP_SCHEDULED", "tr", 2) -
                                 event_ms(h, "EVENT_TYPE_STEP_RETRIED", "tr", 1),
                         400);
        ck_assert_int_eq(error_code(wfc_find_event(h, "EVENT_TYPE_STEP_RETRIED", "tr")),
                         CAIRN_ERR_UNAVAILABLE);
        /* the backoffs chosen, exactly: the initial interval, then doubled */
        ck_assert_str_eq(retry_delay(h, "tr", 0), "0.200s");
        ck_assert_str_eq(retry_delay(h, "tr", 1), "0.400s");
        json_decref(h);
        json_decref(run);
        free(run_id);
}
END_TEST

START_TEST(test_non_retryable_fails_at_once)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id;
        json_t *run, *h;

        wfc_register(retrying);
        run_id = wfc_start("retrying", "invalid-1", "{\"text\": \"invalid:one\"}");
        run = wfc_wait_closed("invalid-1", 10000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_FAILED") == 0, "%s", wfc_dump(run));
        ck_assert_msg(strstr(wfc_error(run), "step tr failed"), "%s", wfc_error(run));
        ck_assert_int_eq(error_code(run), CAIRN_ERR_INVALID);
        ck_assert_str_eq(wfc_str(wfc_step(run, "tr"), "status"), "STEP_STATUS_FAILED");
        ck_assert_int_eq(seen(run_id, r), 1);
        h = wfc_history("invalid-1");
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_RETRIED", NULL), 0);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_FAILED", "tr"), 1);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_RUN_FAILED", NULL), 1);
        json_decref(h);
        json_decref(run);
        free(run_id);
}
END_TEST

/* clang-format off */
static const char three_tries[] =
        "{\"type\": \"three-tries\", \"steps\": [{\"id\": \"tr\", \"call\": {"
        CALL ", " REQUEST("\"${input.text}\"") ","
        " \"retry\": {\"initialInterval\": \"0.05s\", \"maximumAttempts\": 3}}}]}";
/* clang-format on */

START_TEST(test_maximum_attempts)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id;
        json_t *run, *h;

        wfc_register(three_tries);
        run_id = wfc_start("three-tries", "down-1", "{\"text\": \"down:one\"}");
        run = wfc_wait_closed("down-1", 10000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_FAILED") == 0, "%s", wfc_dump(run));
        ck_assert_msg(strstr(wfc_error(run), "step tr failed"), "%s", wfc_error(run));
        ck_assert_int_eq(error_code(run), CAIRN_ERR_UNAVAILABLE);
        ck_assert_int_eq(json_integer_value(json_object_get(wfc_step(run, "tr"), "attempt")), 3);
        /* nothing after the third */
        usleep(300 * 1000);
        ck_assert_int_eq(seen(run_id, r), 3);
        assert_ce_id(&r[2], run_id, "tr", 3);
        h = wfc_history("down-1");
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_RETRIED", "tr"), 2);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_FAILED", "tr"), 1);
        json_decref(h);
        json_decref(run);
        free(run_id);
}
END_TEST

/* ---- an attempt's timeout ---- */

/* clang-format off */
static const char timing_out[] =
        "{\"type\": \"timing-out\", \"steps\": [{\"id\": \"tr\", \"call\": {"
        CALL ", " REQUEST("\"${input.text}\"") ","
        " \"startToCloseTimeout\": \"0.5s\", \"retry\": {\"initialInterval\": \"0.1s\"}}}]}";
/* clang-format on */

#define REPLIES_RECORDED "cairn_workflow_replies_total{outcome=\"recorded\"}"

START_TEST(test_timeout_then_late_reply)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id;
        json_t *run, *h;
        int64_t until;

        wfc_register(timing_out);
        run_id = wfc_start("timing-out", "silent-1", "{\"text\": \"silent:one\"}");
        /* attempt 1 is never answered: attempt 2 follows its timeout */
        until = cairn_mono_us() + 10 * 1000000LL;
        while (seen(run_id, r) < 2 && cairn_mono_us() < until)
                usleep(5 * 1000);
        ck_assert_int_ge(seen(run_id, r), 2);
        assert_ce_id(&r[1], run_id, "tr", 2);
        ck_assert_int_le(r[0].deadline_ms, r[0].at_ms + 500);

        /* attempt 1's reply, late: attempt 2 is waited for (the fake answers
         * it 250 ms after it came, within its 0.5 s; a machine too slow for
         * that sees attempt 3 answered the same way) */
        double before = harness_metric(workflow.admin_port, REPLIES_RECORDED);

        fake_target_answer(target, 0, "late");
        harness_wait_metric(workflow.admin_port, REPLIES_RECORDED, before + 1, 5000);
        run = wfc_wait_closed("silent-1", 10000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", wfc_dump(run));
        ck_assert_str_eq(reply_text(json_object_get(json_object_get(run, "output"), "tr")),
                         "on-time");
        ck_assert_int_ge(json_integer_value(json_object_get(wfc_step(run, "tr"), "attempt")), 2);
        /* both replies were read; only the last attempt's counted */
        harness_wait_metric(workflow.admin_port, REPLIES_RECORDED, before + 2, 5000);
        h = wfc_history("silent-1");
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_COMPLETED", "tr"), 1);
        ck_assert_int_ge(json_integer_value(json_object_get(
                                 wfc_find_event(h, "EVENT_TYPE_STEP_COMPLETED", "tr"), "attempt")),
                         2);
        const json_t *retried = wfc_find_event(h, "EVENT_TYPE_STEP_RETRIED", "tr");

        ck_assert_ptr_nonnull(retried);
        ck_assert_int_eq(error_code(retried), CAIRN_ERR_DEADLINE);
        ck_assert_int_ge(event_ms(h, "EVENT_TYPE_STEP_RETRIED", "tr", 0) -
                                 event_ms(h, "EVENT_TYPE_STEP_SCHEDULED", "tr", 0),
                         500);
        /* attempt 2 came no sooner than 0.5 s after attempt 1 was sent. (Not
         * after the fake received attempt 1: that one may have spent longer
         * on its way than attempt 2, as no reply orders them.) */
        int64_t wait = r[1].at_ms - event_ms(h, "EVENT_TYPE_STEP_SCHEDULED", "tr", 0);

        ck_assert_msg(wait >= 500, "attempt 2 came %lld ms after 1 was sent", (long long)wait);
        json_decref(h);
        json_decref(run);
        free(run_id);
}
END_TEST

/* ---- fan-out ---- */

/* clang-format off */
static const char fan[] =
        "{\"type\": \"fan\", \"steps\": ["
        " {\"id\": \"fan\", \"fanOut\": {\"items\": \"${input.items}\", \"maxParallel\": 3,"
        "  \"when\": {\"ref\": \"item.skip\", \"op\": \"OP_NOT_EQUALS\", \"value\": true},"
        "  \"call\": {" CALL ", " REQUEST("\"${item.text}\"") "}}},"
        " {\"id\": \"join\", \"after\": [\"fan\"], \"call\": {"
        CALL ", " REQUEST("\"joined ${steps.fan.output}\"") "}}]}";
/* clang-format on */

/* A fan's input of @p n items "<prefix>i<k>", those in @p skip skipped and
 * item @p bad (or -1) failing. */
static char *fan_input(int n, const char *prefix, const int *skip, size_t nskip, int bad)
{
        json_t *items = json_array();

        for (int k = 0; k < n; k++) {
                char text[64];
                bool skipped = false;

                for (size_t i = 0; i < nskip; i++)
                        skipped |= skip[i] == k;
                snprintf(text, sizeof(text), "%si%d", k == bad ? "invalid:" : prefix, k);
                json_array_append_new(items, json_pack("{s:s,s:b}", "text", text, "skip", skipped));
        }
        json_t *input = json_pack("{s:o}", "items", items);
        char *s = json_dumps(input, JSON_COMPACT);

        json_decref(input);
        ck_assert_ptr_nonnull(s);
        return s;
}

START_TEST(test_fan_out_within_max_parallel)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id, *input = fan_input(10, "slow:", NULL, 0, -1);
        json_t *run;

        wfc_register(fan);
        fake_target_reset_held(target);
        run_id = wfc_start("fan", "fan-1", input);
        run = wfc_wait_closed("fan-1", 20000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", wfc_dump(run));
        /* never more than three at once (and more than one: they do run
         * side by side) */
        ck_assert_int_le(fake_target_max_held(target), 3);
        ck_assert_int_ge(fake_target_max_held(target), 2);
        ck_assert_int_eq(seen(run_id, r), 11);

        /* the fan's output is its elements' outputs in order, and the join
         * saw that list */
        const json_t *out = json_object_get(run, "output");
        const json_t *list = json_object_get(out, "fan");
        const char *joined = reply_text(json_object_get(out, "join"));
        const char *at = joined;

        ck_assert_int_eq(json_array_size(list), 10);
        for (int k = 0; k < 10; k++) {
                char want[32];

                snprintf(want, sizeof(want), "re:slow:i%d", k);
                ck_assert_str_eq(reply_text(json_array_get(list, (size_t)k)), want);
                at = strstr(at, want);
                ck_assert_msg(at, "the join did not see %s in order: %s", want, joined);
        }
        ck_assert_msg(strncmp(joined, "re:joined [", 11) == 0, "%s", joined);
        json_decref(run);
        free(run_id);
        free(input);
}
END_TEST

START_TEST(test_fan_out_when_skips_elements)
{
        struct fake_target_req r[MAX_SEEN];
        static const int skip[] = { 2, 5 };
        char *run_id, *input = fan_input(6, "", skip, 2, -1);
        json_t *run, *h;

        wfc_register(fan);
        run_id = wfc_start("fan", "fan-skip", input);
        run = wfc_wait_closed("fan-skip", 20000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_COMPLETED") == 0, "%s", wfc_dump(run));
        const json_t *list = json_object_get(json_object_get(run, "output"), "fan");

        ck_assert_int_eq(json_array_size(list), 6);
        for (int k = 0; k < 6; k++)
                ck_assert_msg(json_is_null(json_array_get(list, (size_t)k)) == (k == 2 || k == 5),
                              "element %d: %s", k, wfc_dump(list));
        /* 4 elements and the join reached the service */
        size_t n = seen(run_id, r);

        ck_assert_int_eq(n, 5);
        for (size_t i = 0; i < n; i++)
                ck_assert_msg(!strstr(r[i].ce_id, "/fan[2]/") && !strstr(r[i].ce_id, "/fan[5]/"),
                              "%s was dispatched", r[i].ce_id);
        h = wfc_history("fan-skip");
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_SKIPPED", "fan[2]"), 1);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_SKIPPED", "fan[5]"), 1);
        json_decref(h);
        json_decref(run);
        free(run_id);
        free(input);
}
END_TEST

START_TEST(test_fan_out_failing_element_fails_the_run)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id, *input = fan_input(6, "", NULL, 0, 3);
        json_t *run;

        wfc_register(fan);
        run_id = wfc_start("fan", "fan-bad", input);
        run = wfc_wait_closed("fan-bad", 20000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_FAILED") == 0, "%s", wfc_dump(run));
        ck_assert_msg(strstr(wfc_error(run), "fan[3]"), "%s", wfc_error(run));
        ck_assert_int_eq(error_code(run), CAIRN_ERR_INVALID);
        /* the join never ran */
        size_t n = seen(run_id, r);

        for (size_t i = 0; i < n; i++)
                ck_assert_msg(!strstr(r[i].ce_id, "/join/"), "%s was dispatched", r[i].ce_id);
        ck_assert_str_ne(wfc_str(wfc_step(run, "join"), "status"), "STEP_STATUS_COMPLETED");
        json_decref(run);
        free(run_id);
        free(input);
}
END_TEST

/* ---- cancel and terminate ---- */

#define UNDO(text) ", \"compensation\": {" CALL ", " REQUEST(text) "}"

/* clang-format off */
static const char compensated[] =
        "{\"type\": \"compensated\", \"steps\": ["
        " {\"id\": \"a\", \"call\": {" CALL ", " REQUEST("\"do-a\"")
        UNDO("\"undo-a ${steps.a.output.translations[0].text}\"") "}},"
        " {\"id\": \"b\", \"after\": [\"a\"], \"call\": {" CALL ", " REQUEST("\"do-b\"")
        UNDO("\"undo-b\"") "}},"
        " {\"id\": \"w\", \"after\": [\"b\"], \"waitSignal\": {\"name\": \"go\"}}]}";
/* clang-format on */

START_TEST(test_cancel_compensates_newest_first)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id;
        json_t *run, *h;

        wfc_register(compensated);
        run_id = wfc_start("compensated", "comp-1", "{}");
        json_decref(wfc_wait_step("comp-1", "w", "STEP_STATUS_WAITING", 10000));
        json_decref(wfc_must(WF(cancel_run_request), WF(cancel_run_reply),
                             "{\"workflowId\": \"comp-1\", \"reason\": \"changed my mind\"}"));
        run = wfc_wait_closed("comp-1", 10000);
        ck_assert_msg(strcmp(wfc_status(run), "RUN_STATUS_CANCELLED") == 0, "%s", wfc_dump(run));
        ck_assert_msg(strstr(wfc_error(run), "changed my mind"), "%s", wfc_error(run));

        /* the calls, then the compensations newest first; a's sees its output */
        ck_assert_int_eq(seen(run_id, r), 4);
        ck_assert_str_eq(r[0].text, "do-a");
        ck_assert_str_eq(r[1].text, "do-b");
        ck_assert_str_eq(r[2].text, "undo-b");
        assert_ce_id(&r[2], run_id, "b.compensate", 1);
        ck_assert_str_eq(r[3].text, "undo-a re:do-a");
        assert_ce_id(&r[3], run_id, "a.compensate", 1);
        h = wfc_history("comp-1");
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_COMPLETED", "b.compensate"), 1);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_COMPLETED", "a.compensate"), 1);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_RUN_CANCELLED", NULL), 1);
        json_decref(h);
        json_decref(run);
        free(run_id);
}
END_TEST

START_TEST(test_terminate_compensates_nothing)
{
        struct fake_target_req r[MAX_SEEN];
        char *run_id;
        json_t *run, *h;

        wfc_register(compensated);
        run_id = wfc_start("compensated", "comp-2", "{}");
        json_decref(wfc_wait_step("comp-2", "w", "STEP_STATUS_WAITING", 10000));
        json_decref(wfc_must(WF(terminate_run_request), WF(terminate_run_reply),
                             "{\"workflowId\": \"comp-2\", \"reason\": \"stop now\"}"));
        run = wfc_get_run("comp-2");
        ck_assert_str_eq(wfc_status(run), "RUN_STATUS_TERMINATED");
        /* time for a compensation to be dispatched, were one scheduled */
        usleep(700 * 1000);
        ck_assert_int_eq(seen(run_id, r), 2);
        h = wfc_history("comp-2");
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_SCHEDULED", "b.compensate"), 0);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_STEP_SCHEDULED", "a.compensate"), 0);
        ck_assert_int_eq(wfc_count_events(h, "EVENT_TYPE_RUN_TERMINATED", NULL), 1);
        json_decref(h);
        json_decref(run);
        free(run_id);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("workflow_retries");
        TCase *tc = tcase_create("calls");

        tcase_set_timeout(tc, 120);
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_retries_follow_the_backoff);
        tcase_add_test(tc, test_non_retryable_fails_at_once);
        tcase_add_test(tc, test_maximum_attempts);
        tcase_add_test(tc, test_timeout_then_late_reply);
        tcase_add_test(tc, test_fan_out_within_max_parallel);
        tcase_add_test(tc, test_fan_out_when_skips_elements);
        tcase_add_test(tc, test_fan_out_failing_element_fails_the_run);
        tcase_add_test(tc, test_cancel_compensates_newest_first);
        tcase_add_test(tc, test_terminate_compensates_nothing);
        suite_add_tcase(s, tc);
        return harness_run(s);
}
