/* libFuzzer target for what the workflow service reads off its reply
 * topic: a cairn_correlation_id (the first line), a ce_type chosen by the
 * next byte among the kinds of reply a step gets, and the payload (the
 * rest). wf_reply_decode must either refuse the message with
 * INVALID_ARGUMENT and a message, or give a reply naming a run, a step and
 * an attempt of at least 1, with JSON output on success or a failure with
 * a message; anything else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "workflow/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const types[] = {
                "cairn.v1.Status",
                "cairn.translation.v1.TranslateReply",
                "cairn.memory.v1.StoreReply",
                "cairn.speech.v1.TranscribeReply",
                "cairn.nowhere.v1.Reply",
        };
        const uint8_t *nl = memchr(data, '\n', size);
        char correlation[300];
        struct wf_reply r;
        struct cairn_status st;
        size_t clen;

        if (!nl || (clen = (size_t)(nl - data)) >= sizeof(correlation) || nl + 1 >= data + size)
                return 0;
        memcpy(correlation, data, clen);
        correlation[clen] = '\0';
        const char *type = types[nl[1] % (sizeof(types) / sizeof(types[0]))];
        const uint8_t *payload = nl + 2;
        size_t len = size - clen - 2;

        cairn_status_clear(&st);
        cairn_err_t err = wf_reply_decode(correlation, type, payload, len, &r, &st);

        if (err) {
                if (err != CAIRN_ERR_INVALID || !st.message[0] || r.output || r.status)
                        abort();
                return 0;
        }
        if (!r.run_id[0] || !r.step[0] || r.attempt < 1)
                abort();
        if (r.err == CAIRN_OK ? !r.output : !r.message)
                abort();
        wf_reply_free(&r);
        return 0;
}
