/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "bus-print.h"
#include "json-util.h"
#include "macro.h"

typedef enum PrintMode {
        PRINT_JSON,
        PRINT_TEXT,
} PrintMode;

static int print_basic(FILE *f, sd_bus_message *m, char type, PrintMode mode) {
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *s;
                int h;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r <= 0)
                return r;

        switch (type) {
        case SD_BUS_TYPE_BYTE:
                fprintf(f, "%u", v.y);
                break;
        case SD_BUS_TYPE_BOOLEAN:
                fputs(mode == PRINT_JSON ? (v.b ? "true" : "false") : yes_no(v.b), f);
                break;
        case SD_BUS_TYPE_INT16:
                fprintf(f, "%" PRIi16, v.n);
                break;
        case SD_BUS_TYPE_UINT16:
                fprintf(f, "%" PRIu16, v.q);
                break;
        case SD_BUS_TYPE_INT32:
                fprintf(f, "%" PRIi32, v.i);
                break;
        case SD_BUS_TYPE_UINT32:
                fprintf(f, "%" PRIu32, v.u);
                break;
        case SD_BUS_TYPE_INT64:
                fprintf(f, "%" PRIi64, v.x);
                break;
        case SD_BUS_TYPE_UINT64:
                fprintf(f, "%" PRIu64, v.t);
                break;
        case SD_BUS_TYPE_DOUBLE:
                fprintf(f, "%g", v.d);
                break;
        case SD_BUS_TYPE_UNIX_FD:
                fprintf(f, "%i", v.h);
                break;
        default: /* strings, object paths, signatures */
                if (mode == PRINT_JSON)
                        json_write_string(f, v.s);
                else
                        fputs(v.s, f);
        }
        return 1;
}

static int print_value(FILE *f, sd_bus_message *m, PrintMode mode, unsigned depth);

/* Prints the container whose type print_value() just peeked. */
static int print_container(FILE *f, sd_bus_message *m, PrintMode mode, unsigned depth) {
        bool dict, quote_key, bracket, first = true;
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        assert(r > 0);

        dict = type == SD_BUS_TYPE_ARRAY && contents[0] == SD_BUS_TYPE_DICT_ENTRY_BEGIN;
        /* JSON object keys must be strings: keys of other types are quoted. */
        quote_key = dict && mode == PRINT_JSON && !strchr("sog", contents[1]);
        /* In text, an array or dictionary inside another value is bracketed, so that "a(qq)" or "aa{sv}"
         * stays readable; at the top it is bare ("app=web team=a"). */
        bracket = mode == PRINT_JSON || (type == SD_BUS_TYPE_ARRAY && depth > 0);

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;

        if (type == SD_BUS_TYPE_VARIANT) {
                r = print_value(f, m, mode, depth);
                if (r < 0)
                        return r;
                return sd_bus_message_exit_container(m);
        }

        if (bracket)
                fputc(dict ? '{' : '[', f);
        else if (type == SD_BUS_TYPE_STRUCT)
                fputc('(', f);

        for (;;) {
                /* sd_bus_message_enter_container() with NULL contents fails at the end of an array
                 * instead of returning 0, so ask first. */
                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
                if (!first)
                        fputs(mode == PRINT_JSON ? ", " : " ", f);
                if (dict) {
                        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, NULL);
                        if (r < 0)
                                return r;
                        if (quote_key)
                                fputc('"', f);
                        r = print_value(f, m, mode, depth + 1); /* key */
                        if (r < 0)
                                return r;
                        if (quote_key)
                                fputc('"', f);
                        fputs(mode == PRINT_JSON ? ": " : "=", f);
                        r = print_value(f, m, mode, depth + 1);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                } else {
                        r = print_value(f, m, mode, depth + 1);
                        if (r < 0)
                                return r;
                }
                first = false;
        }

        if (bracket)
                fputc(dict ? '}' : ']', f);
        else if (type == SD_BUS_TYPE_STRUCT)
                fputc(')', f);
        return sd_bus_message_exit_container(m);
}

static int print_value(FILE *f, sd_bus_message *m, PrintMode mode, unsigned depth) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r;
        if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT || type == SD_BUS_TYPE_VARIANT ||
            type == SD_BUS_TYPE_DICT_ENTRY) {
                r = print_container(f, m, mode, depth);
                return r < 0 ? r : 1;
        }
        return print_basic(f, m, type, mode);
}

int bus_print_json_value(FILE *f, sd_bus_message *m) {
        assert(f);
        assert(m);

        return print_value(f, m, PRINT_JSON, 0);
}

int bus_print_text_value(FILE *f, sd_bus_message *m) {
        assert(f);
        assert(m);

        return print_value(f, m, PRINT_TEXT, 0);
}

void print_bytes(FILE *f, uint64_t bytes, const char *unit) {
        static const char suffixes[] = "KMGTPE";
        double v = (double) bytes;
        size_t i = 0;

        assert(f);

        fprintf(f, "%" PRIu64, bytes);
        if (bytes == UINT64_MAX) {
                fputs(" (unlimited)", f);
                return;
        }
        if (bytes < 1024)
                return;
        v /= 1024.0;
        while (v >= 1024.0 && i + 1 < sizeof(suffixes) - 1) {
                v /= 1024.0;
                i++;
        }
        fprintf(f, " (%.1f%c%s)", v, suffixes[i], strempty(unit));
}

void print_fields(FILE *f, const PrintField *fields, size_t n, bool json) {
        int width = 0;

        assert(fields || n == 0);
        assert(f);

        if (json) {
                fputc('{', f);
                for (size_t i = 0; i < n; i++) {
                        if (i > 0)
                                fputs(", ", f);
                        json_write_string(f, fields[i].key);
                        fprintf(f, ": %" PRIu64, fields[i].value);
                }
                fputs("}\n", f);
                return;
        }

        for (size_t i = 0; i < n; i++)
                if ((int) strlen(fields[i].key) > width)
                        width = (int) strlen(fields[i].key);
        for (size_t i = 0; i < n; i++) {
                const PrintField *p = fields + i;

                fprintf(f, "%*s: ", width, p->key);
                if (p->value == 0 && p->zero_is_none)
                        fputs("0 (none)", f);
                else if (p->type == PRINT_FIELD_NUMBER)
                        fprintf(f, "%" PRIu64, p->value);
                else
                        print_bytes(f, p->value, p->type == PRINT_FIELD_RATE ? "/s" : NULL);
                fputc('\n', f);
        }
}
