/* The error enum's names and the HTTP statuses they map to. */
#include <string.h>

#include "cairn/err.h"

static const struct {
        const char *name;
        int http;
} errs[CAIRN_ERR__COUNT] = {
        [CAIRN_OK] = { "OK", 200 },
        [CAIRN_ERR_CANCELLED] = { "CANCELLED", 499 },
        [CAIRN_ERR_UNKNOWN] = { "UNKNOWN", 500 },
        [CAIRN_ERR_INVALID] = { "INVALID_ARGUMENT", 400 },
        [CAIRN_ERR_DEADLINE] = { "DEADLINE_EXCEEDED", 504 },
        [CAIRN_ERR_NOT_FOUND] = { "NOT_FOUND", 404 },
        [CAIRN_ERR_CONFLICT] = { "ALREADY_EXISTS", 409 },
        [CAIRN_ERR_PERMISSION] = { "PERMISSION_DENIED", 403 },
        [CAIRN_ERR_EXHAUSTED] = { "RESOURCE_EXHAUSTED", 429 },
        [CAIRN_ERR_PRECONDITION] = { "FAILED_PRECONDITION", 400 },
        [CAIRN_ERR_ABORTED] = { "ABORTED", 409 },
        [CAIRN_ERR_OUT_OF_RANGE] = { "OUT_OF_RANGE", 400 },
        [CAIRN_ERR_UNIMPLEMENTED] = { "UNIMPLEMENTED", 501 },
        [CAIRN_ERR_INTERNAL] = { "INTERNAL", 500 },
        [CAIRN_ERR_UNAVAILABLE] = { "UNAVAILABLE", 503 },
        [CAIRN_ERR_DATA_LOSS] = { "DATA_LOSS", 500 },
        [CAIRN_ERR_UNAUTHENTICATED] = { "UNAUTHENTICATED", 401 },
};

cairn_err_t cairn_err_from_code(int code)
{
        if (code < 0 || code >= CAIRN_ERR__COUNT)
                return CAIRN_ERR_UNKNOWN;
        return (cairn_err_t)code;
}

const char *cairn_err_str(cairn_err_t err)
{
        return errs[cairn_err_from_code((int)err)].name;
}

int cairn_err_from_str(const char *name)
{
        for (int i = 0; i < CAIRN_ERR__COUNT; i++)
                if (strcmp(errs[i].name, name) == 0)
                        return i;
        return -1;
}

int cairn_err_http_status(cairn_err_t err)
{
        return errs[cairn_err_from_code((int)err)].http;
}
