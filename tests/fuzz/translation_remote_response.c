/* libFuzzer target for what a LibreTranslate-compatible provider answers:
 * the first byte picks how many translations (1..4) are expected and
 * whether they have a size limit, the rest is the body handed to the
 * translation parser, the language-list parser and the error-body reader.
 * The translation parser must either give every text a NUL-terminated
 * UTF-8 translation within the limit or fail with UNAVAILABLE, a message
 * and nothing allocated; the language parser must give sorted, unique
 * pairs of valid codes (none into itself) or fail the same way; anything
 * else aborts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/http_client.h"
#include "cairn/utf8.h"
#include "translation/remote_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_translations(const char *body, size_t len, size_t n, size_t max)
{
        struct cairn_status st;
        char *out[4];
        cairn_err_t err;

        cairn_status_clear(&st);
        err = tr_wire_translate_parse(body, len, n, max, out, &st);
        for (size_t i = 0; i < n; i++) {
                if (err != CAIRN_OK) {
                        if (out[i])
                                abort();
                        continue;
                }
                if (!out[i] || !cairn_utf8_valid(out[i], strlen(out[i])) ||
                    (max && strlen(out[i]) > max))
                        abort();
                free(out[i]);
        }
        if (err != CAIRN_OK && (err != CAIRN_ERR_UNAVAILABLE || st.message[0] == '\0'))
                abort();
}

static void check_languages(const char *body, size_t len)
{
        struct tr_remote_pair *pairs = (struct tr_remote_pair *)1;
        struct cairn_status st;
        size_t n = 1;
        cairn_err_t err;

        cairn_status_clear(&st);
        err = tr_wire_languages_parse(body, len, &pairs, &n, &st);
        if (err != CAIRN_OK) {
                if (err != CAIRN_ERR_UNAVAILABLE || st.message[0] == '\0' || pairs || n)
                        abort();
                return;
        }
        for (size_t i = 0; i < n; i++) {
                if (!tr_wire_code_valid(pairs[i].source) || !tr_wire_code_valid(pairs[i].target) ||
                    strcmp(pairs[i].source, pairs[i].target) == 0)
                        abort();
                if (i > 0) {
                        int c = strcmp(pairs[i - 1].source, pairs[i].source);

                        if (c > 0 || (c == 0 && strcmp(pairs[i - 1].target, pairs[i].target) >= 0))
                                abort();
                }
        }
        free(pairs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *body = (const char *)data + 1;
        char msg[128];

        if (size < 1)
                return 0;
        check_translations(body, size - 1, (size_t)(data[0] & 3) + 1, data[0] & 4 ? 8 : 0);
        check_languages(body, size - 1);
        cairn_http_error_message(body, size - 1, msg, sizeof(msg));
        if (strlen(msg) >= sizeof(msg))
                abort();
        return 0;
}
