/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "handle.h"
#include "macro.h"

bool handle_is_valid(const char *h) {
        size_t n;

        if (!h)
                return false;
        n = strlen(h);
        if (n < 1 || n > HANDLE_MAX)
                return false;
        if (h[0] == '.' || h[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = h[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-'))
                        return false;
        }
        return true;
}

int handle_generate(char *buf, size_t size) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
        unsigned char rnd[HANDLE_GENERATED_LEN];
        ssize_t n;

        assert(buf);

        if (size < HANDLE_GENERATED_LEN + 1)
                return -ENOBUFS;
        n = getrandom(rnd, sizeof(rnd), 0);
        if (n < 0)
                return -errno;
        if ((size_t) n != sizeof(rnd))
                return -EIO;
        for (size_t i = 0; i < HANDLE_GENERATED_LEN; i++)
                buf[i] = alphabet[rnd[i] & 31];
        buf[HANDLE_GENERATED_LEN] = '\0';
        return 0;
}

int handle_to_unit_name(const char *h, char **ret) {
        assert(ret);

        if (!handle_is_valid(h))
                return -EINVAL;
        if (asprintf(ret, "warden-%s.scope", h) < 0)
                return -ENOMEM;
        return 0;
}
