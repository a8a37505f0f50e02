/* Unit tests for the BERT model loader: a tiny sentence-transformers
 * directory written by the test (hidden size 4, 2 heads, 2 layers), whole
 * and then with one thing wrong at a time. */
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "embedding/bert_model.h"
#include "../unit.h"

#define HIDDEN 4
#define INTER  8
#define LAYERS 2
#define VOCAB  12
#define POS    16

static char dir[64];

static const char tokenizer_json[] =
        "{\"normalizer\": {\"type\": \"BertNormalizer\"}, "
        "\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, "
        "\"post_processor\": {\"type\": \"BertProcessing\", \"cls\": [\"[CLS]\", 2], "
        "\"sep\": [\"[SEP]\", 3]}, "
        "\"added_tokens\": [{\"id\": 11, \"content\": \"[MASK]\", \"special\": true}], "
        "\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {"
        "\"[PAD]\": 0, \"[UNK]\": 1, \"[CLS]\": 2, \"[SEP]\": 3, \"a\": 4, \"b\": 5}}}";

static void write_file(const char *name, const char *text)
{
        char path[256];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fp = fopen(path, "w");
        ck_assert_msg(fp, "cannot write %s", path);
        fputs(text, fp);
        fclose(fp);
}

/* A tensor of the model and its shape ([d0] when d1 is 0). */
struct shape_row {
        const char *name;
        size_t d0, d1;
};

/* What write_weights() does differently from a good file. */
struct fault {
        const char *prefix;  /* before every name */
        const char *drop;    /* a tensor left out */
        const char *reshape; /* a tensor given one row too many */
        const char *half;    /* a tensor stored as F16 */
};

/* model.safetensors with every tensor of the tiny model, each element the
 * float of its index in the file's data (so tests can find them). */
static void write_weights(const struct fault *f)
{
        json_t *hdr = json_object();
        size_t off = 0, hlen;
        char name[128], path[256], *text;
        FILE *fp;
        struct shape_row ts[64];
        size_t n = 0;
        static const struct shape_row layer[] = {
                { "attention.self.query.weight", HIDDEN, HIDDEN },
                { "attention.self.query.bias", HIDDEN, 0 },
                { "attention.self.key.weight", HIDDEN, HIDDEN },
                { "attention.self.key.bias", HIDDEN, 0 },
                { "attention.self.value.weight", HIDDEN, HIDDEN },
                { "attention.self.value.bias", HIDDEN, 0 },
                { "attention.output.dense.weight", HIDDEN, HIDDEN },
                { "attention.output.dense.bias", HIDDEN, 0 },
                { "attention.output.LayerNorm.weight", HIDDEN, 0 },
                { "attention.output.LayerNorm.bias", HIDDEN, 0 },
                { "intermediate.dense.weight", INTER, HIDDEN },
                { "intermediate.dense.bias", INTER, 0 },
                { "output.dense.weight", HIDDEN, INTER },
                { "output.dense.bias", HIDDEN, 0 },
                { "output.LayerNorm.weight", HIDDEN, 0 },
                { "output.LayerNorm.bias", HIDDEN, 0 },
        };
        static char names[64][96];

        ts[n++] = (struct shape_row){ "embeddings.word_embeddings.weight", VOCAB, HIDDEN };
        ts[n++] = (struct shape_row){ "embeddings.position_embeddings.weight", POS, HIDDEN };
        ts[n++] = (struct shape_row){ "embeddings.token_type_embeddings.weight", 2, HIDDEN };
        ts[n++] = (struct shape_row){ "embeddings.LayerNorm.weight", HIDDEN, 0 };
        ts[n++] = (struct shape_row){ "embeddings.LayerNorm.bias", HIDDEN, 0 };
        for (int l = 0; l < LAYERS; l++) {
                for (size_t k = 0; k < sizeof(layer) / sizeof(layer[0]); k++) {
                        snprintf(names[n], sizeof(names[n]), "encoder.layer.%d.%s", l,
                                 layer[k].name);
                        ts[n] = (struct shape_row){ names[n], layer[k].d0, layer[k].d1 };
                        n++;
                }
        }
        ts[n++] = (struct shape_row){ "pooler.dense.weight", HIDDEN, HIDDEN };
        for (size_t i = 0; i < n; i++) {
                size_t d0 = ts[i].d0, elem = 4, bytes;
                json_t *t, *shape;

                if (f->drop && strcmp(ts[i].name, f->drop) == 0)
                        continue;
                t = json_object();
                shape = json_array();
                if (f->reshape && strcmp(ts[i].name, f->reshape) == 0)
                        d0++;
                if (f->half && strcmp(ts[i].name, f->half) == 0)
                        elem = 2;
                json_array_append_new(shape, json_integer((json_int_t)d0));
                if (ts[i].d1)
                        json_array_append_new(shape, json_integer((json_int_t)ts[i].d1));
                bytes = d0 * (ts[i].d1 ? ts[i].d1 : 1) * elem;
                json_object_set_new(t, "dtype", json_string(elem == 4 ? "F32" : "F16"));
                json_object_set_new(t, "shape", shape);
                json_object_set_new(t, "data_offsets",
                                    json_pack("[II]", (json_int_t)off, (json_int_t)(off + bytes)));
                snprintf(name, sizeof(name), "%s%s", f->prefix ? f->prefix : "", ts[i].name);
                json_object_set_new(hdr, name, t);
                off += bytes;
        }
        text = json_dumps(hdr, JSON_COMPACT);
        hlen = (strlen(text) + 7) / 8 * 8; /* pad with spaces: floats stay aligned */
        snprintf(path, sizeof(path), "%s/model.safetensors", dir);
        fp = fopen(path, "wb");
        ck_assert_ptr_nonnull(fp);
        for (int i = 0; i < 8; i++)
                fputc((int)(((uint64_t)hlen >> (8 * i)) & 0xFF), fp);
        fputs(text, fp);
        for (size_t i = strlen(text); i < hlen; i++)
                fputc(' ', fp);
        for (size_t i = 0; i < off / 4; i++) {
                float v = (float)i;

                fwrite(&v, 4, 1, fp);
        }
        fclose(fp);
        free(text);
        json_decref(hdr);
}

static const char config_json[] =
        "{\"architectures\": [\"BertModel\"], \"model_type\": \"bert\", \"hidden_act\": \"gelu\", "
        "\"hidden_size\": 4, \"intermediate_size\": 8, \"num_hidden_layers\": 2, "
        "\"num_attention_heads\": 2, \"vocab_size\": 12, \"max_position_embeddings\": 16, "
        "\"type_vocab_size\": 2, \"layer_norm_eps\": 1e-05, "
        "\"position_embedding_type\": \"absolute\"}";
static const char modules_json[] = "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", "
                                   "\"type\": \"sentence_transformers.models.Transformer\"}, "
                                   "{\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", "
                                   "\"type\": \"sentence_transformers.models.Pooling\"}, "
                                   "{\"idx\": 2, \"name\": \"2\", \"path\": \"2_Normalize\", "
                                   "\"type\": \"sentence_transformers.models.Normalize\"}]";
static const char pooling_json[] =
        "{\"word_embedding_dimension\": 4, \"pooling_mode_cls_token\": false, "
        "\"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": false, "
        "\"pooling_mode_mean_sqrt_len_tokens\": false}";

static void setup(void)
{
        static const struct fault none = { 0 };
        char sub[96];

        snprintf(dir, sizeof(dir), "/tmp/cairn-bert-model-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(sub, sizeof(sub), "%s/1_Pooling", dir);
        ck_assert_int_eq(mkdir(sub, 0755), 0);
        write_file("config.json", config_json);
        write_file("modules.json", modules_json);
        write_file("1_Pooling/config.json", pooling_json);
        write_file("sentence_bert_config.json",
                   "{\"max_seq_length\": 8, \"do_lower_case\": false}");
        write_file("tokenizer.json", tokenizer_json);
        write_weights(&none);
}

static void teardown(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
}

/* Loading must fail with a message holding @p says. */
static void refused(const char *says)
{
        char errstr[512] = "";
        struct bert_model *m = bert_model_load(dir, errstr, sizeof(errstr));

        ck_assert_msg(!m, "loaded, but should fail with \"%s\"", says);
        ck_assert_msg(strstr(errstr, says), "\"%s\" lacks \"%s\"", errstr, says);
}

START_TEST(test_bert_model_load_reads_everything)
{
        char errstr[512];
        struct bert_model *m = bert_model_load(dir, errstr, sizeof(errstr));
        const struct bert_config *c;

        ck_assert_msg(m, "%s", errstr);
        c = &m->conf;
        ck_assert_uint_eq(c->vocab_size, VOCAB);
        ck_assert_uint_eq(c->hidden_size, HIDDEN);
        ck_assert_uint_eq(c->num_layers, LAYERS);
        ck_assert_uint_eq(c->num_heads, 2);
        ck_assert_uint_eq(c->intermediate_size, INTER);
        ck_assert_uint_eq(c->max_position, POS);
        ck_assert_uint_eq(c->type_vocab_size, 2);
        ck_assert(c->layer_norm_eps == 1e-5);
        ck_assert_uint_eq(c->max_seq_length, 8);
        ck_assert_int_eq(c->pooling, BERT_POOLING_MEAN);
        ck_assert(c->normalize);
        /* the word embeddings come first: element i is i */
        ck_assert(m->word_emb[0] == 0.0f && m->word_emb[5] == 5.0f);
        ck_assert(m->pos_emb[0] == (float)(VOCAB * HIDDEN));
        ck_assert_ptr_nonnull(m->layers[LAYERS - 1].out_norm_b);
        ck_assert(m->layers[0].query_w != m->layers[1].query_w);
        ck_assert_int_eq(bert_tokenizer_token_id(m->tok, "[MASK]"), 11);
        bert_model_free(m);
}
END_TEST

START_TEST(test_bert_model_load_bert_prefix)
{
        static const struct fault f = { .prefix = "bert." };
        char errstr[512];
        struct bert_model *m;

        write_weights(&f);
        m = bert_model_load(dir, errstr, sizeof(errstr));
        ck_assert_msg(m, "%s", errstr);
        bert_model_free(m);
}
END_TEST

START_TEST(test_bert_model_load_defaults)
{
        char path[128], errstr[512];
        struct bert_model *m;

        /* without sentence_bert_config.json: the model's own limit */
        snprintf(path, sizeof(path), "%s/sentence_bert_config.json", dir);
        ck_assert_int_eq(unlink(path), 0);
        write_file(
                "modules.json",
                "[{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}, "
                "{\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]");
        write_file("1_Pooling/config.json",
                   "{\"word_embedding_dimension\": 4, \"pooling_mode_cls_token\": true}");
        m = bert_model_load(dir, errstr, sizeof(errstr));
        ck_assert_msg(m, "%s", errstr);
        ck_assert_uint_eq(m->conf.max_seq_length, POS);
        ck_assert(!m->conf.normalize);
        ck_assert_int_eq(m->conf.pooling, BERT_POOLING_CLS);
        bert_model_free(m);
}
END_TEST

START_TEST(test_bert_model_load_refuses_bad_tensors)
{
        struct fault f = { .drop = "encoder.layer.1.output.dense.bias" };

        write_weights(&f);
        refused("model.safetensors: tensor \"encoder.layer.1.output.dense.bias\" is missing");
        f = (struct fault){ .reshape = "encoder.layer.0.intermediate.dense.weight" };
        write_weights(&f);
        refused("tensor \"encoder.layer.0.intermediate.dense.weight\" has shape [9, 4]; "
                "config.json makes it [8, 4]");
        f = (struct fault){ .half = "embeddings.LayerNorm.bias" };
        write_weights(&f);
        refused("tensor \"embeddings.LayerNorm.bias\" is F16; only F32 weights are supported");
        f = (struct fault){ .reshape = "embeddings.LayerNorm.weight" };
        write_weights(&f);
        refused("tensor \"embeddings.LayerNorm.weight\" has shape [5]; config.json makes it [4]");
        write_file("model.safetensors", "not safetensors");
        refused("model.safetensors: header of");
}
END_TEST

/* config.json, 1_Pooling/config.json, modules.json and
 * sentence_bert_config.json variants that must be refused. */
static const struct {
        /* cppcheck-suppress unusedStructMember ; read through bad_files[_i] */
        const char *file;
        /* cppcheck-suppress unusedStructMember ; read through bad_files[_i] */
        const char *text;
        /* cppcheck-suppress unusedStructMember ; read through bad_files[_i] */
        const char *says;
} bad_files[] = {
        { "config.json", "{\"model_type\": \"roberta\"}", "only \"bert\" models" },
        { "config.json", "[]", "config.json: not a JSON object" },
        { "config.json", "{\"model_type\": \"bert\", \"hidden_size\": 4}", "no \"vocab_size\"" },
        { "config.json",
          "{\"model_type\": \"bert\", \"vocab_size\": 12, \"hidden_size\": 5, "
          "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
          "\"max_position_embeddings\": 16}",
          "hidden_size 5 is not a multiple of num_attention_heads 2" },
        { "config.json",
          "{\"model_type\": \"bert\", \"vocab_size\": 12, \"hidden_size\": 4, "
          "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
          "\"max_position_embeddings\": 16, \"hidden_act\": \"gelu_new\"}",
          "\"hidden_act\" is \"gelu_new\"" },
        { "config.json",
          "{\"model_type\": \"bert\", \"vocab_size\": 12, \"hidden_size\": 4, "
          "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
          "\"max_position_embeddings\": 16, \"position_embedding_type\": \"relative_key\"}",
          "\"position_embedding_type\" is \"relative_key\"" },
        { "config.json",
          "{\"model_type\": \"bert\", \"vocab_size\": 12, \"hidden_size\": 4, "
          "\"num_hidden_layers\": -2, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
          "\"max_position_embeddings\": 16}",
          "\"num_hidden_layers\" must be an integer from 1 to" },
        { "config.json",
          "{\"model_type\": \"bert\", \"vocab_size\": 10, \"hidden_size\": 4, "
          "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
          "\"max_position_embeddings\": 16}",
          "token ids go up to 11, beyond config.json's vocab_size 10" },
        { "config.json",
          "{\"model_type\": \"bert\", \"vocab_size\": 12, \"hidden_size\": 4, "
          "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 8, "
          "\"max_position_embeddings\": 16, \"layer_norm_eps\": 0}",
          "\"layer_norm_eps\" must be a number in (0, 1]" },
        { "config.json", "{", "config.json: not valid JSON" },
        { "sentence_bert_config.json", "{\"max_seq_length\": 17}",
          "\"max_seq_length\" must be an integer from 2 to 16" },
        { "sentence_bert_config.json", "{\"max_seq_length\": 8, \"do_lower_case\": true}",
          "\"do_lower_case\": true is not supported" },
        { "1_Pooling/config.json",
          "{\"word_embedding_dimension\": 4, \"pooling_mode_max_tokens\": true}",
          "\"pooling_mode_max_tokens\" is not supported" },
        { "1_Pooling/config.json",
          "{\"word_embedding_dimension\": 4, \"pooling_mode_cls_token\": true, "
          "\"pooling_mode_mean_tokens\": true}",
          "exactly one of" },
        { "1_Pooling/config.json",
          "{\"word_embedding_dimension\": 8, \"pooling_mode_mean_tokens\": true}",
          "word_embedding_dimension 8 differs from the model's hidden_size 4" },
        { "modules.json",
          "[{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}, "
          "{\"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}, "
          "{\"path\": \"2_Dense\", \"type\": \"sentence_transformers.models.Dense\"}]",
          "[2]: module \"sentence_transformers.models.Dense\" is not supported" },
        { "modules.json",
          "[{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}, "
          "{\"path\": \"../1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"}]",
          "[1]: needs a \"type\" string and a relative \"path\"" },
        { "modules.json",
          "[{\"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"}]",
          "needs a Transformer and a Pooling module" },
        { "tokenizer.json", "{}", "tokenizer.json: pre_tokenizer: only BertPreTokenizer" },
};

START_TEST(test_bert_model_load_refuses_bad_files)
{
        write_file(bad_files[_i].file, bad_files[_i].text);
        refused(bad_files[_i].says);
}
END_TEST

START_TEST(test_bert_model_load_names_missing_files)
{
        char path[128];

        snprintf(path, sizeof(path), "%s/modules.json", dir);
        ck_assert_int_eq(unlink(path), 0);
        refused("cannot open");
        refused("/modules.json");
}
END_TEST

static Suite *suite(void)
{
        Suite *s = suite_create("bert_model");
        TCase *tc = tcase_create("bert_model_load");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_bert_model_load_reads_everything);
        tcase_add_test(tc, test_bert_model_load_bert_prefix);
        tcase_add_test(tc, test_bert_model_load_defaults);
        tcase_add_test(tc, test_bert_model_load_refuses_bad_tensors);
        tcase_add_loop_test(tc, test_bert_model_load_refuses_bad_files, 0,
                            sizeof(bad_files) / sizeof(bad_files[0]));
        tcase_add_test(tc, test_bert_model_load_names_missing_files);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        return unit_run(suite());
}
