/* The "kafka." keys of a configuration applied to a librdkafka configuration. */
#include <stdio.h>

#include "cairn/kafka_conf.h"

struct apply_ctx {
        rd_kafka_conf_t *kconf;
        char *errstr;
        size_t errstr_size;
};

static int apply_one(const char *name, const char *value, void *opaque)
{
        struct apply_ctx *ctx = opaque;
        char err[256];

        if (rd_kafka_conf_set(ctx->kconf, name, value, err, sizeof(err)) != RD_KAFKA_CONF_OK) {
                snprintf(ctx->errstr, ctx->errstr_size, "config: kafka.%s: %s", name, err);
                return -1;
        }
        return 0;
}

static int apply_pairs(struct apply_ctx *ctx, const char *const *pairs)
{
        for (size_t i = 0; pairs && pairs[i]; i += 2) {
                if (apply_one(pairs[i], pairs[i + 1], ctx) != 0)
                        return -1;
        }
        return 0;
}

int cairn_kafka_conf_apply(rd_kafka_conf_t *kconf, const struct cairn_conf *conf,
                           const char *const *defaults, const char *const *overrides, char *errstr,
                           size_t errstr_size)
{
        struct apply_ctx ctx = { kconf, errstr, errstr_size };

        if (!cairn_conf_kafka_get(conf, "bootstrap.servers")) {
                snprintf(errstr, errstr_size,
                         "config: kafka.bootstrap.servers is required (set it in the file or "
                         "CAIRN_KAFKA_BOOTSTRAP_SERVERS)");
                return -1;
        }
        if (apply_pairs(&ctx, defaults) != 0)
                return -1;
        if (cairn_conf_foreach_kafka(conf, apply_one, &ctx) != 0)
                return -1;
        return apply_pairs(&ctx, overrides);
}
