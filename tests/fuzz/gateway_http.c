/* libFuzzer target for the gateway's checks of a request as libmicrohttpd
 * hands it over (framing.c): the input is a request head, its first line
 * "METHOD TARGET VERSION" and then "Name: value" lines (LF or CRLF). The
 * target goes through gw_target_check(), the headers through
 * gw_framing_check(). An accepted request must have one unambiguous body
 * framing; a refusal must be a 400 or 501 with a message; a path with an
 * escaped '/' may only reach a row whose slash_capture takes it. Anything
 * else aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/framing.h"
#include "gateway/route.h"

#define MAX_HEADERS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t line_len(const char *p, const char *end)
{
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        return nl ? (size_t)(nl - p) : (size_t)(end - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *buf = malloc(size + 1), *p, *end;
        struct gw_header_view h[MAX_HEADERS];
        char target[1024] = "", version[16] = "";
        struct gw_framing f;
        struct gw_error e;
        size_t n = 0, len;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = '\0';
        p = buf;
        end = buf + size;
        len = line_len(p, end);
        /* the request line: only its target and version matter here */
        {
                char line[1200];
                size_t l = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
                char *sp1, *sp2;

                memcpy(line, p, l);
                line[l] = '\0';
                sp1 = strchr(line, ' ');
                sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
                if (sp1 && sp2) {
                        *sp2 = '\0';
                        snprintf(target, sizeof(target), "%s", sp1 + 1);
                        snprintf(version, sizeof(version), "%s", sp2 + 1);
                }
        }
        p += len + (p + len < end);
        while (p < end && n < MAX_HEADERS) {
                char *colon;

                len = line_len(p, end);
                if (len && p[len - 1] == '\r')
                        p[len - 1] = '\0', len--;
                colon = memchr(p, ':', len);
                if (colon) {
                        const char *v = colon + 1;

                        while (v < p + len && *v == ' ')
                                v++;
                        h[n++] = (struct gw_header_view){ p, (size_t)(colon - p), v,
                                                          (size_t)(p + len - v) };
                }
                p += len + 1;
        }

        const char *why = gw_target_check(target, NULL);
        if (why && !why[0])
                abort();
        /* Asked to, it lets an escaped '/' through, and only that; such a
         * path reaches only a row with a capture that takes one, each
         * capture decodes, and only that one holds a '/'. */
        bool slash;
        const char *why_slash = gw_target_check(target, &slash);
        if (!why != (!why_slash && !slash))
                abort();
        if (!why_slash && slash) {
                size_t plen = strcspn(target, "?#");
                char path[1024];
                struct gw_captures caps;
                bool known;

                memcpy(path, target, plen);
                path[plen] = '\0';
                const struct gw_route *rt = gw_route_find(gw_routes, "OPTIONS", path, &known,
                                                          &caps);
                if (gw_route_path_known(gw_routes, path) != (rt != NULL))
                        abort();
                if (rt && !rt->slash_capture)
                        abort();
                for (size_t i = 0; rt && i < caps.n; i++) {
                        char value[GW_CAPTURE_REST_MAX];

                        if (!gw_capture_value(&caps, i, value, sizeof(value)))
                                abort();
                        /* a '/' only in the capture that takes one */
                        if (strchr(value, '/') &&
                            (strlen(rt->slash_capture) != caps.name_len[i] ||
                             strncmp(rt->slash_capture, caps.name[i], caps.name_len[i]) != 0))
                                abort();
                }
        }
        if (gw_framing_check(h, n, version, &f, &e)) {
                if (f.chunked && f.has_length)
                        abort();
        } else if ((e.status != 400 && e.status != 501) || !e.message[0]) {
                abort();
        }
        free(buf);
        return 0;
}
