/* libFuzzer target for the gateway's credential parsing: the input, split at
 * its first newline, is the Authorization header and the X-API-Key header
 * handed to gw_auth_check() with an HS256 key and an API key configured.
 * Every outcome must be CAIRN_OK with a principal, tenant and role filled, or
 * UNAUTHENTICATED with a reason that never contains the credential. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/auth.h"
#include "gateway/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gateway_auth_conf aconf;
static struct gw_auth *auth;

static void setup(void)
{
        char dir[] = "/tmp/gw-fuzz-auth-XXXXXX", path[64], hash[65], errstr[512];
        FILE *fp;

        if (!mkdtemp(dir))
                abort();
        snprintf(path, sizeof(path), "%s/keys.yaml", dir);
        gw_api_key_hash("ck_fuzz_key_0123456789abcdef", 28, hash);
        fp = fopen(path, "w");
        if (!fp)
                abort();
        fprintf(fp, "api_keys:\n  - {sha256: %s, principal: fz, tenant: t, role: member}\n", hash);
        fclose(fp);
        aconf.keys_file = strdup(path);
        aconf.hs256_secret = "fuzz-secret-fuzz-secret-fuzz-secret-0123";
        aconf.hs256_secret_file = "";
        aconf.issuer = "";
        aconf.audience = "";
        aconf.clock_skew_s = 60;
        aconf.require_exp = true;
        aconf.tenant_claim = "tenant";
        aconf.role_claim = "role";
        aconf.jwt_cache_entries = 64; /* tokens that verify are served from it the next time */
        auth = gw_auth_new(&aconf, errstr, sizeof(errstr));
        if (!auth)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct gw_principal who;
        struct gw_auth_error why;
        char *buf, *nl, *api = NULL;
        cairn_err_t err;

        if (!auth)
                setup();
        buf = malloc(size + 1);
        if (!buf)
                abort();
        memcpy(buf, data, size);
        buf[size] = '\0';
        nl = strchr(buf, '\n');
        if (nl) {
                *nl = '\0';
                api = nl + 1;
        }
        err = gw_auth_check(auth, buf, api, 1900000000, &who, &why);
        if (err == CAIRN_OK) {
                if (!who.principal[0] || !who.tenant[0] || (unsigned)who.role >= GW_ROLE__COUNT)
                        abort();
        } else if (err != CAIRN_ERR_UNAUTHENTICATED || !why.reason[0]) {
                abort();
        } else if (strlen(buf) > 16 && strstr(why.reason, buf + 7)) {
                abort(); /* a reason quoting the credential */
        }
        free(buf);
        return 0;
}
