/* libFuzzer target for the embedding service's request path: arbitrary bytes
 * are decoded as a cairn.embedding.v1.EmbedRequest into a size-limited arena,
 * as the bus runtime does, and whatever decodes is handed to the embed
 * handler (default configuration). A success must be a reply that packs,
 * with one unit vector per input; a failure must carry a filled status whose
 * message is valid UTF-8. Anything else aborts. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/embedding/v1/embedding.pb-c.h"
#include "cairn/utf8.h"
#include "embedding/embedding.h"

#define ARENA_MAX ((size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct embedding_service svc;
static struct cairn_arena arena;
static int ready;
/* The configuration the service's strings point into; kept for the run. */
static struct cairn_conf *loaded;

static void setup(void)
{
        struct embedding_conf conf;
        char errstr[512];
        char *env[] = { NULL };
        struct cairn_conf_section sec = embedding_conf_section(&conf);
        loaded = cairn_conf_load(NULL, &sec, 1, env, errstr, sizeof(errstr));

        if (!loaded)
                abort();
        /* @p loaded stays: the configuration's strings point into it. */
        if (embedding_service_init_with(&svc, &conf, NULL, NULL, errstr, sizeof(errstr)) !=
            CAIRN_OK)
                abort();
        cairn_arena_init(&arena, ARENA_MAX);
        ready = 1;
}

static void check_reply(const Cairn__Embedding__V1__EmbedRequest *in, ProtobufCMessage *msg)
{
        Cairn__Embedding__V1__EmbedReply *r = (Cairn__Embedding__V1__EmbedReply *)msg;
        size_t len = protobuf_c_message_get_packed_size(msg);
        uint8_t *buf = cairn_arena_alloc(&arena, len ? len : 1);

        if (!buf || protobuf_c_message_pack(msg, buf) != len)
                abort();
        if (r->n_embeddings != in->n_inputs)
                abort();
        for (size_t i = 0; i < r->n_embeddings; i++) {
                const Cairn__Embedding__V1__Embedding *e = r->embeddings[i];
                double sq = 0;

                if (e->index != i || e->n_vector != r->dimensions)
                        abort();
                for (size_t k = 0; k < e->n_vector; k++)
                        sq += (double)e->vector[k] * e->vector[k];
                if (!(fabs(sqrt(sq) - 1.0) < 1e-4))
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Cairn__Embedding__V1__EmbedRequest *in;
        ProtobufCMessage *reply = NULL;
        struct cairn_request req;
        struct cairn_status st;
        cairn_err_t err;

        if (!ready)
                setup();
        in = cairn__embedding__v1__embed_request__unpack(cairn_arena_pbc(&arena), size, data);
        if (in) {
                memset(&req, 0, sizeof(req));
                req.key = "";
                req.arena = &arena;
                req.opaque = &svc;
                cairn_status_clear(&st);
                err = embedding_embed_handle(&req, &in->base, &reply, &st);
                if (err == CAIRN_OK)
                        check_reply(in, reply);
                else if (st.code != err || !st.message[0] ||
                         !cairn_utf8_valid(st.message, strlen(st.message)))
                        abort();
        }
        cairn_arena_reset(&arena);
        return 0;
}
