/* Errors as the gateway answers them, in OpenAI's shape, in Vault's, in
 * LibreTranslate's or as a cairn.v1.Status, and the checks of request ids
 * (error.c). */
#ifndef CAIRN_GATEWAY_ERROR_H
#define CAIRN_GATEWAY_ERROR_H

#include <stdbool.h>
#include <stddef.h>

#include "cairn/err.h"

#define GW_REQUEST_ID_MAX 64

/* True when @p id is usable as a request id: 1..64 bytes of [A-Za-z0-9._:-]. */
bool gw_request_id_valid(const char *id);

/* How a route answers errors: OpenAI's shape ({"error": {...}}) on the
 * OpenAI-compatible routes, cairn.v1.Status by the proto3 JSON mapping
 * ({"code": 3, "message": ..., "details": [...]}) on Cairn's own, Vault's
 * ({"errors": ["..."]}) on the Vault-compatible ones, LibreTranslate's
 * ({"error": "..."}) on the LibreTranslate-compatible ones. */
enum gw_error_style {
        GW_ERRORS_OPENAI = 0,
        GW_ERRORS_STATUS,
        GW_ERRORS_VAULT,
        GW_ERRORS_LIBRETRANSLATE,
};

/* An error as the gateway answers it. */
struct gw_error {
        int status;       /* HTTP status */
        cairn_err_t err;  /* the gRPC code; CAIRN_OK: derived from status */
        const char *type; /* OpenAI error type, e.g. invalid_request_error */
        const char *code; /* short code, e.g. invalid_type; NULL → null */
        char param[128];  /* field, e.g. input[3]; empty → null */
        char message[512];
};

void gw_error_set(struct gw_error *e, int status, const char *code, const char *param,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The error type for a status (invalid_request_error, authentication_error, ...). */
const char *gw_error_type(int status);
/* Renders {"error":{...},"request_id":"..."}; malloc'ed, caller frees. */
char *gw_error_json(const struct gw_error *e, const char *request_id, size_t *lenp);
/* Renders @p e as a cairn.v1.Status in JSON: the gRPC code (e->err, else
 * the one the HTTP status stands for), the message, and the field as a
 * detail. Malloc'ed, caller frees. */
char *gw_error_status_json(const struct gw_error *e, size_t *lenp);
/* Renders @p e as Vault does: {"errors":["message"]}, with Vault's own
 * answers where its clients look for them: 404 {"errors":[]}, 403
 * "permission denied" in Vault's multierror text, and a refused credential
 * (401) as Vault's 403 "permission denied". *@p status is the HTTP status
 * to answer with. Malloc'ed, caller frees. */
char *gw_error_vault_json(const struct gw_error *e, int *status, size_t *lenp);
/* Renders @p e as LibreTranslate does: {"error":"message"} (messages name
 * their field themselves: "q[2] must be a string"), with
 * LibreTranslate's statuses where they differ from the gateway's: a missing
 * or refused credential (401) is its 403, and what a request names not
 * existing (404: a language no pair serves) its 400. *@p status is the
 * HTTP status to answer with. Malloc'ed, caller frees. */
char *gw_error_lt_json(const struct gw_error *e, int *status, size_t *lenp);
/* The gRPC code an HTTP error status stands for (400 → INVALID_ARGUMENT ...). */
cairn_err_t gw_error_code_of_http(int status);
/* Fills @p e from a bus outcome: the HTTP status of @p st's code, its
 * message and field. */
void gw_error_from_status(struct gw_error *e, cairn_err_t code, const char *message,
                          const char *field);

/* Depth of the deepest array/object nesting in @p s (strings skipped);
 * stops counting past @p limit. */
int gw_json_depth(const char *s, size_t len, int limit);

struct json_t;

/* An OpenAI route's JSON body: a JSON object of @p len bytes nesting at
 * most @p max_depth deep, without duplicate keys. Returns it (the caller
 * decrefs it), or NULL with @p e filled in OpenAI's words; an empty body
 * is asked for as "a JSON object with @p fields". */
struct json_t *gw_json_body_object(const char *body, size_t len, int max_depth, const char *fields,
                                   struct gw_error *e);

#endif
