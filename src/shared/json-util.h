/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/* Writes 's' as a JSON string literal (quotes included), escaping quotes, backslashes and control
 * characters. 's' must be valid UTF-8, as every D-Bus string is. */
void json_write_string(FILE *f, const char *s);
