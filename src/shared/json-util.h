/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/* Writes 's' as a JSON string literal (quotes included), escaping quotes, backslashes and control
 * characters. 's' must be valid UTF-8, as every D-Bus string is. */
void json_write_string(FILE *f, const char *s);

/* Writes 'size' bytes of 'data' as a JSON string literal, for data that need not be text (a job's output):
 * NUL and control characters are escaped, and each byte that is not part of valid UTF-8 becomes U+FFFD. */
void json_write_bytes(FILE *f, const void *data, size_t size);
