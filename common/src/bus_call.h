/* The resilient layer of the bus client (bus_call.c) and the single-attempt
 * call it wraps (bus_client.c). Private to libcairn. */
#ifndef CAIRN_BUS_CALL_H
#define CAIRN_BUS_CALL_H

#include "cairn/bus.h"

struct bus_calls;

/* Produces one attempt of a call whose request is already packed:
 * @p payload (borrowed, copied) of type @p ce_type. Otherwise as
 * cairn_bus_call_async() was before retries: @p cb is called exactly once
 * when CAIRN_OK is returned. */
cairn_err_t cairn_bus_call_once(struct cairn_bus_client *cli, const char *topic, const char *key,
                                const uint8_t *payload, size_t len, const char *ce_type,
                                const struct cairn_call_opts *opts, cairn_call_cb cb, void *opaque,
                                struct cairn_status *st);

/* The client's resilience state; created with the client. */
struct bus_calls *bus_calls_new(struct cairn_bus_client *cli, const struct cairn_bus_conf *bconf,
                                struct cairn_metrics *metrics);
struct bus_calls *bus_client_calls(struct cairn_bus_client *cli);

/* Stops the retry thread and fails the calls waiting to be retried; calls
 * still in flight then fail without retrying. Call before the client stops. */
void bus_calls_stop(struct bus_calls *bc);
void bus_calls_free(struct bus_calls *bc);

#endif
