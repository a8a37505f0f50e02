/* Rotation reminders: a secret with rotate_after whose current version is
 * older than that is overdue. Every secrets.reminder_interval_ms the
 * overdue ones not yet announced get a RotationOverdue event on
 * secrets.events_topic (once per version), and the gauge
 * cairn_secrets_rotation_overdue counts them all. */
#ifndef SECRETS_REMINDERS_H
#define SECRETS_REMINDERS_H

#include "cairn/events.h"
#include "secrets.h"

struct secrets_reminders;

struct secrets_reminders *secrets_reminders_start(struct secrets_service *svc,
                                                  struct cairn_events *events,
                                                  struct cairn_metrics *metrics);
void secrets_reminders_stop(struct secrets_reminders *r);

#endif
