/* libFuzzer target for a secret's value as the secrets service receives it:
 * the input is opened as a sealed box (cairn_seal_open()) with a fixed key
 * pair, and what opens is read as a value (secrets_vjson_object()), as a
 * write's unseal does. The input is also split at its first NUL byte into
 * two JSON texts; when both are objects the second is merged into the first
 * as a patch (secrets_vjson_merge()) and the result's subkeys taken
 * (secrets_vjson_subkeys()) to a depth the first byte picks. A value must be
 * an object or refused with a reason that never quotes it; a merge must
 * follow RFC 7396 and leave the patch as it was even once the result is
 * wiped (a patch's transaction may run again); subkeys must hold the keys
 * with null or object values only; the compact text of each must parse back
 * to the same. Anything else aborts.
 *
 * The seed boxes in corpus/secrets_sealed (box-*) are small JSON objects
 * sealed to the pair SEED derives (crypto_box_seal); the others are two
 * objects separated by a NUL byte. */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/json.h"
#include "cairn/seal.h"
#include "secrets/vjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEED "cairn.fuzz.secrets_sealed.seed!!" /* 32 bytes */

static struct cairn_seal_keys *keys;

/* A value from @p n bytes, checked as the service takes it; NULL when
 * refused. */
static json_t *value_of(const char *text, size_t n)
{
        char why[160];
        json_t *v;

        why[0] = '\0';
        v = secrets_vjson_object(text, n, why, sizeof(why));
        if (!v) {
                /* the reason names a position, never the text */
                if (!why[0] || (n >= 8 && memmem(why, strlen(why), text, n) != NULL))
                        abort();
                return NULL;
        }
        if (!json_is_object(v))
                abort();
        return v;
}

/* The compact text of @p v must parse to @p v again. */
static void text_round_trip(const json_t *v)
{
        size_t len = 0;
        char *s = secrets_vjson_text(v, &len);
        json_t *again;

        if (!s)
                abort();
        again = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
        if (!again || !json_equal(again, v))
                abort();
        json_decref(again);
        free(s);
}

/* Only keys, with null or (nested) object values, at most @p depth deep
 * (0: any). */
static void subkeys_valid(const json_t *keys_obj, const json_t *from, unsigned depth,
                          unsigned level)
{
        const char *key;
        json_t *v;

        if (json_object_size(keys_obj) != json_object_size(from))
                abort();
        json_object_foreach((json_t *)keys_obj, key, v) {
                json_t *orig = json_object_get(from, key);

                if (!orig)
                        abort();
                if (json_is_object(v)) {
                        if (!json_is_object(orig) || (depth && level >= depth))
                                abort();
                        subkeys_valid(v, orig, depth, level + 1);
                } else if (!json_is_null(v)) {
                        abort();
                }
        }
}

/* RFC 7396 at the top level: a null removes, an object merges, anything
 * else replaces. */
static void merge_valid(const json_t *merged, const json_t *before, const json_t *patch)
{
        const char *key;
        json_t *pv;

        json_object_foreach((json_t *)patch, key, pv) {
                json_t *mv = json_object_get(merged, key);

                if (json_is_null(pv)) {
                        if (mv)
                                abort();
                } else if (json_is_object(pv)) {
                        if (!json_is_object(mv))
                                abort();
                } else if (!mv || !json_equal(mv, pv)) {
                        abort();
                }
        }
        json_object_foreach((json_t *)before, key, pv) {
                if (!json_object_get(patch, key) && !json_equal(json_object_get(merged, key), pv))
                        abort();
        }
}

static void merge_check(const char *a, size_t an, const char *b, size_t bn, unsigned depth)
{
        json_t *target = value_of(a, an), *patch = value_of(b, bn), *before, *kept, *sub;

        if (target && patch) {
                before = json_deep_copy(target);
                kept = json_deep_copy(patch);
                if (!before || !kept)
                        abort();
                secrets_vjson_merge(target, patch);
                merge_valid(target, before, patch);
                text_round_trip(target);
                sub = secrets_vjson_subkeys(target, depth);
                if (!sub)
                        abort();
                subkeys_valid(sub, target, depth, 1);
                text_round_trip(sub);
                json_decref(sub);
                /* the data handler wipes the merged value, then may merge
                 * the same patch again when its transaction is retried */
                cairn_json_wipe(target);
                if (!json_equal(patch, kept))
                        abort();
                json_decref(before);
                json_decref(kept);
        }
        if (target) {
                cairn_json_wipe(target);
                json_decref(target);
        }
        if (patch) {
                cairn_json_wipe(patch);
                json_decref(patch);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nul;
        uint8_t *plain;
        json_t *v;

        if (!keys && !(keys = cairn_seal_keys_from_seed((const uint8_t *)SEED)))
                abort();
        if (size >= CAIRN_SEAL_OVERHEAD) {
                plain = malloc(size - CAIRN_SEAL_OVERHEAD + 1);
                if (!plain)
                        abort();
                if (cairn_seal_open(keys, data, size, plain) == 0 &&
                    (v = value_of((const char *)plain, size - CAIRN_SEAL_OVERHEAD))) {
                        text_round_trip(v);
                        json_decref(v);
                }
                free(plain);
        }
        nul = memchr(data, '\0', size);
        if (nul && size > 1)
                merge_check((const char *)data + 1, (size_t)(nul - data) - (nul > data),
                            (const char *)nul + 1, size - (size_t)(nul - data) - 1, data[0] % 4);
        return 0;
}
