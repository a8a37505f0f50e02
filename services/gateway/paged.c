/* Paged routes: an export of any size as NDJSON without a big Kafka message
 * or a big buffer. The gateway sends the request, streams the items of the
 * reply's page field one JSON object per line, and, while the reply names a
 * next_page_token, asks for the next page with it as page_token, one page
 * at a time, as the client reads. Only one page is ever held.
 *
 * The first page's failure is an ordinary error answer; once the 200 is on
 * its way, a later page's failure ends the stream with one last line,
 * {"error": <cairn.v1.Status>}, so a client never mistakes a cut export for
 * a complete one.
 *
 * Threads: MHD calls the reader on the event-loop thread; it suspends the
 * connection while a page is on its way (returning 0), and the bus client's
 * callback resumes it. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/log.h"
#include "cairn/pbjson.h"
#include "request.h"

#define NDJSON_TYPE "application/x-ndjson"
#define BLOCK_SIZE  (16 * 1024)

/* The stream's state, owned by the request (r->page). */
struct gw_page_stream {
        ProtobufCMessage *req; /* the request, page_token rewritten per page */
        struct cairn_buf out;  /* lines not yet handed to MHD */
        size_t sent;           /* of out */
        char *next_token;      /* NULL: no page after the buffered one */
        bool waiting;          /* a page call is on its way */
        unsigned pages, items;
};

void gw_page_stream_free(struct gw_page_stream *ps)
{
        if (!ps)
                return;
        if (ps->req)
                protobuf_c_message_free_unpacked(ps->req, NULL);
        cairn_buf_cleanup(&ps->out);
        free(ps->next_token);
        free(ps);
}

/* Points the request's page_token at @p token (a copy). */
static void set_page_token(ProtobufCMessage *msg, const char *token)
{
        const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "page_token");
        char **slot = (char **)((char *)msg + f->offset);
        char *copy = strdup(token);

        if (!copy)
                abort();
        if (*slot && *slot != protobuf_c_empty_string && *slot != f->default_value)
                free(*slot);
        *slot = copy;
}

/* Appends the items of @p reply as lines and keeps its next_page_token.
 * False when an item has no JSON form. */
static bool page_add(struct gw_page_stream *ps, const struct gw_route *rt,
                     const ProtobufCMessage *reply)
{
        const ProtobufCMessageDescriptor *d = reply->descriptor;
        const ProtobufCFieldDescriptor *items =
                protobuf_c_message_descriptor_get_field_by_name(d, rt->page_field);
        const ProtobufCFieldDescriptor *next =
                protobuf_c_message_descriptor_get_field_by_name(d, "next_page_token");
        size_t n = *(const size_t *)((const char *)reply + items->quantifier_offset);
        ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)((const char *)reply +
                                                                         items->offset);
        const char *token = *(const char *const *)((const char *)reply + next->offset);

        for (size_t i = 0; i < n; i++) {
                size_t len;
                char *line = cairn_pbjson_render(v[i], 0, &len);

                if (!line)
                        return false;
                cairn_buf_add(&ps->out, line, len);
                cairn_buf_add(&ps->out, "\n", 1);
                free(line);
        }
        ps->pages++;
        ps->items += (unsigned)n;
        free(ps->next_token);
        ps->next_token = token && token[0] ? strdup(token) : NULL;
        return true;
}

/* Ends the stream with an error line in cairn.v1.Status's JSON form. */
static void page_fail(struct gw_req *r, cairn_err_t code, const char *message)
{
        struct gw_page_stream *ps = r->page;
        struct gw_error e;
        size_t len;
        char *status;

        gw_error_from_status(&e, code, message, NULL);
        status = gw_error_status_json(&e, &len);
        cairn_buf_adds(&ps->out, "{\"error\":");
        cairn_buf_add(&ps->out, status, len);
        cairn_buf_adds(&ps->out, "}\n");
        free(status);
        free(ps->next_token);
        ps->next_token = NULL;
        cairn_log(WARN, "HTTP", "%s: export cut after %u pages, %u items: %s", r->route->path,
                  ps->pages, ps->items, message);
}

/* The outcome of a page call that resumed the connection. */
static void page_arrived(struct gw_req *r)
{
        struct gw_page_stream *ps = r->page;
        ProtobufCMessage *msg;

        atomic_thread_fence(memory_order_acquire);
        ps->waiting = false;
        if (r->err != CAIRN_OK) {
                page_fail(r, r->err, r->st.message[0] ? r->st.message : cairn_err_str(r->err));
                return;
        }
        msg = gw_upstream_reply(r);
        if (!msg) {
                page_fail(r, CAIRN_ERR_INTERNAL, "the service answered something unexpected");
                return;
        }
        if (!page_add(ps, r->route, msg))
                page_fail(r, CAIRN_ERR_INTERNAL, "an item has no JSON form");
        protobuf_c_message_free_unpacked(msg, NULL);
}

static ssize_t page_read(void *cls, uint64_t pos, char *buf, size_t max)
{
        struct gw_req *r = cls;
        struct gw_page_stream *ps = r->page;
        size_t n;

        (void)pos;
        if (ps->waiting)
                page_arrived(r);
        if (ps->sent == ps->out.len) {
                /* everything handed over: the next page, or the end */
                ps->out.len = 0;
                ps->sent = 0;
                if (!ps->next_token)
                        return MHD_CONTENT_READER_END_OF_STREAM;
                set_page_token(ps->req, ps->next_token);
                ps->waiting = true;
                if (gw_upstream_send(r, ps->req) != CAIRN_OK) {
                        ps->waiting = false;
                        page_fail(r, r->err,
                                  r->st.message[0] ? r->st.message : cairn_err_str(r->err));
                } else {
                        return 0; /* suspended until the page arrives */
                }
        }
        if (ps->out.oom)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        n = ps->out.len - ps->sent;
        if (n > max)
                n = max;
        memcpy(buf, ps->out.p + ps->sent, n);
        ps->sent += n;
        return (ssize_t)n;
}

enum MHD_Result gw_page_start(struct gw_req *r, ProtobufCMessage *req,
                              const ProtobufCMessage *first)
{
        struct gw_page_stream *ps = calloc(1, sizeof(*ps));
        struct MHD_Response *resp;

        if (!ps)
                abort();
        ps->req = req;
        r->page = ps;
        if (!page_add(ps, r->route, first))
                return gw_fail(r, 500, "internal", NULL, "an item has no JSON form");
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_SIZE, page_read, r, NULL);
        if (!resp)
                return MHD_NO;
        return gw_queue_response(r, 200, resp, NDJSON_TYPE);
}
