/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "macro.h"
#include "strv.h"
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
        ASSERT_TRUE(wshd_message_equal(in, out));
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
        raw_field(r, 40, "argv0", 5); /* a future repeated field: must not count as duplicate */
        raw_field(r, 40, "argv1", 5);
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

/* ---- jobs ------------------------------------------------------------------------------------------- */

static char *argv_true[] = { (char *) "/bin/true", NULL };

/* A full SPAWN: every field it can carry, with zeros where zeros matter (uid/gid 0, group 0, fd role 0). */
static void spawn_full(WshdMessage *m) {
        static char *argv[] = {
                (char *) "/bin/sh", (char *) "-c", (char *) "echo ü; exit 3", (char *) "", NULL
        };
        static char *env[] = { (char *) "PATH=/usr/bin:/bin", (char *) "EMPTY=", (char *) "X==y", NULL };
        static uint32_t groups[] = { 0, 5, UINT32_MAX };
        static WshdRlimit rlimits[] = {
                { .resource = 7, .soft = 64, .hard = 128 },
                { .resource = 3, .soft = UINT64_MAX, .hard = UINT64_MAX },
        };

        wshd_message_init(m, WSHD_REQUEST_SPAWN, 77);
        m->job_id = 12;
        m->argv = argv;
        m->env = env;
        m->dir = (char *) "/tmp/dir";
        m->uid = 0;
        m->gid = 0;
        m->groups = groups;
        m->n_groups = ELEMENTSOF(groups);
        m->rlimits = rlimits;
        m->n_rlimits = ELEMENTSOF(rlimits);
        m->tty = true;
        m->tty_rows = 24;
        m->tty_cols = 0;
        m->fd_roles[0] = WSHD_FD_STDIN;
        m->fd_roles[1] = WSHD_FD_STDOUT;
        m->fd_roles[2] = WSHD_FD_STDERR;
        m->n_fd_roles = 3;
}

/* Counts the fields with 'tag' in an encoded message. */
static unsigned count_tag(const uint8_t *buf, size_t size, uint16_t tag) {
        unsigned n = 0;

        for (size_t o = WSHD_HEADER_SIZE; o < size;) {
                uint32_t fsize = (uint32_t) buf[o + 4] | (uint32_t) buf[o + 5] << 8 |
                                 (uint32_t) buf[o + 6] << 16 | (uint32_t) buf[o + 7] << 24;

                if ((uint16_t) (buf[o] | buf[o + 1] << 8) == tag)
                        n++;
                o += WSHD_FIELD_HEADER_SIZE + ((fsize + 3) & ~3U);
        }
        return n;
}

TEST(roundtrip_jobs) {
        WshdMessage in, out;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size;

        spawn_full(&in);
        roundtrip(&in, &out);
        ASSERT_EQ(strv_length(out.argv), 4);
        ASSERT_STREQ(out.argv[2], "echo ü; exit 3");
        ASSERT_STREQ(out.argv[3], "");
        ASSERT_NULL(out.argv[4]);
        ASSERT_STREQ(out.env[2], "X==y");
        ASSERT_STREQ(out.dir, "/tmp/dir");
        ASSERT_EQ(out.n_groups, 3);
        ASSERT_EQ(out.groups[0], 0);
        ASSERT_EQ(out.groups[2], UINT32_MAX);
        ASSERT_EQ(out.n_rlimits, 2);
        ASSERT_EQ(out.rlimits[1].soft, UINT64_MAX);
        ASSERT_EQ(out.rlimits[0].hard, 128);
        ASSERT_TRUE(out.tty);
        ASSERT_EQ(out.tty_rows, 24);
        ASSERT_EQ(out.n_fd_roles, 3);
        ASSERT_EQ(out.fd_roles[0], WSHD_FD_STDIN);
        wshd_message_done(&out);

        /* uid and gid are written for SPAWN even when 0; elsewhere a 0 is left out */
        ASSERT_OK(wshd_message_encode(&in, (void **) &buf, &size));
        ASSERT_EQ(count_tag(buf, size, WSHD_FIELD_UID), 1);
        ASSERT_EQ(count_tag(buf, size, WSHD_FIELD_GID), 1);
        ASSERT_EQ(count_tag(buf, size, WSHD_FIELD_GROUPS), 3);
        ASSERT_EQ(count_tag(buf, size, WSHD_FIELD_FD_ROLE), 3);
        buf = mfree(buf);

        /* the smallest SPAWN: argv, uid, gid; no tty */
        wshd_message_init(&in, WSHD_REQUEST_SPAWN, 1);
        in.argv = argv_true;
        in.uid = 10001;
        in.gid = 10001;
        roundtrip(&in, &out);
        ASSERT_FALSE(out.tty);
        ASSERT_NULL(out.env);
        ASSERT_NULL(out.dir);
        ASSERT_NULL(out.groups);
        ASSERT_EQ(out.uid, 10001);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REQUEST_SIGNAL, 2);
        in.job_id = 5;
        in.signal = 64;
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REQUEST_RESIZE, 3);
        in.job_id = 5;
        in.tty = true;
        in.tty_rows = 50;
        in.tty_cols = 132;
        roundtrip(&in, &out);
        ASSERT_EQ(out.tty_cols, 132);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REQUEST_WATCH, 4);
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REQUEST_RELEASE, 5);
        in.job_id = UINT32_MAX;
        roundtrip(&in, &out);
        wshd_message_done(&out);

        wshd_message_init(&in, WSHD_REPLY_SPAWN, 6);
        in.job_id = 0x80000001;
        in.pid = 2;
        roundtrip(&in, &out);
        wshd_message_done(&out);

        {
                uint32_t *running = calloc(WSHD_JOBS_MAX, sizeof(uint32_t));
                WshdExited *exited = calloc(WSHD_JOBS_MAX, sizeof(WshdExited));

                ASSERT_NOT_NULL(running);
                ASSERT_NOT_NULL(exited);
                for (uint32_t i = 0; i < WSHD_JOBS_MAX; i++) {
                        running[i] = i;
                        exited[i] = (WshdExited){ .job_id = i + 1, .pid = i * 3, .wait_status = i << 8 };
                }
                /* both lists at their maximum fit a message */
                wshd_message_init(&in, WSHD_REPLY_WATCH, 7);
                in.running = running;
                in.n_running = WSHD_JOBS_MAX;
                in.exited = exited;
                in.n_exited = WSHD_JOBS_MAX;
                roundtrip(&in, &out);
                ASSERT_EQ(out.n_running, WSHD_JOBS_MAX);
                ASSERT_EQ(out.running[0], 0);
                ASSERT_EQ(out.exited[WSHD_JOBS_MAX - 1].wait_status, (WSHD_JOBS_MAX - 1) << 8);
                wshd_message_done(&out);

                /* one more each: E2BIG */
                in.n_running = WSHD_JOBS_MAX + 1;
                ASSERT_ERROR(wshd_message_encode(&in, (void **) &buf, &size), E2BIG);
                free(running);
                free(exited);
        }

        /* an empty watch reply */
        wshd_message_init(&in, WSHD_REPLY_WATCH, 8);
        roundtrip(&in, &out);
        ASSERT_EQ(out.n_running, 0);
        ASSERT_NULL(out.running);
        wshd_message_done(&out);

        /* an exit with status 0 still carries the field */
        wshd_message_init(&in, WSHD_EVENT_EXIT, 0);
        in.job_id = 3;
        in.pid = 99;
        in.wait_status = 0;
        roundtrip(&in, &out);
        wshd_message_done(&out);
        ASSERT_OK(wshd_message_encode(&in, (void **) &buf, &size));
        ASSERT_EQ(count_tag(buf, size, WSHD_FIELD_WAIT_STATUS), 1);
        buf = mfree(buf);
        in.wait_status = 9; /* SIGKILL */
        roundtrip(&in, &out);
        wshd_message_done(&out);
}

TEST(done_frees_everything) {
        WshdMessage in, out;

        /* (run under valgrind/ASan: nothing may leak) */
        spawn_full(&in);
        roundtrip(&in, &out);
        wshd_message_done(&out);
        ASSERT_NULL(out.argv);
        ASSERT_NULL(out.env);
        ASSERT_NULL(out.dir);
        ASSERT_NULL(out.groups);
        ASSERT_NULL(out.rlimits);
        ASSERT_EQ(out.n_groups, 0);
        wshd_message_done(&out); /* twice is fine */
}

TEST(encode_refuses_jobs) {
        _cleanup_free_ void *buf = NULL;
        WshdMessage m;
        size_t size;

        /* SPAWN without argv */
        wshd_message_init(&m, WSHD_REQUEST_SPAWN, 1);
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);

        static const char *const bad_env[] = { "=x", "noequals", "", "=" };
        for (size_t i = 0; i < ELEMENTSOF(bad_env); i++) {
                char *env[] = { (char *) "A=b", (char *) bad_env[i], NULL };

                spawn_full(&m);
                m.env = env;
                ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);
        }

        spawn_full(&m);
        m.dir = (char *) "relative/dir";
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);
        m.dir = (char *) "";
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);

        spawn_full(&m);
        m.fd_roles[1] = _WSHD_FD_ROLE_MAX;
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);
        spawn_full(&m);
        m.n_fd_roles = WSHD_FDS_MAX + 1;
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);

        {
                char *argv[] = { (char *) "ok", (char *) "\xff", NULL };

                spawn_full(&m);
                m.argv = argv;
                ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);
        }

        wshd_message_init(&m, WSHD_REQUEST_SIGNAL, 1);
        m.job_id = 1;
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL); /* no signal */
        m.signal = 65;
        ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL);
        m.signal = 1;
        ASSERT_OK(wshd_message_encode(&m, &buf, &size));
        buf = mfree(buf);

        /* more entries than allowed */
        {
                _cleanup_free_ char **argv = calloc(WSHD_ARGV_MAX + 2, sizeof(char *));
                uint32_t groups[WSHD_GROUPS_MAX + 1] = {};
                WshdRlimit rlimits[WSHD_RLIMITS_MAX + 1] = {};

                ASSERT_NOT_NULL(argv);
                for (size_t i = 0; i < WSHD_ARGV_MAX + 1; i++)
                        argv[i] = (char *) "a";
                spawn_full(&m);
                m.argv = argv;
                ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), E2BIG);
                argv[WSHD_ARGV_MAX] = NULL; /* exactly the maximum fits */
                ASSERT_OK(wshd_message_encode(&m, &buf, &size));
                buf = mfree(buf);
                m.env = argv;
                m.argv = argv_true;
                ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), EINVAL); /* "a" is not K=V */

                spawn_full(&m);
                m.groups = groups;
                m.n_groups = WSHD_GROUPS_MAX + 1;
                ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), E2BIG);
                m.n_groups = WSHD_GROUPS_MAX;
                ASSERT_OK(wshd_message_encode(&m, &buf, &size));
                buf = mfree(buf);

                spawn_full(&m);
                m.rlimits = rlimits;
                m.n_rlimits = WSHD_RLIMITS_MAX + 1;
                ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), E2BIG);
        }

        /* argv that does not fit one message */
        {
                _cleanup_free_ char *big = malloc(40000);
                char *argv[] = { big, big, big, big, NULL };

                ASSERT_NOT_NULL(big);
                memset(big, 'a', 39999);
                big[39999] = 0;
                spawn_full(&m);
                m.argv = argv;
                ASSERT_ERROR(wshd_message_encode(&m, &buf, &size), E2BIG);
                argv[3] = NULL;
                ASSERT_OK(wshd_message_encode(&m, &buf, &size));
        }
}

/* A raw SPAWN that decodes, to be spoilt by the tests below. */
static void raw_spawn(Raw *r, bool uid, bool gid, bool argv) {
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_SPAWN, 1);
        if (argv)
                raw_field(r, WSHD_FIELD_ARGV, "true", 4);
        if (uid)
                raw_field_u32(r, WSHD_FIELD_UID, 0);
        if (gid)
                raw_field_u32(r, WSHD_FIELD_GID, 0);
}

TEST(decode_refuses_jobs) {
        Raw *r = calloc(1, sizeof(Raw));
        uint8_t b24[24] = {};
        WshdMessage out;

        ASSERT_NOT_NULL(r);

        raw_spawn(r, true, true, true);
        raw_finish(r);
        ASSERT_OK(wshd_message_decode(r->b, r->n, &out));
        ASSERT_EQ(out.uid, 0);
        ASSERT_STREQ(out.argv[0], "true");
        wshd_message_done(&out);

        /* uid, gid or argv missing */
        raw_spawn(r, false, true, true);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_spawn(r, true, false, true);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_spawn(r, true, true, false);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        /* ... which only SPAWN needs */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_RELEASE, 1);
        raw_field_u32(r, WSHD_FIELD_JOB_ID, 3);
        raw_finish(r);
        ASSERT_OK(raw_decode(r));

        /* every scalar twice */
        static const uint16_t scalars[] = { WSHD_FIELD_DIR,    WSHD_FIELD_UID,
                                            WSHD_FIELD_GID,    WSHD_FIELD_TTY,
                                            WSHD_FIELD_JOB_ID, WSHD_FIELD_WAIT_STATUS,
                                            WSHD_FIELD_SIGNAL, WSHD_FIELD_N_PROCESSES,
                                            WSHD_FIELD_MESSAGE };
        for (size_t i = 0; i < ELEMENTSOF(scalars); i++) {
                const char *dir = "/a";

                for (unsigned twice = 0; twice < 2; twice++) {
                        raw_spawn(r, scalars[i] != WSHD_FIELD_UID, scalars[i] != WSHD_FIELD_GID, true);
                        for (unsigned k = 0; k <= twice; k++)
                                if (scalars[i] == WSHD_FIELD_DIR || scalars[i] == WSHD_FIELD_MESSAGE)
                                        raw_field(r, scalars[i], dir, 2);
                                else if (scalars[i] == WSHD_FIELD_TTY)
                                        raw_field(r, scalars[i], b24, 8);
                                else
                                        raw_field_u32(r, scalars[i], 1);
                        raw_finish(r);
                        if (twice)
                                ASSERT_ERROR(raw_decode(r), EBADMSG);
                        else
                                ASSERT_OK(raw_decode(r));
                }
        }

        /* repeated fields may repeat */
        raw_spawn(r, true, true, true);
        raw_field(r, WSHD_FIELD_ARGV, "x", 1);
        raw_field(r, WSHD_FIELD_ENV, "A=1", 3);
        raw_field(r, WSHD_FIELD_ENV, "A=2", 3);
        raw_field_u32(r, WSHD_FIELD_GROUPS, 1);
        raw_field_u32(r, WSHD_FIELD_GROUPS, 1);
        raw_field(r, WSHD_FIELD_RLIMIT, b24, 24);
        raw_field(r, WSHD_FIELD_RLIMIT, b24, 24);
        raw_field_u32(r, WSHD_FIELD_FD_ROLE, 0);
        raw_field_u32(r, WSHD_FIELD_FD_ROLE, 0);
        raw_field_u32(r, WSHD_FIELD_RUNNING, 1);
        raw_field_u32(r, WSHD_FIELD_RUNNING, 1);
        raw_field(r, WSHD_FIELD_EXITED, b24, 12);
        raw_field(r, WSHD_FIELD_EXITED, b24, 12);
        raw_finish(r);
        ASSERT_OK(wshd_message_decode(r->b, r->n, &out));
        ASSERT_EQ(strv_length(out.argv), 2);
        ASSERT_EQ(strv_length(out.env), 2);
        ASSERT_EQ(out.n_groups, 2);
        ASSERT_EQ(out.n_rlimits, 2);
        ASSERT_EQ(out.n_fd_roles, 2);
        ASSERT_EQ(out.n_running, 2);
        ASSERT_EQ(out.n_exited, 2);
        wshd_message_done(&out);

        /* env entries that are not K=V */
        static const char *const bad_env[] = { "=x", "noequals", "", "=" };
        for (size_t i = 0; i < ELEMENTSOF(bad_env); i++) {
                raw_spawn(r, true, true, true);
                raw_field(r, WSHD_FIELD_ENV, bad_env[i], (uint32_t) strlen(bad_env[i]));
                raw_finish(r);
                ASSERT_ERROR(raw_decode(r), EBADMSG);
        }
        /* strings in lists are UTF-8 too */
        raw_spawn(r, true, true, true);
        raw_field(r, WSHD_FIELD_ARGV, "a\0b", 3);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_spawn(r, true, true, true);
        raw_field(r, WSHD_FIELD_ENV, "A=\xc0\x80", 4);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* relative dir */
        raw_spawn(r, true, true, true);
        raw_field(r, WSHD_FIELD_DIR, "tmp", 3);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* fd roles: out of range, more than fds can be passed */
        raw_spawn(r, true, true, true);
        raw_field_u32(r, WSHD_FIELD_FD_ROLE, _WSHD_FD_ROLE_MAX);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_spawn(r, true, true, true);
        for (unsigned i = 0; i <= WSHD_FDS_MAX; i++)
                raw_field_u32(r, WSHD_FIELD_FD_ROLE, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* signal out of range, or missing in SIGNAL */
        static const uint32_t bad_signals[] = { 0, 65, UINT32_MAX };
        for (size_t i = 0; i < ELEMENTSOF(bad_signals); i++) {
                raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_SIGNAL, 1);
                raw_field_u32(r, WSHD_FIELD_JOB_ID, 1);
                raw_field_u32(r, WSHD_FIELD_SIGNAL, bad_signals[i]);
                raw_finish(r);
                ASSERT_ERROR(raw_decode(r), EBADMSG);
        }
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_REQUEST_SIGNAL, 1);
        raw_field_u32(r, WSHD_FIELD_JOB_ID, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* an exit without its status */
        raw_header(r, WSHD_PROTOCOL_VERSION, WSHD_EVENT_EXIT, 0);
        raw_field_u32(r, WSHD_FIELD_JOB_ID, 1);
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);
        raw_field_u32(r, WSHD_FIELD_WAIT_STATUS, 0);
        raw_finish(r);
        ASSERT_OK(raw_decode(r));

        /* fields of the wrong size */
        static const struct {
                uint16_t tag;
                uint32_t size;
        } bad_sizes[] = {
                { WSHD_FIELD_RLIMIT, 16 },     { WSHD_FIELD_RLIMIT, 20 }, { WSHD_FIELD_RLIMIT, 0 },
                { WSHD_FIELD_TTY, 4 },         { WSHD_FIELD_TTY, 12 },    { WSHD_FIELD_TTY, 0 },
                { WSHD_FIELD_EXITED, 8 },      { WSHD_FIELD_EXITED, 16 }, { WSHD_FIELD_GROUPS, 8 },
                { WSHD_FIELD_RUNNING, 2 },     { WSHD_FIELD_FD_ROLE, 0 }, { WSHD_FIELD_JOB_ID, 8 },
                { WSHD_FIELD_WAIT_STATUS, 3 }, { WSHD_FIELD_SIGNAL, 1 },  { WSHD_FIELD_UID, 2 },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad_sizes); i++) {
                raw_spawn(r, bad_sizes[i].tag != WSHD_FIELD_UID, true, true);
                raw_field(r, bad_sizes[i].tag, b24, bad_sizes[i].size);
                raw_finish(r);
                ASSERT_ERROR(raw_decode(r), EBADMSG);
        }
        /* the reserved word of a rlimit is 0 */
        raw_spawn(r, true, true, true);
        b24[4] = 1;
        raw_field(r, WSHD_FIELD_RLIMIT, b24, 24);
        b24[4] = 0;
        raw_finish(r);
        ASSERT_ERROR(raw_decode(r), EBADMSG);

        /* too many entries */
        static const struct {
                uint16_t tag;
                uint32_t max;
                uint32_t size;
        } lists[] = {
                { WSHD_FIELD_ARGV, WSHD_ARGV_MAX, 1 },     { WSHD_FIELD_ENV, WSHD_ARGV_MAX, 3 },
                { WSHD_FIELD_GROUPS, WSHD_GROUPS_MAX, 4 }, { WSHD_FIELD_RLIMIT, WSHD_RLIMITS_MAX, 24 },
                { WSHD_FIELD_RUNNING, WSHD_JOBS_MAX, 4 },  { WSHD_FIELD_EXITED, WSHD_JOBS_MAX, 12 },
        };
        for (size_t i = 0; i < ELEMENTSOF(lists); i++)
                for (uint32_t extra = 0; extra < 2; extra++) {
                        const char *data = lists[i].tag == WSHD_FIELD_ENV ? "A=b" : "a\0\0\0";

                        raw_spawn(r, true, true, lists[i].tag != WSHD_FIELD_ARGV);
                        for (uint32_t k = 0; k < lists[i].max + extra; k++)
                                raw_field(
                                        r,
                                        lists[i].tag,
                                        lists[i].size == 24 || lists[i].size == 12 ? (const void *) b24
                                                                                   : data,
                                        lists[i].size);
                        raw_finish(r);
                        if (extra)
                                ASSERT_ERROR(raw_decode(r), EBADMSG);
                        else
                                ASSERT_OK(raw_decode(r));
                }

        free(r);
}

TEST(truncated_spawn) {
        _cleanup_free_ uint8_t *buf = NULL;
        WshdMessage m, out;
        size_t size;

        spawn_full(&m);
        ASSERT_OK(wshd_message_encode(&m, (void **) &buf, &size));
        for (size_t n = 0; n < size; n++) {
                _cleanup_free_ uint8_t *copy = malloc(n ?: 1);
                int r;

                memcpy(copy, buf, n);
                ASSERT_ERROR(wshd_message_decode(copy, n, &out), EBADMSG);
                if (n < 4)
                        continue;
                /* a consistent length: valid only where the cut falls between two fields, and then it is
                 * a shorter message that still has argv, uid and gid (they come first) */
                copy[0] = (uint8_t) n;
                copy[1] = (uint8_t) (n >> 8);
                copy[2] = copy[3] = 0;
                r = wshd_message_decode(copy, n, &out);
                if (r >= 0) {
                        ASSERT_NOT_NULL(out.argv);
                        wshd_message_done(&out);
                } else
                        ASSERT_EQ(r, -EBADMSG);
        }
}

TEST(random_mutations_spawn) {
        _cleanup_free_ uint8_t *orig = NULL;
        WshdMessage m, out;
        size_t size;
        uint32_t seed = 4242;
        unsigned ok = 0, bad = 0;

        spawn_full(&m);
        ASSERT_OK(wshd_message_encode(&m, (void **) &orig, &size));

        for (unsigned i = 0; i < 20000; i++) {
                _cleanup_free_ uint8_t *copy = malloc(size);
                unsigned flips = 1 + i % 3;
                int r;

                memcpy(copy, orig, size);
                for (unsigned k = 0; k < flips; k++) {
                        seed = seed * 1103515245 + 12345;
                        copy[(seed >> 8) % size] ^= (uint8_t) (1u << ((seed >> 4) % 8));
                }
                r = wshd_message_decode(copy, size, &out);
                if (r >= 0) {
                        _cleanup_free_ void *again = NULL;
                        size_t again_size;
                        WshdMessage out2;

                        /* whatever decodes encodes again, to the same message */
                        ASSERT_OK(wshd_message_encode(&out, &again, &again_size));
                        ASSERT_TRUE(again_size <= size);
                        ASSERT_OK(wshd_message_decode(again, again_size, &out2));
                        ASSERT_TRUE(wshd_message_equal(&out, &out2));
                        wshd_message_done(&out2);
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

TEST(send_recv_sizes) {
        _cleanup_free_ char *big = malloc(100000);
        char *argv[] = { (char *) "x", big, NULL };
        int sp[2];
        WshdMessage m, out;

        ASSERT_NOT_NULL(big);
        memset(big, 'b', 99999);
        big[99999] = 0;
        ASSERT_OK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp));

        /* small (the stack buffer), large (allocated), exactly at the edge, and small again */
        for (size_t len = 0; len < 5; len++) {
                size_t cut[] = { 10,
                                 99999,
                                 4096 - WSHD_HEADER_SIZE - 3 * WSHD_FIELD_HEADER_SIZE - 8 - 4,
                                 4096 - WSHD_HEADER_SIZE - 3 * WSHD_FIELD_HEADER_SIZE - 8 - 3,
                                 1 };

                memset(big, 'b', 99999);
                big[cut[len]] = 0;
                wshd_message_init(&m, WSHD_REQUEST_SPAWN, (uint32_t) len);
                m.argv = argv;
                ASSERT_OK(wshd_message_send(sp[0], &m));
                ASSERT_OK(wshd_message_recv(sp[1], &out));
                ASSERT_EQ(out.serial, len);
                ASSERT_EQ(strlen(out.argv[1]), cut[len]);
                ASSERT_TRUE(wshd_message_equal(&m, &out));
                wshd_message_done(&out);
        }
        close(sp[0]);
        close(sp[1]);
}

/* The seed corpus of the fuzz target is written by hand in Python (tests/fuzz/make-corpus-wshd-proto.py)
 * after the header: its messages decode, or not, as their names say. */
TEST(corpus_agrees) {
        const char *root = getenv("WARDEN_SOURCE_ROOT");
        char dir[4096];
        struct dirent *de;
        unsigned good = 0, bad = 0;
        DIR *d;

        if (!root)
                tests_skip("WARDEN_SOURCE_ROOT is not set");
        (void) snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/wshd-proto", root);
        d = opendir(dir);
        ASSERT_NOT_NULL(d);
        while ((de = readdir(d))) {
                _cleanup_free_ uint8_t *buf = malloc(WSHD_MESSAGE_MAX + 1);
                char path[8192];
                WshdMessage m;
                ssize_t n;
                int fd, r;

                if (de->d_name[0] == '.' || startswith(de->d_name, "crash-"))
                        continue;
                (void) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(fd >= 0);
                n = read(fd, buf, WSHD_MESSAGE_MAX + 1);
                close(fd);
                ASSERT_TRUE(n >= 0);
                r = wshd_message_decode(buf, (size_t) n, &m);
                if (startswith(de->d_name, "bad-")) {
                        if (r >= 0)
                                tests_fail(__FILE__, __LINE__, "%s decodes", de->d_name);
                        bad++;
                } else {
                        if (r < 0)
                                tests_fail(__FILE__, __LINE__, "%s: %s", de->d_name, strerror(-r));
                        wshd_message_done(&m);
                        good++;
                }
        }
        closedir(d);
        ASSERT_TRUE(good >= 10);
        ASSERT_TRUE(bad >= 5);
}
