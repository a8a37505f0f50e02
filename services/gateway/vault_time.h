/* Times and durations the way Vault writes and reads them: RFC 3339 with
 * the nanoseconds Go's time.RFC3339Nano keeps (trailing zeros dropped),
 * durations as Go's time.Duration prints them ("0s", "1h0m0s", "1.5s"),
 * and the durations Vault accepts: a Go duration string, whole seconds as a
 * number or a string of digits, or days ("7d"), as its parseutil does
 * (vault_time.c). */
#ifndef CAIRN_GATEWAY_VAULT_TIME_H
#define CAIRN_GATEWAY_VAULT_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any text below, with its NUL. */
#define GW_VAULT_TIME_MAX 40

/* "2018-03-22T02:24:06.945319214Z" for @p seconds and @p nanos since the
 * epoch, UTC; "" for a year outside 1 to 9999. */
void gw_vault_time_format(int64_t seconds, int32_t nanos, char out[GW_VAULT_TIME_MAX]);

/* Go's time.Duration.String() of @p seconds and @p nanos (same sign):
 * "0s", "500ms", "1.5s", "1m30s", "1h0m0s". */
void gw_vault_duration_format(int64_t seconds, int32_t nanos, char out[GW_VAULT_TIME_MAX]);

/* Reads a Go duration string (time.ParseDuration: "3h25m19s", "1.5h",
 * "-2m", "300ms") into nanoseconds. False, with @p why set, when it is not
 * one or does not fit in int64 nanoseconds (about 292 years). */
bool gw_vault_go_duration_parse(const char *s, int64_t *ns, const char **why);

/* Reads a duration the way Vault reads a "duration in seconds" field from
 * text: "" (0), digits (seconds), digits followed by 'd' (days), else a Go
 * duration; truncated to whole seconds, as Vault keeps them. */
bool gw_vault_duration_parse(const char *s, int64_t *seconds, const char **why);

#endif
