/* libFuzzer target for what the secrets service checks of a request before
 * it touches the database: the first byte picks a request type of the
 * service's handler table, the second a path limit (secrets.max_path_bytes),
 * and the rest is decoded as that type into a size-limited arena, as the bus
 * runtime does. What decodes goes through the pure checks its handler makes:
 * every path through secrets_path_check() (and the associated data a
 * version's encryption is bound to), a list prefix through secrets_folder(),
 * durations through sreq_seconds(), a policy through secrets_policy_check()
 * and then evaluated with secrets_policy_caps() for each of its roles and
 * principals on each path of its rules and on the request's path. A path
 * accepted must be what paths.h promises, a refusal must say why, a folder
 * must end in '/' within its buffer, capabilities must never include deny.
 * Anything else aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/arena.h"
#include "cairn/status.h"
#include "cairn/utf8.h"
#include "secrets/envelope.h"
#include "secrets/handlers.h"
#include "secrets/paths.h"
#include "secrets/policy.h"

#define ARENA_MAX ((size_t)16 << 20)
#define ALL_CAPS  0x3fu /* create .. destroy, never deny */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cairn_arena arena;
static int ready;

/* What paths.h promises of a path it accepts. */
static void path_valid(const char *path, size_t max)
{
        size_t len = strlen(path);

        if (len == 0 || len > max || !cairn_utf8_valid(path, len))
                abort();
        if (path[0] == '/' || path[len - 1] == '/' || strstr(path, "//"))
                abort();
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
                        abort();
        for (const char *seg = path; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
                size_t n = strcspn(seg, "/");

                if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
                        abort();
        }
}

static bool path_check(const char *path, size_t max)
{
        char why[160];
        uint8_t ad[SECRETS_AD_MAX];

        why[0] = '\0';
        if (!secrets_path_check(path, max, why, sizeof(why))) {
                if (!why[0])
                        abort();
                return false;
        }
        path_valid(path, max);
        /* the handlers bind a version to its tenant and path: it must fit */
        if (max <= 1024 && secrets_version_ad("tenant", path, UINT64_MAX, ad) == 0)
                abort();
        return true;
}

static void folder_check(const char *folder, size_t max)
{
        char *out = malloc(max + 2), why[160];
        size_t len;

        if (!out)
                abort();
        why[0] = '\0';
        if (secrets_folder(folder, max, out, why, sizeof(why))) {
                len = strlen(out);
                if (len > max + 1 || (len && out[len - 1] != '/'))
                        abort();
                if (len) {
                        out[len - 1] = '\0';
                        path_valid(out, max);
                }
        } else if (!why[0]) {
                abort();
        }
        free(out);
}

static void seconds_check(const Google__Protobuf__Duration *d, const char *field)
{
        struct cairn_status st;
        int64_t s = -1;

        if (!d)
                return;
        cairn_status_clear(&st);
        if (sreq_seconds(d, field, &s, &st) == CAIRN_OK) {
                if (s < 0 || s != d->seconds || d->nanos != 0)
                        abort();
        } else if (st.code != CAIRN_ERR_INVALID || strcmp(st.field, field) != 0) {
                abort();
        }
}

/* The policy's capabilities for one caller on one path. */
static void caps_check(const Cairn__Secrets__V1__Policy *p, const char *role, const char *principal,
                       const char *path)
{
        const Cairn__Secrets__V1__Policy *const list[1] = { p };
        unsigned caps = secrets_policy_caps(list, 1, role, principal, path);

        if (caps & ~ALL_CAPS)
                abort();
        /* the defaults alone never grant more to an unknown role */
        if (secrets_policy_caps(NULL, 0, "nobody", principal, path) != 0)
                abort();
}

static void policy_check(const Cairn__Secrets__V1__Policy *p, const char *path, size_t max)
{
        char field[96], why[320];

        if (!p)
                return;
        field[0] = why[0] = '\0';
        if (!secrets_policy_check(p, max, field, sizeof(field), why, sizeof(why))) {
                if (!field[0] || !why[0])
                        abort();
        }
        /* evaluated whether or not it would be stored: a policy read back
         * from an older release must not crash the matcher either */
        for (size_t r = 0; r < p->n_rules && r < 8; r++) {
                for (size_t i = 0; i < p->n_roles && i < 4; i++) {
                        caps_check(p, p->roles[i], "alice", p->rules[r]->path);
                        caps_check(p, p->roles[i], "alice", path);
                }
                for (size_t i = 0; i < p->n_principals && i < 4; i++) {
                        caps_check(p, "member", p->principals[i], p->rules[r]->path);
                        caps_check(p, "service", p->principals[i], path);
                }
        }
        for (size_t r = 0; r < p->n_rules && r < 8; r++)
                (void)secrets_glob_match(p->rules[r]->path, path, p->name);
}

/* The checks of one decoded request; @p msg's type is one of the table's. */
static void request_check(const ProtobufCMessage *msg, size_t max)
{
        const ProtobufCMessageDescriptor *d = msg->descriptor;
        const char *path = "";

        if (d == &cairn__secrets__v1__list_request__descriptor) {
                folder_check(((const Cairn__Secrets__V1__ListRequest *)msg)->prefix, max);
                return;
        }
        /* every other request that names a secret has it in "path" */
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d,
                                                                                            "path");
        if (f && f->type == PROTOBUF_C_TYPE_STRING) {
                path = *(char *const *)((const char *)msg + f->offset);
                (void)path_check(path, max);
        }
        if (d == &cairn__secrets__v1__write_metadata_request__descriptor) {
                const Cairn__Secrets__V1__WriteMetadataRequest *w = (const void *)msg;

                seconds_check(w->delete_version_after, "delete_version_after");
                seconds_check(w->rotate_after, "rotate_after");
        } else if (d == &cairn__secrets__v1__set_config_request__descriptor) {
                seconds_check(((const Cairn__Secrets__V1__SetConfigRequest *)msg)
                                      ->delete_version_after,
                              "delete_version_after");
        } else if (d == &cairn__secrets__v1__put_policy_request__descriptor) {
                const Cairn__Secrets__V1__Policy *p =
                        ((const Cairn__Secrets__V1__PutPolicyRequest *)msg)->policy;

                /* the path to evaluate it on: its first principal, as a path */
                if (p && p->n_principals && path_check(p->principals[0], max))
                        path = p->principals[0];
                policy_check(p, path, max);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static size_t ntypes;
        const ProtobufCMessageDescriptor *desc;
        ProtobufCMessage *msg;
        size_t max;

        if (!ready) {
                cairn_arena_init(&arena, ARENA_MAX);
                while (secrets_handlers[ntypes].desc)
                        ntypes++;
                ready = 1;
        }
        if (size < 2)
                return 0;
        desc = secrets_handlers[data[0] % ntypes].desc;
        /* 1 to 1024 (the setting's bounds), small limits more often */
        max = data[1] < 128 ? 1 + data[1] % 32 : 1 + (size_t)(data[1] - 128) * 8;
        msg = protobuf_c_message_unpack(desc, cairn_arena_pbc(&arena), size - 2, data + 2);
        if (msg)
                request_check(msg, max);
        cairn_arena_reset(&arena);
        return 0;
}
