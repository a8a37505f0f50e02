/* The one permission table of the gateway: which role may call which class
 * of route. docs/api.md carries a copy rendered by gw_rbac_doc(), and a unit
 * test fails when the two differ. */
#include <string.h>

#include "gateway.h"

static const char *const role_names[GW_ROLE__COUNT] = { "owner", "admin", "member", "viewer" };

static const char *const class_names[GW_CLASS__COUNT] = { "public", "models.read",
                                                          "embeddings.create" };

/* Rows: route classes; columns: owner, admin, member, viewer. */
static const bool permissions[GW_CLASS__COUNT][GW_ROLE__COUNT] = {
        [GW_CLASS_PUBLIC]            = { true, true, true, true },
        [GW_CLASS_MODELS_READ]       = { true, true, true, true },
        [GW_CLASS_EMBEDDINGS_CREATE] = { true, true, true, false },
};

const char *gw_role_str(enum gw_role role)
{
        return (unsigned)role < GW_ROLE__COUNT ? role_names[role] : "unknown";
}

int gw_role_parse(const char *name)
{
        for (int i = 0; i < GW_ROLE__COUNT; i++)
                if (strcmp(name, role_names[i]) == 0)
                        return i;
        return -1;
}

const char *gw_class_str(enum gw_class cls)
{
        return (unsigned)cls < GW_CLASS__COUNT ? class_names[cls] : "unknown";
}

bool gw_allowed(enum gw_class cls, enum gw_role role)
{
        if ((unsigned)cls >= GW_CLASS__COUNT || (unsigned)role >= GW_ROLE__COUNT)
                return false;
        return permissions[cls][role];
}

void gw_rbac_doc(FILE *fp)
{
        fprintf(fp, "| route class | routes |");
        for (int r = 0; r < GW_ROLE__COUNT; r++)
                fprintf(fp, " %s |", role_names[r]);
        fprintf(fp, "\n|---|---|");
        for (int r = 0; r < GW_ROLE__COUNT; r++)
                fprintf(fp, "---|");
        fprintf(fp, "\n");
        for (int c = 0; c < GW_CLASS__COUNT; c++) {
                fprintf(fp, "| `%s` |", class_names[c]);
                const char *sep = " ";
                for (const struct gw_route *rt = gw_routes; rt->method; rt++) {
                        if (rt->cls != (enum gw_class)c)
                                continue;
                        fprintf(fp, "%s`%s %s`", sep, rt->method, rt->path);
                        sep = ", ";
                }
                fprintf(fp, " |");
                for (int r = 0; r < GW_ROLE__COUNT; r++)
                        fprintf(fp, " %s |", permissions[c][r] ? "yes" : "no");
                fprintf(fp, "\n");
        }
}
