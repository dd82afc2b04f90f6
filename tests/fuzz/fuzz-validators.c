/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The small validators that stand between a caller's strings and wardend's objects, each checked against
 * what it promises:
 *   - handle_is_valid(): exactly api.md's grammar; handle_to_unit_name() accepts the same handles;
 *   - path_normalize(): the result is normalised, idempotent, no longer than the input and names the same
 *     components; path_is_normalized() agrees with it;
 *   - job_parse_state_file_name(): only the canonical "<id>.state" that job_file_name() writes;
 *   - rlimit_from_name(): a resource setrlimit(2) knows;
 *   - the value parsers of the configuration and state files (parse-util.h): numbers print back to the
 *     same text, an IPv4 network to the same network;
 *   - host_path_check_mountable(): exactly the trees of host-path.h are refused, with the right tree, and
 *     only normalised paths are judged.
 * The input is one C string (up to its first NUL); its first bytes also serve as a job id.
 */

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "handle.h"
#include "host-path.h"
#include "job.h"
#include "rlimit-util.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The grammar of api.md, written independently of handle.c. */
static bool handle_grammar(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > HANDLE_MAX || s[0] == '.' || s[0] == '-')
                return false;
        return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static void check_handle(const char *s) {
        _cleanup_free_ char *unit = NULL;
        bool valid = handle_is_valid(s);
        int r;

        if (valid != handle_grammar(s))
                abort();
        r = handle_to_unit_name(s, &unit);
        if (valid != (r >= 0) || (r < 0 && r != -EINVAL))
                abort();
        if (valid && (strncmp(unit, "warden-", 7) != 0 || strlen(unit) != strlen(s) + 13 ||
                      strncmp(unit + 7, s, strlen(s)) != 0 || !streq(unit + 7 + strlen(s), ".scope")))
                abort();
}

/* The components of a path, as path_normalize() must keep them: everything between slashes but "." and
 * empty ones, in order. Writes them '\n'-separated into buf (which has room for strlen(path) + 1). */
static bool components(const char *path, char *buf) {
        size_t n = 0;

        for (const char *p = path; *p;) {
                const char *e = strchrnul(p, '/');
                size_t l = (size_t) (e - p);

                if (l > 0 && !(l == 1 && p[0] == '.')) {
                        if (l == 2 && p[0] == '.' && p[1] == '.')
                                return false;
                        memcpy(buf + n, p, l);
                        n += l;
                        buf[n++] = '\n';
                }
                p = *e ? e + 1 : e;
        }
        buf[n] = '\0';
        return true;
}

static void check_path(const char *s) {
        _cleanup_free_ char *n = NULL, *again = NULL, *want = NULL, *got = NULL;
        bool expect_ok;
        int r, k;

        want = malloc(strlen(s) + 2);
        if (!want)
                return;
        expect_ok = s[0] == '/' && strlen(s) <= WARDEN_PATH_MAX && components(s, want);

        r = path_normalize(s, &n);
        if (r == -ENOMEM)
                return;
        if ((r >= 0) != expect_ok || (r < 0 && r != -EINVAL))
                abort();
        k = path_is_normalized(s);
        if (k < 0 && k != -ENOMEM)
                abort();
        if (r < 0) {
                if (k > 0)
                        abort();
                return;
        }
        if (k >= 0 && (k > 0) != streq(n, s))
                abort();

        if (n[0] != '/' || strlen(n) > strlen(s) || strstr(n, "//") || strstr(n, "/./") ||
            (strlen(n) > 1 && n[strlen(n) - 1] == '/') || streq(n, "/.") ||
            (strlen(n) >= 2 && streq(n + strlen(n) - 2, "/.")))
                abort();
        got = malloc(strlen(n) + 2);
        if (!got)
                return;
        if (!components(n, got) || !streq(got, want))
                abort();
        if (path_normalize(n, &again) < 0 || !streq(n, again))
                abort();
        if (path_is_normalized(n) == 0)
                abort();
}

static void check_job_file_name(const char *s, uint32_t id_from_input) {
        char buf[JOB_FILE_NAME_MAX];
        uint32_t id = 0;
        int r;

        r = job_parse_state_file_name(s, &id);
        if (r < 0 && r != -EINVAL && r != -ENOMEM)
                abort();
        if (r >= 0) {
                /* canonical: the name is exactly what job_file_name() writes for that id */
                if (id == 0)
                        abort();
                job_file_name(id, "state", buf);
                if (!streq(buf, s))
                        abort();
        }

        if (id_from_input == 0)
                return;
        job_file_name(id_from_input, "state", buf);
        if (job_parse_state_file_name(buf, &id) < 0 || id != id_from_input)
                abort();
        job_file_name(id_from_input, "stdout", buf);
        if (job_parse_state_file_name(buf, &id) != -EINVAL)
                abort();
}

static void check_rlimit(const char *s) {
        int r = rlimit_from_name(s);

        if (r == -EINVAL)
                return;
        if (r < 0 || r >= RLIM_NLIMITS)
                abort();
        /* a name, not a prefix or a number */
        if (strlen(s) < 2 || strspn(s, "abcdefghijklmnopqrstuvwxyz") != strlen(s))
                abort();
}

static void check_numbers(const char *s) {
        char buf[64];
        uint64_t u64, again;
        uint32_t u32, a;
        unsigned prefixlen, p;
        bool b;
        int r;

        r = parse_uint64(s, &u64);
        if (r >= 0) {
                (void) snprintf(buf, sizeof(buf), "%llu", (unsigned long long) u64);
                if (parse_uint64(buf, &again) < 0 || again != u64)
                        abort();
        } else if (r != -EINVAL && r != -ERANGE)
                abort();

        r = parse_uint32(s, &u32);
        if (r >= 0 && (parse_uint64(s, &u64) < 0 || u64 != u32))
                abort();
        if (r < 0 && r != -EINVAL && r != -ERANGE)
                abort();

        r = parse_boolean(s, &b);
        if (r < 0 && r != -EINVAL)
                abort();

        r = parse_sec(s, &u64);
        if (r < 0 && r != -EINVAL && r != -ERANGE)
                abort();
        if (r >= 0 && u64 == USEC_INFINITY && !streq(s, "infinity"))
                abort();

        r = parse_size(s, &u64);
        if (r < 0 && r != -EINVAL && r != -ERANGE)
                abort();

        r = parse_ipv4_cidr(s, &a, &prefixlen);
        if (r < 0 && r != -EINVAL && r != -ERANGE)
                abort();
        if (r >= 0) {
                struct in_addr in = { .s_addr = htonl(a) };
                char text[INET_ADDRSTRLEN];

                if (prefixlen > 32 || (prefixlen < 32 && (a & (UINT32_MAX >> prefixlen)) != 0))
                        abort();
                (void) snprintf(
                        buf, sizeof(buf), "%s/%u", inet_ntop(AF_INET, &in, text, sizeof(text)), prefixlen);
                if (parse_ipv4_cidr(buf, &u32, &p) < 0 || u32 != a || p != prefixlen)
                        abort();
        }
}

/* Is 'a' the same as 'b' or below it, written as the component-wise comparison it means. */
static bool under(const char *a, const char *b) {
        size_t n = strlen(b);

        if (streq(b, "/"))
                return true;
        return strlen(a) >= n && memcmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

static void check_host_path(const char *s) {
        static const char *const subtrees[] = { "/proc",           "/sys",         "/dev",
                                                "/run/dbus",       "/run/systemd", "/run/warden",
                                                "/var/lib/warden", "/srv/depot" };
        char *const state[] = { (char *) "/var/lib/warden", (char *) "/srv/depot", NULL };
        HostPathRefusal h = {};
        bool refuse = false;
        int r, k;

        r = host_path_check_mountable(s, state, &h);
        k = path_is_normalized(s);
        if (k == -ENOMEM)
                return;
        if (k == 0) {
                if (r != -EINVAL)
                        abort();
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(subtrees); i++)
                refuse = refuse || under(s, subtrees[i]) || under(subtrees[i], s);
        refuse = refuse || under("/run", s);
        if (!refuse) {
                if (r != 0)
                        abort();
                return;
        }
        if (r != -EPERM || !h.tree || !h.rule)
                abort();
        /* the tree named is one the path is in, or one it contains (as the flag says) */
        if (h.contains ? !(under(h.tree, s) && !streq(h.tree, s)) : !under(s, h.tree))
                abort();
        if (host_path_in_dirs(s, STRV_MAKE(h.tree)) != under(s, h.tree))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *s = NULL;
        uint32_t id = 0;

        s = strndup((const char *) data, size);
        if (!s)
                return 0;
        log_set_max_level(LOG_CRIT);
        if (size >= 4)
                memcpy(&id, data, sizeof(id));

        check_handle(s);
        check_path(s);
        check_job_file_name(s, id);
        check_rlimit(s);
        check_numbers(s);
        check_host_path(s);
        return 0;
}
