/* libFuzzer target for the gateway's LibreTranslate request parser
 * (gateway/libretranslate_parse.h) and the form decoders under it
 * (gateway/form.h): the first byte picks the route (translate, detect,
 * languages) and how the rest is sent (JSON, urlencoded, multipart with the
 * boundary "b", or with no media type), the rest is the body, with a JSON
 * depth limit of 16 (http.max_json_depth's default). A success must hold
 * what the header promises: 1..GW_LT_MAX_TEXTS texts, none empty, each and
 * every other string valid UTF-8 without NULs, codes where codes belong;
 * the message built from it must pack, and the answer to it (each text
 * "translated" as itself, detected as "en") must be JSON of LibreTranslate's
 * shape. A refusal must be a 400 or a 415 with a message, rendered as
 * LibreTranslate's {"error": "..."} in valid JSON. Anything else aborts. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/utf8.h"
#include "gateway/error.h"
#include "gateway/libretranslate_parse.h"
#include "gateway/libretranslate_render.h"

#define DEPTH     16
#define ARENA_MAX ((size_t)16 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cairn_arena arena;

static const char *const media[] = {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        NULL,
};

static void refused(const struct gw_error *e)
{
        int status = 0;
        size_t len = 0;
        char *body;
        json_t *doc;

        if ((e->status != 400 && e->status != 415) || !e->message[0])
                abort();
        body = gw_error_lt_json(e, &status, &len);
        doc = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        if (!doc || status != e->status || !json_is_string(json_object_get(doc, "error")))
                abort();
        json_decref(doc);
        free(body);
}

static void text_ok(const char *s, bool may_be_empty)
{
        if (!s || (!may_be_empty && !s[0]) || !cairn_utf8_valid(s, strlen(s)))
                abort();
}

static void code_ok(const char *s, bool auto_ok)
{
        text_ok(s, false);
        if (strlen(s) > GW_LT_CODE_MAX || (!auto_ok && strcmp(s, "auto") == 0))
                abort();
}

static void packs(const ProtobufCMessage *msg)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        uint8_t *buf = malloc(len ? len : 1);
        ProtobufCMessage *again;

        if (!buf || protobuf_c_message_pack(msg, buf) != len)
                abort();
        again = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
        if (!again)
                abort();
        protobuf_c_message_free_unpacked(again, NULL);
        free(buf);
}

/* The answer to @p req when every text comes back as itself. */
static void answers(const struct gw_lt_request *req)
{
        Cairn__Translation__V1__TranslateReply reply =
                CAIRN__TRANSLATION__V1__TRANSLATE_REPLY__INIT;
        Cairn__Translation__V1__Translation *t = calloc(req->nq, sizeof(*t));
        Cairn__Translation__V1__Translation **ts = calloc(req->nq, sizeof(*ts));
        Cairn__Translation__V1__Detection det = CAIRN__TRANSLATION__V1__DETECTION__INIT;
        Cairn__Translation__V1__TranslateRequest msg =
                CAIRN__TRANSLATION__V1__TRANSLATE_REQUEST__INIT;
        struct gw_error e;
        json_t *doc, *text;
        size_t len;
        char *body;

        if (!t || !ts)
                abort();
        msg.texts = (char **)req->q;
        msg.n_texts = req->nq;
        msg.source = (char *)req->source;
        msg.target = (char *)req->target;
        packs(&msg.base);
        det.language = "en";
        det.confidence = 0.5f;
        for (size_t i = 0; i < req->nq; i++) {
                cairn__translation__v1__translation__init(&t[i]);
                t[i].index = (uint32_t)(req->nq - 1 - i);
                t[i].text = (char *)req->q[req->nq - 1 - i];
                t[i].source = "en";
                t[i].detected = &det;
                ts[i] = &t[i];
        }
        reply.translations = ts;
        reply.n_translations = req->nq;
        body = gw_lt_translate_json(req, &reply, &len, &e);
        doc = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
        text = json_object_get(doc, "translatedText");
        if (!doc || (req->q_array ? json_array_size(text) != req->nq : !json_is_string(text)))
                abort();
        if (!req->q_array && strcmp(json_string_value(text), req->q[0]) != 0)
                abort();
        if ((strcmp(req->source, "auto") == 0) !=
            (json_object_get(doc, "detectedLanguage") != NULL))
                abort();
        json_decref(doc);
        free(body);
        free(ts);
        free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int ready;
        enum gw_lt_op op;
        struct gw_lt_request req;
        struct gw_error e = { 0 };

        if (!ready) {
                cairn_arena_init(&arena, ARENA_MAX);
                ready = 1;
        }
        if (size < 1)
                return 0;
        op = (enum gw_lt_op)(data[0] % 3);
        if (!gw_lt_parse(op, media[(data[0] / 3) % 4], (const char *)data + 1, size - 1, NULL,
                         DEPTH, &arena, &req, &e)) {
                refused(&e);
                cairn_arena_reset(&arena);
                return 0;
        }
        if (req.api_key)
                text_ok(req.api_key, false);
        if (op == GW_LT_LANGUAGES) {
                if (req.nq)
                        abort();
        } else {
                if (req.nq < 1 || req.nq > GW_LT_MAX_TEXTS || (!req.q_array && req.nq != 1))
                        abort();
                for (size_t i = 0; i < req.nq; i++)
                        text_ok(req.q[i], false);
        }
        if (op == GW_LT_TRANSLATE) {
                code_ok(req.source, true);
                code_ok(req.target, false);
                if (req.alternatives > GW_LT_MAX_ALTERNATIVES)
                        abort();
                answers(&req);
        }
        cairn_arena_reset(&arena);
        return 0;
}
