/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "confine.h"
#include "macro.h"
#include "seccomp-filter.h"
#include "tests.h"

/* Loads the filter the way wshd does (no_new_privs, raw BPF; no privileges needed) and runs check() in a
 * child, whose exit status is the number of the first failed check (0: all passed). */
static int run_filtered(int (*check)(void)) {
        struct sock_filter insns[SECCOMP_FILTER_INSNS_MAX];
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int status;
        pid_t pid;

        ASSERT_OK(seccomp_filter_build(&fd));
        ASSERT_OK(fstat(fd, &st));
        ASSERT_TRUE(st.st_size > 0 && st.st_size % (off_t) sizeof(struct sock_filter) == 0);
        ASSERT_TRUE((size_t) st.st_size <= sizeof(insns));
        ASSERT_EQ(pread(fd, insns, (size_t) st.st_size, 0), (ssize_t) st.st_size);
        /* sealed: nobody changes what every wshd reads */
        ASSERT_TRUE(pwrite(fd, "x", 1, 0) < 0);

        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                struct sock_fprog prog = {
                        .len = (unsigned short) (st.st_size / (off_t) sizeof(struct sock_filter)),
                        .filter = insns,
                };

                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
                        _exit(100);
                _exit(check());
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status));
        return WEXITSTATUS(status);
}

#define EXPECT_ERRNO(n, expr, err)                  \
        do {                                        \
                errno = 0;                          \
                if ((expr) != -1 || errno != (err)) \
                        return (n);                 \
        } while (false)

static int check_denied(void) {
        EXPECT_ERRNO(1, syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
        EXPECT_ERRNO(2, syscall(SYS_add_key, "user", "x", "y", 1, 0), EPERM);
        EXPECT_ERRNO(3, syscall(SYS_bpf, 0, NULL, 0), EPERM);
        EXPECT_ERRNO(4, syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
        EXPECT_ERRNO(5, syscall(SYS_userfaultfd, 0), EPERM);
        EXPECT_ERRNO(6, syscall(SYS_init_module, NULL, 0, ""), EPERM);
        EXPECT_ERRNO(7, syscall(SYS_finit_module, -1, "", 0), EPERM);
        EXPECT_ERRNO(8, syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
        EXPECT_ERRNO(9, syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM);
        EXPECT_ERRNO(10, mount("none", "/", "tmpfs", 0, NULL), EPERM);
        EXPECT_ERRNO(11, syscall(SYS_fsopen, "tmpfs", 0), EPERM);
        EXPECT_ERRNO(12, syscall(SYS_open_tree, -1, "/", 0), EPERM);
        EXPECT_ERRNO(13, syscall(SYS_io_uring_setup, 1, NULL), EPERM);
        EXPECT_ERRNO(14, syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
        EXPECT_ERRNO(15, syscall(SYS_clock_settime, 0, NULL), EPERM);
        EXPECT_ERRNO(16, syscall(SYS_setns, -1, 0), EPERM);
        EXPECT_ERRNO(17, syscall(SYS_swapon, "/", 0), EPERM);
        /* user namespaces, by unshare() and clone(); clone3() says "not implemented" */
        EXPECT_ERRNO(20, unshare(CLONE_NEWUSER), EPERM);
        EXPECT_ERRNO(21, unshare(CLONE_NEWUSER | CLONE_NEWNS), EPERM);
        EXPECT_ERRNO(22, syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0), EPERM);
        EXPECT_ERRNO(23, syscall(SYS_clone3, NULL, 0), ENOSYS);
        return 0;
}

static int check_allowed(void) {
        int status;
        pid_t pid;

        /* what processes do all the time still works: fork (clone without CLONE_NEWUSER), getpid, ... */
        if (getpid() <= 0)
                return 1;
        pid = fork();
        if (pid < 0)
                return 2;
        if (pid == 0)
                _exit(7);
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
                return 3;
        /* other namespaces are up to the kernel's privilege checks, not the filter */
        if (unshare(CLONE_NEWUTS) < 0 && errno != EPERM)
                return 4;
        return 0;
}

/* Every value the kernel distinguishes (the low 32 bits) is either allowed or denied, exactly. */
static int check_personality(void) {
        static const uint64_t allowed[] = { 0x0,
                                            0x8,
                                            0x20000,
                                            0x20008,
                                            0xffffffff,
                                            /* the kernel ignores the high bits, and so do we */
                                            UINT64_C(0x100000008) };
        static const uint64_t denied[] = {
                ADDR_NO_RANDOMIZE,
                READ_IMPLIES_EXEC,
                MMAP_PAGE_ZERO,
                ADDR_NO_RANDOMIZE | PER_LINUX32,
                0x1,
                0x7,
                0xfffffffe,
                0x7fffffff,
                0x80000000,
                0xfffdfff7,
                0xfffffff7,
                0xfffdffff,
                0x20009,
                0x28,
                UINT64_C(0xffffffff00040000),
        };
        int n = 1;

        FOREACH_ARRAY(v, allowed, ELEMENTSOF(allowed)) {
                errno = 0;
                if (syscall(SYS_personality, (unsigned long) *v) < 0)
                        return n;
                n++;
        }
        FOREACH_ARRAY(v, denied, ELEMENTSOF(denied)) {
                errno = 0;
                if (syscall(SYS_personality, (unsigned long) *v) != -1 || errno != EPERM)
                        return n;
                n++;
        }
        /* a random sample of the rest: denied unless in the list */
        srand(42);
        for (unsigned i = 0; i < 20000; i++) {
                uint32_t v = (uint32_t) rand() ^ ((uint32_t) rand() << 16);
                bool ok = v == 0 || v == 0x8 || v == 0x20000 || v == 0x20008 || v == 0xffffffff;
                long k;

                errno = 0;
                k = syscall(SYS_personality, (unsigned long) v);
                if (ok ? k < 0 : (k != -1 || errno != EPERM))
                        return 99;
        }
        return 0;
}

TEST(seccomp_filter_denies) {
        ASSERT_EQ(run_filtered(check_denied), 0);
}

TEST(seccomp_filter_allows) {
        ASSERT_EQ(run_filtered(check_allowed), 0);
}

TEST(seccomp_filter_personality) {
        ASSERT_EQ(run_filtered(check_personality), 0);
}

TEST(seccomp_filter_list) {
        size_t n = 0;

        for (const char *const *p = seccomp_filter_denied; *p; p++)
                n++;
        ASSERT_TRUE(n > 40);
}
