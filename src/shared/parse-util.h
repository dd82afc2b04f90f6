/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Parsers for configuration values. All are pure: they never log, never write *ret on failure, and return
 * -EINVAL for malformed input and -ERANGE for a number out of range.
 */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_INFINITY UINT64_MAX

int parse_uint64(const char *s, uint64_t *ret);
int parse_uint32(const char *s, uint32_t *ret);
/* "yes"/"no", "true"/"false", "on"/"off", "1"/"0". */
int parse_boolean(const char *s, bool *ret);
/* A time span: a number with an optional unit (us, ms, s, min, h), default seconds. "infinity" ok. */
int parse_sec(const char *s, uint64_t *ret_usec);
/* A size in bytes with an optional binary suffix K, M, G, T (1024-based). */
int parse_size(const char *s, uint64_t *ret);
/* An IPv4 network "a.b.c.d/n". Host bits must be zero. Address in host byte order. */
int parse_ipv4_cidr(const char *s, uint32_t *ret_addr, unsigned *ret_prefixlen);
