/* libFuzzer target for the JSON mapping (cairn/pbjson.h): the first byte
 * picks a message type, among every type of libcairn's registry (the
 * requests and replies of proto/, the well-known types) and the test types
 * of tests/proto that hold every field kind; the rest is JSON for
 * cairn_pbjson_parse(). A failure must be INVALID (or out of memory) with a
 * message. A success must render (plain, and with proto names and defaults),
 * and each rendering must parse again into a message that packs to the same
 * bytes. Anything else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/pbjson.h"
#include "cairn/testing/v1/kinds.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_DEPTH 32

static const ProtobufCMessageDescriptor *pick(uint8_t b)
{
        static const ProtobufCMessageDescriptor *const tests[] = {
                &cairn__testing__v1__kinds__descriptor,
                &cairn__testing__v1__nested__descriptor,
        };
        size_t n = 0;

        while (cairn_pb_messages[n])
                n++;
        b %= (uint8_t)(n + 2 * (sizeof(tests) / sizeof(tests[0])));
        /* the test types twice as likely: they hold every kind of field */
        return b < n ? cairn_pb_messages[b] : tests[(b - n) % (sizeof(tests) / sizeof(tests[0]))];
}

static uint8_t *pack(const ProtobufCMessage *msg, size_t *len)
{
        uint8_t *p;

        *len = protobuf_c_message_get_packed_size(msg);
        p = malloc(*len + 1);
        if (!p || protobuf_c_message_pack(msg, p) != *len)
                abort();
        return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const ProtobufCMessageDescriptor *desc;
        struct cairn_pbjson_error err;
        ProtobufCMessage *msg, *again;
        size_t len, la, lb;
        uint8_t *pa, *pb;
        cairn_err_t e;
        char *text;

        if (size < 1)
                return 0;
        desc = pick(data[0]);
        e = cairn_pbjson_parse(desc, (const char *)data + 1, size - 1, MAX_DEPTH, &msg, &err);
        if (e) {
                if ((e != CAIRN_ERR_INVALID && e != CAIRN_ERR_EXHAUSTED) || msg ||
                    !err.message[0] || strlen(err.field) >= sizeof(err.field))
                        abort();
                return 0;
        }
        pa = pack(msg, &la);
        for (unsigned flags = 0; flags <= CAIRN_PBJSON_PROTO_NAMES + CAIRN_PBJSON_EMIT_DEFAULTS;
             flags += CAIRN_PBJSON_PROTO_NAMES + CAIRN_PBJSON_EMIT_DEFAULTS) {
                text = cairn_pbjson_render(msg, flags, &len);
                if (!text)
                        abort();
                /* our own rendering must read back, as the same message (the
                 * [] and {} of defaults may add one level) */
                if (cairn_pbjson_parse(desc, text, len, MAX_DEPTH + 1, &again, &err) != CAIRN_OK)
                        abort();
                pb = pack(again, &lb);
                if (la != lb || memcmp(pa, pb, la) != 0)
                        abort();
                free(pb);
                free(text);
                protobuf_c_message_free_unpacked(again, NULL);
        }
        free(pa);
        protobuf_c_message_free_unpacked(msg, NULL);
        return 0;
}
