/* multipart/form-data cut at its delimiter lines, one part at a time, over
 * the body's buffer: a part's content is a pointer and a length into the
 * body, its header values are read into short fixed buffers. Nothing is
 * read past the body's end, and every way a body can break the rules
 * (RFC 2046 section 5.1.1, RFC 7578) has its own message. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"

/* Reads a parameter value at @p p (up to @p end): a quoted string (with
 * backslash escapes) or a token ending at ';', a blank or @p end. Copies at
 * most @p size - 1 bytes into @p out; returns where it stopped, or NULL
 * when a quoted string does not end, the value does not fit or holds a
 * NUL. */
static const char *param_value(const char *p, const char *end, char *out, size_t size)
{
        size_t o = 0;

        if (p < end && *p == '"') {
                for (p++; p < end && *p != '"'; p++) {
                        if (*p == '\\' && p + 1 < end)
                                p++;
                        if (o + 1 >= size || *p == '\0')
                                return NULL;
                        out[o++] = *p;
                }
                if (p >= end)
                        return NULL;
                p++;
        } else {
                for (; p < end && *p != ';' && *p != ' ' && *p != '\t'; p++) {
                        if (o + 1 >= size || *p == '\0')
                                return NULL;
                        out[o++] = *p;
                }
        }
        out[o] = '\0';
        return p;
}

/* Finds parameter @p want ("name", "boundary") among the ";"-separated
 * parameters of a header value [p, end): 1 with its value in @p out, 0
 * when it is not there, -1 when its value is malformed or does not fit.
 * "filename" is not "name": names must match whole. */
static int find_param(const char *p, const char *end, const char *want, char *out, size_t size)
{
        size_t wlen = strlen(want);

        while (p < end) {
                const char *semi;
                bool quoted = false;

                /* the next ';' outside a quoted string */
                for (semi = p; semi < end && (quoted || *semi != ';'); semi++) {
                        if (*semi == '\\' && quoted && semi + 1 < end)
                                semi++;
                        else if (*semi == '"')
                                quoted = !quoted;
                }
                if (semi >= end)
                        return 0;
                p = semi + 1;
                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if (p + wlen < end && strncasecmp(p, want, wlen) == 0 && p[wlen] == '=')
                        return param_value(p + wlen + 1, end, out, size) ? 1 : -1;
        }
        return 0;
}

bool gw_multipart_boundary(const char *content_type, char out[GW_MULTIPART_BOUNDARY_MAX + 1])
{
        const char *end = content_type + strlen(content_type);

        if (find_param(content_type, end, "boundary", out, GW_MULTIPART_BOUNDARY_MAX + 1) != 1)
                return false;
        return out[0] != '\0';
}

bool gw_multipart_is_form_data(const char *content_type)
{
        static const char mt[] = "multipart/form-data";

        while (*content_type == ' ' || *content_type == '\t')
                content_type++;
        return strncasecmp(content_type, mt, sizeof(mt) - 1) == 0 &&
               strchr("; \t", content_type[sizeof(mt) - 1]) != NULL;
}

bool gw_multipart_begin(struct gw_multipart *mp, const char *boundary, const char *body, size_t len,
                        const struct gw_multipart_limits *limits, char *why, size_t why_size)
{
        size_t blen = strlen(boundary);
        const char *first;

        memset(mp, 0, sizeof(*mp));
        mp->limits = limits;
        if (blen == 0 || blen > GW_MULTIPART_BOUNDARY_MAX) {
                snprintf(why, why_size, "the multipart boundary is not 1 to %d characters",
                         GW_MULTIPART_BOUNDARY_MAX);
                return false;
        }
        snprintf(mp->delim, sizeof(mp->delim), "\r\n--%s", boundary);
        mp->dlen = blen + 4;
        mp->end = body + len;
        /* the first delimiter: at the very start, or after a preamble */
        if (len >= mp->dlen - 2 && memcmp(body, mp->delim + 2, mp->dlen - 2) == 0) {
                mp->p = body + mp->dlen - 2;
                return true;
        }
        first = memmem(body, len, mp->delim, mp->dlen);
        if (!first) {
                snprintf(why, why_size,
                         "the multipart body has no part: its boundary is not in it (the "
                         "Content-Type's boundary must be the one the body uses)");
                return false;
        }
        mp->p = first + mp->dlen;
        return true;
}

/* Copies the value of header line [v, end), blanks trimmed, into @p out;
 * false when it does not fit or holds a NUL. */
static bool header_value(const char *v, const char *end, char *out, size_t size)
{
        while (v < end && (*v == ' ' || *v == '\t'))
                v++;
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if ((size_t)(end - v) >= size || memchr(v, '\0', (size_t)(end - v)))
                return false;
        memcpy(out, v, (size_t)(end - v));
        out[end - v] = '\0';
        return true;
}

/* True when header line [p, line_end) is the header @p name (with its
 * ':'); *@p value is where its value starts. */
static bool header_is(const char *p, const char *line_end, const char *name, const char **value)
{
        size_t n = strlen(name);

        if ((size_t)(line_end - p) <= n || strncasecmp(p, name, n) != 0 || p[n] != ':')
                return false;
        *value = p + n + 1;
        return true;
}

/* Reads the part's headers [p, end): CRLF-separated lines. False with a
 * message in @p why. */
static bool part_headers(const char *p, const char *end, struct gw_multipart_part *part, char *why,
                         size_t why_size)
{
        bool disposition = false;

        while (p < end) {
                const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
                const char *line_end = eol ? eol : end;
                const char *v;

                if (header_is(p, line_end, "content-disposition", &v)) {
                        int rc;

                        v += strspn(v, " \t"); /* the line ends in CR or the blank line */
                        if ((size_t)(line_end - v) < 9 || strncasecmp(v, "form-data", 9) != 0) {
                                snprintf(why, why_size,
                                         "a multipart part's Content-Disposition is not "
                                         "form-data");
                                return false;
                        }
                        rc = find_param(v + 9, line_end, "name", part->name, sizeof(part->name));
                        if (rc < 0) {
                                snprintf(why, why_size,
                                         "a multipart part's name is longer than %d bytes, holds "
                                         "a NUL byte or its quotes do not close",
                                         GW_MULTIPART_NAME_MAX);
                                return false;
                        }
                        disposition = rc == 1;
                        rc = find_param(v + 9, line_end, "filename", part->filename,
                                        sizeof(part->filename));
                        if (rc < 0) {
                                snprintf(why, why_size,
                                         "the filename of multipart part \"%s\" is longer than "
                                         "%d bytes, holds a NUL byte or its quotes do not close",
                                         part->name, GW_MULTIPART_FILENAME_MAX);
                                return false;
                        }
                        part->has_filename = rc == 1;
                } else if (header_is(p, line_end, "content-type", &v)) {
                        if (!header_value(v, line_end, part->content_type,
                                          sizeof(part->content_type))) {
                                snprintf(why, why_size,
                                         "a multipart part's Content-Type is longer than %d "
                                         "bytes or holds a NUL byte",
                                         GW_MULTIPART_CONTENT_TYPE_MAX);
                                return false;
                        }
                }
                p = eol ? eol + 2 : end;
        }
        if (!disposition || !part->name[0]) {
                snprintf(why, why_size,
                         "a multipart part has no Content-Disposition: form-data; name=\"...\"");
                return false;
        }
        return true;
}

int gw_multipart_next(struct gw_multipart *mp, struct gw_multipart_part *part, char *why,
                      size_t why_size)
{
        const char *p = mp->p, *end = mp->end, *headers, *hend, *content, *next;
        size_t max_header = mp->limits ? mp->limits->max_header_bytes : 0;

        memset(part, 0, offsetof(struct gw_multipart_part, data));
        part->data = NULL;
        part->len = 0;
        if (mp->closed)
                return 0;
        /* p is just past a delimiter: "--" closes, CRLF opens a part */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
                mp->closed = true;
                return 0;
        }
        /* transport padding (RFC 2046) */
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
                snprintf(why, why_size, "%s",
                         p >= end ? "the multipart body has no closing boundary"
                                  : "a multipart boundary line does not end with CRLF");
                return -1;
        }
        if (mp->limits && mp->limits->max_parts && mp->parts >= mp->limits->max_parts) {
                snprintf(why, why_size, "the multipart body has more than %zu parts",
                         mp->limits->max_parts);
                return -1;
        }
        headers = p + 2;
        if (end - headers >= 2 && headers[0] == '\r' && headers[1] == '\n') {
                hend = headers; /* no headers at all */
                content = headers + 2;
        } else {
                size_t look = (size_t)(end - headers);

                /* the blank line must come within the limit (+4: the CRLF CRLF itself) */
                if (max_header && look > max_header + 4)
                        look = max_header + 4;
                hend = memmem(headers, look, "\r\n\r\n", 4);
                if (!hend) {
                        if (max_header && (size_t)(end - headers) > max_header + 4)
                                snprintf(why, why_size,
                                         "a multipart part's headers are longer than %zu bytes",
                                         max_header);
                        else
                                snprintf(why, why_size,
                                         "a multipart part's headers do not end with a blank "
                                         "line");
                        return -1;
                }
                content = hend + 4;
        }
        if (!part_headers(headers, hend, part, why, why_size))
                return -1;
        next = memmem(content, (size_t)(end - content), mp->delim, mp->dlen);
        if (!next) {
                snprintf(why, why_size,
                         "the multipart body has no closing boundary after part \"%s\"",
                         part->name);
                return -1;
        }
        part->data = content;
        part->len = (size_t)(next - content);
        mp->p = next + mp->dlen;
        mp->parts++;
        return 1;
}
