/* Fuzz target: cairn-admin's topics file (YAML an operator hands the tool),
 * parsed and, when it parses, compared with an empty and a populated
 * cluster state. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "topics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct topics_file tf;
        char err[512];

        if (topics_file_parse((const char *)data, size, "fuzz.yaml", &tf, err, sizeof(err)) != 0)
                return 0;
        for (size_t i = 0; i < tf.ntopics; i++) {
                struct topic_config cur[] = { { "retention.ms", "1" } };
                struct topic_state none = { 0 }, some = { 1, 3, 1, cur, 1 };
                struct topic_plan plan;

                topic_plan_make(&tf.topics[i], &none, &plan, NULL);
                topic_plan_make(&tf.topics[i], &some, &plan, NULL);
        }
        topics_file_cleanup(&tf);
        return 0;
}
