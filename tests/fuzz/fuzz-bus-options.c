/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The option dictionaries of Create and Spawn/Run, through the real vtables: the input describes a method
 * call, which a client sends over an in-process socketpair bus (bus-pair.h) to wardend's objects, as a unit
 * test does. Every call must be answered, with a named error (api.md "Errors", or sd-bus's InvalidArgs for a
 * wrong signature), and leave nothing behind: no container, no uid or /30 taken from the pools, no job, no
 * descriptor (and, under ASan/LSan, no memory).
 *
 * The fixture is built once and makes every call fail after its options have been read and checked, before
 * anything starts: max_containers is 1 and the one container ("box") is stopped, so a Create that passes
 * every check gets PoolExhausted from manager_add_container() (after its uid and /30 were allocated and must
 * have been given back), and a Spawn or Run that passes gets InvalidState. The default rootfs is /usr, so
 * that a Create without "rootfs" gets that far too.
 *
 * The input (read front to back; missing bytes read as zero):
 *     mode byte % 6     0 Create, 1 Spawn and 2 Run on the Manager, 3 Spawn and 4 Run on the object of
 *                       "box", 5 Create/Spawn/Run (next byte % 3) on the Manager with a body of any
 *                       signature (a string, see below), to reach the vtable's own signature check
 *     [modes 1, 2]      a byte >= 0xc0: a string for the handle, else "box"
 *     [modes 1-4]       a byte % 8 argv entries, each a string
 *     then until the input ends, entries of the a{sv}:
 *         key byte      < number of known keys: that key (of Create and Spawn together), else a string
 *         type byte     < number of listed signatures: that one, else a string (kept if it is one complete
 *                       type, else "s")
 *         the value     of that signature, see append_value()
 *     a string          a length byte L: L < 254 bytes follow; 254: a byte and a 16-bit count of its
 *                       repetitions follow (long paths and handles from short inputs); 255: a 16-bit length
 *                       and the bytes. Bytes that would make invalid UTF-8 (and NUL) become '?', since the
 *                       bus refuses them before any handler could see them.
 */

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-error.h"
#include "bus-manager.h"
#include "bus-pair.h"
#include "bus-util.h"
#include "log.h"
#include "manager.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STRING_REPEAT_MAX 16384U
#define MESSAGE_BYTES_MAX (256U * 1024U) /* of strings per call, to keep each run fast */
#define ITEMS_MAX 4096U                  /* values per call */
#define ARRAY_MAX 16U
#define DEPTH_MAX 24U
#define FDS_MAX 16U /* per message: what the system bus passes (max_message_unix_fds); sd-bus sends 253 */

typedef struct Fixture {
        Manager manager;
        Container *box;
        sd_bus *server, *client;
        int null_fd;
        bool root;    /* (in our user namespace): bus_verify_manage() lets us through */
        bool verbose; /* $FUZZ_VERBOSE: print each answer */
} Fixture;

typedef struct Input {
        const uint8_t *p;
        size_t n;
        size_t bytes; /* of strings so far */
        unsigned items;
        unsigned fds;
} Input;

static const char *const known_keys[] = {
        /* Create */
        "handle",
        "rootfs",
        "bind_mounts",
        "grace_time",
        "network",
        "properties",
        "env",
        "memory_limit",
        "cpu_weight",
        "cpu_quota",
        "pids_limit",
        "disk_limit",
        "bandwidth",
        "disk_inode_limit",
        /* Spawn, Run */
        "user",
        "privileged",
        "dir",
        "rlimits",
        "tty",
        "tty_rows",
        "tty_cols",
        "stdin",
        "stdout",
        "stderr",
        "discard_output",
};

/* The right types of those keys first, then wrong ones a caller might send. */
static const char *const signatures[] = {
        "s",    "a(ssb)", "u",     "a{ss}", "as",  "t",     "(tt)",  "b",  "a{st}",  "q",     "h",
        "i",    "y",      "n",     "x",     "d",   "o",     "g",     "v",  "ay",     "at",    "a{sv}",
        "(ss)", "aas",    "a(ss)", "(ssb)", "(t)", "a{ts}", "a{sh}", "ah", "a(sss)", "(tt)t",
};

static uint8_t take_u8(Input *in) {
        uint8_t b;

        if (in->n == 0)
                return 0;
        b = in->p[0];
        in->p++;
        in->n--;
        return b;
}

static uint64_t take_uint(Input *in, size_t bytes) {
        uint64_t v = 0;

        for (size_t i = 0; i < bytes; i++)
                v |= (uint64_t) take_u8(in) << (8 * i);
        return v;
}

/* The length of the valid UTF-8 sequence at s (of at most n bytes) that sd-bus accepts in a string, or 0:
 * no NUL, no overlong forms, no surrogates, nothing above U+10FFFF, no non-characters. */
static size_t utf8_sequence(const uint8_t *s, size_t n) {
        uint32_t c;
        size_t len;

        if (s[0] == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf)
                len = 2, c = s[0] & 0x1f;
        else if (s[0] >= 0xe0 && s[0] <= 0xef)
                len = 3, c = s[0] & 0x0f;
        else if (s[0] >= 0xf0 && s[0] <= 0xf4)
                len = 4, c = s[0] & 0x07;
        else
                return 0;
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || c > 0x10ffff ||
            (c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe)
                return 0;
        return len;
}

static char *take_string(Input *in) {
        const uint8_t *src;
        size_t len, repeat = 0;
        uint8_t fill = 0, l;
        char *s;

        l = take_u8(in);
        if (l == 254) {
                fill = take_u8(in);
                repeat = take_uint(in, 2) % (STRING_REPEAT_MAX + 1);
                len = repeat;
                src = NULL;
        } else {
                len = l == 255 ? take_uint(in, 2) : l;
                if (len > in->n)
                        len = in->n;
                src = in->p;
                in->p += len;
                in->n -= len;
        }
        if (in->bytes + len > MESSAGE_BYTES_MAX)
                len = 0;
        in->bytes += len;

        s = malloc(len + 1);
        if (!s)
                abort();
        if (!src) {
                uint8_t b = fill == 0 || fill >= 0x80 ? '?' : fill;

                memset(s, b, len);
        } else
                for (size_t i = 0; i < len;) {
                        size_t k = utf8_sequence(src + i, len - i);

                        if (k == 0) {
                                s[i++] = '?';
                                continue;
                        }
                        memcpy(s + i, src + i, k);
                        i += k;
                }
        s[len] = '\0';
        return s;
}

/* A valid object path from a string: "/" and its letters, digits and '_' (others end a segment). */
static char *take_object_path(Input *in) {
        _cleanup_free_ char *s = take_string(in);
        char *p = malloc(strlen(s) + 2), *o = p;

        if (!p)
                abort();
        *o++ = '/';
        for (const char *c = s; *c; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    *c == '_')
                        *o++ = *c;
                else if (o[-1] != '/')
                        *o++ = '/';
        }
        if (o > p + 1 && o[-1] == '/')
                o--;
        *o = '\0';
        return p;
}

/* The length of the single complete type at the start of sig, 0 if none. */
static size_t complete_type_len(const char *sig, unsigned depth) {
        size_t n, k;

        if (depth > DEPTH_MAX)
                return 0;
        switch (sig[0]) {
        case 'y':
        case 'b':
        case 'n':
        case 'q':
        case 'i':
        case 'u':
        case 'x':
        case 't':
        case 'd':
        case 's':
        case 'o':
        case 'g':
        case 'h':
        case 'v':
                return 1;
        case 'a':
                k = complete_type_len(sig + 1, depth + 1);
                return k == 0 ? 0 : k + 1;
        case '(':
                n = 1;
                while (sig[n] != ')') {
                        k = complete_type_len(sig + n, depth + 1);
                        if (k == 0)
                                return 0;
                        n += k;
                }
                return n == 1 ? 0 : n + 1;
        case '{':
                /* a dict entry only as an array's element, with a basic key: sd-bus checks that */
                k = complete_type_len(sig + 1, depth + 1);
                if (k == 0)
                        return 0;
                n = 1 + k;
                k = complete_type_len(sig + n, depth + 1);
                if (k == 0 || sig[n + k] != '}')
                        return 0;
                return n + k + 1;
        default:
                return 0;
        }
}

static char *take_signature(Input *in) {
        uint8_t i = take_u8(in);
        char *s;

        if (i < ELEMENTSOF(signatures))
                s = strdup(signatures[i]);
        else {
                s = take_string(in);
                if (s && (s[0] == '\0' || complete_type_len(s, 0) != strlen(s) || strlen(s) > 64)) {
                        free(s);
                        s = strdup("s");
                }
        }
        if (!s)
                abort();
        return s;
}

static int
append_value(sd_bus_message *m, Input *in, const char *sig, size_t len, unsigned depth, Fixture *f);

/* Each complete type of contents[0..len) in turn. */
static int
append_sequence(sd_bus_message *m, Input *in, const char *contents, size_t len, unsigned depth, Fixture *f) {
        for (size_t n = 0; n < len;) {
                size_t k = complete_type_len(contents + n, depth);
                int r;

                if (k == 0 || n + k > len)
                        return -EINVAL;
                r = append_value(m, in, contents + n, k, depth, f);
                if (r < 0)
                        return r;
                n += k;
        }
        return 0;
}

static int
append_value(sd_bus_message *m, Input *in, const char *sig, size_t len, unsigned depth, Fixture *f) {
        _cleanup_free_ char *inner = NULL;
        int r;

        if (depth > DEPTH_MAX || ++in->items > ITEMS_MAX)
                return -E2BIG;

        switch (sig[0]) {
        case 'y': {
                uint8_t v = take_u8(in);
                return sd_bus_message_append_basic(m, 'y', &v);
        }
        case 'b': {
                int v = take_u8(in) & 1;
                return sd_bus_message_append_basic(m, 'b', &v);
        }
        case 'n':
        case 'q': {
                uint16_t v = (uint16_t) take_uint(in, 2);
                return sd_bus_message_append_basic(m, sig[0], &v);
        }
        case 'i':
        case 'u': {
                uint32_t v = (uint32_t) take_uint(in, 4);
                return sd_bus_message_append_basic(m, sig[0], &v);
        }
        case 'x':
        case 't': {
                uint64_t v = take_uint(in, 8);
                return sd_bus_message_append_basic(m, sig[0], &v);
        }
        case 'd': {
                uint64_t bits = take_uint(in, 8);
                double v;

                memcpy(&v, &bits, sizeof(v));
                return sd_bus_message_append_basic(m, 'd', &v);
        }
        case 's':
                inner = take_string(in);
                return sd_bus_message_append_basic(m, 's', inner);
        case 'o':
                inner = take_object_path(in);
                return sd_bus_message_append_basic(m, 'o', inner);
        case 'g': {
                uint8_t i = take_u8(in) % ELEMENTSOF(signatures);
                return sd_bus_message_append_basic(m, 'g', signatures[i]);
        }
        case 'h':
                if (++in->fds > FDS_MAX)
                        return -E2BIG;
                return sd_bus_message_append_basic(m, 'h', &f->null_fd);
        case 'v':
                inner = take_signature(in);
                r = sd_bus_message_open_container(m, 'v', inner);
                if (r < 0)
                        return r;
                r = append_value(m, in, inner, strlen(inner), depth + 1, f);
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(m);
        case 'a': {
                unsigned count = take_u8(in) % (ARRAY_MAX + 1);

                inner = strndup(sig + 1, len - 1);
                if (!inner)
                        abort();
                r = sd_bus_message_open_container(m, 'a', inner);
                if (r < 0)
                        return r;
                for (unsigned i = 0; i < count; i++) {
                        r = append_value(m, in, inner, len - 1, depth + 1, f);
                        if (r < 0)
                                return r;
                }
                return sd_bus_message_close_container(m);
        }
        case '(':
        case '{':
                inner = strndup(sig + 1, len - 2);
                if (!inner)
                        abort();
                r = sd_bus_message_open_container(m, sig[0] == '(' ? 'r' : 'e', inner);
                if (r < 0)
                        return r;
                r = append_sequence(m, in, inner, len - 2, depth + 1, f);
                if (r < 0)
                        return r;
                return sd_bus_message_close_container(m);
        default:
                return -EINVAL;
        }
}

static int append_options(sd_bus_message *m, Input *in, Fixture *f) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while (in->n > 0) {
                _cleanup_free_ char *key = NULL, *sig = NULL;
                uint8_t k = take_u8(in);

                key = k < ELEMENTSOF(known_keys) ? strdup(known_keys[k]) : take_string(in);
                if (!key)
                        abort();
                sig = take_signature(in);
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_basic(m, 's', key);
                if (r < 0)
                        return r;
                r = sd_bus_message_open_container(m, 'v', sig);
                if (r < 0)
                        return r;
                r = append_value(m, in, sig, strlen(sig), 2, f);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int append_argv(sd_bus_message *m, Input *in) {
        unsigned n = take_u8(in) % 8;
        int r;

        r = sd_bus_message_open_container(m, 'a', "s");
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ char *s = take_string(in);

                r = sd_bus_message_append_basic(m, 's', s);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* Unprivileged (the corpus replay in CI): become root of a user namespace of our own, so that the bus
 * sees uid 0 and the handlers read the options instead of refusing the caller. */
static void become_root(void) {
        char map[64];
        uid_t uid = geteuid();
        gid_t gid = getegid();
        int fd;

        if (uid == 0 || unshare(CLONE_NEWUSER) < 0)
                return;
        fd = open("/proc/self/setgroups", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) !write(fd, "deny", 4);
                close(fd);
        }
        (void) snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
        fd = open("/proc/self/uid_map", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) !write(fd, map, strlen(map));
                close(fd);
        }
        (void) snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
        fd = open("/proc/self/gid_map", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
                (void) !write(fd, map, strlen(map));
                close(fd);
        }
}

static Fixture *fixture_get(void) {
        static Fixture *f = NULL;
        Manager *m;

        if (f)
                return f;
        become_root();
        log_set_max_level(LOG_CRIT);

        f = calloc(1, sizeof(Fixture));
        if (!f)
                abort();
        f->root = geteuid() == 0;
        f->verbose = getenv("FUZZ_VERBOSE");
        m = &f->manager;
        manager_config_init(&m->config);
        if (manager_config_load_text(&m->config, "fixture", "", NULL) < 0)
                abort();
        free(m->config.default_rootfs);
        m->config.default_rootfs = strdup("/usr");
        m->config.max_containers = 1;
        m->config.pool.prefixlen = 28; /* four /30s: pool_intact() can see that each is free */
        m->containers = hashmap_new();
        if (!m->config.default_rootfs || !m->containers ||
            id_pool_new(m->config.uid_base, m->config.uid_count, &m->uids) < 0 ||
            address_pool_new(m->config.pool.address, m->config.pool.prefixlen, &m->addresses) < 0 ||
            id_pool_new(
                    m->config.port_range[0],
                    (uint32_t) m->config.port_range[1] - m->config.port_range[0] + 1,
                    &m->ports) < 0)
                abort();

        if (container_new("box", &f->box) < 0)
                abort();
        f->box->state = CONTAINER_STOPPED;
        f->box->path = strdup("/nonexistent/box");
        if (!f->box->path || manager_add_container(m, f->box) < 0)
                abort();

        f->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (f->null_fd < 0 || bus_error_register_map() < 0 || bus_pair_new(&f->server, &f->client) < 0 ||
            bus_manager_register(m, f->server) < 0)
                abort();

        /* One call first: the authentication (and with it the negotiation of descriptor passing) completes
         * while both ends are driven, before any message of the input is built. */
        {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *ping = NULL;

                if (sd_bus_message_new_method_call(
                            f->client, &ping, NULL, WARDEN_MANAGER_PATH, WARDEN_MANAGER_INTERFACE, "Ping") <
                            0 ||
                    bus_pair_call(f->server, f->client, ping, NULL, NULL) < 0)
                        abort();
        }
        return f;
}

/* The number of open descriptors: one left open by a call shows here. */
static unsigned count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        unsigned n = 0;

        if (!d)
                abort();
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

/* No uid and no /30 taken. */
static bool pool_intact(Fixture *f) {
        uint32_t ids[4];
        size_t n = 0;
        bool intact;

        if (id_pool_n_taken(f->manager.uids) != 0)
                return false;
        while (n < ELEMENTSOF(ids) && address_pool_allocate(f->manager.addresses, &ids[n]) >= 0)
                n++;
        intact = n == address_pool_size(f->manager.addresses);
        while (n > 0)
                address_pool_release(f->manager.addresses, ids[--n]);
        return intact;
}

static bool error_allowed(const Fixture *f, const char *name) {
        static const char *const allowed[] = {
                SD_BUS_ERROR_INVALID_ARGS,     WARDEN_ERROR_INVALID_HANDLE,   WARDEN_ERROR_NO_SUCH_CONTAINER,
                WARDEN_ERROR_CONTAINER_EXISTS, WARDEN_ERROR_ROOTFS_NOT_FOUND, WARDEN_ERROR_BIND_MOUNT_SOURCE,
                WARDEN_ERROR_POOL_EXHAUSTED,   WARDEN_ERROR_INVALID_STATE,
        };

        if (!name)
                return false;
        if (!f->root && streq(name, SD_BUS_ERROR_ACCESS_DENIED))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
                if (streq(name, allowed[i]))
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        Input in = { .p = data, .n = size };
        Fixture *f = fixture_get();
        const char *path = WARDEN_MANAGER_PATH, *iface = WARDEN_MANAGER_INTERFACE, *member;
        unsigned n_fds;
        int mode, r;

        n_fds = count_fds();
        mode = take_u8(&in) % 6;
        if (mode == 5)
                member = (const char *[]){ "Create", "Spawn", "Run" }[take_u8(&in) % 3];
        else
                member = (const char *[]){ "Create", "Spawn", "Run", "Spawn", "Run" }[mode];
        if (mode == 3 || mode == 4) {
                path = WARDEN_CONTAINER_PREFIX "/box";
                iface = WARDEN_CONTAINER_INTERFACE;
        }
        if (sd_bus_message_new_method_call(f->client, &m, NULL, path, iface, member) < 0)
                abort();

        if (mode == 5) {
                _cleanup_free_ char *sig = take_string(&in);

                /* a body of zero or more complete types */
                if (strlen(sig) > 64 || append_sequence(m, &in, sig, strlen(sig), 0, f) < 0)
                        return 0;
        } else {
                if (mode == 1 || mode == 2) {
                        _cleanup_free_ char *handle =
                                take_u8(&in) >= 0xc0 ? take_string(&in) : strdup("box");

                        if (!handle || sd_bus_message_append_basic(m, 's', handle) < 0)
                                return 0;
                }
                if (mode != 0 && append_argv(m, &in) < 0)
                        return 0;
                if (append_options(m, &in, f) < 0)
                        return 0; /* not a message a client can send */
        }

        r = bus_pair_call(f->server, f->client, m, &reply, &e);
        if (r >= 0 || r == -ETIMEDOUT || !error_allowed(f, e.name)) {
                fprintf(stderr,
                        "%s: r=%d %s: %s\n",
                        member,
                        r,
                        r >= 0 ? "(a reply)" : strna(e.name),
                        strna(e.message));
                abort();
        }
        sd_bus_message_unref(reply);
        if (f->verbose)
                fprintf(stderr, "  %s: %s: %s\n", member, e.name, strna(e.message));

        /* nothing left behind */
        if (hashmap_size(f->manager.containers) != 1 ||
            manager_get_container(&f->manager, "box") != f->box || f->box->state != CONTAINER_STOPPED ||
            f->box->n_jobs != 0 || f->box->job_runtime || !pool_intact(f) || f->manager.n_operations != 0)
                abort();
        sd_bus_message_unref(TAKE_PTR(m)); /* the client's copy of the call, with its descriptors */
        if (count_fds() != n_fds)
                abort();
        return 0;
}
