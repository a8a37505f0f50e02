/* The one error type of Cairn: a small enum whose values are the gRPC status
 * codes that travel in cairn.v1.Status, with a string table and the HTTP
 * mapping the gateway uses. */
#ifndef CAIRN_ERR_H
#define CAIRN_ERR_H

typedef enum {
        CAIRN_OK = 0,
        CAIRN_ERR_CANCELLED = 1,
        CAIRN_ERR_UNKNOWN = 2,
        CAIRN_ERR_INVALID = 3,  /* bad input from a caller: never retried */
        CAIRN_ERR_DEADLINE = 4, /* the request's time budget ran out */
        CAIRN_ERR_NOT_FOUND = 5,
        CAIRN_ERR_CONFLICT = 6, /* ALREADY_EXISTS */
        CAIRN_ERR_PERMISSION = 7,
        CAIRN_ERR_EXHAUSTED = 8, /* RESOURCE_EXHAUSTED: quota, bulkhead */
        CAIRN_ERR_PRECONDITION = 9,
        CAIRN_ERR_ABORTED = 10,
        CAIRN_ERR_OUT_OF_RANGE = 11,
        CAIRN_ERR_UNIMPLEMENTED = 12, /* unknown ce_type or method */
        CAIRN_ERR_INTERNAL = 13,      /* a bug or broken invariant */
        CAIRN_ERR_UNAVAILABLE = 14,   /* transient: broker, database, provider; retryable */
        CAIRN_ERR_DATA_LOSS = 15,
        CAIRN_ERR_UNAUTHENTICATED = 16,
} cairn_err_t;

#define CAIRN_ERR__COUNT 17

/* The gRPC name of @p err ("INVALID_ARGUMENT"); "UNKNOWN" for out-of-range values. */
const char *cairn_err_str(cairn_err_t err);

/* Parses a gRPC code name back; returns -1 when @p name is not one. */
int cairn_err_from_str(const char *name);

/* The HTTP status the gateway answers for @p err (grpc-gateway's mapping). */
int cairn_err_http_status(cairn_err_t err);

/* Clamps an integer read off the wire to a known code (unknown → UNKNOWN). */
cairn_err_t cairn_err_from_code(int code);

#endif
