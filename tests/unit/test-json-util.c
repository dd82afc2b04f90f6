/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* JSON strings of arbitrary bytes (json-util.c). */

#include <stdio.h>

#include "json-util.h"
#include "macro.h"
#include "tests.h"

static char *json_of(const void *data, size_t size) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        ASSERT_NOT_NULL(f);
        json_write_bytes(f, data, size);
        ASSERT_EQ(fclose(f), 0);
        return s;
}

#define ASSERT_JSON(data, expected)                                         \
        do {                                                                \
                _cleanup_free_ char *_j_ = json_of(data, sizeof(data) - 1); \
                ASSERT_STREQ(_j_, expected);                                \
        } while (false)

TEST(json_bytes) {
        ASSERT_JSON("", "\"\"");
        ASSERT_JSON("hi\n", "\"hi\\n\"");
        ASSERT_JSON("a\"b\\c\t\r", "\"a\\\"b\\\\c\\t\\r\"");
        ASSERT_JSON("nul\0x", "\"nul\\u0000x\"");
        ASSERT_JSON("\x1b[0m\x7f", "\"\\u001b[0m\\u007f\"");
        /* valid UTF-8 as is: 2, 3 and 4 bytes */
        ASSERT_JSON(
                "w\xc3\xa4rden \xe2\x82\xac \xf0\x9f\x98\x80",
                "\"w\xc3\xa4rden \xe2\x82\xac \xf0\x9f\x98\x80\"");
        /* invalid: a lone continuation byte, a truncated sequence, an overlong form, a surrogate, above
         * U+10FFFF, 0xff: one U+FFFD per byte that is not part of a valid sequence */
        ASSERT_JSON("\x80", "\"\\ufffd\"");
        ASSERT_JSON("\xe2\x82", "\"\\ufffd\\ufffd\"");
        ASSERT_JSON("\xc0\xaf", "\"\\ufffd\\ufffd\"");
        ASSERT_JSON("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
        ASSERT_JSON("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
        ASSERT_JSON("a\xffz", "\"a\\ufffdz\"");
}
