/* Deleting the replies kept for redeliveries once none can come (sweep.c). */
#ifndef SECRETS_SWEEP_H
#define SECRETS_SWEEP_H

#include "secrets.h"

struct secrets_sweep;

/* NULL when secrets.sweep_interval_ms is 0. */
struct secrets_sweep *secrets_sweep_start(struct secrets_service *svc,
                                          struct cairn_metrics *metrics);
void secrets_sweep_stop(struct secrets_sweep *sw);

#endif
