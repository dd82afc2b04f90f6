/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "macro.h"
#include "strv.h"
#include "wshd-proto.h"

/* Duplicates of known scalar fields are tracked in a 64-bit mask. */
_Static_assert(WSHD_FIELD_EXITED < 64, "too many known fields for the duplicate mask");

#define FIELD_BIT(tag) (UINT64_C(1) << (tag))
/* Fields that may appear once; the repeated ones (argv, env, groups, rlimit, fd_role, running, exited) and
 * unknown tags (a newer peer's tag may be a repeated one) are not checked. */
#define SCALAR_FIELDS                                                                                     \
        (FIELD_BIT(WSHD_FIELD_VERSION) | FIELD_BIT(WSHD_FIELD_PID) | FIELD_BIT(WSHD_FIELD_N_PROCESSES) |  \
         FIELD_BIT(WSHD_FIELD_TIMEOUT_MS) | FIELD_BIT(WSHD_FIELD_ERROR) | FIELD_BIT(WSHD_FIELD_MESSAGE) | \
         FIELD_BIT(WSHD_FIELD_DIR) | FIELD_BIT(WSHD_FIELD_UID) | FIELD_BIT(WSHD_FIELD_GID) |              \
         FIELD_BIT(WSHD_FIELD_TTY) | FIELD_BIT(WSHD_FIELD_JOB_ID) | FIELD_BIT(WSHD_FIELD_WAIT_STATUS) |   \
         FIELD_BIT(WSHD_FIELD_SIGNAL))

#define ALIGN4(x) (((x) + 3U) & ~(size_t) 3U)

#define RLIMIT_FIELD_SIZE 24U
#define TTY_FIELD_SIZE 8U
#define EXITED_FIELD_SIZE 12U
#define SIGNAL_MAX 64U

/* Messages up to this size are received into a buffer on the stack; larger ones get one of their size. */
#define RECV_STACK_SIZE 4096U

static void put_u16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
        p[2] = (uint8_t) (v >> 16);
        p[3] = (uint8_t) (v >> 24);
}

static void put_u64(uint8_t *p, uint64_t v) {
        put_u32(p, (uint32_t) v);
        put_u32(p + 4, (uint32_t) (v >> 32));
}

static uint16_t get_u16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p) {
        return (uint64_t) get_u32(p) | (uint64_t) get_u32(p + 4) << 32;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF, and no NUL (the decoded string is
 * handed to C code that would silently cut it there). */
static bool utf8_valid(const uint8_t *s, size_t n) {
        size_t i = 0;

        while (i < n) {
                uint8_t c = s[i];
                uint32_t cp;
                size_t len;

                if (c == 0)
                        return false;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF) {
                        len = 2;
                        cp = c & 0x1F;
                } else if (c >= 0xE0 && c <= 0xEF) {
                        len = 3;
                        cp = c & 0x0F;
                } else if (c >= 0xF0 && c <= 0xF4) {
                        len = 4;
                        cp = c & 0x07;
                } else
                        return false;

                if (n - i < len)
                        return false;
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3F);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                i += len;
        }
        return true;
}

void wshd_message_init(WshdMessage *m, uint16_t type, uint32_t serial) {
        assert(m);

        *m = (WshdMessage){
                .type = type,
                .serial = serial,
        };
        for (size_t i = 0; i < WSHD_FDS_MAX; i++)
                m->fds[i] = -1;
}

void wshd_message_done(WshdMessage *m) {
        if (!m)
                return;

        m->message = mfree(m->message);
        m->argv = strv_free(m->argv);
        m->env = strv_free(m->env);
        m->dir = mfree(m->dir);
        m->groups = mfree(m->groups);
        m->n_groups = 0;
        m->rlimits = mfree(m->rlimits);
        m->n_rlimits = 0;
        m->running = mfree(m->running);
        m->n_running = 0;
        m->exited = mfree(m->exited);
        m->n_exited = 0;
        for (size_t i = 0; i < WSHD_FDS_MAX; i++) {
                (void) safe_close(m->fds[i]);
                m->fds[i] = -1;
        }
        m->n_fds = 0;
}

bool wshd_env_valid(const char *s) {
        /* "K=V": the name is non-empty and, being everything before the first '=', has no '=' in it. */
        return s && s[0] != '=' && strchr(s, '=');
}

/* What both sides check beyond the wire format; the encoder answers -EINVAL/-E2BIG, the decoder -EBADMSG.
 * Strings are checked for UTF-8 separately (the decoder does it on the bytes). */
static int message_check(const WshdMessage *m) {
        size_t n_argv = strv_length(m->argv), n_env = strv_length(m->env);

        if (n_argv > WSHD_ARGV_MAX || n_env > WSHD_ARGV_MAX || m->n_groups > WSHD_GROUPS_MAX ||
            m->n_rlimits > WSHD_RLIMITS_MAX || m->n_running > WSHD_JOBS_MAX || m->n_exited > WSHD_JOBS_MAX)
                return -E2BIG;
        if (m->n_fd_roles > WSHD_FDS_MAX)
                return -EINVAL;
        if ((m->n_groups > 0 && !m->groups) || (m->n_rlimits > 0 && !m->rlimits) ||
            (m->n_running > 0 && !m->running) || (m->n_exited > 0 && !m->exited))
                return -EINVAL;

        STRV_FOREACH(e, m->env)
                if (!wshd_env_valid(*e))
                        return -EINVAL;
        if (m->dir && m->dir[0] != '/')
                return -EINVAL;
        if (m->signal > SIGNAL_MAX)
                return -EINVAL;
        for (size_t i = 0; i < m->n_fd_roles; i++)
                if (m->fd_roles[i] >= _WSHD_FD_ROLE_MAX)
                        return -EINVAL;

        if (m->type == WSHD_REQUEST_SPAWN && n_argv == 0)
                return -EINVAL;
        if (m->type == WSHD_REQUEST_SIGNAL && m->signal == 0)
                return -EINVAL;
        return 0;
}

/* Unset (zero) integers and NULL strings are left out: the decoder reads an absent field as 0/NULL, so the
 * result is the same and messages stay short. Elements of lists are always written, zero or not. */
typedef struct Writer {
        uint8_t *buf; /* NULL while only measuring */
        size_t size;
} Writer;

static void writer_field(Writer *w, uint16_t tag, const void *data, size_t size) {
        if (w->buf) {
                put_u16(w->buf + w->size, tag);
                put_u16(w->buf + w->size + 2, 0);
                put_u32(w->buf + w->size + 4, (uint32_t) size);
                if (size > 0)
                        memcpy(w->buf + w->size + WSHD_FIELD_HEADER_SIZE, data, size);
                /* padding stays zero: the buffer comes from calloc() */
        }
        w->size += WSHD_FIELD_HEADER_SIZE + ALIGN4(size);
}

static void writer_u32_always(Writer *w, uint16_t tag, uint32_t v) {
        uint8_t b[4];

        put_u32(b, v);
        writer_field(w, tag, b, sizeof(b));
}

static void writer_u32(Writer *w, uint16_t tag, uint32_t v) {
        if (v != 0)
                writer_u32_always(w, tag, v);
}

static void writer_string(Writer *w, uint16_t tag, const char *s) {
        if (!s)
                return;
        writer_field(w, tag, s, strlen(s));
}

static void write_fields(Writer *w, const WshdMessage *m) {
        bool spawn = m->type == WSHD_REQUEST_SPAWN;

        writer_u32(w, WSHD_FIELD_VERSION, m->version);
        writer_u32(w, WSHD_FIELD_PID, m->pid);
        writer_u32(w, WSHD_FIELD_N_PROCESSES, m->n_processes);
        writer_u32(w, WSHD_FIELD_TIMEOUT_MS, m->timeout_ms);
        writer_u32(w, WSHD_FIELD_ERROR, (uint32_t) m->error);
        writer_string(w, WSHD_FIELD_MESSAGE, m->message);

        STRV_FOREACH(a, m->argv)
                writer_string(w, WSHD_FIELD_ARGV, *a);
        STRV_FOREACH(e, m->env)
                writer_string(w, WSHD_FIELD_ENV, *e);
        writer_string(w, WSHD_FIELD_DIR, m->dir);
        /* SPAWN requires both: a forgotten uid must not silently mean root. */
        if (spawn) {
                writer_u32_always(w, WSHD_FIELD_UID, m->uid);
                writer_u32_always(w, WSHD_FIELD_GID, m->gid);
        } else {
                writer_u32(w, WSHD_FIELD_UID, m->uid);
                writer_u32(w, WSHD_FIELD_GID, m->gid);
        }
        for (size_t i = 0; i < m->n_groups; i++)
                writer_u32_always(w, WSHD_FIELD_GROUPS, m->groups[i]);
        for (size_t i = 0; i < m->n_rlimits; i++) {
                uint8_t b[RLIMIT_FIELD_SIZE] = {};

                put_u32(b, m->rlimits[i].resource);
                put_u64(b + 8, m->rlimits[i].soft);
                put_u64(b + 16, m->rlimits[i].hard);
                writer_field(w, WSHD_FIELD_RLIMIT, b, sizeof(b));
        }
        if (m->tty) {
                uint8_t b[TTY_FIELD_SIZE];

                put_u32(b, m->tty_rows);
                put_u32(b + 4, m->tty_cols);
                writer_field(w, WSHD_FIELD_TTY, b, sizeof(b));
        }
        writer_u32(w, WSHD_FIELD_JOB_ID, m->job_id);
        if (m->type == WSHD_EVENT_EXIT)
                writer_u32_always(w, WSHD_FIELD_WAIT_STATUS, m->wait_status);
        else
                writer_u32(w, WSHD_FIELD_WAIT_STATUS, m->wait_status);
        writer_u32(w, WSHD_FIELD_SIGNAL, m->signal);
        for (size_t i = 0; i < m->n_fd_roles; i++)
                writer_u32_always(w, WSHD_FIELD_FD_ROLE, m->fd_roles[i]);
        for (size_t i = 0; i < m->n_running; i++)
                writer_u32_always(w, WSHD_FIELD_RUNNING, m->running[i]);
        for (size_t i = 0; i < m->n_exited; i++) {
                uint8_t b[EXITED_FIELD_SIZE];

                put_u32(b, m->exited[i].job_id);
                put_u32(b + 4, m->exited[i].pid);
                put_u32(b + 8, m->exited[i].wait_status);
                writer_field(w, WSHD_FIELD_EXITED, b, sizeof(b));
        }
}

/* A string the peer would accept; its length is checked before measuring so that the size arithmetic
 * cannot overflow (the number of strings is limited by message_check()). */
static int check_string(const char *s) {
        size_t n;

        if (!s)
                return 0;
        n = strlen(s);
        if (n > WSHD_MESSAGE_MAX)
                return -E2BIG;
        if (!utf8_valid((const uint8_t *) s, n))
                return -EINVAL;
        return 0;
}

int wshd_message_encode(const WshdMessage *m, void **ret_buf, size_t *ret_size) {
        Writer w = { .size = WSHD_HEADER_SIZE };
        int r;

        assert(m);
        assert(ret_buf);
        assert(ret_size);

        r = message_check(m);
        if (r < 0)
                return r;
        r = check_string(m->message);
        if (r < 0)
                return r;
        r = check_string(m->dir);
        if (r < 0)
                return r;
        STRV_FOREACH(a, m->argv) {
                r = check_string(*a);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(e, m->env) {
                r = check_string(*e);
                if (r < 0)
                        return r;
        }

        /* First pass measures, second pass writes. */
        write_fields(&w, m);
        if (w.size > WSHD_MESSAGE_MAX)
                return -E2BIG;

        _cleanup_free_ uint8_t *buf = calloc(1, w.size);
        if (!buf)
                return -ENOMEM;

        put_u32(buf, (uint32_t) w.size);
        put_u16(buf + 4, WSHD_PROTOCOL_VERSION);
        put_u16(buf + 6, m->type);
        put_u32(buf + 8, m->serial);

        w = (Writer){ .buf = buf, .size = WSHD_HEADER_SIZE };
        write_fields(&w, m);

        *ret_size = w.size;
        *ret_buf = TAKE_PTR(buf);
        return 0;
}

static int field_u32(const uint8_t *data, uint32_t size, uint32_t *ret) {
        if (size != 4)
                return -EBADMSG;
        *ret = get_u32(data);
        return 0;
}

static int field_string(const uint8_t *data, uint32_t size, char **ret) {
        char *s;

        if (!utf8_valid(data, size))
                return -EBADMSG;
        s = malloc((size_t) size + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, data, size);
        s[size] = 0;
        *ret = s;
        return 0;
}

/* Room for one more element of a list of *n (capacity *cap, max elements at most); -EBADMSG beyond max. */
static int list_grow(void **list, size_t *cap, size_t n, size_t max, size_t element_size, size_t extra) {
        size_t c;
        void *p;

        if (n >= max)
                return -EBADMSG;
        if (n + extra < *cap)
                return 0;
        c = *cap == 0 ? 4 : *cap * 2;
        p = realloc(*list, c * element_size);
        if (!p)
                return -ENOMEM;
        *list = p;
        *cap = c;
        return 0;
}

static int field_strv(const uint8_t *data, uint32_t size, char ***list, size_t *n, size_t *cap) {
        char *s = NULL;
        int r;

        /* one slot more for the terminating NULL */
        r = list_grow((void **) list, cap, *n, WSHD_ARGV_MAX, sizeof(char *), 1);
        if (r < 0)
                return r;
        (*list)[*n] = NULL; /* terminated even if the string below is refused */
        r = field_string(data, size, &s);
        if (r < 0)
                return r;
        (*list)[(*n)++] = s;
        (*list)[*n] = NULL;
        return 0;
}

int wshd_message_decode(const void *buf, size_t size, WshdMessage *ret) {
        const uint8_t *p = buf;
        size_t cap_argv = 0, cap_env = 0, cap_groups = 0, cap_rlimits = 0, cap_running = 0, cap_exited = 0;
        size_t n_argv = 0, n_env = 0;
        uint64_t seen = 0;
        uint32_t u;
        size_t offset;
        int r;

        assert(buf || size == 0);
        assert(ret);

        /* The length field must agree with the datagram, and fields are 4-byte aligned, so a well-formed
         * message is always a multiple of 4 long. */
        if (size < WSHD_HEADER_SIZE || size > WSHD_MESSAGE_MAX || size % 4 != 0)
                return -EBADMSG;
        if (get_u32(p) != size)
                return -EBADMSG;
        if (get_u16(p + 4) != WSHD_PROTOCOL_VERSION)
                return -EPROTO;

        _cleanup_(wshd_message_done) WshdMessage m;
        wshd_message_init(&m, get_u16(p + 6), get_u32(p + 8));
        if (m.type == 0)
                return -EBADMSG;

        offset = WSHD_HEADER_SIZE;
        while (offset < size) {
                size_t left = size - offset;
                uint16_t tag;
                uint32_t fsize;
                const uint8_t *data;

                if (left < WSHD_FIELD_HEADER_SIZE)
                        return -EBADMSG;
                tag = get_u16(p + offset);
                if (tag == 0 || get_u16(p + offset + 2) != 0)
                        return -EBADMSG;
                fsize = get_u32(p + offset + 4);
                left -= WSHD_FIELD_HEADER_SIZE;
                /* Compare before aligning, so that a size near UINT32_MAX cannot wrap around. */
                if (fsize > left || ALIGN4((size_t) fsize) > left)
                        return -EBADMSG;
                data = p + offset + WSHD_FIELD_HEADER_SIZE;
                for (size_t i = fsize; i < ALIGN4((size_t) fsize); i++)
                        if (data[i] != 0)
                                return -EBADMSG;
                offset += WSHD_FIELD_HEADER_SIZE + ALIGN4((size_t) fsize);

                if (tag < 64) {
                        uint64_t bit = FIELD_BIT(tag);

                        if ((seen & bit) && (SCALAR_FIELDS & bit))
                                return -EBADMSG;
                        seen |= bit;
                }

                switch (tag) {
                case WSHD_FIELD_VERSION:
                        r = field_u32(data, fsize, &m.version);
                        break;
                case WSHD_FIELD_PID:
                        r = field_u32(data, fsize, &m.pid);
                        break;
                case WSHD_FIELD_N_PROCESSES:
                        r = field_u32(data, fsize, &m.n_processes);
                        break;
                case WSHD_FIELD_TIMEOUT_MS:
                        r = field_u32(data, fsize, &m.timeout_ms);
                        break;
                case WSHD_FIELD_ERROR:
                        r = field_u32(data, fsize, &u);
                        if (r >= 0)
                                m.error = (int32_t) u;
                        break;
                case WSHD_FIELD_MESSAGE:
                        r = field_string(data, fsize, &m.message);
                        break;
                case WSHD_FIELD_ARGV:
                        r = field_strv(data, fsize, &m.argv, &n_argv, &cap_argv);
                        break;
                case WSHD_FIELD_ENV:
                        r = field_strv(data, fsize, &m.env, &n_env, &cap_env);
                        break;
                case WSHD_FIELD_DIR:
                        r = field_string(data, fsize, &m.dir);
                        break;
                case WSHD_FIELD_UID:
                        r = field_u32(data, fsize, &m.uid);
                        break;
                case WSHD_FIELD_GID:
                        r = field_u32(data, fsize, &m.gid);
                        break;
                case WSHD_FIELD_GROUPS:
                        r = field_u32(data, fsize, &u);
                        if (r < 0)
                                break;
                        r = list_grow(
                                (void **) &m.groups,
                                &cap_groups,
                                m.n_groups,
                                WSHD_GROUPS_MAX,
                                sizeof(uint32_t),
                                0);
                        if (r >= 0)
                                m.groups[m.n_groups++] = u;
                        break;
                case WSHD_FIELD_RLIMIT:
                        if (fsize != RLIMIT_FIELD_SIZE || get_u32(data + 4) != 0) {
                                r = -EBADMSG;
                                break;
                        }
                        r = list_grow(
                                (void **) &m.rlimits,
                                &cap_rlimits,
                                m.n_rlimits,
                                WSHD_RLIMITS_MAX,
                                sizeof(WshdRlimit),
                                0);
                        if (r >= 0)
                                m.rlimits[m.n_rlimits++] = (WshdRlimit){
                                        .resource = get_u32(data),
                                        .soft = get_u64(data + 8),
                                        .hard = get_u64(data + 16),
                                };
                        break;
                case WSHD_FIELD_TTY:
                        if (fsize != TTY_FIELD_SIZE) {
                                r = -EBADMSG;
                                break;
                        }
                        m.tty = true;
                        m.tty_rows = get_u32(data);
                        m.tty_cols = get_u32(data + 4);
                        r = 0;
                        break;
                case WSHD_FIELD_JOB_ID:
                        r = field_u32(data, fsize, &m.job_id);
                        break;
                case WSHD_FIELD_WAIT_STATUS:
                        r = field_u32(data, fsize, &m.wait_status);
                        break;
                case WSHD_FIELD_SIGNAL:
                        r = field_u32(data, fsize, &m.signal);
                        if (r >= 0 && (m.signal == 0 || m.signal > SIGNAL_MAX))
                                r = -EBADMSG;
                        break;
                case WSHD_FIELD_FD_ROLE:
                        r = field_u32(data, fsize, &u);
                        if (r < 0)
                                break;
                        if (m.n_fd_roles >= WSHD_FDS_MAX || u >= _WSHD_FD_ROLE_MAX) {
                                r = -EBADMSG;
                                break;
                        }
                        m.fd_roles[m.n_fd_roles++] = u;
                        break;
                case WSHD_FIELD_RUNNING:
                        r = field_u32(data, fsize, &u);
                        if (r < 0)
                                break;
                        r = list_grow(
                                (void **) &m.running,
                                &cap_running,
                                m.n_running,
                                WSHD_JOBS_MAX,
                                sizeof(uint32_t),
                                0);
                        if (r >= 0)
                                m.running[m.n_running++] = u;
                        break;
                case WSHD_FIELD_EXITED:
                        if (fsize != EXITED_FIELD_SIZE) {
                                r = -EBADMSG;
                                break;
                        }
                        r = list_grow(
                                (void **) &m.exited,
                                &cap_exited,
                                m.n_exited,
                                WSHD_JOBS_MAX,
                                sizeof(WshdExited),
                                0);
                        if (r >= 0)
                                m.exited[m.n_exited++] = (WshdExited){
                                        .job_id = get_u32(data),
                                        .pid = get_u32(data + 4),
                                        .wait_status = get_u32(data + 8),
                                };
                        break;
                default:
                        /* A newer peer's field: skip it. */
                        r = 0;
                }
                if (r < 0)
                        return r;
        }

        if (m.type == WSHD_REQUEST_SPAWN &&
            (seen & (FIELD_BIT(WSHD_FIELD_UID) | FIELD_BIT(WSHD_FIELD_GID))) !=
                    (FIELD_BIT(WSHD_FIELD_UID) | FIELD_BIT(WSHD_FIELD_GID)))
                return -EBADMSG;
        if (m.type == WSHD_EVENT_EXIT && !(seen & FIELD_BIT(WSHD_FIELD_WAIT_STATUS)))
                return -EBADMSG;
        if (message_check(&m) < 0)
                return -EBADMSG;

        *ret = m;
        /* now owned by *ret */
        wshd_message_init(&m, 0, 0);
        return 0;
}

static bool strv_equal(char **a, char **b) {
        size_t i;

        for (i = 0; a && a[i]; i++)
                if (!b || !b[i] || !streq(a[i], b[i]))
                        return false;
        return !b || !b[i];
}

bool wshd_message_equal(const WshdMessage *a, const WshdMessage *b) {
        assert(a);
        assert(b);

        if (a->type != b->type || a->serial != b->serial || a->version != b->version || a->pid != b->pid ||
            a->n_processes != b->n_processes || a->timeout_ms != b->timeout_ms || a->error != b->error ||
            a->job_id != b->job_id || a->uid != b->uid || a->gid != b->gid || a->tty != b->tty ||
            a->tty_rows != b->tty_rows || a->tty_cols != b->tty_cols || a->wait_status != b->wait_status ||
            a->signal != b->signal)
                return false;
        if (!streq_ptr(a->message, b->message) || !streq_ptr(a->dir, b->dir) ||
            !strv_equal(a->argv, b->argv) || !strv_equal(a->env, b->env))
                return false;
        if (a->n_groups != b->n_groups || a->n_rlimits != b->n_rlimits || a->n_fd_roles != b->n_fd_roles ||
            a->n_running != b->n_running || a->n_exited != b->n_exited)
                return false;
        for (size_t i = 0; i < a->n_groups; i++)
                if (a->groups[i] != b->groups[i])
                        return false;
        for (size_t i = 0; i < a->n_rlimits; i++)
                if (a->rlimits[i].resource != b->rlimits[i].resource ||
                    a->rlimits[i].soft != b->rlimits[i].soft || a->rlimits[i].hard != b->rlimits[i].hard)
                        return false;
        for (size_t i = 0; i < a->n_fd_roles; i++)
                if (a->fd_roles[i] != b->fd_roles[i])
                        return false;
        for (size_t i = 0; i < a->n_running; i++)
                if (a->running[i] != b->running[i])
                        return false;
        for (size_t i = 0; i < a->n_exited; i++)
                if (a->exited[i].job_id != b->exited[i].job_id || a->exited[i].pid != b->exited[i].pid ||
                    a->exited[i].wait_status != b->exited[i].wait_status)
                        return false;
        return true;
}

int wshd_message_send_buffer(int fd, const void *buf, size_t size, const int *fds, size_t n_fds) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * WSHD_FDS_MAX)];
        } control = {};
        struct iovec iov = {
                .iov_base = (void *) buf,
                .iov_len = size,
        };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
        };
        ssize_t n;

        assert(fds || n_fds == 0);
        assert(fd >= 0);
        assert(buf);

        if (n_fds > WSHD_FDS_MAX)
                return -EINVAL;
        if (n_fds > 0) {
                struct cmsghdr *cmsg;

                for (size_t i = 0; i < n_fds; i++)
                        if (fds[i] < 0)
                                return -EBADF;

                mh.msg_control = &control;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                cmsg = CMSG_FIRSTHDR(&mh);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n_fds);
        }

        do
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        /* A seqpacket socket sends all or nothing; anything else means the fd is not one. */
        if ((size_t) n != size)
                return -EIO;
        return 0;
}

int wshd_message_send(int fd, const WshdMessage *m) {
        _cleanup_free_ void *buf = NULL;
        size_t size;
        int r;

        assert(m);

        r = wshd_message_encode(m, &buf, &size);
        if (r < 0)
                return r;
        return wshd_message_send_buffer(fd, buf, size, m->fds, m->n_fds);
}

static void close_many(int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                fds[i] = safe_close(fds[i]);
}

int wshd_message_recv(int fd, WshdMessage *ret) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int) * WSHD_FDS_MAX)];
        } control = {};
        uint8_t stack[RECV_STACK_SIZE];
        _cleanup_free_ void *heap = NULL;
        int fds[WSHD_FDS_MAX];
        size_t n_fds = 0, buf_size = sizeof(stack);
        void *buf = stack;
        ssize_t n;
        int r;

        assert(fd >= 0);
        assert(ret);

        /* Learn the size of the next datagram first (MSG_TRUNC makes recv() return its full length), so
         * that the common small message needs no allocation and a large one only what it needs. Only one
         * reader per socket is assumed: nobody can take the datagram between the peek and the read. */
        do
                n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t) n > sizeof(stack)) {
                /* Larger than any message: read into the stack buffer anyway, which consumes the
                 * datagram and reports MSG_TRUNC below. */
                if ((size_t) n <= WSHD_MESSAGE_MAX) {
                        heap = malloc((size_t) n);
                        if (!heap)
                                return -ENOMEM;
                        buf = heap;
                        buf_size = (size_t) n;
                }
        }

        struct iovec iov = {
                .iov_base = buf,
                .iov_len = buf_size,
        };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };

        do
                n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;

        /* Take every fd that arrived before looking at anything else, so that no error path leaks one into
         * this process. */
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg)) {
                size_t k;

                if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
                        continue;
                if (cmsg->cmsg_len < CMSG_LEN(0))
                        continue;
                k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int f;

                        memcpy(&f, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
                        if (n_fds < WSHD_FDS_MAX)
                                fds[n_fds++] = f;
                        else
                                (void) close(f);
                }
        }

        if (n == 0) {
                close_many(fds, n_fds);
                return -ECONNRESET;
        }
        if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
                close_many(fds, n_fds);
                return -EBADMSG;
        }

        r = wshd_message_decode(buf, (size_t) n, ret);
        if (r < 0) {
                close_many(fds, n_fds);
                return r;
        }

        memcpy(ret->fds, fds, sizeof(int) * n_fds);
        ret->n_fds = n_fds;
        return 0;
}
