/* libFuzzer target for the BERT tokenizer: arbitrary bytes as a text (UTF-8
 * or not), tokenized with a small vocabulary at two budgets. The ids must
 * be [CLS] ... [SEP], within the budget and the vocabulary, the shorter
 * tokenization the start of the longer one, and the normalizer's output
 * valid code points. Anything else aborts. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "embedding/bert_tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char json[] =
        "{\"normalizer\": {\"type\": \"BertNormalizer\"}, "
        "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
        "\"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 2], "
        "\"sep\": [\"[SEP]\", 3]}, "
        "\"added_tokens\": [{\"id\": 2, \"content\": \"[CLS]\"}, {\"id\": 3, \"content\": "
        "\"[SEP]\"}, {\"id\": 4, \"content\": \"[MASK]\"}, {\"id\": 9, \"content\": \"[MAS\"}], "
        "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
        "\"max_input_chars_per_word\": 12, \"vocab\": {\"[PAD]\": 0, \"[UNK]\": 1, "
        "\"[CLS]\": 2, \"[SEP]\": 3, \"[MASK]\": 4, \"a\": 5, \"##a\": 6, \"ab\": 7, "
        "\"##b\": 8, \"\\u00e9\": 10, \"##\\u3042\": 11, \"\\u4e00\": 12, \".\": 13}}}";

static struct bert_tokenizer *tok;
static struct bert_tokenizer_scratch *scr;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        int32_t long_ids[512], short_ids[8];
        size_t n_long, n_short, n_cps;
        bool t_long, t_short;
        const int32_t *cps;
        char errstr[256];

        if (!tok) {
                tok = bert_tokenizer_parse(json, strlen(json), errstr, sizeof(errstr));
                scr = bert_tokenizer_scratch_new();
                if (!tok || !scr)
                        abort();
        }
        if (size > BERT_TOKENIZER_INPUT_MAX)
                return 0;
        if (bert_tokenize(tok, scr, (const char *)data, size, long_ids, 512, &n_long, &t_long) ||
            bert_tokenize(tok, scr, (const char *)data, size, short_ids, 8, &n_short, &t_short))
                abort();
        if (n_long < 2 || n_long > 512 || n_short < 2 || n_short > 8)
                abort();
        if (long_ids[0] != 2 || long_ids[n_long - 1] != 3 || short_ids[0] != 2 ||
            short_ids[n_short - 1] != 3)
                abort();
        if (t_short != (t_long || n_long > 8) || (!t_short && n_short != n_long))
                abort();
        if (memcmp(long_ids, short_ids, (n_short - 1) * sizeof(int32_t)) != 0)
                abort();
        for (size_t i = 0; i < n_long; i++)
                if (long_ids[i] < 0 || (size_t)long_ids[i] >= bert_tokenizer_id_limit(tok))
                        abort();
        if (bert_tokenizer_normalize(tok, scr, (const char *)data, size, &cps, &n_cps))
                abort();
        for (size_t i = 0; i < n_cps; i++)
                if (cps[i] < 0 || cps[i] > 0x10FFFF || (cps[i] >= 0xD800 && cps[i] <= 0xDFFF))
                        abort();
        return 0;
}
