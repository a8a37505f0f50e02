/* The secrets service's configuration: its one table of "secrets." keys. */
#include <stdio.h>
#include <string.h>

#include "secrets.h"

#define CAIRN_CONF_STRUCT struct secrets_conf

const struct cairn_conf_item secrets_conf_items[] = {
        CAIRN_CONF_ROW("secrets.root_key_file", CAIRN_CONF_STRING, "", 0, -1, 0, root_key_file,
                       "file of the root keys that wrap the keyring: \"<id> <base64 of 32 "
                       "bytes>\" per line, the first current, the others earlier ones still "
                       "unwrapping (mode 0600 or 0400); one of this and secrets.root_key is "
                       "required"),
        CAIRN_CONF_ROW("secrets.root_key", CAIRN_CONF_STRING, "", 0, -1, CAIRN_CONF_SECRET,
                       root_key,
                       "the same lines inline (CAIRN_SECRETS_ROOT_KEY), for development: a "
                       "file keeps the key out of the environment"),
        CAIRN_CONF_ROW("secrets.max_path_bytes", CAIRN_CONF_INT, "512", 1, 1024, 0, max_path_bytes,
                       "longest path of a secret, in bytes"),
        CAIRN_CONF_ROW("secrets.max_value_bytes", CAIRN_CONF_INT, "65536", 16, 524288, 0,
                       max_value_bytes,
                       "largest value (its JSON text), in bytes; sealed it must fit a Kafka "
                       "message"),
        CAIRN_CONF_ROW("secrets.max_versions", CAIRN_CONF_INT, "10", 1, 1000000, 0, max_versions,
                       "versions kept per secret when neither it nor its tenant says (Vault's "
                       "default); older ones are removed"),
        CAIRN_CONF_ROW("secrets.list_page_size", CAIRN_CONF_INT, "1000", 1, 100000, 0,
                       list_page_size, "keys in a list page when the request names no size"),
        CAIRN_CONF_ROW("secrets.max_list_page_size", CAIRN_CONF_INT, "10000", 1, 100000, 0,
                       max_list_page_size, "most keys in one list page"),
        CAIRN_CONF_ROW("secrets.audit_failure", CAIRN_CONF_STRING, "closed", 0, -1, 0,
                       audit_failure,
                       "when a request's audit row cannot be appended: closed refuses the "
                       "request (UNAVAILABLE), open serves it and counts "
                       "cairn_secrets_audit_failures_total"),
        CAIRN_CONF_ROW("secrets.audit_timeout_ms", CAIRN_CONF_INT, "2000", 10, 60000, 0,
                       audit_timeout_ms,
                       "longest wait for the audit log (its lock, its commit): a blocked audit "
                       "table fails requests after this, never hangs them"),
        CAIRN_CONF_ROW("secrets.audit_batch", CAIRN_CONF_INT, "128", 1, 256, 0, audit_batch,
                       "most audit rows one commit of the appender holds"),
        CAIRN_CONF_ROW("secrets.audit_queue", CAIRN_CONF_INT, "4096", 1, 1000000, 0, audit_queue,
                       "audit rows waiting for the appender at most; beyond, requests fail as "
                       "audit failures"),
        CAIRN_CONF_ROW("secrets.audit_topic", CAIRN_CONF_STRING, "cairn.audit.v1", 0, -1, 0,
                       audit_topic, "topic the audit rows are published on"),
        CAIRN_CONF_ROW("secrets.audit_publish_interval_ms", CAIRN_CONF_INT, "1000", 0, 3600000, 0,
                       audit_publish_interval_ms,
                       "how often unpublished audit rows are published at the latest (an "
                       "append wakes the publisher); 0: not published"),
        CAIRN_CONF_ROW("secrets.events_topic", CAIRN_CONF_STRING, "cairn.secrets.v1.events", 0, -1,
                       0, events_topic, "topic of the service's events (RotationOverdue)"),
        CAIRN_CONF_ROW("secrets.rewrap_batch", CAIRN_CONF_INT, "500", 1, 100000, 0, rewrap_batch,
                       "data keys one rewrap transaction rewraps"),
        CAIRN_CONF_ROW("secrets.keyring_refresh_ms", CAIRN_CONF_INT, "1000", 100, 3600000, 0,
                       keyring_refresh_ms,
                       "how often the keyring is reloaded (a rotation on another replica) and "
                       "an unfinished rewrap resumed"),
        CAIRN_CONF_ROW("secrets.reminder_interval_ms", CAIRN_CONF_INT, "60000", 0, 86400000, 0,
                       reminder_interval_ms,
                       "how often secrets past their rotate_after are looked for; 0: never"),
        CAIRN_CONF_ROW("secrets.policy_cache_ms", CAIRN_CONF_INT, "1000", 0, 3600000, 0,
                       policy_cache_ms,
                       "how long a tenant's policies are cached: a change made through another "
                       "replica applies here within this time"),
        CAIRN_CONF_ROW("secrets.replies_keep_hours", CAIRN_CONF_INT, "168", 25, 87600, 0,
                       replies_keep_hours,
                       "how long a write's reply is kept for a redelivery of it (more than the "
                       "request topics' retention, a day)"),
        CAIRN_CONF_ROW("secrets.sweep_interval_ms", CAIRN_CONF_INT, "600000", 0, 86400000, 0,
                       sweep_interval_ms,
                       "how often replies past secrets.replies_keep_hours are deleted; 0: never"),
        CAIRN_CONF_END,
};

static int check(const void *target, char *errstr, size_t errstr_size)
{
        const struct secrets_conf *c = target;

        if (strcmp(c->audit_failure, "closed") != 0 && strcmp(c->audit_failure, "open") != 0) {
                snprintf(errstr, errstr_size, "secrets.audit_failure must be closed or open");
                return -1;
        }
        if (c->list_page_size > c->max_list_page_size) {
                snprintf(errstr, errstr_size,
                         "secrets.list_page_size is over secrets.max_list_page_size");
                return -1;
        }
        return 0;
}

struct cairn_conf_section secrets_conf_section(struct secrets_conf *conf)
{
        return (struct cairn_conf_section){ "Secrets", secrets_conf_items, conf, check };
}
