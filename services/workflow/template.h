/* References and templates: how a step's request, key, condition and
 * fan-out list are built from the run's data (docs/workflow.md).
 *
 * The data is one JSON object:
 *   {"input": {...}, "steps": {"<id>": {"output": ...}, ...},
 *    "run": {"workflow_id": "...", "run_id": "...", "tenant": "...", "type": "..."},
 *    "item": ..., "index": N}          (item and index inside a fan-out only)
 * A reference "${steps.tr.output.translations[0].text}" names a value in it. */
#ifndef WORKFLOW_TEMPLATE_H
#define WORKFLOW_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cairn/workflow/v1/workflow.pb-c.h"

/* Limits: containers in a template nest at most this deep (the outermost
 * counting 1), a string built by interpolation holds at most this many
 * bytes, and a reference's path at most this many. */
#define WF_TEMPLATE_DEPTH_MAX  32
#define WF_TEMPLATE_STRING_MAX (1024 * 1024)
/* A template's whole result, roughly its JSON bytes: references to large
 * values repeated many times fail here rather than take the service's
 * memory. */
#define WF_TEMPLATE_RESULT_MAX (8 * 1024 * 1024)
#define WF_REF_MAX             256

/* The value at @p path ("steps.a.output.x[0]", no ${ }) in @p data
 * (borrowed), or NULL with @p err saying which part is missing:
 * "${steps.a.output.x}: steps.a.output has no field \"x\"". */
const json_t *wf_ref_get(const json_t *data, const char *path, char *err, size_t err_size);

/* @p tmpl (borrowed) with every reference resolved against @p data: a new
 * value, or NULL with @p err naming the reference that failed (or the
 * malformed one: "unterminated ${ in \"${input.x\""). */
json_t *wf_template_eval(const json_t *tmpl, const json_t *data, char *err, size_t err_size);

/* Calls @p fn for each reference path in @p tmpl (validation: which steps
 * a template uses). Returns 0, or -1 with @p err for a malformed template. */
int wf_template_refs(const json_t *tmpl, void (*fn)(const char *path, void *opaque), void *opaque,
                     char *err, size_t err_size);

/* Whether @p path is a well-formed reference path (a condition's ref):
 * 0, or -1 with @p err saying what is wrong with it. */
int wf_ref_check(const char *path, char *err, size_t err_size);

/* Whether @p c holds over @p data: 1 yes, 0 no, -1 with @p err (a
 * reference that must resolve does not: OP_EXISTS and OP_NOT_EXISTS never
 * fail on it). */
int wf_condition_eval(const Cairn__Workflow__V1__Condition *c, const json_t *data, char *err,
                      size_t err_size);

#endif
