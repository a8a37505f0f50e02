/* What the tests' fake HTTP servers share: a libmicrohttpd server on
 * 127.0.0.1 (a thread per connection) that hands each request to a handler
 * once, with its whole body, counts connections, and answers with a body
 * and a few headers. The fakes (fake_openai, fake_libretranslate,
 * fake_openai_audio) keep only their wire format and faults. */
#ifndef CAIRN_TEST_FAKE_HTTP_H
#define CAIRN_TEST_FAKE_HTTP_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* One request, whole. Everything lives until the handler returns. */
struct fake_http_request {
        struct MHD_Connection *c; /* for headers (MHD_lookup_connection_value) and answers */
        const char *method, *url;
        const char *body; /* NUL-terminated, "" when none */
        size_t len;
        bool too_big; /* the body was over the server's limit: body is empty */
};

/* Answers @p req (with fake_http_respond() or MHD_queue_response()), or
 * returns MHD_NO to drop the connection. Runs on the connection's thread. */
typedef enum MHD_Result (*fake_http_handler)(void *opaque, const struct fake_http_request *req);

struct fake_http;

/* Starts a server on 127.0.0.1:@p port (0: any free port) taking bodies of
 * up to @p body_max bytes, calling @p handler with @p opaque; @p what names
 * it when it cannot start, which aborts the test. */
struct fake_http *fake_http_start(int port, size_t body_max, fake_http_handler handler,
                                  void *opaque, const char *what);
/* Stops it (waiting for the connections' threads). NULL is fine. */
void fake_http_stop(struct fake_http *s);
int fake_http_port(const struct fake_http *s);
/* Connections accepted since start. */
unsigned fake_http_connections(struct fake_http *s);

/* Queues an answer of @p len bytes of @p body with @p status, Content-Type
 * @p content_type (NULL: none) and Retry-After @p retry_after (NULL: none). */
enum MHD_Result fake_http_respond(struct MHD_Connection *c, int status, const char *content_type,
                                  const void *body, size_t len, const char *retry_after);
/* The same for a NUL-terminated JSON body (application/json). */
enum MHD_Result fake_http_respond_json(struct MHD_Connection *c, int status, const char *body,
                                       const char *retry_after);

/* Whether the client closed the connection (nothing more to read, ever). */
bool fake_http_client_gone(struct MHD_Connection *c);
/* Waits @p ms in steps of 10 ms; false as soon as the client has gone. */
bool fake_http_wait(struct MHD_Connection *c, int ms);

/* The faults every fake can be set to, kept as copies of what its
 * fake_*_set() was given. */
struct fake_http_faults {
        char *fail_message; /* the failures' message; NULL: "fake failure" */
        char *retry_after;  /* Retry-After header of the failures; NULL: none */
        char *api_key;      /* the key required; NULL: none */
};

/* Replaces @p fs's copies with copies of the strings given (NULL: none). */
void fake_http_faults_set(struct fake_http_faults *fs, const char *fail_message,
                          const char *retry_after, const char *api_key);
void fake_http_faults_free(struct fake_http_faults *fs);

/* A request's copy of them (taken under the fake's lock): the message, the
 * Retry-After value ("": none) and the key ("": none). */
struct fake_http_fault_copy {
        char error[512], retry_after[64], key[256];
};
void fake_http_faults_copy(const struct fake_http_faults *fs, struct fake_http_fault_copy *out);

/* strdup() of @p s, NULL for NULL. */
char *fake_http_strdup(const char *s);

/* Defines unsigned <prefix>_<name>(struct <prefix> *f): field @p name of
 * @p f read under f->lock. */
#define FAKE_HTTP_COUNTER(prefix, name)            \
        unsigned prefix##_##name(struct prefix *f) \
        {                                          \
                unsigned v;                        \
                pthread_mutex_lock(&f->lock);      \
                v = f->name;                       \
                pthread_mutex_unlock(&f->lock);    \
                return v;                          \
        }

/* Defines void <prefix>_<name>(struct <prefix> *f, char *buf, size_t size):
 * the string field @p field of @p f copied into @p buf under f->lock. */
#define FAKE_HTTP_TEXT(prefix, name, field)                            \
        void prefix##_##name(struct prefix *f, char *buf, size_t size) \
        {                                                              \
                pthread_mutex_lock(&f->lock);                          \
                snprintf(buf, size, "%s", f->field);                   \
                pthread_mutex_unlock(&f->lock);                        \
        }

#endif
