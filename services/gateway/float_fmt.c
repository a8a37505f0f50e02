/* float32 → JSON number text, the same characters as printf("%.9g") at a
 * fraction of its cost: responses of 384 floats spent most of their time in
 * glibc's exact decimal conversion.
 *
 * Nine significant digits identify every float32. They come from one
 * multiplication by a power of ten in double precision, whose error (about
 * an ulp of a double, 1e-16 relative) is far below half a unit of the ninth
 * digit: the digits are printf's except where the exact value lies within
 * that error of a rounding boundary, and even there the text reads back as
 * the same float (a unit of the ninth digit is at most 1e-8 relative, half
 * a float32's spacing at least 3e-8). Ties exact in double round to even,
 * as printf's do. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "float_fmt.h"

/* 10^k for k in -45..53: a float32's decimal exponents, and the multipliers
 * that bring any of them to nine integer digits. Literals, so each is the
 * double nearest to the power. */
#define POW10_MIN (-45)
static const double pow10_table[] = {
        1e-45, 1e-44, 1e-43, 1e-42, 1e-41, 1e-40, 1e-39, 1e-38, 1e-37, 1e-36, 1e-35, 1e-34, 1e-33,
        1e-32, 1e-31, 1e-30, 1e-29, 1e-28, 1e-27, 1e-26, 1e-25, 1e-24, 1e-23, 1e-22, 1e-21, 1e-20,
        1e-19, 1e-18, 1e-17, 1e-16, 1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9,  1e-8,  1e-7,
        1e-6,  1e-5,  1e-4,  1e-3,  1e-2,  1e-1,  1e0,   1e1,   1e2,   1e3,   1e4,   1e5,   1e6,
        1e7,   1e8,   1e9,   1e10,  1e11,  1e12,  1e13,  1e14,  1e15,  1e16,  1e17,  1e18,  1e19,
        1e20,  1e21,  1e22,  1e23,  1e24,  1e25,  1e26,  1e27,  1e28,  1e29,  1e30,  1e31,  1e32,
        1e33,  1e34,  1e35,  1e36,  1e37,  1e38,  1e39,  1e40,  1e41,  1e42,  1e43,  1e44,  1e45,
        1e46,  1e47,  1e48,  1e49,  1e50,  1e51,  1e52,  1e53
};

static double pow10_of(int k)
{
        return pow10_table[k - POW10_MIN];
}

size_t gw_float_format(float v, char out[GW_FLOAT_MAX])
{
        char digits[9], *p = out;
        double d = fabs((double)v);
        int e10, ndig;

        if (!isfinite(v))
                return (size_t)(stpcpy(out, "null") - out); /* JSON has no NaN or infinity */
        if (signbit(v))
                *p++ = '-';
        if (d == 0) {
                *p++ = '0';
                *p = '\0';
                return (size_t)(p - out);
        }

        /* Scale to [1e8, 1e9): nine digits before the point. */
        e10 = (int)floor(log10(d));
        double scaled = d * pow10_of(8 - e10);
        if (scaled < 1e8) {
                e10--;
                scaled = d * pow10_of(8 - e10);
        } else if (scaled >= 1e9) {
                e10++;
                scaled = d * pow10_of(8 - e10);
        }
        uint32_t n = (uint32_t)rint(scaled); /* to nearest, ties to even */
        if (n >= 1000000000u) {              /* 999999999.5 rounded up */
                n /= 10;
                e10++;
        }
        for (int i = 8; i >= 0; i--, n /= 10)
                digits[i] = (char)('0' + n % 10);
        for (ndig = 9; ndig > 1 && digits[ndig - 1] == '0'; ndig--)
                ; /* %g drops trailing zeros */

        if (e10 < -4 || e10 >= 9) {
                /* d.ddde±XX, at least two exponent digits */
                int x = e10 < 0 ? -e10 : e10;

                *p++ = digits[0];
                if (ndig > 1) {
                        *p++ = '.';
                        memcpy(p, digits + 1, (size_t)ndig - 1);
                        p += ndig - 1;
                }
                *p++ = 'e';
                *p++ = e10 < 0 ? '-' : '+';
                *p++ = (char)('0' + x / 10);
                *p++ = (char)('0' + x % 10);
        } else if (e10 >= 0) {
                /* e10 + 1 digits before the point, the rest after it */
                int whole = e10 + 1;

                memcpy(p, digits, (size_t)whole);
                p += whole;
                if (ndig > whole) {
                        *p++ = '.';
                        memcpy(p, digits + whole, (size_t)(ndig - whole));
                        p += ndig - whole;
                }
        } else {
                /* 0.000ddd: -e10 - 1 zeros after the point */
                *p++ = '0';
                *p++ = '.';
                for (int i = 0; i < -e10 - 1; i++)
                        *p++ = '0';
                memcpy(p, digits, (size_t)ndig);
                p += ndig;
        }
        *p = '\0';
        return (size_t)(p - out);
}
