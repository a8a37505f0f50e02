/* cairn-embedding: wires the configuration, the runtime and the embedding
 * handlers together, then serves until SIGTERM. */
#include <stdio.h>

#include "cairn/app.h"
#include "embedding.h"

int main(int argc, char **argv)
{
        struct cairn_app app;
        struct embedding_conf conf;
        struct embedding_service svc;
        struct cairn_conf_section sections[1];
        char errstr[512];
        int rc;

        sections[0] = embedding_conf_section(&conf);
        rc = cairn_app_init(&app, "embedding", argc, argv, sections, 1);
        if (rc != 0) {
                cairn_app_cleanup(&app);
                return rc == 1 ? 0 : 1;
        }
        if (embedding_service_init(&svc, &conf, app.metrics, errstr, sizeof(errstr)) != CAIRN_OK) {
                fprintf(stderr, "cairn-embedding: %s\n", errstr);
                cairn_app_cleanup(&app);
                return 1;
        }
        rc = cairn_app_serve(&app, embedding_handlers, &svc);
        cairn_app_cleanup(&app);
        embedding_service_cleanup(&svc);
        return rc;
}
