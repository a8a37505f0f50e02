/* Path policies (policy.h). */
#include "policy.h"

#include <stdio.h>
#include <string.h>

#include "paths.h"

#define ALL_CAPS                                                                           \
        (SECRETS_CAP_CREATE | SECRETS_CAP_READ | SECRETS_CAP_UPDATE | SECRETS_CAP_DELETE | \
         SECRETS_CAP_LIST | SECRETS_CAP_DESTROY)
#define PRINCIPAL_VAR "{{principal}}"
#define GLOB_MAX      2048

static const char *const cap_names[] = { "create", "read",    "update", "delete",
                                         "list",   "destroy", "deny" };
static const char *const roles[] = { "owner", "admin", "member", "viewer", "service" };

unsigned secrets_cap_parse(const char *name)
{
        for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
                if (strcmp(name, cap_names[i]) == 0)
                        return 1u << i;
        return 0;
}

const char *secrets_cap_name(unsigned cap)
{
        for (size_t i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
                if (cap == 1u << i)
                        return cap_names[i];
        return "?";
}

bool secrets_role_known(const char *role)
{
        for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
                if (strcmp(role, roles[i]) == 0)
                        return true;
        return false;
}

/* ---- the defaults ---- */

static char *all_caps[] = { "create", "read", "update", "delete", "list", "destroy" };
static char *member_caps[] = { "create", "read", "update", "delete", "list" };
static char *list_caps[] = { "list" };
static char *read_caps[] = { "read", "list" };

#define RULE(glob, caps)                                                                       \
        {                                                                                      \
                PROTOBUF_C_MESSAGE_INIT(&cairn__secrets__v1__policy_rule__descriptor), (glob), \
                        sizeof(caps) / sizeof(caps[0]), (caps)                                 \
        }
#define POLICY(pname, rules, role)                                                            \
        {                                                                                     \
                PROTOBUF_C_MESSAGE_INIT(&cairn__secrets__v1__policy__descriptor), (pname), 1, \
                        (rules), 1, (role), 0, NULL, true                                     \
        }

static Cairn__Secrets__V1__PolicyRule rule_all = RULE("*", all_caps);
static Cairn__Secrets__V1__PolicyRule rule_member = RULE("*", member_caps);
static Cairn__Secrets__V1__PolicyRule rule_list = RULE("*", list_caps);
/* a service reads what is kept for it: services/<its name>/... */
static Cairn__Secrets__V1__PolicyRule rule_service = RULE("services/{{principal}}/*", read_caps);
static Cairn__Secrets__V1__PolicyRule *rules_all[] = { &rule_all };
static Cairn__Secrets__V1__PolicyRule *rules_member[] = { &rule_member };
static Cairn__Secrets__V1__PolicyRule *rules_list[] = { &rule_list };
static Cairn__Secrets__V1__PolicyRule *rules_service[] = { &rule_service };
static char *role_owner[] = { "owner" }, *role_admin[] = { "admin" };
static char *role_member[] = { "member" }, *role_viewer[] = { "viewer" };
static char *role_service[] = { "service" };
static const Cairn__Secrets__V1__Policy defaults[] = {
        POLICY("default-owner", rules_all, role_owner),
        POLICY("default-admin", rules_all, role_admin),
        POLICY("default-member", rules_member, role_member),
        POLICY("default-viewer", rules_list, role_viewer),
        POLICY("default-service", rules_service, role_service),
};
static const Cairn__Secrets__V1__Policy *const default_list[] = {
        &defaults[0], &defaults[1], &defaults[2], &defaults[3], &defaults[4],
};

const Cairn__Secrets__V1__Policy *const *secrets_policy_defaults(size_t *n)
{
        *n = sizeof(default_list) / sizeof(default_list[0]);
        return default_list;
}

/* ---- checks ---- */

static bool name_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > SECRETS_POLICY_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                      strchr("._-", s[i])))
                        return false;
        return true;
}

/* A glob's shape: '*' only last, '+' only as a whole segment, and what is
 * left a valid path (or nothing, for "*"). */
static bool glob_valid(const char *glob, size_t max_path, char *why, size_t why_size)
{
        size_t len = strlen(glob);
        char lit[GLOB_MAX];

        if (len == 0 || len >= sizeof(lit) || len > max_path + sizeof(PRINCIPAL_VAR)) {
                snprintf(why, why_size, "a glob of 1 to %zu bytes", max_path);
                return false;
        }
        for (size_t i = 0; i < len; i++) {
                if (glob[i] == '*' && i != len - 1) {
                        snprintf(why, why_size, "'*' may only end a glob");
                        return false;
                }
                if (glob[i] == '+' &&
                    ((i > 0 && glob[i - 1] != '/') || (i + 1 < len && glob[i + 1] != '/'))) {
                        snprintf(why, why_size, "'+' must be a whole segment");
                        return false;
                }
        }
        /* what is left once the wildcards are letters must be a path */
        memcpy(lit, glob, len + 1);
        if (lit[len - 1] == '*')
                lit[--len] = '\0';
        if (len && lit[len - 1] == '/')
                lit[--len] = '\0';
        for (size_t i = 0; i < len; i++)
                if (lit[i] == '+')
                        lit[i] = 'x';
        return len == 0 || secrets_path_check(lit, GLOB_MAX, why, why_size);
}

bool secrets_policy_check(const Cairn__Secrets__V1__Policy *p, size_t max_path, char *field,
                          size_t field_size, char *why, size_t why_size)
{
        char reason[160];

        if (!name_valid(p->name)) {
                snprintf(field, field_size, "policy.name");
                snprintf(why, why_size, "policy.name must be 1 to %d of a-z, 0-9, '.', '_' and '-'",
                         SECRETS_POLICY_NAME_MAX);
                return false;
        }
        if (strncmp(p->name, "default-", 8) == 0) {
                snprintf(field, field_size, "policy.name");
                snprintf(why, why_size,
                         "policy.name: names starting default- are the built-in "
                         "policies'");
                return false;
        }
        if (p->n_rules == 0 || p->n_rules > SECRETS_POLICY_RULES_MAX) {
                snprintf(field, field_size, "policy.rules");
                snprintf(why, why_size, "policy.rules must hold 1 to %d rules",
                         SECRETS_POLICY_RULES_MAX);
                return false;
        }
        for (size_t i = 0; i < p->n_rules; i++) {
                const Cairn__Secrets__V1__PolicyRule *r = p->rules[i];

                if (!glob_valid(r->path, max_path, reason, sizeof(reason))) {
                        snprintf(field, field_size, "policy.rules[%zu].path", i);
                        snprintf(why, why_size, "%s: %s", field, reason);
                        return false;
                }
                if (r->n_capabilities == 0) {
                        snprintf(field, field_size, "policy.rules[%zu].capabilities", i);
                        snprintf(why, why_size, "%s is empty", field);
                        return false;
                }
                for (size_t j = 0; j < r->n_capabilities; j++)
                        if (!secrets_cap_parse(r->capabilities[j])) {
                                snprintf(field, field_size, "policy.rules[%zu].capabilities[%zu]",
                                         i, j);
                                snprintf(why, why_size,
                                         "%s: unknown capability \"%.32s\" (create, read, update, "
                                         "delete, list, destroy, deny)",
                                         field, r->capabilities[j]);
                                return false;
                        }
        }
        if (p->n_roles == 0 && p->n_principals == 0) {
                snprintf(field, field_size, "policy.roles");
                snprintf(why, why_size, "a policy applies to at least one role or principal");
                return false;
        }
        for (size_t i = 0; i < p->n_roles; i++)
                if (!secrets_role_known(p->roles[i])) {
                        snprintf(field, field_size, "policy.roles[%zu]", i);
                        snprintf(why, why_size,
                                 "%s: unknown role \"%.32s\" (owner, admin, member, viewer, "
                                 "service)",
                                 field, p->roles[i]);
                        return false;
                }
        for (size_t i = 0; i < p->n_principals; i++) {
                size_t n = strlen(p->principals[i]);

                if (n == 0 || n > SECRETS_PRINCIPAL_MAX) {
                        snprintf(field, field_size, "policy.principals[%zu]", i);
                        snprintf(why, why_size, "%s must be 1 to %d bytes", field,
                                 SECRETS_PRINCIPAL_MAX);
                        return false;
                }
        }
        return true;
}

/* ---- matching ---- */

/* @p glob with its "{{principal}}" replaced; false when it does not fit or
 * the principal could not stand for one segment. */
static bool expand(const char *glob, const char *principal, char *out, size_t size)
{
        const char *var = strstr(glob, PRINCIPAL_VAR);
        size_t pl = strlen(principal);

        if (!var)
                return snprintf(out, size, "%s", glob) < (int)size;
        if (pl == 0 || strchr(principal, '/') || strchr(principal, '*') ||
            strcmp(principal, "+") == 0)
                return false;
        return snprintf(out, size, "%.*s%s%s", (int)(var - glob), glob, principal,
                        var + sizeof(PRINCIPAL_VAR) - 1) < (int)size &&
               !strstr(var + sizeof(PRINCIPAL_VAR) - 1, PRINCIPAL_VAR);
}

static bool match(const char *g, const char *p)
{
        bool seg_start = true;

        for (;;) {
                if (*g == '*' && g[1] == '\0')
                        return true;
                if (seg_start && *g == '+' && (g[1] == '/' || g[1] == '\0')) {
                        /* a whole segment: any non-empty one */
                        size_t n = strcspn(p, "/");

                        if (n == 0)
                                return false;
                        g++;
                        p += n;
                        seg_start = false;
                        continue;
                }
                if (*g == '\0' || *p == '\0')
                        return *g == *p;
                if (*g != *p)
                        return false;
                seg_start = *g == '/';
                g++, p++;
        }
}

bool secrets_glob_match(const char *glob, const char *path, const char *principal)
{
        char g[GLOB_MAX];

        return expand(glob, principal, g, sizeof(g)) && match(g, path);
}

/* How specific a glob is; the larger wins (Vault's order): the later its
 * first wildcard, then no '*' at the end, then fewer '+', then longer. */
struct specificity {
        size_t first_wild;
        int exact_end;
        size_t plus;
        size_t len;
};

static struct specificity specificity_of(const char *g)
{
        struct specificity s = { strcspn(g, "*+"), 1, 0, strlen(g) };

        if (s.len && g[s.len - 1] == '*')
                s.exact_end = 0;
        for (const char *c = g; *c; c++)
                s.plus += *c == '+';
        return s;
}

static int specificity_cmp(struct specificity a, struct specificity b)
{
        if (a.first_wild != b.first_wild)
                return a.first_wild > b.first_wild ? 1 : -1;
        if (a.exact_end != b.exact_end)
                return a.exact_end - b.exact_end;
        if (a.plus != b.plus)
                return a.plus < b.plus ? 1 : -1;
        if (a.len != b.len)
                return a.len > b.len ? 1 : -1;
        return 0;
}

static bool applies(const Cairn__Secrets__V1__Policy *p, const char *role, const char *principal)
{
        for (size_t i = 0; i < p->n_roles; i++)
                if (strcmp(p->roles[i], role) == 0)
                        return true;
        for (size_t i = 0; i < p->n_principals; i++)
                if (strcmp(p->principals[i], principal) == 0)
                        return true;
        return false;
}

/* Folds @p p's rules matching @p path into the best glob so far. */
static void fold(const Cairn__Secrets__V1__Policy *p, const char *principal, const char *path,
                 bool *found, struct specificity *best, unsigned *caps)
{
        char g[GLOB_MAX];

        for (size_t i = 0; i < p->n_rules; i++) {
                const Cairn__Secrets__V1__PolicyRule *r = p->rules[i];
                struct specificity s;
                unsigned c = 0;
                int cmp;

                if (!expand(r->path, principal, g, sizeof(g)) || !match(g, path))
                        continue;
                s = specificity_of(g);
                for (size_t j = 0; j < r->n_capabilities; j++)
                        c |= secrets_cap_parse(r->capabilities[j]);
                cmp = *found ? specificity_cmp(s, *best) : 1;
                if (cmp > 0) {
                        *found = true;
                        *best = s;
                        *caps = c;
                } else if (cmp == 0) {
                        *caps |= c; /* the same glob in several rules: their union */
                }
        }
}

unsigned secrets_policy_caps(const Cairn__Secrets__V1__Policy *const *policies, size_t n,
                             const char *role, const char *principal, const char *path)
{
        const Cairn__Secrets__V1__Policy *const *defs;
        size_t ndefs;
        struct specificity best = { 0 };
        unsigned caps = 0;
        bool found = false;

        defs = secrets_policy_defaults(&ndefs);
        for (size_t i = 0; i < ndefs; i++)
                if (applies(defs[i], role, principal))
                        fold(defs[i], principal, path, &found, &best, &caps);
        for (size_t i = 0; i < n; i++)
                if (applies(policies[i], role, principal))
                        fold(policies[i], principal, path, &found, &best, &caps);
        return caps & SECRETS_CAP_DENY ? 0 : caps & ALL_CAPS;
}
