/* What the memory service's handlers share: the request's tenant and user
 * from its key, its deadline, the checks every request makes, embedding
 * through the embedding service, and the user's vectors loaded on first
 * use. Handlers: memory.c (reads), store.c (writes), search.c. */
#ifndef MEMORY_HANDLERS_H
#define MEMORY_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/bus.h"
#include "cairn/memory/v1/memory.pb-c.h"
#include "cairn/status.h"
#include "memory.h"
#include "vindex.h"

/* One request as the handlers see it. */
struct mctx {
        struct memory_service *svc;
        struct cairn_request *req;
        char tenant[65];      /* from the key, up to its first '/' */
        const char *key_user; /* the rest of the key; NULL when it has no '/' */
        int64_t deadline_us;  /* monotonic; 0: none */
        int64_t deadline_ms;  /* unix ms, as received; 0: none */
};

/* Fills @p c from @p req: the tenant from the key (required), the
 * deadline. */
cairn_err_t mctx_init(struct mctx *c, struct cairn_request *req, struct cairn_status *st);

/* The user a request names: required when @p required, and when the key
 * names a user, the same one. */
cairn_err_t mctx_user(const struct mctx *c, const char *user_id, bool required,
                      struct cairn_status *st);

/* Whether a memory of @p row_user is the key's (and the request's) user's,
 * as far as they name one. */
bool mctx_owns(const struct mctx *c, const char *request_user, const char *row_user);

/* mctx_owns(), or NOT_FOUND naming @p id, as if it did not exist. */
cairn_err_t mctx_owner(const struct mctx *c, const char *request_user, const char *row_user,
                       const char *id, struct cairn_status *st);

/* A UUID in canonical text form (any version), as ids are. */
bool memory_id_valid(const char *id);

/* A request's id: present and a UUID, else INVALID_ARGUMENT on "id". */
cairn_err_t memory_id_check(const char *id, struct cairn_status *st);

/* Checks a content: 1 byte to memory.max_content_bytes of UTF-8, not only
 * white space. @p field names it in the error. */
cairn_err_t memory_content_check(const struct mctx *c, const char *content, const char *field,
                                 struct cairn_status *st);

/* The sha256 of @p content normalised (NFKC, case folded, white space runs
 * made one space, trimmed) as 64 hex digits into @p out. Returns 0, or -1
 * when out of memory. */
int memory_content_hash(const char *content, char out[65]);

/* Whether @p a and @p b hold the same codes: the tokens with a digit in
 * them (numbers, dates, ids such as INV-20931), compared as sets, case
 * aside. Two texts that differ in one are different facts, however close
 * their meaning: they are never merged as near duplicates. */
bool memory_same_codes(const char *a, const char *b);

/* Embeds @p n texts with memory.embedding_model through the embedding
 * service into @p out (n x dimensions floats, unit length). Errors:
 * UNAVAILABLE when no embedding service is configured or it cannot be
 * reached, its own errors otherwise, INTERNAL on a vector of the wrong size. */
cairn_err_t memory_embed(const struct mctx *c, const char *const *texts, size_t n, float *out,
                         struct cairn_status *st);

/* The index entries of @p user, loaded from PostgreSQL when they are not
 * (returned unlocked). */
cairn_err_t memory_user_index(const struct mctx *c, const char *user, struct memory_vuser **out,
                              struct cairn_status *st);

/* A PostgreSQL error as the request's status. */
cairn_err_t memory_pg_status(cairn_err_t err, const char *errstr, struct cairn_status *st);

/* The reply of an earlier request with this ce_id, unpacked into the
 * request's arena: CAIRN_OK with *@p reply set, CAIRN_ERR_NOT_FOUND when
 * there is none (go on), another error on failure. */
cairn_err_t memory_replay(const struct mctx *c, const ProtobufCMessageDescriptor *desc,
                          ProtobufCMessage **reply, struct cairn_status *st);

/* In a write's transaction: keeps @p reply under the request's ce_id (no
 * ce_id: nothing), as @p user's, for memory_replay() to find. A CONFLICT
 * means another delivery of the request committed first. */
cairn_err_t memory_reply_keep(struct cairn_pg_conn *conn, const struct mctx *c,
                              const ProtobufCMessage *reply, const char *user, char *errstr,
                              size_t errstr_size);

/* In a write's transaction: records an event of @p type (STORED, UPDATED,
 * DELETED, ERASED) for the outbox, unless events are off. @p memory_id may
 * be NULL (ERASED), @p version 0 and @p memories 0 when they do not apply;
 * @p at is RFC 3339. */
cairn_err_t memory_event_add(struct cairn_pg_conn *conn, const struct mctx *c, const char *type,
                             const char *user, const char *memory_id, uint32_t version,
                             uint64_t memories, const char *at, char *errstr, size_t errstr_size);

/* In a store's transaction: links memory @p id (vector @p vec, scope
 * @p agent, @p run) to its memory.link_top_k closest memories in @p u of
 * the scope above memory.link_threshold, kind "similar". */
cairn_err_t memory_links_similar(struct cairn_pg_conn *conn, const struct mctx *c,
                                 struct memory_vuser *u, const char *user, const char *id,
                                 const char *agent, const char *run, const float *vec,
                                 const char *now, char *errstr, size_t errstr_size);

/* Fills each result's linked memories (one hop, current ones only). */
cairn_err_t memory_links_attach(const struct mctx *c, Cairn__Memory__V1__SearchResult **results,
                                size_t n, struct cairn_status *st);

/* Handlers. */
cairn_err_t memory_store_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t memory_update_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t memory_delete_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t memory_erase_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t memory_export_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t memory_link_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                               ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t memory_unlink_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st);
cairn_err_t memory_search_handle(struct cairn_request *req, const ProtobufCMessage *msg,
                                 ProtobufCMessage **reply, struct cairn_status *st);

#endif
