/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Printing D-Bus values for people (text) and programs (JSON). */

#include <stdio.h>
#include <systemd/sd-bus.h>

/* Reads the next complete value of 'm' and writes it as JSON: basic types as numbers, strings or booleans,
 * a{s*} as objects, other arrays and structs as arrays, variants as their content. 0 at the end of the
 * container, 1 if a value was written, negative errno. */
int bus_print_json_value(FILE *f, sd_bus_message *m);

/* Same, as text: arrays space-separated, dictionaries as key=value, structs as (a b); arrays and
 * dictionaries inside another value are bracketed, [a b] and {k=v}. */
int bus_print_text_value(FILE *f, sd_bus_message *m);
