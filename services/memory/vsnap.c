/* Snapshots of users with a graph (vuser.h), so a restart or a returning
 * partition loads a graph rather than building it again (a minute for
 * 100,000 vectors). Two files per user in memory.snapshot_dir:
 *
 *   <h>.snap         the entries, slot by slot (free slots too: they are the
 *                    graph's tombstones), the graph file's name, size and
 *                    XXH3, and an XXH3 of all that at the end;
 *   <h>.<g>.hnsw     the graph (hnswlib's format), <g> new at each write;
 *
 * where <h> is the XXH3 of "tenant/user". A snapshot is written to temporary
 * names and renamed, the graph first, so a crash leaves the previous one
 * whole; one that does not read back whole is ignored. It is never trusted
 * beyond PostgreSQL: memory.c checks every entry's version against the
 * database after a load. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "cairn/log.h"
#include "cairn/random.h"
#include "vuser.h"

#define MAGIC     "CAIRNVS1"
#define NAME_MAX_ 64
#define PATH_MAX_ 4096

/* "<dir>/<h>" with @p suffix. */
static void path_of(const char *dir, const char *key, const char *suffix, char *out, size_t size)
{
        snprintf(out, size, "%s/%016" PRIx64 "%s", dir, (uint64_t)XXH3_64bits(key, strlen(key)),
                 suffix);
}

/* ---- writing and reading with a running checksum ---- */

struct sfile {
        FILE *f;
        XXH3_state_t *h;
        bool ok;
};

static void put(struct sfile *s, const void *p, size_t n)
{
        if (s->ok && fwrite(p, 1, n, s->f) != n)
                s->ok = false;
        XXH3_64bits_update(s->h, p, n);
}

static void put_u32(struct sfile *s, uint32_t v)
{
        put(s, &v, sizeof(v));
}

static void put_u64(struct sfile *s, uint64_t v)
{
        put(s, &v, sizeof(v));
}

static void put_str(struct sfile *s, const char *str)
{
        uint32_t n = (uint32_t)strlen(str);

        put_u32(s, n);
        put(s, str, n);
}

static bool get(struct sfile *s, void *p, size_t n)
{
        if (s->ok && fread(p, 1, n, s->f) != n)
                s->ok = false;
        if (s->ok)
                XXH3_64bits_update(s->h, p, n);
        return s->ok;
}

static uint32_t get_u32(struct sfile *s)
{
        uint32_t v = 0;

        get(s, &v, sizeof(v));
        return v;
}

static uint64_t get_u64(struct sfile *s)
{
        uint64_t v = 0;

        get(s, &v, sizeof(v));
        return v;
}

/* A malloc'ed string of at most @p max bytes; NULL on a short read. */
static char *get_str(struct sfile *s, uint32_t max)
{
        uint32_t n = get_u32(s);
        char *str;

        if (!s->ok || n > max || !(str = malloc(n + 1))) {
                s->ok = false;
                return NULL;
        }
        if (!get(s, str, n)) {
                free(str);
                return NULL;
        }
        str[n] = '\0';
        return str;
}

/* The size and XXH3 of the file @p path. */
static int file_sum(const char *path, uint64_t *size, uint64_t *sum)
{
        FILE *f = fopen(path, "rb");
        XXH3_state_t *h = XXH3_createState();
        static __thread char buf[1 << 16];
        size_t n;

        if (!f || !h) {
                if (f)
                        fclose(f);
                XXH3_freeState(h);
                return -1;
        }
        XXH3_64bits_reset(h);
        *size = 0;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
                XXH3_64bits_update(h, buf, n);
                *size += n;
        }
        *sum = XXH3_64bits_digest(h);
        n = (size_t)ferror(f);
        fclose(f);
        XXH3_freeState(h);
        return n ? -1 : 0;
}

/* Deletes every graph file of @p key but @p keep ("" keeps none). */
static void graphs_prune(const char *dir, const char *key, const char *keep)
{
        char prefix[32], path[PATH_MAX_];
        DIR *d = opendir(dir);
        struct dirent *e;

        if (!d)
                return;
        snprintf(prefix, sizeof(prefix), "%016" PRIx64 ".",
                 (uint64_t)XXH3_64bits(key, strlen(key)));
        while ((e = readdir(d))) {
                size_t n = strlen(e->d_name);

                if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || n < 5 ||
                    strcmp(e->d_name + n - 5, ".hnsw") != 0 || strcmp(e->d_name, keep) == 0)
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                unlink(path);
        }
        closedir(d);
}

/* ---- write ---- */

static int write_entries(struct sfile *s, const struct memory_vuser *u, const char *graph,
                         uint64_t gsize, uint64_t gsum)
{
        put(s, MAGIC, 8);
        put_u32(s, (uint32_t)u->dim);
        put_str(s, u->key);
        put_u64(s, u->slots);
        put_str(s, graph);
        put_u64(s, gsize);
        put_u64(s, gsum);
        for (size_t i = 0; i < u->slots; i++) {
                uint8_t live = u->ids[i][0] != '\0';

                put(s, &live, 1);
                if (!live)
                        continue;
                put(s, u->ids[i], 36);
                put_u32(s, u->versions[i]);
                put_str(s, u->agents[i]);
                put_str(s, u->runs[i]);
                put(s, u->vecs + i * u->dim, u->dim * sizeof(float));
        }
        put_u64(s, XXH3_64bits_digest(s->h));
        return s->ok ? 0 : -1;
}

int memory_vsnap_write(struct memory_vuser *u)
{
        const char *dir = memory_vindex_conf_of(u->ix)->snapshot_dir;
        uint64_t changes = __atomic_load_n(&u->changes, __ATOMIC_RELAXED), gsize, gsum;
        char graph[NAME_MAX_], gpath[PATH_MAX_], gtmp[PATH_MAX_ + 4];
        char spath[PATH_MAX_], stmp[PATH_MAX_ + 4];
        struct sfile s = { NULL, XXH3_createState(), true };
        uint8_t g[8];
        int rc = -1;

        if (!dir || !u->graph)
                return 0;
        if (!s.h)
                return -1;
        XXH3_64bits_reset(s.h);
        cairn_random(g, sizeof(g));
        path_of(dir, u->key, "", gpath, sizeof(gpath));
        snprintf(graph, sizeof(graph), "%s.%02x%02x%02x%02x%02x%02x%02x%02x.hnsw",
                 strrchr(gpath, '/') + 1, g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]);
        snprintf(gpath, sizeof(gpath), "%s/%s", dir, graph);
        snprintf(gtmp, sizeof(gtmp), "%s.tmp", gpath);
        path_of(dir, u->key, ".snap", spath, sizeof(spath));
        snprintf(stmp, sizeof(stmp), "%s.tmp", spath);
        if (memory_hnsw_save(u->graph, gtmp) != 0 || file_sum(gtmp, &gsize, &gsum) != 0 ||
            rename(gtmp, gpath) != 0)
                goto out;
        if (!(s.f = fopen(stmp, "wb")) || write_entries(&s, u, graph, gsize, gsum) != 0)
                goto out;
        if (fflush(s.f) != 0 || fsync(fileno(s.f)) != 0)
                goto out;
        fclose(s.f);
        s.f = NULL;
        if (rename(stmp, spath) != 0)
                goto out;
        graphs_prune(dir, u->key, graph);
        __atomic_sub_fetch(&u->changes, changes, __ATOMIC_RELAXED);
        rc = 0;
out:
        if (rc != 0) {
                cairn_log(WARN, "MEMORY", "writing snapshot %s: %s", spath,
                          errno ? strerror(errno) : "short write");
                unlink(gtmp);
                unlink(stmp);
                unlink(gpath);
        }
        if (s.f)
                fclose(s.f);
        XXH3_freeState(s.h);
        return rc;
}

/* ---- read ---- */

static bool read_entries(struct sfile *s, struct memory_vuser *u, char **graph, uint64_t *gsize,
                         uint64_t *gsum)
{
        char magic[8], *key = NULL;
        float *vec = calloc(u->dim, sizeof(float)); /* zeros: the free slots' placeholders */
        uint64_t slots;

        if (!vec || !get(s, magic, 8) || memcmp(magic, MAGIC, 8) != 0 || get_u32(s) != u->dim)
                goto bad;
        key = get_str(s, 1 << 20);
        if (!key || strcmp(key, u->key) != 0)
                goto bad;
        slots = get_u64(s);
        *graph = get_str(s, NAME_MAX_);
        *gsize = get_u64(s);
        *gsum = get_u64(s);
        for (uint64_t i = 0; s->ok && i < slots; i++) {
                char id[37], *agent, *run;
                uint8_t live = 0;
                uint32_t version;

                if (!get(s, &live, 1))
                        break;
                if (!live) {
                        /* a free slot: a placeholder, removed below */
                        snprintf(id, sizeof(id), "%036" PRIu64, i);
                        s->ok = memory_vuser_put(u, id, 0, "", "", vec) == 0;
                        continue;
                }
                if (!get(s, id, 36))
                        break;
                id[36] = '\0';
                version = get_u32(s);
                agent = get_str(s, 1 << 16);
                run = get_str(s, 1 << 16);
                if (agent && run && get(s, vec, u->dim * sizeof(float)))
                        s->ok = memory_vuser_put(u, id, version, agent, run, vec) == 0;
                free(agent);
                free(run);
        }
        if (s->ok) {
                uint64_t want = XXH3_64bits_digest(s->h);

                s->ok = get_u64(s) == want && fgetc(s->f) == EOF;
        }
        /* free slots back to the free list, in slot order */
        for (uint64_t i = 0; s->ok && i < slots; i++) {
                char id[37];

                snprintf(id, sizeof(id), "%036" PRIu64, i);
                memory_vuser_remove(u, id);
        }
bad:
        free(key);
        free(vec);
        return s->ok && key;
}

bool memory_vuser_snapshot_load(struct memory_vuser *u)
{
        const struct memory_vindex_conf *conf = memory_vindex_conf_of(u->ix);
        char spath[PATH_MAX_], gpath[PATH_MAX_ + NAME_MAX_], *graph = NULL;
        struct sfile s = { NULL, XXH3_createState(), true };
        uint64_t gsize = 0, gsum = 0, size, sum;
        struct memory_hnsw *g = NULL;
        bool ok = false;

        if (!conf->snapshot_dir || !s.h)
                goto out;
        XXH3_64bits_reset(s.h);
        path_of(conf->snapshot_dir, u->key, ".snap", spath, sizeof(spath));
        if (!(s.f = fopen(spath, "rb")))
                goto out;
        memory_vuser_reset(u, false);
        /* no build while it loads: the graph comes with it */
        u->loading = true;
        ok = read_entries(&s, u, &graph, &gsize, &gsum) && graph && !strchr(graph, '/');
        u->loading = false;
        if (ok) {
                snprintf(gpath, sizeof(gpath), "%s/%s", conf->snapshot_dir, graph);
                ok = file_sum(gpath, &size, &sum) == 0 && size == gsize && sum == gsum &&
                     (g = memory_hnsw_load(gpath, conf->dim, &conf->hnsw)) != NULL;
        }
        if (ok) {
                u->graph = g;
                u->changes = 0;
        } else {
                cairn_log(WARN, "MEMORY", "snapshot %s does not read back whole: ignored", spath);
                memory_vuser_reset(u, false);
        }
out:
        if (s.f)
                fclose(s.f);
        XXH3_freeState(s.h);
        free(graph);
        return ok;
}

void memory_vsnap_delete(const char *dir, const char *key)
{
        char path[PATH_MAX_];

        path_of(dir, key, ".snap", path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT)
                cairn_log(WARN, "MEMORY", "removing snapshot %s: %s", path, strerror(errno));
        graphs_prune(dir, key, "");
}
