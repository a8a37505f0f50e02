/* float32 as JSON text, the shortest form that reads back as the same float
 * (float_fmt.c). */
#ifndef CAIRN_GATEWAY_FLOAT_FMT_H
#define CAIRN_GATEWAY_FLOAT_FMT_H

#include <stddef.h>

/* Longest text gw_float_format() writes, with its NUL: "-1.23456789e-38". */
#define GW_FLOAT_MAX 16

/* Writes @p v as printf("%.9g") would, which reads back as the same float;
 * "null" for NaN and infinities, which JSON cannot carry. Returns the length. */
size_t gw_float_format(float v, char out[GW_FLOAT_MAX]);

#endif
