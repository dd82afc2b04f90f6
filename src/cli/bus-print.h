/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Printing D-Bus values for people (text) and programs (JSON). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

/* Reads the next complete value of 'm' and writes it as JSON: basic types as numbers, strings or booleans,
 * a{s*} as objects, other arrays and structs as arrays, variants as their content. 0 at the end of the
 * container, 1 if a value was written, negative errno. */
int bus_print_json_value(FILE *f, sd_bus_message *m);

/* Same, as text: arrays space-separated, dictionaries as key=value, structs as (a b); arrays and
 * dictionaries inside another value are bracketed, [a b] and {k=v}. */
int bus_print_text_value(FILE *f, sd_bus_message *m);

/* Writes 'bytes' as the exact number followed by a readable binary size with 'unit' after the suffix
 * ("1572864 (1.5M)", unit "/s": "1572864 (1.5M/s)"); below 1024 the number alone; UINT64_MAX as
 * "18446744073709551615 (unlimited)". 'unit' may be NULL. */
void print_bytes(FILE *f, uint64_t bytes, const char *unit);

typedef enum PrintFieldType {
        PRINT_FIELD_NUMBER, /* a plain number */
        PRINT_FIELD_BYTES,  /* bytes, with print_bytes()'s readable size */
        PRINT_FIELD_RATE,   /* bytes/s, the same with "/s" */
} PrintFieldType;

typedef struct PrintField {
        const char *key;
        uint64_t value;
        PrintFieldType type;
        bool zero_is_none; /* 0 means "no limit": text shows "0 (none)" */
} PrintField;

/* Writes 'fields' as text, one "key: value" line each with the keys right-aligned to the longest (as
 * wardenctl info does), or as one JSON object of numbers on a line. */
void print_fields(FILE *f, const PrintField *fields, size_t n, bool json);
