/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "macro.h"
#include "tests.h"
#include "wshd-proto.h"

/* Raw message builder, so that the tests can write what the encoder never would. */
typedef struct Raw {
        uint8_t b[WSHD_MESSAGE_MAX + 64];
        size_t n;
} Raw;

static void raw_u16(Raw *r, uint16_t v) {
        r->b[r->n++] = (uint8_t) v;
        r->b[r->n++] = (uint8_t) (v >> 8);
}

static void raw_u32(Raw *r, uint32_t v) {
        raw_u16(r, (uint16_t) v);
        raw_u16(r, (uint16_t) (v >> 16));
}

static void raw_header(Raw *r, uint16_t version, uint16_t type, uint32_t serial) {
        r->n = 0;
        raw_u32(r, 0); /* fixed by raw_finish() */
        raw_u16(r, version);
        raw_u16(r, type);
        raw_u32(r, serial);
}

static void raw_field(Raw *r, uint16_t tag, const void *data, uint32_t size) {
        raw_u16(r, tag);
        raw_u16(r, 0);
        raw_u32(r, size);
        memcpy(r->b + r->n, data, size);
        r->n += size;
        while (r->n % 4 != 0)
                r->b[r->n++] = 0;
}

static void raw_field_u32(Raw *r, uint16_t tag, uint32_t v) {
        uint8_t d[4] = { (uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24) };

        raw_field(r, tag, d, 4);
}

static void raw_set_length(Raw *r, uint32_t len) {
        r->b[0] = (uint8_t) len;
        r->b[1] = (uint8_t) (len >> 8);
        r->b[2] = (uint8_t) (len >> 16);
        r->b[3] = (uint8_t) (len >> 24);
}

static void raw_finish(Raw *r) {
        raw_set_length(r, (uint32_t) r->n);
}

static int raw_decode(const Raw *r) {
        WshdMessage m;
        int k;

        k = wshd_message_decode(r->b, r->n, &m);
        if (k >= 0)
                wshd_message_done(&m);
        return k;
}

static void roundtrip(const WshdMessage *in, WshdMessage *out) {
        _cleanup_free_ void *buf = NULL;
        size_t size = 0;

        ASSERT_OK(wshd_message_encode(in, &buf, &size));
        ASSERT_TRUE(size >= WSHD_HEADER_SIZE);
        ASSERT_EQ(size % 4, 0);
        ASSERT_OK(wshd_message_decode(buf, size, out));
        ASSERT_EQ(out->type, in->type);
        ASSERT_EQ(out->serial, in->serial);
        ASSERT_EQ(out->version, in->version);
        ASSERT_EQ(out->pid, in->pid);
        ASSERT_EQ(out->n_processes, in->n_processes);
        ASSERT_EQ(out->timeout_ms, in->timeout_ms);
        ASSERT_EQ(out->error, in->error);
        if (in->message)
                ASSERT_STREQ(out->message, in->message);
        else
                ASSERT_NULL(out->message);
        ASSERT_EQ(out->n_fds, 0);
        for (size_t i = 0; i < WSHD_FDS_MAX; i++)
                ASSERT_EQ(out->fds[i], -1);
}

TEST(roundtrip_every_type) {
        WshdMessage in, out;

        wshd_message_init(&in, WSHD_REQUEST_HELLO, 1);
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REQUEST_STOP, 2);
        in.timeout_ms = 10000;
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REQUEST_STOP, 3);
        in.timeout_ms = 0;
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REPLY_OK, UINT32_MAX);
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REPLY_ERROR, 5);
        in.error = EOPNOTSUPP;
        in.message = (char *) "Unknown request type 77 – ünïcödé 🐳";
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REPLY_ERROR, 6);
        in.error = -1;
        in.message = (char *) "";
        roundtrip(&in, &out);
        ASSERT_STREQ(out.message, "");
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REPLY_HELLO, 7);
        in.version = WSHD_PROTOCOL_VERSION;
        in.pid = 4194304;
        in.n_processes = 12;
        roundtrip(&in, &out);
        wshd_message_done(&out);

        /* every field at once, and a type this side does not know (the server answers those) */
        wshd_message_init(&in, 9999, 8);
        in.version = UINT32_MAX;
        in.pid = 1;
        in.n_processes = 2;
        in.timeout_ms = 3;
        in.error = INT32_MIN;
        in.message = (char *) "abc";
        roundtrip(&in, &out);
        wshd_message_done(&out);
}

TEST(encode_limits) {
        _cleanup_free_ char *big = malloc(WSHD_MESSAGE_MAX + 1);
        _cleanup_free_ void *buf = NULL;
        WshdMessage m;
        size_t size;

        ASSERT_NOT_NULL(big);
        wshd_message_init(&m, WSHD_REPLY_ERROR, 1);

        memset(big, 'x', WSHD_MESSAGE_MAX);
        big[WSHD_MESSAGE_MAX] = 0;
        m.message = big;
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), E2BIG);

        /* the largest string that fits, and one byte more */
        big[WSHD_MESSAGE_MAX - WSHD_HEADER_SIZE - WSHD_FIELD_HEADER_SIZE] = 0;
        ASSERT_OK(wshd_message_encode(&m, &buf, &size));
        ASSERT_EQ(size, WSHD_MESSAGE_MAX);
        buf = mfree(buf);
        big[WSHD_MESSAGE_MAX - WSHD_HEADER_SIZE - WSHD_FIELD_HEADER_SIZE] = 'x';
        big[WSHD_MESSAGE_MAX - WSHD_HEADER_SIZE - WSHD_FIELD_HEADER_SIZE + 1] = 0;
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), E2BIG);

        m.message = (char *) "\xc0\x80";
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);
        ASSERT_NULL(buf);
}

TEST(truncated_at_every_offset) {
        _cleanup_free_ uint8_t *buf = NULL;
        WshdMessage m, out;
        size_t size;

        wshd_message_init(&m, WSHD_REPLY_HELLO, 42);
        m.version = 1;
        m.pid = 1234;
        m.n_processes = 5;
        m.error = 3;
        m.message = (char *) "hello world";
        ASSERT_OK(wshd_message_encode(&m, (void **) &buf, &size));

        for (size_t n = 0; n < size; n++) {
                _cleanup_free_ uint8_t *copy = malloc(n ?: 1);

                /* A copy of exactly n bytes, so that ASan sees any read past the end. */
                memcpy(copy, buf, n);
                ASSERT_ERROR(wshd_message_decode(copy, n, &out), EBADMSG);

                /* Also with a length field that agrees: then the field parser must catch it, except where
                 * the cut falls exactly between two fields, which is a valid shorter message. */
                if (n >= 4) {
                        int r;

                        copy[0] = (uint8_t) n;
                        copy[1] = (uint8_t) (n >> 8);
                        copy[2] = copy[3] = 0;
                        r = wshd_message_decode(copy, n, &out);
                        if (r >= 0) {
                                ASSERT_TRUE(n >= WSHD_HEADER_SIZE);
                                ASSERT_EQ(n % 4, 0);
                                ASSERT_EQ(out.serial, 42);
                                wshd_message_done(&out);
                        } else
                                ASSERT_EQ(r, -EBADMSG);
                }
        }
        ASSERT_OK(wshd_message_decode(buf, size, &out));
        wshd_message_done(&out);
}

TEST(bad_header) {
        Raw *r = calloc(1, sizeof(Raw));
        _cleanup_free_ uint8_t *zeros = calloc(1, WSHD_MESSAGE_MAX);
        WshdMessage out;

        ASSERT_NOT_NULL(r);
        ASSERT_NOT_NULL(zeros);
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_HELLO, 1);
        raw_finish(r);
        ASSERT_OK(raw_decode(r));

        /* length field disagrees with the datagram */
        raw_set_length(r, (uint32_t) r->n + 4);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_set_length(r, (uint32_t) r->n - 4);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_set_length(r, 0);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_set_length(r, UINT32_MAX);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* not a multiple of 4 */
        r->n = WSHD_HEADER_SIZE + 2;
        r->b[12] = r->b[13] = 0;
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* another version */
        raw_header(r, WSHD_PROTOCOL_VERSION + 1, WSHD_REQUEST_HELLO, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EPROTO);
        raw_header(r, 0, WSHD_REQUEST_HELLO, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EPROTO);
        raw_header(r, 0xFFFF, WSHD_REQUEST_HELLO, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EPROTO);

        /* type 0 */
        raw_header(r, WSHD_PROTOCOL_VERSION, 0, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* larger than the maximum, even if self-consistent */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_HELLO, 1);
        raw_field(r, 200, zeros, WSHD_MESSAGE_MAX - WSHD_HEADER_SIZE - WSHD_FIELD_HEADER_SIZE);
        raw_finish(r);
        ASSERT_EQ(r->n, WSHD_MESSAGE_MAX);
        ASSERT_OK(raw_decode(r));
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_HELLO, 1);
        raw_field(r, 200, zeros, WSHD_MESSAGE_MAX - WSHD_HEADER_SIZE - WSHD_FIELD_HEADER_SIZE + 4);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        ASSERT_ERROR(wshd_message_decode(r->b, SIZE_MAX, &out), EBADMSG);

        /* nothing at all */
        ASSERT_ERROR(wshd_message_decode("", 0, &out), EBADMSG);
        free(r);
}

TEST(bad_fields) {
        static const struct {
                const char *s;
                uint32_t n;
        } bad_strings[] = {
                { "a\0b", 3 },             /* embedded NUL */
                { "abc\0", 4 },            /* trailing NUL */
                { "\xff", 1 },             /* never valid */
                { "\xc0\x80", 2 },         /* overlong NUL */
                { "\xe0\x80\xaf", 3 },     /* overlong '/' */
                { "\xed\xa0\x80", 3 },     /* surrogate */
                { "\xf4\x90\x80\x80", 4 }, /* above U+10FFFF */
                { "\xe2\x82", 2 },         /* cut short */
                { "x\x80", 2 },            /* stray continuation byte */
        };
        Raw *r = calloc(1, sizeof(Raw));
        WshdMessage out;
        uint8_t eight[8] = {};

        ASSERT_NOT_NULL(r);

        for (size_t i = 0; i < ELEMENTSOF(bad_strings); i++) {
                raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REPLY_ERROR, 1);
                raw_field(r, WSHD_FIELD_MESSAGE, bad_strings[i].s, bad_strings[i].n);
                raw_finish(r);
                ASSERT_ERROR(raw_decode(r), EBADMSG);
        }

        /* a good one, to show that the builder is right */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REPLY_ERROR, 1);
        raw_field(r, WSHD_FIELD_MESSAGE, "\xe2\x82\xac", 3);
        raw_field_u32(r, WSHD_FIELD_ERROR, 5);
        raw_finish(r);
        ASSERT_OK(wshd_message_decode(r->b, r->n, &out));
        ASSERT_STREQ(out.message, "€");
        ASSERT_EQ(out.error, 5);
        wshd_message_done(&out);

        /* integers of the wrong size */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_STOP, 1);
        raw_field(r, WSHD_FIELD_TIMEOUT_MS, eight, 3);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_STOP, 1);
        raw_field(r, WSHD_FIELD_TIMEOUT_MS, eight, 8);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_STOP, 1);
        raw_field(r, WSHD_FIELD_PID, eight, 0);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* a known field twice */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_STOP, 1);
        raw_field_u32(r, WSHD_FIELD_TIMEOUT_MS, 1);
        raw_field_u32(r, WSHD_FIELD_TIMEOUT_MS, 2);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* tag 0 */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_STOP, 1);
        raw_field_u32(r, 0, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* reserved not 0 */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_STOP, 1);
        raw_field_u32(r, WSHD_FIELD_TIMEOUT_MS, 1);
        r->b[WSHD_HEADER_SIZE + 2] = 1;
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* padding not 0 */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REPLY_ERROR, 1);
        raw_field(r, WSHD_FIELD_MESSAGE, "ab", 2);
        r->b[r->n - 1] = 'c';
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* a field header cut short (4 bytes where 8 are needed) */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_STOP, 1);
        raw_u16(r, WSHD_FIELD_TIMEOUT_MS);
        raw_u16(r, 0);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* field sizes that run past the end, including ones that would wrap when aligned */
        static const uint32_t sizes[] = { 5, 8, 100, 0x7FFFFFFF, 0xFFFFFFFC, 0xFFFFFFFD, 0xFFFFFFFF };
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REPLY_ERROR, 1);
                raw_u16(r, WSHD_FIELD_MESSAGE);
                raw_u16(r, 0);
                raw_u32(r, sizes[i]);
                raw_u32(r, 0x61616161);
                raw_finish(r);
                ASSERT_ERROR(raw_decode(r), EBADMSG);
                /* the same with an unknown tag, which is skipped by size */
                r->b[WSHD_HEADER_SIZE] = 250;
                ASSERT_ERROR(raw_decode(r), EBADMSG);
        }
        /* exactly to the end: fine (3 bytes + 1 padding) */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REPLY_ERROR, 1);
        raw_field(r, WSHD_FIELD_MESSAGE, "aaa", 3);
        raw_finish(r);
        ASSERT_OK(raw_decode(r));

        free(r);
}

TEST(unknown_fields_skipped) {
        Raw *r = calloc(1, sizeof(Raw));
        WshdMessage out;

        ASSERT_NOT_NULL(r);
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REPLY_HELLO, 9);
        raw_field(r, 16, "argv0", 5); /* a future repeated field: must not count as duplicate */
        raw_field(r, 16, "argv1", 5);
        raw_field_u32(r, WSHD_FIELD_PID, 77);
        raw_field(r, 0xFFFF, "", 0);
        raw_field(r, 63, "\xff\xfe", 2); /* not UTF-8, but nobody looks at it */
        raw_field_u32(r, WSHD_FIELD_N_PROCESSES, 3);
        raw_finish(r);
        ASSERT_OK(wshd_message_decode(r->b, r->n, &out));
        ASSERT_EQ(out.type, WSHD_REPLY_HELLO);
        ASSERT_EQ(out.serial, 9);
        ASSERT_EQ(out.pid, 77);
        ASSERT_EQ(out.n_processes, 3);
        ASSERT_EQ(out.version, 0);
        ASSERT_NULL(out.message);
        wshd_message_done(&out);
        free(r);
}

TEST(random_mutations) {
        _cleanup_free_ uint8_t *orig = NULL;
        WshdMessage m, out;
        size_t size;
        uint32_t seed = 12345;
        unsigned ok = 0, bad = 0;

        wshd_message_init(&m, WSHD_REPLY_ERROR, 3);
        m.error = 22;
        m.pid = 99;
        m.message = (char *) "mutate me, mutate me";
        ASSERT_OK(wshd_message_encode(&m, (void **) &orig, &size));

        for (unsigned i = 0; i < 20000; i++) {
                _cleanup_free_ uint8_t *copy = malloc(size);
                unsigned flips = 1 + i % 4;
                size_t n = size;
                int r;

                memcpy(copy, orig, size);
                for (unsigned k = 0; k < flips; k++) {
                        seed = seed * 1103515245 + 12345;
                        copy[(seed >> 8) % size] ^= (uint8_t) (1u << ((seed >> 4) % 8));
                }
                if (i % 3 == 0) {
                        seed = seed * 1103515245 + 12345;
                        n = (seed >> 8) % (size + 1);
                }
                r = wshd_message_decode(copy, n, &out);
                if (r >= 0) {
                        _cleanup_free_ void *again = NULL;
                        size_t again_size;

                        /* whatever decodes must encode again */
                        ASSERT_OK(wshd_message_encode(&out, &again, &again_size));
                        wshd_message_done(&out);
                        ok++;
                } else {
                        ASSERT_TRUE(r == -EBADMSG || r == -EPROTO);
                        bad++;
                }
        }
        ASSERT_TRUE(bad > 0);
        ASSERT_TRUE(ok > 0);
}

static unsigned count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        ASSERT_NOT_NULL(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

TEST(send_recv_with_fds) {
        int sp[2], p[2];
        WshdMessage m, out;
        char c = 0;

        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp));
        ASSERT_OK(pipe2(p, O_CLOEXEC));

        wshd_message_init(&m, WSHD_REPLY_OK, 5);
        m.message = (char *) "take this";
        m.fds[0] = p[1];
        m.fds[1] = p[1];
        m.n_fds = 2;
        ASSERT_OK(wshd_message_send(sp[0], &m));

        ASSERT_OK(wshd_message_recv(sp[1], &out));
        ASSERT_EQ(out.type, WSHD_REPLY_OK);
        ASSERT_EQ(out.serial, 5);
        ASSERT_STREQ(out.message, "take this");
        ASSERT_EQ(out.n_fds, 2);
        ASSERT_TRUE(out.fds[0] >= 0 && out.fds[0] != p[1]);
        ASSERT_TRUE(out.fds[1] >= 0);
        ASSERT_EQ(out.fds[2], -1);
        ASSERT_TRUE(fcntl(out.fds[0], F_GETFD) & FD_CLOEXEC);
        ASSERT_EQ(write(out.fds[0], "x", 1), 1);
        ASSERT_EQ(read(p[0], &c, 1), 1);
        ASSERT_EQ(c, 'x');
        wshd_message_done(&out);
        ASSERT_EQ(out.fds[0], -1);

        /* too many fds to send */
        m.n_fds = WSHD_FDS_MAX + 1;
        ASSERT_ERROR(wshd_message_send(sp[0], &m), EINVAL);
        m.n_fds = 1;
        m.fds[0] = -1;
        ASSERT_ERROR(wshd_message_send(sp[0], &m), EBADF);

        close(p[0]);
        close(p[1]);
        close(sp[0]);
        close(sp[1]);
}

TEST(recv_errors_close_fds) {
        int sp[2];
        WshdMessage out;
        unsigned before;
        int fds[WSHD_FDS_MAX + 1];
        union {
                struct cmsghdr h;
                uint8_t buf[CMSG_SPACE(sizeof(int) * (WSHD_FDS_MAX + 1))];
        } control = {};
        struct iovec iov;
        struct msghdr mh = {};
        struct cmsghdr *cmsg;
        _cleanup_free_ uint8_t *big = calloc(1, WSHD_MESSAGE_MAX + 100);
        WshdMessage hello;

        ASSERT_NOT_NULL(big);
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp));
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = sp[0];

        ASSERT_ERROR(wshd_message_recv(sp[1], &out), EAGAIN);

        before = count_fds();

        /* garbage with an fd */
        ASSERT_OK(wshd_message_send_buffer(sp[0], "garbage!", 8, fds, 1));
        ASSERT_ERROR(wshd_message_recv(sp[1], &out), EBADMSG);
        ASSERT_EQ(count_fds(), before);

        /* another version with fds */
        {
                Raw *r = calloc(1, sizeof(Raw));

                ASSERT_NOT_NULL(r);
                raw_header(r, 7, WSHD_REQUEST_HELLO, 1);
                raw_finish(r);
                ASSERT_OK(wshd_message_send_buffer(sp[0], r->b, r->n, fds, 3));
                ASSERT_ERROR(wshd_message_recv(sp[1], &out), EPROTO);
                ASSERT_EQ(count_fds(), before);
                free(r);
        }

        /* more fds than fit: the control data is cut (MSG_CTRUNC) */
        iov = (struct iovec){ .iov_base = big, .iov_len = WSHD_HEADER_SIZE };
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = &control;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (WSHD_FDS_MAX + 1));
        cmsg = CMSG_FIRSTHDR(&mh);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * (WSHD_FDS_MAX + 1));
        memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
        wshd_message_init(&hello, WSHD_REQUEST_HELLO, 1);
        {
                _cleanup_free_ void *b = NULL;
                size_t bs;

                ASSERT_OK(wshd_message_encode(&hello, &b, &bs));
                memcpy(big, b, bs);
                iov.iov_len = bs;
        }
        ASSERT_EQ(sendmsg(sp[0], &mh, 0), (ssize_t) iov.iov_len);
        ASSERT_ERROR(wshd_message_recv(sp[1], &out), EBADMSG);
        ASSERT_EQ(count_fds(), before);

        /* a datagram larger than any message (MSG_TRUNC) */
        ASSERT_OK(wshd_message_send_buffer(sp[0], big, WSHD_MESSAGE_MAX + 100, fds, 2));
        ASSERT_ERROR(wshd_message_recv(sp[1], &out), EBADMSG);
        ASSERT_EQ(count_fds(), before);

        /* the socket is still usable afterwards */
        ASSERT_OK(wshd_message_send(sp[0], &hello));
        ASSERT_OK(wshd_message_recv(sp[1], &out));
        ASSERT_EQ(out.type, WSHD_REQUEST_HELLO);
        wshd_message_done(&out);

        /* EOF */
        close(sp[0]);
        ASSERT_ERROR(wshd_message_recv(sp[1], &out), ECONNRESET);
        close(sp[1]);

        /* a peer that is gone: EPIPE, not SIGPIPE */
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp));
        close(sp[1]);
        ASSERT_ERROR(wshd_message_send(sp[0], &hello), EPIPE);
        close(sp[0]);
}
