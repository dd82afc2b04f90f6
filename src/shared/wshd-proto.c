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
#include "wshd-proto.h"

/* Duplicates of known fields are tracked in a 64-bit mask. */
_Static_assert(WSHD_FIELD_MESSAGE < 64, "too many known fields for the duplicate mask");

#define ALIGN4(x) (((x) + 3U) & ~(size_t) 3U)

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

static uint16_t get_u16(const uint8_t *p) {
        return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t get_u32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
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
        for (size_t i = 0; i < WSHD_FDS_MAX; i++) {
                (void) safe_close(m->fds[i]);
                m->fds[i] = -1;
        }
        m->n_fds = 0;
}

/* Unset (zero) integers and NULL strings are left out: the decoder reads an absent field as 0/NULL, so the
 * result is the same and messages stay short. */
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

static void writer_u32(Writer *w, uint16_t tag, uint32_t v) {
        uint8_t b[4];

        if (v == 0)
                return;
        put_u32(b, v);
        writer_field(w, tag, b, sizeof(b));
}

static void writer_string(Writer *w, uint16_t tag, const char *s) {
        if (!s)
                return;
        writer_field(w, tag, s, strlen(s));
}

static void write_fields(Writer *w, const WshdMessage *m) {
        writer_u32(w, WSHD_FIELD_VERSION, m->version);
        writer_u32(w, WSHD_FIELD_PID, m->pid);
        writer_u32(w, WSHD_FIELD_N_PROCESSES, m->n_processes);
        writer_u32(w, WSHD_FIELD_TIMEOUT_MS, m->timeout_ms);
        writer_u32(w, WSHD_FIELD_ERROR, (uint32_t) m->error);
        writer_string(w, WSHD_FIELD_MESSAGE, m->message);
}

int wshd_message_encode(const WshdMessage *m, void **ret_buf, size_t *ret_size) {
        Writer w = { .size = WSHD_HEADER_SIZE };

        assert(m);
        assert(ret_buf);
        assert(ret_size);

        if (m->message) {
                size_t n = strlen(m->message);

                /* Checked before measuring so that the size arithmetic below cannot overflow. */
                if (n > WSHD_MESSAGE_MAX)
                        return -E2BIG;
                if (!utf8_valid((const uint8_t *) m->message, n))
                        return -EINVAL;
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

int wshd_message_decode(const void *buf, size_t size, WshdMessage *ret) {
        const uint8_t *p = buf;
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

                /* Every field known so far is a scalar, which may appear once. Unknown tags are not
                 * checked: a newer peer's tag may be a repeated one. */
                if (tag <= WSHD_FIELD_MESSAGE) {
                        uint64_t bit = UINT64_C(1) << tag;

                        if (seen & bit)
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
                default:
                        /* A newer peer's field: skip it. */
                        r = 0;
                }
                if (r < 0)
                        return r;
        }

        *ret = m;
        m.message = NULL; /* now owned by *ret */
        return 0;
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
        int fds[WSHD_FDS_MAX];
        size_t n_fds = 0;
        ssize_t n;
        int r;

        assert(fd >= 0);
        assert(ret);

        _cleanup_free_ void *buf = malloc(WSHD_MESSAGE_MAX);
        if (!buf)
                return -ENOMEM;

        struct iovec iov = {
                .iov_base = buf,
                .iov_len = WSHD_MESSAGE_MAX,
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
