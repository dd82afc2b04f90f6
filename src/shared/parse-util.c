/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse-util.h"

int parse_uint64(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end = NULL;

        assert(ret);

        if (!s || !*s || !isdigit((unsigned char) s[0]))
                return -EINVAL; /* no sign, no blanks, no empty string */
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (errno != 0 || !end || *end != '\0')
                return -EINVAL;
        *ret = (uint64_t) v;
        return 0;
}

int parse_uint32(const char *s, uint32_t *ret) {
        uint64_t v;
        int r;

        assert(ret);

        r = parse_uint64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        assert(ret);

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* Splits "123unit" into the number and the unit; the unit may be empty. */
static int split_number_unit(const char *s, uint64_t *ret_n, const char **ret_unit) {
        const char *p = s;
        char buf[32];
        size_t n;
        int r;

        while (isdigit((unsigned char) *p))
                p++;
        n = (size_t) (p - s);
        if (n == 0 || n >= sizeof(buf))
                return n == 0 ? -EINVAL : -ERANGE;
        memcpy(buf, s, n);
        buf[n] = '\0';
        r = parse_uint64(buf, ret_n);
        if (r < 0)
                return r;
        while (*p == ' ')
                p++;
        *ret_unit = p;
        return 0;
}

static int multiply_checked(uint64_t a, uint64_t b, uint64_t *ret) {
        if (b != 0 && a > UINT64_MAX / b)
                return -ERANGE;
        *ret = a * b;
        return 0;
}

int parse_sec(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                { "", USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "sec", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
                { "msec", USEC_PER_MSEC },
                { "us", 1 },
                { "usec", 1 },
                { "min", 60 * USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "hour", 3600 * USEC_PER_SEC },
        };
        const char *unit;
        uint64_t n;
        int r;

        assert(ret_usec);

        if (!s)
                return -EINVAL;
        if (streq(s, "infinity")) {
                *ret_usec = USEC_INFINITY;
                return 0;
        }
        r = split_number_unit(s, &n, &unit);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(unit, units[i].suffix)) {
                        uint64_t v;

                        r = multiply_checked(n, units[i].usec, &v);
                        if (r < 0)
                                return r;
                        if (v == USEC_INFINITY)
                                return -ERANGE;
                        *ret_usec = v;
                        return 0;
                }
        return -EINVAL;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } units[] = {
                { "", 1 },
                { "B", 1 },
                { "K", UINT64_C(1) << 10 },
                { "M", UINT64_C(1) << 20 },
                { "G", UINT64_C(1) << 30 },
                { "T", UINT64_C(1) << 40 },
        };
        const char *unit;
        uint64_t n;
        int r;

        assert(ret);

        if (!s)
                return -EINVAL;
        r = split_number_unit(s, &n, &unit);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(unit, units[i].suffix))
                        return multiply_checked(n, units[i].factor, ret);
        return -EINVAL;
}

int parse_ipv4_cidr(const char *s, uint32_t *ret_addr, unsigned *ret_prefixlen) {
        char buf[INET_ADDRSTRLEN];
        struct in_addr a;
        const char *slash;
        uint32_t prefix, addr, mask;
        int r;

        assert(ret_addr);
        assert(ret_prefixlen);

        if (!s)
                return -EINVAL;
        slash = strchr(s, '/');
        if (!slash || (size_t) (slash - s) >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, (size_t) (slash - s));
        buf[slash - s] = '\0';
        if (inet_pton(AF_INET, buf, &a) != 1)
                return -EINVAL;
        r = parse_uint32(slash + 1, &prefix);
        if (r < 0)
                return -EINVAL;
        if (prefix > 32)
                return -ERANGE;
        addr = ntohl(a.s_addr);
        mask = prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
        if ((addr & ~mask) != 0)
                return -EINVAL; /* host bits set: almost always a typo */
        *ret_addr = addr;
        *ret_prefixlen = prefix;
        return 0;
}
