/* The secrets service: its configuration and the state its handlers share.
 * Layout: keyring.c (root keys, KEK versions, seal keys), envelope.c (the
 * encryption of one version), paths.c, policy.c (rules, pure) and
 * policies.c (the tenant's, stored), audit_chain.c (the hash chain, pure)
 * and audit.c (appending, publishing), then the handlers: data.c (write,
 * patch, read, subkeys), versions.c (delete, undelete, destroy), meta.c
 * (metadata, list, config), admin.c (keys, policies, audit); rewrap.c and
 * reminders.c run beside them. */
#ifndef SECRETS_SECRETS_H
#define SECRETS_SECRETS_H

#include <stdbool.h>
#include <stdint.h>

#include "cairn/bus.h"
#include "cairn/conf.h"
#include "cairn/metrics.h"
#include "cairn/pg.h"

struct secrets_conf {
        const char *root_key;      /* secret: "<id> <base64>" lines, when no file */
        const char *root_key_file; /* the same, in a file (mode 0600/0400) */
        long long max_path_bytes;
        long long max_value_bytes;
        long long max_versions; /* a tenant's default */
        long long list_page_size;
        long long max_list_page_size;
        const char *audit_failure; /* "closed" or "open" */
        long long audit_timeout_ms;
        long long audit_batch;
        long long audit_queue;
        const char *audit_topic;
        long long audit_publish_interval_ms;
        const char *events_topic;
        long long rewrap_batch;
        long long keyring_refresh_ms;
        long long reminder_interval_ms;
        long long policy_cache_ms;
        long long replies_keep_hours;
        long long sweep_interval_ms;
};

extern const struct cairn_conf_item secrets_conf_items[];
struct cairn_conf_section secrets_conf_section(struct secrets_conf *conf);

struct secrets_keyring;
struct secrets_audit;
struct secrets_policies;
struct secrets_rewrap;

struct secrets_service {
        const struct secrets_conf *conf;
        struct cairn_pg *pg;
        struct secrets_keyring *keyring;
        struct secrets_audit *audit;
        struct secrets_policies *policies;
        struct secrets_rewrap *rewrap;
        bool fail_open;                        /* secrets.audit_failure open */
        struct cairn_metric *ops;              /* cairn_secrets_requests_total{operation,outcome} */
        struct cairn_series *decrypt_failures; /* cairn_secrets_decrypt_failures_total */
};

/* The handler table (handlers.c). */
extern const struct cairn_handler secrets_handlers[];

#endif
