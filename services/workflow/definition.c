/* Workflow definitions (definition.h): the checks a definition passes at
 * registration, in the order a reader would fix them (names and shape, the
 * graph, then each step's contents), the step graph the engine walks, and
 * Temporal's retry arithmetic. Everything here is pure: no I/O, no state. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pb_registry.h"
#include "cairn/pbjson.h"
#include "definition.h"
#include "template.h"

#define NO_STEP SIZE_MAX
/* How much of a string from the definition a message quotes. */
#define QUOTE_MAX 100
#define ID_MAX    64
/* Ids a cycle's message lists before it says "...". */
#define CYCLE_SHOWN 8

/* Temporal's defaults. */
#define RETRY_INITIAL_MS    1000
#define RETRY_COEFFICIENT   2.0
#define RETRY_MAXIMUM_TIMES 100

static void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size);

        if (!p)
                abort();
        return p;
}

static const char *str(const char *s)
{
        return s ? s : "";
}

/* The first bytes of @p s to quote, at most @p max, cut at a character;
 * *@p more is "..." when something was left out. */
static int clip(const char *s, size_t max, const char **more)
{
        size_t len = strlen(s), n = len;

        *more = "";
        if (len > max) {
                n = max;
                while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
                        n--;
                *more = "...";
        }
        return (int)n;
}

/* ---- the graph ---- */

/* The steps sorted by id (ties by position), for lookups by name. */
struct id_entry {
        const char *id;
        size_t i;
};

struct id_index {
        struct id_entry *by_id;
        size_t n;
};

static int id_entry_cmp(const void *a, const void *b)
{
        const struct id_entry *x = a, *y = b;
        int c = strcmp(x->id, y->id);

        if (c)
                return c;
        return (x->i > y->i) - (x->i < y->i);
}

/* Every step of @p def must be there (not NULL). */
static void id_index_init(struct id_index *x, const wf_definition *def)
{
        x->n = def->n_steps;
        x->by_id = xcalloc(x->n, sizeof(*x->by_id));
        for (size_t i = 0; i < x->n; i++) {
                x->by_id[i].id = str(def->steps[i]->id);
                x->by_id[i].i = i;
        }
        qsort(x->by_id, x->n, sizeof(*x->by_id), id_entry_cmp);
}

/* The position of the first step named @p id, or -1. */
static long id_index_find(const struct id_index *x, const char *id)
{
        size_t lo = 0, hi = x->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;

                if (strcmp(x->by_id[mid].id, id) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo < x->n && strcmp(x->by_id[lo].id, id) == 0)
                return (long)x->by_id[lo].i;
        return -1;
}

/* Fills @p g: 0; -1 for an unknown or repeated name in an after list or a
 * repeated id; -2 on a cycle, with g->order holding the *@p placed steps
 * that do not depend on it (the caller frees @p g either way). */
static int graph_fill(struct wf_graph *g, const wf_definition *def, size_t *placed)
{
        size_t n = def->n_steps, done = 0;
        struct id_index x;
        size_t *indeg, *seen;
        int rc = 0;

        memset(g, 0, sizeof(*g));
        g->def = def;
        g->n = n;
        g->preds = xcalloc(n, sizeof(*g->preds));
        g->npreds = xcalloc(n, sizeof(*g->npreds));
        g->succs = xcalloc(n, sizeof(*g->succs));
        g->nsuccs = xcalloc(n, sizeof(*g->nsuccs));
        g->order = xcalloc(n, sizeof(*g->order));
        *placed = 0;
        for (size_t i = 0; i < n; i++)
                if (!def->steps[i])
                        return -1;
        id_index_init(&x, def);
        indeg = xcalloc(n, sizeof(*indeg));
        seen = xcalloc(n, sizeof(*seen));
        for (size_t i = 0; i < n && rc == 0; i++) {
                const wf_step *s = def->steps[i];

                if (id_index_find(&x, str(s->id)) != (long)i)
                        rc = -1; /* an id given to an earlier step too */
                g->preds[i] = xcalloc(s->n_after, sizeof(size_t));
                for (size_t k = 0; k < s->n_after && rc == 0; k++) {
                        long p = id_index_find(&x, str(s->after[k]));

                        if (p < 0 || seen[p] == i + 1) {
                                rc = -1;
                                break;
                        }
                        seen[p] = i + 1;
                        g->preds[i][g->npreds[i]++] = (size_t)p;
                        g->nsuccs[p]++;
                }
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
                g->succs[i] = xcalloc(g->nsuccs[i], sizeof(size_t));
                g->nsuccs[i] = 0;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
                for (size_t k = 0; k < g->npreds[i]; k++) {
                        size_t p = g->preds[i][k];

                        g->succs[p][g->nsuccs[p]++] = i;
                }
                indeg[i] = g->npreds[i];
        }
        /* Kahn's algorithm, always taking the first ready step in definition
         * order, so the order is the definition's wherever the graph allows. */
        memset(seen, 0, n * sizeof(*seen));
        while (rc == 0 && done < n) {
                size_t i = 0;

                while (i < n && (seen[i] || indeg[i]))
                        i++;
                if (i == n) {
                        rc = -2;
                        break;
                }
                seen[i] = 1;
                g->order[done++] = i;
                for (size_t k = 0; k < g->nsuccs[i]; k++)
                        indeg[g->succs[i][k]]--;
        }
        *placed = done;
        free(indeg);
        free(seen);
        free(x.by_id);
        return rc;
}

int wf_graph_build(struct wf_graph *g, const wf_definition *def)
{
        size_t placed;

        if (graph_fill(g, def, &placed) != 0) {
                wf_graph_free(g);
                return -1;
        }
        return 0;
}

void wf_graph_free(struct wf_graph *g)
{
        if (!g)
                return;
        for (size_t i = 0; i < g->n; i++) {
                if (g->preds)
                        free(g->preds[i]);
                if (g->succs)
                        free(g->succs[i]);
        }
        free(g->preds);
        free(g->npreds);
        free(g->succs);
        free(g->nsuccs);
        free(g->order);
        memset(g, 0, sizeof(*g));
}

long wf_graph_find(const struct wf_graph *g, const char *id)
{
        for (size_t i = 0; i < g->n; i++)
                if (strcmp(str(g->def->steps[i]->id), str(id)) == 0)
                        return (long)i;
        return -1;
}

const struct wf_target *wf_target_find(const struct wf_def_env *env, const char *service)
{
        for (size_t i = 0; i < env->ntargets; i++)
                if (strcmp(env->targets[i].service, str(service)) == 0)
                        return &env->targets[i];
        return NULL;
}

/* ---- durations and retries ---- */

int64_t wf_duration_ms(const Google__Protobuf__Duration *d, int64_t unset_ms)
{
        int64_t ms;

        if (!d)
                return unset_ms;
        if (d->seconds < 0 || (d->seconds == 0 && d->nanos <= 0))
                return 0;
        if (d->seconds >= INT64_MAX / 1000 - 1)
                return INT64_MAX;
        ms = d->seconds * 1000;
        if (d->nanos > 0)
                ms += (d->nanos + 999999) / 1000000;
        return ms;
}

void wf_retry_rules(const wf_retry *policy, struct wf_retry_rules *r)
{
        static const cairn_err_t never[] = { CAIRN_ERR_INVALID,      CAIRN_ERR_PERMISSION,
                                             CAIRN_ERR_NOT_FOUND,    CAIRN_ERR_UNIMPLEMENTED,
                                             CAIRN_ERR_PRECONDITION, CAIRN_ERR_UNAUTHENTICATED };
        double c = policy ? policy->backoff_coefficient : 0;

        memset(r, 0, sizeof(*r));
        /* unset and 0 both take the default, as in Temporal */
        r->initial_ms = policy ? wf_duration_ms(policy->initial_interval, 0) : 0;
        if (r->initial_ms <= 0)
                r->initial_ms = RETRY_INITIAL_MS;
        r->coefficient = c >= 1 && isfinite(c) ? c : RETRY_COEFFICIENT;
        r->maximum_ms = policy ? wf_duration_ms(policy->maximum_interval, 0) : 0;
        if (r->maximum_ms <= 0)
                r->maximum_ms = r->initial_ms > INT64_MAX / RETRY_MAXIMUM_TIMES
                                        ? INT64_MAX
                                        : r->initial_ms * RETRY_MAXIMUM_TIMES;
        if (r->maximum_ms < r->initial_ms)
                r->maximum_ms = r->initial_ms;
        r->maximum_attempts = policy ? policy->maximum_attempts : 0;
        if (!policy || policy->n_non_retryable_codes == 0) {
                for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
                        r->non_retryable |= 1u << never[i];
                return;
        }
        for (size_t i = 0; i < policy->n_non_retryable_codes; i++) {
                int code = cairn_err_from_str(str(policy->non_retryable_codes[i]));

                if (code > 0)
                        r->non_retryable |= 1u << code;
        }
}

bool wf_retry_next(const struct wf_retry_rules *r, uint32_t attempt, cairn_err_t code,
                   int64_t *delay_ms)
{
        double d;

        code = cairn_err_from_code((int)code); /* a code off the wire: UNKNOWN */
        if (code == CAIRN_OK || (r->non_retryable & (1u << code)))
                return false;
        if (r->maximum_attempts && attempt >= r->maximum_attempts)
                return false;
        /* initial × coefficient^(attempt-1), at most the maximum interval */
        d = (double)r->initial_ms * pow(r->coefficient, attempt ? (double)(attempt - 1) : 0.0);
        if (!(d < (double)r->maximum_ms))
                d = (double)r->maximum_ms;
        if (delay_ms)
                *delay_ms = d >= (double)r->maximum_ms ? r->maximum_ms : llround(d);
        return true;
}

/* ---- checking ---- */

struct checker {
        const wf_definition *def;
        const struct wf_def_env *env;
        struct cairn_status *st;
        struct wf_graph g;
        struct id_index x;
        uint64_t *anc; /* n rows of words: bit j of row i when step j runs before step i */
        size_t words;
};

static cairn_err_t refuse(struct checker *ck, size_t i, const char *field, const char *reason,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fails the check: on step @p i, the status's field is "steps[i].<field>"
 * and its message starts "steps[i] ("id"): "; on the definition (NO_STEP),
 * the field is @p field as given. */
static cairn_err_t refuse(struct checker *ck, size_t i, const char *field, const char *reason,
                          const char *fmt, ...)
{
        char text[CAIRN_STATUS_MSG_MAX], where[128];
        const char *id, *more;
        va_list ap;
        int n;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        if (i == NO_STEP)
                return cairn_status_set(ck->st, CAIRN_ERR_INVALID, field, reason, "%s", text);
        if (field && field[0])
                snprintf(where, sizeof(where), "steps[%zu].%s", i, field);
        else
                snprintf(where, sizeof(where), "steps[%zu]", i);
        id = ck->def->steps[i] ? str(ck->def->steps[i]->id) : "";
        if (!id[0])
                return cairn_status_set(ck->st, CAIRN_ERR_INVALID, where, reason, "steps[%zu]: %s",
                                        i, text);
        n = clip(id, ID_MAX, &more);
        return cairn_status_set(ck->st, CAIRN_ERR_INVALID, where, reason,
                                "steps[%zu] (\"%.*s%s\"): %s", i, n, id, more, text);
}

static bool in_set(char c, const char *extra)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr(extra, c));
}

static bool step_id_valid(const char *id)
{
        size_t len = strlen(id);

        if (len < 1 || len > ID_MAX)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!in_set(id[i], "_-"))
                        return false;
        return true;
}

static bool type_name_valid(const char *t)
{
        size_t len = strlen(t);

        if (len < 1 || len > 128 || !in_set(t[0], ""))
                return false;
        for (size_t i = 1; i < len; i++)
                if (!in_set(t[i], "_.-"))
                        return false;
        return true;
}

static bool signal_name_valid(const char *s)
{
        size_t len = strlen(s);

        if (len < 1 || len > 64)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!in_set(s[i], "_.-ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
                        return false;
        return true;
}

/* "1.5s", the way the JSON mapping writes a duration. */
static void duration_text(int64_t seconds, int32_t nanos, char *buf, size_t size)
{
        const char *sign = seconds < 0 || nanos < 0 ? "-" : "";
        unsigned long long s = seconds < 0 ? 0ULL - (unsigned long long)seconds
                                           : (unsigned long long)seconds;
        long ns = nanos < 0 ? -(long)nanos : nanos;
        char frac[16];
        size_t n;

        if (ns == 0) {
                snprintf(buf, size, "%s%llus", sign, s);
                return;
        }
        snprintf(frac, sizeof(frac), "%09ld", ns);
        n = strlen(frac);
        while (n > 0 && frac[n - 1] == '0')
                n--;
        snprintf(buf, size, "%s%llu.%.*ss", sign, s, (int)n, frac);
}

/* A duration in a definition: well formed, not negative, at most the
 * environment's longest. NULL (unset) passes. */
static cairn_err_t check_duration(struct checker *ck, size_t i, const char *field,
                                  const Google__Protobuf__Duration *d)
{
        int64_t max = ck->env->max_duration_ms;
        char text[48], limit[48];
        int64_t ms;

        if (!d)
                return CAIRN_OK;
        if (d->nanos <= -1000000000 || d->nanos >= 1000000000 || (d->seconds > 0 && d->nanos < 0) ||
            (d->seconds < 0 && d->nanos > 0))
                return refuse(ck, i, field, "BAD_DURATION",
                              "%s is not a valid duration (seconds %lld, nanos %d)", field,
                              (long long)d->seconds, (int)d->nanos);
        duration_text(d->seconds, d->nanos, text, sizeof(text));
        if (d->seconds < 0 || d->nanos < 0)
                return refuse(ck, i, field, "BAD_DURATION", "%s %s is negative", field, text);
        ms = d->seconds >= INT64_MAX / 1000 - 1 ? INT64_MAX
                                                : d->seconds * 1000 + d->nanos / 1000000;
        if (ms > max || (ms == max && d->nanos % 1000000)) {
                duration_text(max / 1000, (int32_t)(max % 1000) * 1000000, limit, sizeof(limit));
                return refuse(ck, i, field, "BAD_DURATION", "%s %s is longer than the %s allowed",
                              field, text, limit);
        }
        return CAIRN_OK;
}

static cairn_err_t check_retry(struct checker *ck, size_t i, const char *where, const wf_retry *r)
{
        char field[128], a[48], b[48];
        struct wf_retry_rules rules;
        double c;
        cairn_err_t err;

        if (!r)
                return CAIRN_OK;
        snprintf(field, sizeof(field), "%s.retry.initial_interval", where);
        err = check_duration(ck, i, field, r->initial_interval);
        if (err)
                return err;
        snprintf(field, sizeof(field), "%s.retry.maximum_interval", where);
        err = check_duration(ck, i, field, r->maximum_interval);
        if (err)
                return err;
        wf_retry_rules(r, &rules);
        if (wf_duration_ms(r->maximum_interval, 0) > 0 &&
            wf_duration_ms(r->maximum_interval, 0) < rules.initial_ms) {
                duration_text(r->maximum_interval->seconds, r->maximum_interval->nanos, a,
                              sizeof(a));
                duration_text(rules.initial_ms / 1000, (int32_t)(rules.initial_ms % 1000) * 1000000,
                              b, sizeof(b));
                return refuse(ck, i, field, "OUT_OF_RANGE",
                              "%s %s is shorter than the initial interval %s", field, a, b);
        }
        c = r->backoff_coefficient;
        if (!(c == 0 || (c >= 1 && isfinite(c)))) {
                snprintf(field, sizeof(field), "%s.retry.backoff_coefficient", where);
                return refuse(ck, i, field, "OUT_OF_RANGE",
                              "%s %g must be 0 (the default, 2) or at least 1", field, c);
        }
        for (size_t k = 0; k < r->n_non_retryable_codes; k++) {
                const char *name = str(r->non_retryable_codes[k]), *more;
                int n = clip(name, QUOTE_MAX, &more);

                if (cairn_err_from_str(name) > 0)
                        continue;
                snprintf(field, sizeof(field), "%s.retry.non_retryable_codes[%zu]", where, k);
                return refuse(ck, i, field, "BAD_CODE",
                              "%s \"%.*s%s\" is not the name of a gRPC error code "
                              "(INVALID_ARGUMENT, UNAVAILABLE, ...)",
                              field, n, name, more);
        }
        return CAIRN_OK;
}

/* ---- references ---- */

/* Where a template sits, and which references it may make. */
struct refs_ctx {
        struct checker *ck;
        size_t step;       /* NO_STEP: the definition's output */
        const char *where; /* "call.request" */
        bool item_ok;      /* inside a fan_out's call: item, index and previous */
        bool self_ok;      /* a compensation: its own step's output */
        cairn_err_t err;   /* the first reference refused */
        size_t count;
};

static bool runs_before(const struct checker *ck, size_t i, size_t j)
{
        return (ck->anc[i * ck->words + j / 64] >> (j % 64)) & 1;
}

/* Checks one reference's root: input; run.<field>; steps.<id>.output of
 * a step that runs before (any step for the output); item and index in a
 * fan_out's call. */
static void check_ref(const char *path, void *opaque)
{
        static const char *const run_fields[] = { "workflow_id", "run_id", "tenant", "type" };
        struct refs_ctx *rc = opaque;
        struct checker *ck = rc->ck;
        size_t root = strcspn(path, ".[");
        const char *more;
        int n;

        rc->count++;
        if (rc->err)
                return;
        if (root == 5 && strncmp(path, "input", 5) == 0)
                return;
        if ((root == 4 && strncmp(path, "item", 4) == 0) ||
            (root == 5 && strncmp(path, "index", 5) == 0) ||
            (root == 8 && strncmp(path, "previous", 8) == 0)) {
                if (!rc->item_ok)
                        rc->err = refuse(ck, rc->step, rc->where, "BAD_REFERENCE",
                                         "%s refers to %.*s, which exists only in a fan_out's call",
                                         rc->where, (int)root, path);
                return;
        }
        if (root == 3 && strncmp(path, "run", 3) == 0) {
                for (size_t k = 0; k < sizeof(run_fields) / sizeof(run_fields[0]); k++)
                        if (path[3] == '.' && strcmp(path + 4, run_fields[k]) == 0)
                                return;
                rc->err = refuse(ck, rc->step, rc->where, "BAD_REFERENCE",
                                 "%s refers to %s; run has workflow_id, run_id, tenant and type",
                                 rc->where, path);
                return;
        }
        if (root == 5 && strncmp(path, "steps", 5) == 0) {
                const char *id = path[5] == '.' ? path + 6 : path + 5;
                size_t idlen = path[5] == '.' ? strcspn(id, ".[") : 0;
                const char *rest = id + idlen;
                char name[WF_REF_MAX + 1];
                long j;

                if (idlen == 0 || strncmp(rest, ".output", 7) != 0 ||
                    (rest[7] != '\0' && rest[7] != '.' && rest[7] != '[')) {
                        rc->err = refuse(ck, rc->step, rc->where, "BAD_REFERENCE",
                                         "%s refers to %s; a step's output is steps.<id>.output",
                                         rc->where, path);
                        return;
                }
                memcpy(name, id, idlen);
                name[idlen] = '\0';
                j = id_index_find(&ck->x, name);
                if (j < 0) {
                        rc->err = refuse(ck, rc->step, rc->where, "UNKNOWN_STEP",
                                         "%s refers to steps.%s, which is not a step", rc->where,
                                         name);
                        return;
                }
                if (rc->step == NO_STEP || (rc->self_ok && (size_t)j == rc->step) ||
                    runs_before(ck, rc->step, (size_t)j))
                        return;
                rc->err = refuse(ck, rc->step, rc->where, "BAD_REFERENCE",
                                 "%s refers to steps.%s, which does not run before it", rc->where,
                                 name);
                return;
        }
        n = clip(path, root < QUOTE_MAX ? root : QUOTE_MAX, &more);
        rc->err = refuse(ck, rc->step, rc->where, "BAD_REFERENCE",
                         "%s refers to \"%.*s\", which is none of input, steps, run%s", rc->where,
                         n, path, rc->item_ok ? ", item, index, previous" : "");
}

/* Checks template @p tmpl (borrowed): well formed, each reference allowed
 * where it is. */
static cairn_err_t check_template(struct refs_ctx *rc, const json_t *tmpl)
{
        char err[256];

        if (wf_template_refs(tmpl, check_ref, rc, err, sizeof(err)) != 0)
                return refuse(rc->ck, rc->step, rc->where, "BAD_TEMPLATE", "%s: %s", rc->where,
                              err);
        return rc->err;
}

/* A Struct template: converted to JSON, then checked. */
static cairn_err_t check_struct(struct refs_ctx *rc, const Google__Protobuf__Struct *s)
{
        json_t *json;
        cairn_err_t err;

        if (!s)
                return CAIRN_OK;
        json = cairn_pbjson_to_json(&s->base, 0);
        if (!json)
                return refuse(rc->ck, rc->step, rc->where, "BAD_TEMPLATE",
                              "%s has no JSON form (NaN or invalid UTF-8)", rc->where);
        err = check_template(rc, json);
        json_decref(json);
        return err;
}

/* A string template (key, until); "" passes. */
static cairn_err_t check_string(struct refs_ctx *rc, const char *s)
{
        json_t *json;
        cairn_err_t err;

        if (!s || !s[0])
                return CAIRN_OK;
        json = json_string(s);
        if (!json)
                return refuse(rc->ck, rc->step, rc->where, "BAD_TEMPLATE", "%s is not valid UTF-8",
                              rc->where);
        err = check_template(rc, json);
        json_decref(json);
        return err;
}

/* ---- steps ---- */

static cairn_err_t check_call(struct checker *ck, size_t i, const char *where, const wf_call *call,
                              bool item_ok, bool compensation)
{
        char field[128], pkg[160];
        struct refs_ctx rc = {
                .ck = ck, .step = i, .where = field, .item_ok = item_ok, .self_ok = compensation
        };
        const char *service = str(call->service), *type = str(call->type), *more;
        const ProtobufCMessageDescriptor *desc;
        size_t plen, tlen = strlen(type);
        int n;
        cairn_err_t err;

        snprintf(field, sizeof(field), "%s.service", where);
        if (!service[0])
                return refuse(ck, i, field, "REQUIRED", "%s is required", field);
        if (!wf_target_find(ck->env, service)) {
                char known[256] = "";
                size_t len = 0;

                for (size_t k = 0; k < ck->env->ntargets && len < sizeof(known); k++)
                        len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s",
                                                k ? ", " : "", ck->env->targets[k].service);
                n = clip(service, QUOTE_MAX, &more);
                return refuse(ck, i, field, "UNKNOWN_SERVICE",
                              "%s \"%.*s%s\" is not a known service (known: %s)", field, n, service,
                              more, known[0] ? known : "none");
        }
        snprintf(field, sizeof(field), "%s.type", where);
        if (!type[0])
                return refuse(ck, i, field, "REQUIRED", "%s is required", field);
        n = clip(type, QUOTE_MAX, &more);
        snprintf(pkg, sizeof(pkg), "cairn.%s.v1.", service);
        plen = strlen(pkg);
        if (strncmp(type, pkg, plen) != 0 || tlen == plen || strchr(type + plen, '.'))
                return refuse(ck, i, field, "UNKNOWN_TYPE", "%s \"%.*s%s\" is not in package %.*s",
                              field, n, type, more, (int)plen - 1, pkg);
        desc = cairn_pb_message_find(type);
        if (!desc)
                return refuse(ck, i, field, "UNKNOWN_TYPE", "%s \"%.*s%s\" is not a message type",
                              field, n, type, more);
        if (tlen < 7 || strcmp(type + tlen - 7, "Request") != 0)
                return refuse(ck, i, field, "UNKNOWN_TYPE",
                              "%s \"%.*s%s\" is not a request: its name must end in Request", field,
                              n, type, more);
        snprintf(field, sizeof(field), "%s.request", where);
        err = check_struct(&rc, call->request);
        if (err)
                return err;
        snprintf(field, sizeof(field), "%s.key", where);
        err = check_string(&rc, call->key);
        if (err)
                return err;
        err = check_retry(ck, i, where, call->retry);
        if (err)
                return err;
        snprintf(field, sizeof(field), "%s.start_to_close_timeout", where);
        err = check_duration(ck, i, field, call->start_to_close_timeout);
        if (err)
                return err;
        snprintf(field, sizeof(field), "%s.schedule_to_close_timeout", where);
        err = check_duration(ck, i, field, call->schedule_to_close_timeout);
        if (err)
                return err;
        if (!call->compensation)
                return CAIRN_OK;
        snprintf(field, sizeof(field), "%s.compensation", where);
        if (compensation)
                return refuse(ck, i, field, "BAD_COMPENSATION",
                              "%s: a compensation has no compensation of its own", field);
        return check_call(ck, i, field, call->compensation, item_ok, true);
}

/* A condition at @p where ("when", or "fan_out.when" whose references may
 * name item, index and previous). */
static cairn_err_t check_when(struct checker *ck, size_t i, const Cairn__Workflow__V1__Condition *c,
                              const char *where, bool item_ok)
{
        char f_ref[32], f_op[32], f_value[32];
        struct refs_ctx rc = { .ck = ck, .step = i, .where = f_ref, .item_ok = item_ok };
        const char *ref = c ? str(c->ref) : "";
        char err[256];

        snprintf(f_ref, sizeof(f_ref), "%s.ref", where);
        snprintf(f_op, sizeof(f_op), "%s.op", where);
        snprintf(f_value, sizeof(f_value), "%s.value", where);
        json_t *value;
        int op;

        if (!c)
                return CAIRN_OK;
        if (!ref[0])
                return refuse(ck, i, f_ref, "REQUIRED", "%s is required", f_ref);
        if (wf_ref_check(ref, err, sizeof(err)) != 0)
                return refuse(ck, i, f_ref, "BAD_REFERENCE", "%s: %s", f_ref, err);
        check_ref(ref, &rc);
        if (rc.err)
                return rc.err;
        op = (int)c->op;
        if (op < CAIRN__WORKFLOW__V1__CONDITION__OP__OP_EQUALS ||
            op > CAIRN__WORKFLOW__V1__CONDITION__OP__OP_TRUTHY)
                return refuse(ck, i, f_op, "BAD_CONDITION", "%s %d is not an op", f_op, op);
        value = c->value ? cairn_pbjson_to_json(&c->value->base, 0) : json_null();
        if (!value)
                return refuse(ck, i, f_value, "BAD_CONDITION",
                              "%s has no JSON form (NaN or invalid UTF-8)", f_value);
        if (op == CAIRN__WORKFLOW__V1__CONDITION__OP__OP_IN && !json_is_array(value)) {
                json_decref(value);
                return refuse(ck, i, f_value, "BAD_CONDITION", "%s must be a list for OP_IN",
                              f_value);
        }
        if ((op == CAIRN__WORKFLOW__V1__CONDITION__OP__OP_GREATER ||
             op == CAIRN__WORKFLOW__V1__CONDITION__OP__OP_LESS) &&
            !json_is_number(value) && !json_is_string(value)) {
                json_decref(value);
                return refuse(ck, i, f_value, "BAD_CONDITION",
                              "%s must be a number or a string for %s", f_value,
                              op == CAIRN__WORKFLOW__V1__CONDITION__OP__OP_GREATER ? "OP_GREATER"
                                                                                   : "OP_LESS");
        }
        json_decref(value);
        return CAIRN_OK;
}

static void count_ref(const char *path, void *opaque)
{
        (void)path;
        ++*(size_t *)opaque;
}

/* fan_out.items: exactly one reference, "${input.documents}". */
static cairn_err_t check_items(struct checker *ck, size_t i, const char *items)
{
        struct refs_ctx rc = { .ck = ck, .step = i, .where = "fan_out.items" };
        size_t len = strlen(items), count = 0;
        char err[256], path[WF_REF_MAX + 1];
        const char *more;
        json_t *json;
        int n;

        if (!items[0])
                return refuse(ck, i, "fan_out.items", "REQUIRED", "fan_out.items is required");
        n = clip(items, QUOTE_MAX, &more);
        json = json_string(items);
        if (!json)
                return refuse(ck, i, "fan_out.items", "BAD_TEMPLATE",
                              "fan_out.items is not valid UTF-8");
        if (wf_template_refs(json, count_ref, &count, err, sizeof(err)) != 0) {
                json_decref(json);
                return refuse(ck, i, "fan_out.items", "BAD_TEMPLATE", "fan_out.items: %s", err);
        }
        json_decref(json);
        if (count != 1 || len < 4 || len - 3 > WF_REF_MAX || items[0] != '$' || items[1] != '{' ||
            strchr(items, '}') != items + len - 1)
                return refuse(ck, i, "fan_out.items", "BAD_TEMPLATE",
                              "fan_out.items \"%.*s%s\" must be one reference to a list, such as "
                              "\"${input.documents}\"",
                              n, items, more);
        memcpy(path, items + 2, len - 3);
        path[len - 3] = '\0';
        check_ref(path, &rc);
        return rc.err;
}

static cairn_err_t check_step(struct checker *ck, size_t i)
{
        const wf_step *s = ck->def->steps[i];
        struct refs_ctx rc = { .ck = ck, .step = i, .where = "sleep.until" };
        cairn_err_t err;

        err = check_when(ck, i, s->when, "when", false);
        if (err)
                return err;
        switch (s->kind_case) {
        case CAIRN__WORKFLOW__V1__STEP__KIND_CALL:
                return check_call(ck, i, "call", s->call, false, false);
        case CAIRN__WORKFLOW__V1__STEP__KIND_SLEEP:
                if (s->sleep->duration && str(s->sleep->until)[0])
                        return refuse(ck, i, "sleep", "BAD_SLEEP",
                                      "sleep takes duration or until, not both");
                if (!s->sleep->duration && !str(s->sleep->until)[0])
                        return refuse(ck, i, "sleep", "BAD_SLEEP", "sleep needs duration or until");
                err = check_duration(ck, i, "sleep.duration", s->sleep->duration);
                return err ? err : check_string(&rc, s->sleep->until);
        case CAIRN__WORKFLOW__V1__STEP__KIND_WAIT_SIGNAL:
                if (!signal_name_valid(str(s->wait_signal->name))) {
                        const char *more;
                        int n = clip(str(s->wait_signal->name), QUOTE_MAX, &more);

                        return refuse(ck, i, "wait_signal.name", "BAD_NAME",
                                      "wait_signal.name \"%.*s%s\" must match "
                                      "[A-Za-z0-9_.-]{1,64}",
                                      n, str(s->wait_signal->name), more);
                }
                return check_duration(ck, i, "wait_signal.timeout", s->wait_signal->timeout);
        case CAIRN__WORKFLOW__V1__STEP__KIND_FAN_OUT:
                err = check_items(ck, i, str(s->fan_out->items));
                if (err)
                        return err;
                if (!s->fan_out->call)
                        return refuse(ck, i, "fan_out.call", "REQUIRED",
                                      "fan_out.call is required");
                err = check_when(ck, i, s->fan_out->when, "fan_out.when", true);
                return err ? err : check_call(ck, i, "fan_out.call", s->fan_out->call, true, false);
        default:
                return refuse(ck, i, NULL, "REQUIRED",
                              "one of call, sleep, wait_signal and fan_out is required");
        }
}

/* The kind is set and its message there. */
static bool kind_set(const wf_step *s)
{
        switch (s->kind_case) {
        case CAIRN__WORKFLOW__V1__STEP__KIND_CALL:
                return s->call != NULL;
        case CAIRN__WORKFLOW__V1__STEP__KIND_SLEEP:
                return s->sleep != NULL;
        case CAIRN__WORKFLOW__V1__STEP__KIND_WAIT_SIGNAL:
                return s->wait_signal != NULL;
        case CAIRN__WORKFLOW__V1__STEP__KIND_FAN_OUT:
                return s->fan_out != NULL;
        default:
                return false;
        }
}

/* Ids and after lists: every name well formed, unique and known. */
static cairn_err_t check_names(struct checker *ck)
{
        const wf_definition *def = ck->def;
        size_t n = def->n_steps;
        size_t *seen = xcalloc(n, sizeof(size_t));
        cairn_err_t err = CAIRN_OK;

        for (size_t i = 0; i < n && !err; i++) {
                const wf_step *s = def->steps[i];
                const char *id = str(s->id), *more;
                long first = id_index_find(&ck->x, id);
                int len = clip(id, QUOTE_MAX, &more);

                if (!id[0])
                        err = refuse(ck, i, "id", "REQUIRED", "id is required");
                else if (!step_id_valid(id))
                        err = refuse(ck, i, "id", "BAD_ID",
                                     "id \"%.*s%s\" must match [a-z0-9_-]{1,64}", len, id, more);
                else if (first != (long)i)
                        err = refuse(ck, i, "id", "DUPLICATE_ID", "id \"%s\" is steps[%ld]'s too",
                                     id, first);
                else if (!kind_set(s))
                        err = refuse(ck, i, NULL, "REQUIRED",
                                     "one of call, sleep, wait_signal and fan_out is required");
        }
        for (size_t i = 0; i < n && !err; i++) {
                const wf_step *s = def->steps[i];

                for (size_t k = 0; k < s->n_after && !err; k++) {
                        const char *name = str(s->after[k]), *more;
                        long p = id_index_find(&ck->x, name);
                        char field[48];
                        int len = clip(name, QUOTE_MAX, &more);

                        snprintf(field, sizeof(field), "after[%zu]", k);
                        if (p < 0)
                                err = refuse(ck, i, field, "UNKNOWN_STEP",
                                             "after names \"%.*s%s\", which is not a step", len,
                                             name, more);
                        else if (seen[p] == i + 1)
                                err = refuse(ck, i, field, "DUPLICATE_AFTER",
                                             "after names \"%s\" twice", name);
                        else
                                seen[p] = i + 1;
                }
        }
        free(seen);
        return err;
}

/* The first predecessor of @p i not in @p done: a step left over by
 * Kahn's algorithm always has one. */
static size_t pred_left(const struct wf_graph *g, const bool *done, size_t i)
{
        size_t p = 0;

        while (done[g->preds[i][p]])
                p++;
        return g->preds[i][p];
}

/* A cycle among the steps not @p done, into @p cycle against the arrows
 * (each entry runs after the next); returns its length. */
static size_t cycle_find(const struct wf_graph *g, const bool *done, size_t *cycle)
{
        size_t start = 0, cur, len = 0;

        while (done[start])
                start++;
        /* following predecessors n times from any step left ends on a cycle */
        cur = start;
        for (size_t k = 0; k < g->n; k++)
                cur = pred_left(g, done, cur);
        start = cur;
        do {
                cycle[len++] = cur;
                cur = pred_left(g, done, cur);
        } while (cur != start && len < g->n);
        return len;
}

/* The graph, refused on a cycle with the cycle named: "a -> b -> a",
 * arrows from a step to the one that runs after it, starting at the
 * cycle's first step in definition order. */
static cairn_err_t check_graph(struct checker *ck)
{
        size_t placed, len, first = 0, off = 0, named;
        char text[CAIRN_STATUS_MSG_MAX];
        size_t *cycle;
        bool *done;
        int rc = graph_fill(&ck->g, ck->def, &placed);

        if (rc == -1) /* check_names refused everything that makes this */
                return refuse(ck, NO_STEP, "steps", "BAD_GRAPH", "steps: the graph is broken");
        if (rc == 0)
                return CAIRN_OK;
        done = xcalloc(ck->g.n, sizeof(*done));
        cycle = xcalloc(ck->g.n, sizeof(*cycle));
        for (size_t k = 0; k < placed; k++)
                done[ck->g.order[k]] = true;
        len = cycle_find(&ck->g, done, cycle);
        for (size_t k = 1; k < len; k++)
                if (cycle[k] < cycle[first])
                        first = k;
        named = cycle[first];
        /* With the arrows: from the first step backwards through the list,
         * back to the first (or "..." when long). */
        for (size_t k = 0; k < len && k < CYCLE_SHOWN && off < sizeof(text); k++)
                off += (size_t)snprintf(text + off, sizeof(text) - off, "%s -> ",
                                        ck->def->steps[cycle[(first + len - k) % len]]->id);
        if (off < sizeof(text))
                snprintf(text + off, sizeof(text) - off, "%s",
                         len > CYCLE_SHOWN ? "..." : ck->def->steps[named]->id);
        free(done);
        free(cycle);
        return refuse(ck, named, "after", "CYCLE", "on a cycle %s", text);
}

/* Which steps run before which, through after lists: row i holds i's
 * ancestors, filled in topological order. */
static void ancestors_fill(struct checker *ck)
{
        size_t n = ck->g.n;

        ck->words = (n + 63) / 64;
        ck->anc = xcalloc(n * ck->words, sizeof(uint64_t));
        for (size_t k = 0; k < n; k++) {
                size_t i = ck->g.order[k];
                uint64_t *row = &ck->anc[i * ck->words];

                for (size_t q = 0; q < ck->g.npreds[i]; q++) {
                        size_t p = ck->g.preds[i][q];
                        const uint64_t *prow = &ck->anc[p * ck->words];

                        for (size_t w = 0; w < ck->words; w++)
                                row[w] |= prow[w];
                        row[p / 64] |= 1ULL << (p % 64);
                }
        }
}

static cairn_err_t check_definition(struct checker *ck)
{
        const wf_definition *def = ck->def;
        struct refs_ctx rc = { .ck = ck, .step = NO_STEP, .where = "output" };
        const char *type = str(def->type), *more;
        int n = clip(type, QUOTE_MAX, &more);
        cairn_err_t err;

        if (!type[0])
                return refuse(ck, NO_STEP, "type", "REQUIRED", "type is required");
        if (!type_name_valid(type))
                return refuse(ck, NO_STEP, "type", "BAD_TYPE",
                              "type \"%.*s%s\" must match [a-z0-9][a-z0-9_.-]{0,127}", n, type,
                              more);
        if (def->n_steps == 0)
                return refuse(ck, NO_STEP, "steps", "REQUIRED", "steps: at least one is required");
        if (def->n_steps > ck->env->max_steps)
                return refuse(ck, NO_STEP, "steps", "TOO_MANY_STEPS",
                              "steps: %zu of them, more than the %zu allowed (workflow.max_steps)",
                              def->n_steps, ck->env->max_steps);
        for (size_t i = 0; i < def->n_steps; i++)
                if (!def->steps[i])
                        return refuse(ck, i, NULL, "REQUIRED", "the step is empty");
        id_index_init(&ck->x, def);
        err = check_names(ck);
        if (err)
                return err;
        err = check_graph(ck);
        if (err)
                return err;
        ancestors_fill(ck);
        for (size_t i = 0; i < def->n_steps; i++) {
                err = check_step(ck, i);
                if (err)
                        return err;
        }
        err = check_struct(&rc, def->output);
        if (err)
                return err;
        return check_duration(ck, NO_STEP, "run_timeout", def->run_timeout);
}

cairn_err_t wf_definition_check(const wf_definition *def, const struct wf_def_env *env,
                                struct cairn_status *st)
{
        struct checker ck = { .def = def, .env = env, .st = st };
        cairn_err_t err;

        cairn_status_clear(st);
        if (!def)
                return cairn_status_set(st, CAIRN_ERR_INVALID, "definition", "REQUIRED",
                                        "definition is required");
        err = check_definition(&ck);
        wf_graph_free(&ck.g);
        free(ck.x.by_id);
        free(ck.anc);
        return err;
}
