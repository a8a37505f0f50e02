/* libFuzzer target for what an OpenAI-compatible audio server answers: the
 * body handed to the verbose_json parser (with malloc and with a small
 * arena that runs out) and the error-body reader. The parser must either
 * give a reply that protobuf-c packs, whose strings are NUL-terminated
 * UTF-8, whose segments and words start before they end, and whose
 * language is short; or fail with UNAVAILABLE (EXHAUSTED when the arena
 * runs out), a message and nothing allocated; anything else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/http_client.h"
#include "cairn/utf8.h"
#include "speech/remote_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s)
{
        if (!s || !cairn_utf8_valid(s, strlen(s)))
                abort();
}

static void check_reply(const Cairn__Speech__V1__TranscribeReply *r)
{
        check_string(r->text);
        check_string(r->language);
        if (strlen(r->language) > 64 || strcmp(r->engine, "remote") != 0 || !(r->duration >= 0))
                abort();
        for (size_t i = 0; i < r->n_segments; i++) {
                const Cairn__Speech__V1__Segment *s = r->segments[i];

                check_string(s->text);
                if (!(s->start >= 0 && s->end >= s->start) || s->n_tokens > SP_WIRE_TOKENS_MAX)
                        abort();
        }
        for (size_t i = 0; i < r->n_words; i++) {
                const Cairn__Speech__V1__Word *w = r->words[i];

                check_string(w->word);
                if (!(w->start >= 0 && w->end >= w->start) || !(w->probability >= 0) ||
                    w->probability > 1)
                        abort();
        }
        if (cairn__speech__v1__transcribe_reply__get_packed_size(r) == 0 && r->text[0])
                abort();
}

static void check_parse(const char *body, size_t len, ProtobufCAllocator *alloc, bool bounded)
{
        Cairn__Speech__V1__TranscribeReply *r = (void *)1;
        struct cairn_status st;
        cairn_err_t err;

        cairn_status_clear(&st);
        err = sp_wire_transcription_parse(body, len, alloc, &r, &st);
        if (err == CAIRN_OK) {
                if (!r)
                        abort();
                check_reply(r);
                if (!alloc)
                        cairn__speech__v1__transcribe_reply__free_unpacked(r, NULL);
                return;
        }
        if (r || st.message[0] == '\0' ||
            (err != CAIRN_ERR_UNAVAILABLE && !(bounded && err == CAIRN_ERR_EXHAUSTED)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *body = (const char *)data;
        struct cairn_arena arena;
        char msg[256];

        check_parse(body, size, NULL, false);
        cairn_arena_init(&arena, 4096);
        check_parse(body, size, cairn_arena_pbc(&arena), true);
        cairn_arena_cleanup(&arena);
        cairn_http_error_message(body, size, msg, sizeof(msg));
        for (size_t i = 0; msg[i]; i++)
                if (msg[i] < 0x20 || msg[i] > 0x7e)
                        abort();
        return 0;
}
