/* The embedding service's configuration: its one table of "embedding."
 * keys, and the check of what no single key's bounds can express. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "embedding.h"

#define ITEM(name, def, min, max, field, desc) \
        { name, CAIRN_CONF_INT, def, min, max, 0, offsetof(struct embedding_conf, field), desc }

const struct cairn_conf_item embedding_conf_items[] = {
        ITEM("embedding.dimensions", "384", 16, 4096, dimensions,
             "native dimension of the lexical model, also in its name (cairn-lexical-384 by "
             "default); changing it changes every vector"),
        ITEM("embedding.max_inputs", "512", 1, 100000, max_inputs,
             "most texts one request may carry; replies must fit in 1000000 bytes"),
        ITEM("embedding.max_input_bytes", "32768", 1, 1048576, max_input_bytes,
             "largest text accepted, in bytes of UTF-8"),
        { NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

/* Bytes a reply adds per vector besides its floats: the Embedding's tag and
 * length, its index and the packed vector's tag and length. */
#define REPLY_PER_VECTOR 16
/* The model name, dimensions and usage. */
#define REPLY_FIXED 1024

struct cairn_conf_section embedding_conf_section(struct embedding_conf *conf)
{
        return (struct cairn_conf_section){ "Embedding", embedding_conf_items, conf,
                                            embedding_conf_check };
}

int embedding_conf_check(const void *target, char *errstr, size_t errstr_size)
{
        const struct embedding_conf *conf = target;
        long long per_vector, worst;

        per_vector = conf->dimensions * 4 + REPLY_PER_VECTOR;
        worst = conf->max_inputs * per_vector + REPLY_FIXED;
        if (worst > EMBEDDING_REPLY_MAX) {
                snprintf(errstr, errstr_size,
                         "config: embedding.max_inputs: %lld texts of %lld dimensions make replies of up "
                         "to %lld bytes, over Kafka's default message.max.bytes of %d; set "
                         "embedding.max_inputs to %lld or less (or lower embedding.dimensions)",
                         conf->max_inputs, conf->dimensions, worst, EMBEDDING_REPLY_MAX,
                         (EMBEDDING_REPLY_MAX - REPLY_FIXED) / per_vector);
                return -1;
        }
        return 0;
}
