/* multipart/form-data bodies (RFC 7578) read part by part over the body's
 * own buffer (multipart.c): each part's name, filename and Content-Type
 * from its headers, its content pointing into the body, nothing copied but
 * the short header values. OpenAI's audio uploads and LibreTranslate's
 * forms (form.c) are read so. */
#ifndef CAIRN_GATEWAY_MULTIPART_H
#define CAIRN_GATEWAY_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

/* Longest boundary (RFC 2046: 1..70 characters). */
#define GW_MULTIPART_BOUNDARY_MAX 70
/* Longest part name, filename and Content-Type kept (longer: refused). */
#define GW_MULTIPART_NAME_MAX         255
#define GW_MULTIPART_FILENAME_MAX     255
#define GW_MULTIPART_CONTENT_TYPE_MAX 127

/* What a body may hold. */
struct gw_multipart_limits {
        size_t max_parts;        /* parts in all; more: refused */
        size_t max_header_bytes; /* of one part's header section */
};

/* One part. @p data points into the body (borrowed, not NUL-terminated);
 * the strings are the part's own copies. */
struct gw_multipart_part {
        char name[GW_MULTIPART_NAME_MAX + 1];
        char filename[GW_MULTIPART_FILENAME_MAX + 1];         /* empty when none */
        char content_type[GW_MULTIPART_CONTENT_TYPE_MAX + 1]; /* empty when none */
        bool has_filename;                                    /* filename="" counts */
        const char *data;
        size_t len;
};

/* A body being read; the body and the limits are borrowed. */
struct gw_multipart {
        const char *p, *end;
        char delim[GW_MULTIPART_BOUNDARY_MAX + 5]; /* CRLF "--" boundary */
        size_t dlen;
        size_t parts;
        const struct gw_multipart_limits *limits;
        bool closed;
};

/* The boundary parameter of a multipart/form-data media type
 * @p content_type (quoted or not) into @p out; false when it has none or
 * one that is not 1..70 characters. */
bool gw_multipart_boundary(const char *content_type, char out[GW_MULTIPART_BOUNDARY_MAX + 1]);

/* True when @p content_type is multipart/form-data (parameters aside). */
bool gw_multipart_is_form_data(const char *content_type);

/* Starts reading @p len bytes of @p body delimited by @p boundary: skips
 * the preamble up to the first delimiter. False, with a message in @p why,
 * when the boundary is not 1..70 characters or is not in the body. */
bool gw_multipart_begin(struct gw_multipart *mp, const char *boundary, const char *body, size_t len,
                        const struct gw_multipart_limits *limits, char *why, size_t why_size);

/* The next part into @p part: 1; 0 at the closing delimiter (the epilogue
 * after it is ignored); -1 with a message in @p why when the body breaks a
 * rule: a delimiter line not ending in CRLF, headers without their blank
 * line or over the limit, no Content-Disposition: form-data with a name,
 * a name, filename or Content-Type too long or holding a NUL, more parts
 * than the limit, no closing delimiter. */
int gw_multipart_next(struct gw_multipart *mp, struct gw_multipart_part *part, char *why,
                      size_t why_size);

#endif
