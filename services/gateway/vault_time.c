/* Vault's times and durations in text: Go's formats, written out here so
 * that Vault's clients read the gateway's answers as they read Vault's. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vault_time.h"

#define NS_PER_S 1000000000LL

void gw_vault_time_format(int64_t seconds, int32_t nanos, char out[GW_VAULT_TIME_MAX])
{
        time_t t = (time_t)seconds;
        struct tm tm;
        size_t n;

        out[0] = '\0';
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
                return;
        n = strftime(out, GW_VAULT_TIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        if (nanos > 0 && nanos < NS_PER_S) {
                char frac[16];
                int len = snprintf(frac, sizeof(frac), "%09d", nanos);

                while (len > 0 && frac[len - 1] == '0')
                        frac[--len] = '\0';
                n += (size_t)snprintf(out + n, GW_VAULT_TIME_MAX - n, ".%s", frac);
        }
        snprintf(out + n, GW_VAULT_TIME_MAX - n, "Z");
}

/* The digits of @p frac (of @p prec digits) without trailing zeros, after a
 * '.', or nothing when it is zero (Go's fmtFrac). */
static size_t frac_format(char *out, size_t size, unsigned long long frac, int prec)
{
        char digits[16];
        int len;

        if (frac == 0)
                return 0;
        len = snprintf(digits, sizeof(digits), "%0*llu", prec, frac);
        while (len > 0 && digits[len - 1] == '0')
                digits[--len] = '\0';
        return (size_t)snprintf(out, size, ".%s", digits);
}

void gw_vault_duration_format(int64_t seconds, int32_t nanos, char out[GW_VAULT_TIME_MAX])
{
        bool neg = seconds < 0 || nanos < 0;
        unsigned long long s = (unsigned long long)(seconds < 0 ? -seconds : seconds);
        unsigned long long ns = (unsigned long long)(nanos < 0 ? -nanos : nanos);
        size_t n = 0;

        if (neg)
                out[n++] = '-';
        if (s == 0) {
                /* under a second: the largest unit that keeps an integer part */
                const char *unit = "ns";
                int prec = 0;
                unsigned long long whole = ns;

                if (ns == 0) {
                        snprintf(out, GW_VAULT_TIME_MAX, "0s");
                        return;
                }
                if (ns >= 1000000) {
                        unit = "ms";
                        prec = 6;
                } else if (ns >= 1000) {
                        unit = "\xc2\xb5s"; /* U+00B5, as Go writes it */
                        prec = 3;
                }
                for (int i = 0; i < prec; i++)
                        whole /= 10;
                n += (size_t)snprintf(out + n, GW_VAULT_TIME_MAX - n, "%llu", whole);
                if (prec) {
                        unsigned long long div = 1;

                        for (int i = 0; i < prec; i++)
                                div *= 10;
                        n += frac_format(out + n, GW_VAULT_TIME_MAX - n, ns % div, prec);
                }
                snprintf(out + n, GW_VAULT_TIME_MAX - n, "%s", unit);
                return;
        }
        if (s >= 3600)
                n += (size_t)snprintf(out + n, GW_VAULT_TIME_MAX - n, "%lluh", s / 3600);
        if (s >= 60)
                n += (size_t)snprintf(out + n, GW_VAULT_TIME_MAX - n, "%llum", s / 60 % 60);
        n += (size_t)snprintf(out + n, GW_VAULT_TIME_MAX - n, "%llu", s % 60);
        n += frac_format(out + n, GW_VAULT_TIME_MAX - n, ns, 9);
        snprintf(out + n, GW_VAULT_TIME_MAX - n, "s");
}

/* Go's units, longest spelling first where one is a prefix of another. */
static const struct {
        const char *name;
        long long ns;
} units[] = {
        { "ns", 1LL },           { "us", 1000LL },
        { "\xc2\xb5s", 1000LL }, /* U+00B5 micro sign */
        { "\xce\xbcs", 1000LL }, /* U+03BC Greek mu */
        { "ms", 1000000LL },     { "s", NS_PER_S },
        { "m", 60 * NS_PER_S },  { "h", 3600 * NS_PER_S },
};

bool gw_vault_go_duration_parse(const char *s, int64_t *ns, const char **why)
{
        unsigned long long total = 0;
        bool neg = false;

        *why = "not a duration: expected a number and a unit, such as \"3h25m19s\" or \"90s\"";
        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (strcmp(s, "0") == 0) {
                *ns = 0;
                return true;
        }
        if (*s == '\0')
                return false;
        while (*s) {
                unsigned long long whole = 0, frac = 0, scale = 1, part;
                bool digits = false;
                size_t ulen;
                int u;

                for (; *s >= '0' && *s <= '9'; s++, digits = true) {
                        if (whole > (~0ULL >> 1) / 10)
                                goto too_long;
                        whole = whole * 10 + (unsigned long long)(*s - '0');
                }
                if (*s == '.') {
                        s++;
                        for (; *s >= '0' && *s <= '9'; s++, digits = true) {
                                /* digits past nanoseconds' reach count for nothing */
                                if (scale < 1000000000000000000ULL) {
                                        frac = frac * 10 + (unsigned long long)(*s - '0');
                                        scale *= 10;
                                }
                        }
                }
                if (!digits)
                        return false;
                ulen = strcspn(s, "0123456789.");
                if (ulen == 0) {
                        *why = "a number without a unit: give one of ns, us, ms, s, m or h";
                        return false;
                }
                for (u = 0; u < (int)(sizeof(units) / sizeof(units[0])); u++)
                        if (strlen(units[u].name) == ulen && strncmp(s, units[u].name, ulen) == 0)
                                break;
                if (u == (int)(sizeof(units) / sizeof(units[0]))) {
                        *why = "unknown unit: use ns, us, ms, s, m or h";
                        return false;
                }
                s += ulen;
                if (whole > (unsigned long long)INT64_MAX / (unsigned long long)units[u].ns)
                        goto too_long;
                part = whole * (unsigned long long)units[u].ns +
                       (unsigned long long)((long double)frac * (long double)units[u].ns /
                                            (long double)scale);
                total += part;
                if (total > (unsigned long long)INT64_MAX)
                        goto too_long;
        }
        *ns = neg ? -(int64_t)total : (int64_t)total;
        return true;
too_long:
        *why = "too long a duration: at most about 292 years";
        return false;
}

bool gw_vault_duration_parse(const char *s, int64_t *seconds, const char **why)
{
        size_t len = strlen(s), digits = strspn(s, "0123456789");
        int64_t ns;

        if (len == 0) {
                *seconds = 0;
                return true;
        }
        if (digits && (digits == len || (digits + 1 == len && s[len - 1] == 'd'))) {
                unsigned long long v = 0;

                for (size_t i = 0; i < digits; i++) {
                        if (v > (unsigned long long)INT64_MAX / 10)
                                goto too_long;
                        v = v * 10 + (unsigned long long)(s[i] - '0');
                }
                if (digits < len) {
                        if (v > (unsigned long long)INT64_MAX / 86400)
                                goto too_long;
                        v *= 86400;
                }
                if (v > (unsigned long long)INT64_MAX)
                        goto too_long;
                *seconds = (int64_t)v;
                return true;
        }
        if (!gw_vault_go_duration_parse(s, &ns, why))
                return false;
        *seconds = ns / NS_PER_S;
        return true;
too_long:
        *why = "too long a duration";
        return false;
}
