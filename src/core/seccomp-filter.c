/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "confine.h"
#include "macro.h"
#include "seccomp-filter.h"

DEFINE_CLEANUP_FUNC_VOID(scmp_filter_ctx, seccomp_release);

/*
 * Denied for every job, root's included: root in a container lacks the capabilities most of these need
 * anyway, so the filter is a second wall, and it also closes what needs no capability at all (bpf() and
 * perf_event_open() for anyone, userfaultfd(), io_uring, keyrings): kernel interfaces with a long history
 * of exploits that a container has no use for.
 */
const char *const seccomp_filter_denied[] = {
        /* replacing or changing the kernel, its modules, the machine's state */
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "create_module",
        "query_module",
        "get_kernel_syms",
        "reboot",
        "swapon",
        "swapoff",
        "acct",
        "quotactl",
        "quotactl_fd",
        "syslog",
        "_sysctl",
        "nfsservctl",
        "uselib",
        /* the clock */
        "settimeofday",
        "stime",
        "clock_settime",
        "clock_settime64",
        "clock_adjtime",
        "clock_adjtime64",
        "adjtimex",
        /* the hardware */
        "iopl",
        "ioperm",
        "vm86",
        "vm86old",
        /* file handles: open_by_handle_at() opened files outside of a chroot (CVE-2014-3519 "shocker") */
        "open_by_handle_at",
        "lookup_dcookie",
        /* kernel attack surface */
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "keyctl",
        "add_key",
        "request_key",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        /* mounts, old and new API: the container's file system tree is wshd's business */
        "mount",
        "umount",
        "umount2",
        "pivot_root",
        "move_mount",
        "open_tree",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "mount_setattr",
        /* joining other namespaces */
        "setns",
        NULL,
};

/* personality() values that are fine (Docker's list): 0 (Linux), PER_LINUX32 (0x0008), UNAME26 (0x20000),
 * both, and 0xffffffff (a query). Everything else is refused, e.g. ADDR_NO_RANDOMIZE (turns off ASLR for
 * the next exec) or READ_IMPLIES_EXEC. The kernel looks at the low 32 bits only, and so do the rules. */
#define PERSONALITY_FREE_BITS UINT32_C(0x20008)

/*
 * libseccomp takes one comparison per argument and rule, and a system call's rules are or'ed: "the value is
 * none of these five" cannot be said directly. It is said with 32 masked comparisons, each "bit b is 1 and
 * bit c is 0", whose union is exactly the values outside the list: a value outside it has some bit b beyond
 * the free bits set and is not all ones. Either some other such bit is 0, and then, going round those 30
 * bits in order, some 1 is followed by a 0 (the pairs (b, next b)); or all 30 are 1 and one of the two free
 * bits is 0 (the pairs (bit 0, free bit)). No pair matches an allowed value: those have no bit beyond the
 * free ones set, except 0xffffffff, which has no 0 at all.
 */
static int add_personality_rules(scmp_filter_ctx ctx) {
        unsigned bits[32], free_bits[32], n = 0, n_free = 0;
        int r;

        for (unsigned b = 0; b < 32; b++) {
                if (PERSONALITY_FREE_BITS & (UINT32_C(1) << b))
                        free_bits[n_free++] = b;
                else
                        bits[n++] = b;
        }

        for (unsigned i = 0; i < n + n_free; i++) {
                uint64_t one = UINT64_C(1) << (i < n ? bits[i] : bits[0]);
                uint64_t zero = UINT64_C(1) << (i < n ? bits[(i + 1) % n] : free_bits[i - n]);

                r = seccomp_rule_add(
                        ctx,
                        SCMP_ACT_ERRNO(EPERM),
                        SCMP_SYS(personality),
                        1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, one | zero, one));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_arch(scmp_filter_ctx ctx, uint32_t arch) {
        int r = seccomp_arch_add(ctx, arch);

        return r == -EEXIST ? 0 : r;
}

static int add_rules(scmp_filter_ctx ctx) {
        int r;

        for (const char *const *name = seccomp_filter_denied; *name; name++) {
                int nr = seccomp_syscall_resolve_name(*name);

                if (nr == __NR_SCMP_ERROR) /* unknown to this libseccomp */
                        continue;
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
                if (r < 0)
                        return r;
        }

        /* New user namespaces: inside one, a process has every capability over what it creates there
         * (mounts of many file system types, network stacks...), a kernel surface we keep closed. Other
         * namespaces need CAP_SYS_ADMIN, which no job has. */
        r = seccomp_rule_add(
                ctx,
                SCMP_ACT_ERRNO(EPERM),
                SCMP_SYS(unshare),
                1,
                SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
        if (r < 0)
                return r;
        /* The flags are clone()'s first argument on every architecture we add (not on s390). */
        r = seccomp_rule_add(
                ctx,
                SCMP_ACT_ERRNO(EPERM),
                SCMP_SYS(clone),
                1,
                SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
        if (r < 0)
                return r;
        /* clone3() passes its flags in memory that a filter cannot read: "not implemented" makes glibc (and
         * everybody else) fall back to clone(). */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r < 0)
                return r;

        return add_personality_rules(ctx);
}

int seccomp_filter_build(int *ret_fd) {
        _cleanup_(seccomp_releasep) scmp_filter_ctx ctx = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint32_t native;
        struct stat st;
        int r;

        assert(ret_fd);

        ctx = seccomp_init(SCMP_ACT_ALLOW);
        if (!ctx)
                return -ENOMEM;

        /* A process may make system calls of every ABI its CPU runs: each needs the rules, or its calls
         * would meet the filter's bad-architecture action (killing the process) instead. */
        native = seccomp_arch_native();
        if (native == SCMP_ARCH_X86_64) {
                r = add_arch(ctx, SCMP_ARCH_X86);
                if (r >= 0)
                        r = add_arch(ctx, SCMP_ARCH_X32);
        } else if (native == SCMP_ARCH_AARCH64)
                r = add_arch(ctx, SCMP_ARCH_ARM);
        else
                r = 0;
        if (r < 0)
                return r;

        r = add_rules(ctx);
        if (r < 0)
                return r;

        fd = memfd_create("warden-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return -errno;
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size <= 0 || st.st_size % (off_t) sizeof(struct sock_filter) != 0)
                return -EBADMSG;
        if (st.st_size > (off_t) (SECCOMP_FILTER_INSNS_MAX * sizeof(struct sock_filter)))
                return -E2BIG;
        /* shared by every wshd we start: nobody may change it */
        if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
                return -errno;

        *ret_fd = TAKE_FD(fd);
        return 0;
}
