/* The gateway tests' HTTP client and keys file (gw_fixture.h). */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "gw_fixture.h"

struct sink {
        char *buf;
        size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *opaque)
{
        struct sink *s = opaque;
        size_t add = size * n;

        s->buf = realloc(s->buf, s->len + add + 1);
        ck_assert_ptr_nonnull(s->buf);
        memcpy(s->buf + s->len, p, add);
        s->len += add;
        s->buf[s->len] = '\0';
        return add;
}

long gwf_http(int port, const char *method, const char *path, const char *const *headers,
              const char *body, size_t body_len, struct gwf_resp *r)
{
        CURL *c = curl_easy_init();
        struct curl_slist *hl = NULL;
        struct sink b = { NULL, 0 }, h = { NULL, 0 };
        char url[512];

        memset(r, 0, sizeof(*r));
        snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        if (body) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
        }
        hl = curl_slist_append(hl, "Expect:");
        for (size_t i = 0; headers && headers[i]; i++)
                hl = curl_slist_append(hl, headers[i]);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        else
                r->status = -1;
        r->body = b.buf;
        r->len = b.len;
        r->headers = h.buf;
        r->hlen = h.len;
        curl_slist_free_all(hl);
        curl_easy_cleanup(c);
        return r->status;
}

const char *gwf_resp_header(const struct gwf_resp *r, const char *name)
{
        static __thread char val[1024];
        size_t nlen = strlen(name);

        for (const char *line = r->headers; line && *line;) {
                const char *eol = strstr(line, "\r\n");
                size_t llen = eol ? (size_t)(eol - line) : strlen(line);

                if (llen > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
                        const char *v = line + nlen + 1;

                        while (*v == ' ')
                                v++;
                        snprintf(val, sizeof(val), "%.*s", (int)(llen - (size_t)(v - line)), v);
                        return val;
                }
                line = eol ? eol + 2 : line + llen;
        }
        return NULL;
}

void gwf_resp_free(struct gwf_resp *r)
{
        free(r->body);
        free(r->headers);
        memset(r, 0, sizeof(*r));
}

void gwf_keys_write(const char *dir, const char *jwt_keys, const struct gwf_api_key *keys, size_t n)
{
        char path[700];
        FILE *fp;

        snprintf(path, sizeof(path), "%s/keys.yaml", dir);
        fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        if (jwt_keys)
                fprintf(fp, "jwt_keys:\n%s", jwt_keys);
        fprintf(fp, "api_keys:\n");
        for (size_t i = 0; i < n; i++) {
                unsigned char md[EVP_MAX_MD_SIZE];
                unsigned int len = 0;
                char hash[2 * EVP_MAX_MD_SIZE + 1];

                EVP_Digest(keys[i].key, strlen(keys[i].key), md, &len, EVP_sha256(), NULL);
                for (unsigned int j = 0; j < len; j++)
                        snprintf(hash + 2 * j, 3, "%02x", md[j]);
                fprintf(fp, "  - {sha256: %s, principal: %s, tenant: %s, role: %s}\n", hash,
                        keys[i].principal, keys[i].tenant, keys[i].role);
        }
        fclose(fp);
        ck_assert_int_eq(chmod(path, 0600), 0);
}

void gwf_gateway_start(struct gwf_gateway *g, const struct harness_broker *b,
                       const struct gwf_api_key *keys, size_t n, const char *const *extra_env)
{
        char keydir[600], e[4][700];
        const char *env[32] = { e[0], e[1], e[2], e[3] };
        size_t k = 4;
        int redis_port = harness_free_port();

        snprintf(keydir, sizeof(keydir), "%s/keys", b->dir);
        ck_assert_int_eq(mkdir(keydir, 0700), 0);
        gwf_keys_write(keydir, NULL, keys, n);
        g->http_port = harness_free_port();
        harness_redis_start(&g->redis, b->dir, redis_port);
        snprintf(e[0], sizeof(e[0]), "CAIRN_HTTP_PORT=%d", g->http_port);
        snprintf(e[1], sizeof(e[1]), "CAIRN_AUTH_KEYS_FILE=%s/keys.yaml", keydir);
        snprintf(e[2], sizeof(e[2]), "CAIRN_BUS_REPLY_TOPIC=%s",
                 harness_topic("cairn.gateway.replies"));
        snprintf(e[3], sizeof(e[3]), "CAIRN_REDIS_PORT=%d", redis_port);
        for (size_t i = 0; extra_env && extra_env[i] && k < 31; i++)
                env[k++] = extra_env[i];
        env[k] = NULL;
        harness_service_start(&g->proc, b, "gateway", env);
}

int gwf_gateway_stop(struct gwf_gateway *g)
{
        int status = harness_service_stop(&g->proc, 10000);

        harness_proc_kill(&g->redis);
        return status;
}
