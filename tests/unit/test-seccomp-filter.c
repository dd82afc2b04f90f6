/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>

#include "confine.h"
#include "macro.h"
#include "seccomp-filter.h"
#include "tests.h"

/*
 * The filter denies with EPERM (clone3() with ENOSYS), which the kernel's own checks give as well: without
 * CAP_SYS_ADMIN, mount() fails with EPERM whether a filter is loaded or not, and a filter that blocked
 * unshare(CLONE_NEWUTS) would look like a missing capability. So the calls are made under a copy of the
 * exported BPF whose two errno actions return errnos that no system call returns by itself: a call that
 * fails with FILTER_EPERM was refused by the filter, and a call that does not was not. The unchanged filter
 * is checked to have exactly those two errno actions (seccomp_filter_bpf) and to return them
 * (seccomp_filter_real_errnos). This holds as root (CI) and unprivileged alike: an allowed call must give
 * the same result with the filter as without it, whatever the privileges.
 */
#define FILTER_EPERM 4001  /* the filter's EPERM; at most MAX_ERRNO (4095) */
#define FILTER_ENOSYS 4002 /* the filter's ENOSYS */

#define ARG(p) ((unsigned long) (p))
#define ALL_ONES (~0UL)

typedef struct Bpf {
        struct sock_filter insns[SECCOMP_FILTER_INSNS_MAX];
        struct sock_fprog prog;
} Bpf;

typedef enum Abi {
        ABI_NATIVE,
        ABI_I386, /* int $0x80 from this x86_64 process: what a 32-bit program in a container does */
        ABI_X32,  /* the syscall instruction with __X32_SYSCALL_BIT */
} Abi;

typedef struct Call {
        const char *what;
        Abi abi;
        long nr;
        unsigned long a[6];
        bool forks; /* clone() with no new stack: the child sees 0 and _exit()s */
} Call;

#define CALL(nr_, ...)                                          \
        {                                                       \
                .what = #nr_, .nr = (nr_), .a = { __VA_ARGS__ } \
        }
#define FORK_CALL(nr_, ...) \
        { .what = #nr_, .nr = (nr_), .a = { __VA_ARGS__ }, .forks = true }

typedef struct Outcome {
        long ret;
        int err; /* errno when ret == -1, else 0 */
} Outcome;

/* wardend's filter as wshd gets it (sealed memfd of raw BPF); with rewrite, its EPERM and ENOSYS actions
 * return FILTER_EPERM and FILTER_ENOSYS. */
static void load_filter(Bpf *bpf, bool rewrite) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        ASSERT_OK(seccomp_filter_build(&fd));
        ASSERT_OK(fstat(fd, &st));
        ASSERT_TRUE(st.st_size > 0 && st.st_size % (off_t) sizeof(struct sock_filter) == 0);
        ASSERT_TRUE((size_t) st.st_size <= sizeof(bpf->insns));
        ASSERT_EQ(pread(fd, bpf->insns, (size_t) st.st_size, 0), (ssize_t) st.st_size);
        /* sealed: nobody changes what every wshd reads */
        ASSERT_TRUE(pwrite(fd, "x", 1, 0) < 0);

        bpf->prog = (struct sock_fprog){
                .len = (unsigned short) (st.st_size / (off_t) sizeof(struct sock_filter)),
                .filter = bpf->insns,
        };
        if (!rewrite)
                return;

        unsigned n_eperm = 0, n_enosys = 0;
        FOREACH_ARRAY(i, bpf->insns, bpf->prog.len) {
                if (i->code != (BPF_RET | BPF_K))
                        continue;
                if (i->k == (SECCOMP_RET_ERRNO | EPERM)) {
                        i->k = SECCOMP_RET_ERRNO | FILTER_EPERM;
                        n_eperm++;
                } else if (i->k == (SECCOMP_RET_ERRNO | ENOSYS)) {
                        i->k = SECCOMP_RET_ERRNO | FILTER_ENOSYS;
                        n_enosys++;
                }
        }
        ASSERT_TRUE(n_eperm > 0);
        ASSERT_TRUE(n_enosys > 0);
}

#if defined(__x86_64__)
/* A 32-bit system call: the i386 numbers and argument registers (five of six are enough here). The kernel
 * clears r8-r11 on the way back. */
static long syscall_i386(long nr, const unsigned long a[6]) {
        long r;

        __asm__ volatile("int $0x80"
                         : "=a"(r)
                         : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]), "D"(a[4])
                         : "r8", "r9", "r10", "r11", "memory", "cc");
        if ((unsigned long) r > -4096UL) {
                errno = (int) -r;
                return -1;
        }
        return r;
}
#endif

static long make_call(const Call *c) {
        switch (c->abi) {
        case ABI_NATIVE:
        case ABI_X32:
                return syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
        case ABI_I386:
#if defined(__x86_64__)
                return syscall_i386(c->nr, c->a);
#endif
        default:
                abort();
        }
}

/* Makes the calls in a child under prog (NULL: no filter, for comparison) and returns what each gave. The
 * child sets no_new_privs, as wshd does, so no privileges are needed. A call the filter's architecture check
 * refuses kills the child (SIGSYS), which fails the test. */
static void run_calls(const struct sock_fprog *prog, const Call *calls, size_t n, Outcome *ret) {
        Outcome *shared;
        int status;
        pid_t pid;

        shared = mmap(NULL, n * sizeof(Outcome), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(shared != MAP_FAILED);

        fflush(NULL);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                if (prog && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                             syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) < 0))
                        _exit(100);
                for (size_t i = 0; i < n; i++) {
                        long r;

                        errno = 0;
                        r = make_call(calls + i);
                        if (calls[i].forks && r == 0)
                                _exit(0);
                        shared[i] = (Outcome){ .ret = r, .err = r == -1 ? errno : 0 };
                        if (calls[i].forks && r > 0 && waitpid((pid_t) r, NULL, 0) < 0)
                                _exit(101);
                }
                _exit(0);
        }
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                tests_fail(
                        __FILE__,
                        __LINE__,
                        "the child making the calls %s %d",
                        WIFEXITED(status) ? "exited with" : "was killed by signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        memcpy(ret, shared, n * sizeof(Outcome));
        ASSERT_OK(munmap(shared, n * sizeof(Outcome)));
}

static const char *abi_name(Abi abi) {
        return abi == ABI_I386 ? " (i386)" : abi == ABI_X32 ? " (x32)" : "";
}

static void expect_denied(const Call *c, const Outcome *o, int filter_errno) {
        if (o->ret != -1 || o->err != filter_errno)
                tests_fail(
                        __FILE__,
                        __LINE__,
                        "%s(0x%lx, 0x%lx, ...)%s returned %ld (errno %d: %s), expected the filter's "
                        "errno %d",
                        c->what,
                        c->a[0],
                        c->a[1],
                        abi_name(c->abi),
                        o->ret,
                        o->err,
                        strerror(o->err),
                        filter_errno);
}

/* Allowed: the filter changes nothing, whether the call succeeds or the kernel refuses it itself. */
static void expect_allowed(const Call *c, const Outcome *with, const Outcome *without) {
        if ((with->ret >= 0) != (without->ret >= 0) || with->err != without->err)
                tests_fail(
                        __FILE__,
                        __LINE__,
                        "%s(0x%lx, 0x%lx, ...)%s: with the filter %ld (errno %d: %s), without it %ld "
                        "(errno %d: %s)",
                        c->what,
                        c->a[0],
                        c->a[1],
                        abi_name(c->abi),
                        with->ret,
                        with->err,
                        strerror(with->err),
                        without->ret,
                        without->err,
                        strerror(without->err));
}

static void check_denied(const Call *calls, size_t n, int filter_errno) {
        Outcome out[n];
        Bpf bpf;

        load_filter(&bpf, /* rewrite= */ true);
        run_calls(&bpf.prog, calls, n, out);
        for (size_t i = 0; i < n; i++)
                expect_denied(calls + i, out + i, filter_errno);
}

static void check_allowed(const Call *calls, size_t n) {
        Outcome with[n], without[n];
        Bpf bpf;

        load_filter(&bpf, /* rewrite= */ true);
        run_calls(&bpf.prog, calls, n, with);
        run_calls(NULL, calls, n, without);
        for (size_t i = 0; i < n; i++)
                expect_allowed(calls + i, with + i, without + i);
}

/* The exported filter returns only these: allow, EPERM, ENOSYS, and a kill for an ABI it has no rules for.
 */
TEST(seccomp_filter_bpf) {
        unsigned n_allow = 0, n_eperm = 0, n_enosys = 0;
        Bpf bpf;

        load_filter(&bpf, /* rewrite= */ false);
        FOREACH_ARRAY(i, bpf.insns, bpf.prog.len) {
                if (BPF_CLASS(i->code) != BPF_RET)
                        continue;
                ASSERT_EQ(i->code, BPF_RET | BPF_K);
                if (i->k == SECCOMP_RET_ALLOW)
                        n_allow++;
                else if (i->k == (SECCOMP_RET_ERRNO | EPERM))
                        n_eperm++;
                else if (i->k == (SECCOMP_RET_ERRNO | ENOSYS))
                        n_enosys++;
                else if (i->k != SECCOMP_RET_KILL_THREAD && i->k != SECCOMP_RET_KILL_PROCESS)
                        tests_fail(__FILE__, __LINE__, "unexpected action 0x%08x", i->k);
        }
        ASSERT_TRUE(n_allow > 0);
        ASSERT_TRUE(n_eperm > 0);
        ASSERT_TRUE(n_enosys > 0);
}

/* The filter as wshd loads it, unchanged, with calls that succeed (or fail otherwise) without it. */
TEST(seccomp_filter_real_errnos) {
        Call calls[] = {
                CALL(SYS_personality, ADDR_NO_RANDOMIZE),
                CALL(SYS_clone3, 0, 0),
        };
        Outcome with[ELEMENTSOF(calls)], without[ELEMENTSOF(calls)];
        Bpf bpf;

        load_filter(&bpf, /* rewrite= */ false);
        run_calls(&bpf.prog, calls, ELEMENTSOF(calls), with);
        run_calls(NULL, calls, ELEMENTSOF(calls), without);
        ASSERT_EQ(with[0].ret, -1);
        ASSERT_EQ(with[0].err, EPERM);
        ASSERT_TRUE(without[0].ret >= 0);
        ASSERT_EQ(with[1].ret, -1);
        ASSERT_EQ(with[1].err, ENOSYS);
        ASSERT_EQ(without[1].ret, -1);
        ASSERT_TRUE(without[1].err != ENOSYS);
}

/* What wardend(8) promises to deny, listed here independently of seccomp_filter_denied[]. The arguments
 * are harmless even if a broken filter let the call through as root (paths that do not exist, bad flags,
 * NULL): the filter answers before the kernel looks at them. */
TEST(seccomp_filter_denies) {
        Call calls[] = {
                CALL(SYS_keyctl, 0),
                CALL(SYS_add_key, ARG("user"), ARG("x"), ARG("y"), 1, 0),
                CALL(SYS_request_key, ARG("user"), ARG("x"), 0, 0),
                CALL(SYS_bpf, 0, 0, 0),
                CALL(SYS_perf_event_open, 0, 0, ALL_ONES, ALL_ONES, 0),
                CALL(SYS_userfaultfd, 0),
                CALL(SYS_init_module, 0, 0, ARG("")),
                CALL(SYS_finit_module, ALL_ONES, ARG(""), 0),
                CALL(SYS_delete_module, ARG("warden-no-such-module"), 0),
                CALL(SYS_kexec_load, 0, 0, 0, ALL_ONES),
                CALL(SYS_kexec_file_load, ALL_ONES, ALL_ONES, 0, 0, ALL_ONES),
                CALL(SYS_open_by_handle_at, ALL_ONES, 0, 0),
                CALL(SYS_mount, ARG("none"), ARG("/warden-no-such-dir"), ARG("tmpfs"), 0, 0),
                CALL(SYS_umount2, ARG("/warden-no-such-dir"), 0),
                CALL(SYS_pivot_root, ARG("/warden-no-such-dir"), ARG("/warden-no-such-dir")),
                CALL(SYS_fsopen, ARG("tmpfs"), 0),
                CALL(SYS_fsmount, ALL_ONES, 0, 0),
                CALL(SYS_open_tree, ALL_ONES, ARG("/warden-no-such-dir"), 0),
                CALL(SYS_move_mount, ALL_ONES, ARG(""), ALL_ONES, ARG(""), 0),
                CALL(SYS_mount_setattr, ALL_ONES, ARG("/warden-no-such-dir"), 0, 0, 0),
                CALL(SYS_io_uring_setup, 1, 0),
                CALL(SYS_reboot, 0, 0, 0, 0),
                CALL(SYS_clock_settime, CLOCK_REALTIME, 0),
                CALL(SYS_settimeofday, 0, 0),
                CALL(SYS_adjtimex, 0),
                CALL(SYS_setns, ALL_ONES, 0),
                CALL(SYS_swapon, ARG("/warden-no-such-file"), 0),
                CALL(SYS_acct, ARG("/warden-no-such-file")),
                CALL(SYS_syslog, ALL_ONES, 0, 0),
#if defined(__x86_64__)
                CALL(SYS_iopl, ALL_ONES),
                CALL(SYS_ioperm, ALL_ONES, ALL_ONES, 0),
#endif
                /* user namespaces, by unshare() and clone() */
                CALL(SYS_unshare, CLONE_NEWUSER),
                CALL(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS),
                CALL(SYS_unshare, ALL_ONES),
                FORK_CALL(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0),
                FORK_CALL(SYS_clone, CLONE_NEWUSER | CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0),
        };
        /* clone3() says "not implemented", whatever its arguments */
        Call enosys[] = {
                CALL(SYS_clone3, 0, 0),
                CALL(SYS_clone3, ALL_ONES, ALL_ONES),
        };

        check_denied(calls, ELEMENTSOF(calls), FILTER_EPERM);
        check_denied(enosys, ELEMENTSOF(enosys), FILTER_ENOSYS);
}

/* Each name of seccomp_filter_denied[] on an ABI: all arguments ~0 (no such fd, a pointer into the kernel,
 * invalid flags), which any of them refuses by itself. Returns how many were on that ABI. */
static size_t denied_list_calls(Abi abi, uint32_t arch, Call *calls, size_t n_max) {
        size_t n = 0;

        for (const char *const *name = seccomp_filter_denied; *name; name++) {
                int nr = arch == 0 ? seccomp_syscall_resolve_name(*name)
                                   : seccomp_syscall_resolve_name_arch(arch, *name);

                if (nr < 0) /* not on this ABI (or a pseudo number of libseccomp's) */
                        continue;
                ASSERT_TRUE(n < n_max);
                calls[n++] = (Call){
                        .what = *name,
                        .abi = abi,
                        .nr = nr,
                        .a = { ALL_ONES, ALL_ONES, ALL_ONES, ALL_ONES, ALL_ONES, ALL_ONES },
                };
        }
        return n;
}

TEST(seccomp_filter_denies_list) {
        Call calls[128];
        size_t n;

        n = denied_list_calls(ABI_NATIVE, 0, calls, ELEMENTSOF(calls));
        ASSERT_TRUE(n > 40);
        check_denied(calls, n, FILTER_EPERM);
}

#if defined(__x86_64__)
/* Whether this kernel runs 32-bit system calls at all (ia32_emulation=); if it does not, no container can
 * make them either. */
static bool i386_runs(void) {
        int status;
        pid_t pid;

        fflush(NULL);
        pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0)
                _exit(syscall_i386(20 /* getpid */, (unsigned long[6]){}) == getpid() ? 0 : 1);
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The other ABIs this CPU runs get the same rules: without them, their calls would meet the filter's
 * bad-architecture action (a kill, which fails the test), and with rules missing they would pass. */
TEST(seccomp_filter_denies_compat) {
        Call calls[128];
        size_t n;

        n = denied_list_calls(ABI_X32, SCMP_ARCH_X32, calls, ELEMENTSOF(calls));
        ASSERT_TRUE(n > 30);
        calls[n++] = (Call){ .what = "unshare",
                             .abi = ABI_X32,
                             .nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X32, "unshare"),
                             .a = { CLONE_NEWUSER } };
        check_denied(calls, n, FILTER_EPERM);

        if (!i386_runs()) {
                printf("this kernel does not run i386 system calls: no rules for them to check\n");
                return;
        }
        n = denied_list_calls(ABI_I386, SCMP_ARCH_X86, calls, ELEMENTSOF(calls));
        ASSERT_TRUE(n > 40);
        calls[n++] = (Call){ .what = "unshare",
                             .abi = ABI_I386,
                             .nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "unshare"),
                             .a = { CLONE_NEWUSER } };
        calls[n++] = (Call){ .what = "personality",
                             .abi = ABI_I386,
                             .nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, "personality"),
                             .a = { ADDR_NO_RANDOMIZE } };
        check_denied(calls, n, FILTER_EPERM);
}
#endif

/* What processes do all the time, and the namespaces and flags next to the denied ones, give the same
 * with the filter as without it: as root, unshare(CLONE_NEWUTS) succeeds both ways; unprivileged it fails
 * with the kernel's EPERM both ways; a filter that blocked it gives FILTER_EPERM. */
TEST(seccomp_filter_allows) {
        Call calls[] = {
                CALL(SYS_getpid),
                FORK_CALL(SYS_clone, SIGCHLD, 0, 0, 0, 0),
                FORK_CALL(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0),
                FORK_CALL(SYS_clone, CLONE_NEWPID | CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0),
                CALL(SYS_unshare, 0),
                CALL(SYS_unshare, CLONE_NEWUTS),
                CALL(SYS_unshare, CLONE_NEWIPC),
                CALL(SYS_unshare, CLONE_NEWCGROUP),
                CALL(SYS_unshare, CLONE_NEWNS),
                CALL(SYS_unshare, CLONE_FILES | CLONE_FS),
                CALL(SYS_personality, 0xffffffff),
                CALL(SYS_personality, PER_LINUX),
                CALL(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
                CALL(SYS_getcwd, 0, 0),
#if defined(__x86_64__)
                { .what = "getpid", .abi = ABI_X32, .nr = __X32_SYSCALL_BIT | SYS_getpid },
#endif
        };

        check_allowed(calls, ELEMENTSOF(calls));
#if defined(__x86_64__)
        if (i386_runs()) {
                Call calls32[] = {
                        { .what = "getpid", .abi = ABI_I386, .nr = 20 },
                        { .what = "unshare", .abi = ABI_I386, .nr = 310, .a = { CLONE_NEWUTS } },
                        { .what = "personality", .abi = ABI_I386, .nr = 136, .a = { 0 } },
                };

                check_allowed(calls32, ELEMENTSOF(calls32));
        }
#endif
}

/* Every value the kernel distinguishes (the low 32 bits) is either allowed or denied, exactly. */
TEST(seccomp_filter_personality) {
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
        enum { N_RANDOM = 20000 };
        Call *calls, *random_calls;
        size_t n = 0;

        calls = calloc(ELEMENTSOF(allowed) + ELEMENTSOF(denied) + N_RANDOM, sizeof(Call));
        ASSERT_NOT_NULL(calls);
        FOREACH_ARRAY(v, allowed, ELEMENTSOF(allowed)) {
                calls[n++] = (Call){ .what = "personality", .nr = SYS_personality, .a = { *v } };
        }
        check_allowed(calls, n);

        n = 0;
        FOREACH_ARRAY(v, denied, ELEMENTSOF(denied)) {
                calls[n++] = (Call){ .what = "personality", .nr = SYS_personality, .a = { *v } };
        }
        check_denied(calls, n, FILTER_EPERM);

        /* a random sample of the rest: denied unless in the list */
        n = 0;
        random_calls = calls + ELEMENTSOF(allowed) + ELEMENTSOF(denied);
        srand(42);
        for (unsigned i = 0; i < N_RANDOM; i++) {
                uint32_t v = (uint32_t) rand() ^ ((uint32_t) rand() << 16);

                if (v == 0 || v == 0x8 || v == 0x20000 || v == 0x20008 || v == 0xffffffff)
                        continue;
                random_calls[n++] = (Call){ .what = "personality", .nr = SYS_personality, .a = { v } };
        }
        ASSERT_TRUE(n > N_RANDOM - 10);
        check_denied(random_calls, n, FILTER_EPERM);
        free(calls);
}

TEST(seccomp_filter_list) {
        size_t n = 0;

        for (const char *const *p = seccomp_filter_denied; *p; p++)
                n++;
        ASSERT_TRUE(n > 40);
}
