/* Fuzz target: Apertium's stream format and mode files. Any text escaped
 * then unescaped is itself again; the functions that read a pipeline's
 * output or the deformatter's take any bytes; a mode file of any bytes is
 * parsed or refused, never more. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "translation/modes.h"
#include "translation/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        struct cairn_buf esc = { 0 }, back = { 0 }, out = { 0 };
        struct tr_mode m;
        char err[256], *text;

        tr_stream_escape(s, size, &esc);
        tr_stream_unescape(esc.p ? esc.p : "", esc.len, false, &back);
        if (back.len != size || (size && memcmp(back.p, s, size) != 0))
                abort();
        tr_stream_marks(s, size, TR_MARKS_DROP, &out);
        tr_stream_marks(s, size, TR_MARKS_PROTECT, &out);
        tr_stream_protect(s, size, &out);
        tr_stream_unescape(s, size, true, &out);
        cairn_buf_cleanup(&esc);
        cairn_buf_cleanup(&back);
        cairn_buf_cleanup(&out);

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (tr_mode_parse("eng-spa", text, &m, err, sizeof(err)) == 0)
                tr_mode_cleanup(&m);
        free(text);
        return 0;
}
