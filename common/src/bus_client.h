/* The single-attempt calling side of the bus (bus_client.c): one produce, one
 * awaited reply. bus_call.c builds the public client on top of it (retries,
 * breakers, bulkheads) and nothing here calls back into bus_call.c. Private
 * to libcairn. */
#ifndef CAIRN_BUS_CLIENT_H
#define CAIRN_BUS_CLIENT_H

#include "cairn/bus.h"

struct bus_calls;

/* A client with its names, lock and metrics set up, not yet connected.
 * Arguments are borrowed as for cairn_bus_client_new(). */
struct cairn_bus_client *bus_client_create(const char *service, const struct cairn_bus_conf *bconf,
                                           struct cairn_metrics *metrics);

/* Creates the producer and the reply consumer from the "kafka." keys of
 * @p conf (borrowed), starts their threads and waits (at most
 * call_timeout_ms) for a reply partition. Returns 0, or -1 with @p errstr;
 * either way bus_client_close() releases the client. */
int bus_client_start(struct cairn_bus_client *cli, const struct cairn_conf *conf, char *errstr,
                     size_t errstr_size);

/* Stops the threads, fails the calls still waiting (CAIRN_ERR_UNAVAILABLE),
 * flushes, closes and frees @p cli. */
void bus_client_close(struct cairn_bus_client *cli);

/* The resilience state bus_call.c keeps with the client (borrowed: the
 * client never uses or frees it). */
void bus_client_set_calls(struct cairn_bus_client *cli, struct bus_calls *bc);
struct bus_calls *bus_client_calls(struct cairn_bus_client *cli);

/* Produces one attempt of a call whose request is already packed:
 * @p payload (borrowed, copied) of type @p ce_type. @p cb is called exactly
 * once when CAIRN_OK is returned; otherwise @p st says why. */
cairn_err_t cairn_bus_call_once(struct cairn_bus_client *cli, const char *topic, const char *key,
                                const uint8_t *payload, size_t len, const char *ce_type,
                                const struct cairn_call_opts *opts, cairn_call_cb cb, void *opaque,
                                struct cairn_status *st);

#endif
