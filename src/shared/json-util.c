/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>

#include "json-util.h"

void json_write_string(FILE *f, const char *s) {
        assert(f);
        assert(s);

        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

/* The length of the valid UTF-8 sequence of 2 to 4 bytes at 'p' (of 'n' bytes), or 0 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_sequence_length(const unsigned char *p, size_t n) {
        unsigned char lo = 0x80, hi = 0xbf;
        size_t len;

        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                len = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                len = 3;
                if (p[0] == 0xe0)
                        lo = 0xa0;
                else if (p[0] == 0xed)
                        hi = 0x9f;
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                len = 4;
                if (p[0] == 0xf0)
                        lo = 0x90;
                else if (p[0] == 0xf4)
                        hi = 0x8f;
        } else
                return 0;
        if (n < len || p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return len;
}

void json_write_bytes(FILE *f, const void *data, size_t size) {
        const unsigned char *p = data, *end = p + size;
        size_t len;

        assert(f);
        assert(data || size == 0);

        fputc('"', f);
        while (p < end) {
                if (*p >= 0x80) {
                        len = utf8_sequence_length(p, (size_t) (end - p));
                        if (len == 0) {
                                fputs("\\ufffd", f);
                                p++;
                        } else {
                                fwrite(p, 1, len, f);
                                p += len;
                        }
                        continue;
                }
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p == '\r')
                        fputs("\\r", f);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
                p++;
        }
        fputc('"', f);
}
