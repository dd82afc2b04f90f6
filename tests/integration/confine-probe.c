/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * confine-probe CHECK...: tries, from inside a container, what a container must not be able to do (and a
 * few things it must), and prints one line per check: "CHECK=ok" if the call succeeded, "CHECK=EPERM" (the
 * errno's name) if it failed. Linked statically: the containers' rootfs has nothing but busybox. Used by
 * tests/integration/test-confinement.sh, which decides what each result must be.
 *
 * Checks with arguments are written CHECK:ARG[:ARG...], e.g. mknod-blk:/tmp/disk:254:0, open:/tmp/disk,
 * connect:/var/lib/warden/containers/c1/wshd.sock.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *errno_name(int e) {
        switch (e) {
        case EPERM:
                return "EPERM";
        case EACCES:
                return "EACCES";
        case ENOENT:
                return "ENOENT";
        case ENOSYS:
                return "ENOSYS";
        case EINVAL:
                return "EINVAL";
        case EROFS:
                return "EROFS";
        case EBADF:
                return "EBADF";
        case EFAULT:
                return "EFAULT";
        case ENXIO:
                return "ENXIO";
        case ENODEV:
                return "ENODEV";
        case ESRCH:
                return "ESRCH";
        case ECONNREFUSED:
                return "ECONNREFUSED";
        case EEXIST:
                return "EEXIST";
        case ENOEXEC:
                return "ENOEXEC";
        case EOPNOTSUPP:
                return "EOPNOTSUPP";
        case ESTALE:
                return "ESTALE";
        default:
                return NULL;
        }
}

static int report(const char *check, long r) {
        const char *name;

        if (r >= 0) {
                printf("%s=ok\n", check);
                return 0;
        }
        name = errno_name(errno);
        if (name)
                printf("%s=%s\n", check, name);
        else
                printf("%s=errno%d\n", check, errno);
        return 0;
}

static long try_perf_event_open(void) {
        struct perf_event_attr attr = {
                .type = PERF_TYPE_SOFTWARE,
                .size = sizeof(attr),
                .config = PERF_COUNT_SW_CPU_CLOCK,
                .disabled = 1,
                .exclude_kernel = 1,
                .exclude_hv = 1,
        };

        return syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
}

static long try_bpf(void) {
        union bpf_attr attr = {
                .map_type = BPF_MAP_TYPE_ARRAY,
                .key_size = 4,
                .value_size = 4,
                .max_entries = 1,
        };

        return syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof(attr));
}

static long try_init_module(void) {
        static const char junk[64] = "\177ELF";

        return syscall(SYS_init_module, junk, sizeof(junk), "");
}

static long try_finit_module(void) {
        int fd = open("/bin/busybox", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        return syscall(SYS_finit_module, fd, "", 0);
}

static long try_mount(const char *type) {
        (void) mkdir("/tmp/.probe-mnt", 0755);
        return mount(type, "/tmp/.probe-mnt", type, 0, NULL);
}

/* ptrace is allowed inside: a child that asks to be traced stops, and we see it. */
static long try_ptrace_child(void) {
        int status;
        pid_t pid;

        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
                        _exit(1);
                raise(SIGSTOP);
                _exit(0);
        }
        if (waitpid(pid, &status, 0) != pid)
                return -1;
        if (!WIFSTOPPED(status)) {
                errno = EPERM;
                return -1;
        }
        if (ptrace(PTRACE_CONT, pid, NULL, NULL) < 0)
                return -1;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                errno = EINVAL;
                return -1;
        }
        return 0;
}

/* A made-up handle of the root file system: the kernel would look it up (and fail with ESTALE) if it let
 * us; it must not even try. */
static long try_open_by_handle(void) {
        struct {
                struct file_handle h;
                unsigned char data[8];
        } fh = { .h.handle_bytes = 8, .h.handle_type = 1, .data = { 2 } };
        int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        return open_by_handle_at(fd, &fh.h, O_RDONLY);
}

static long try_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -1;
        strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
        return connect(fd, (struct sockaddr *) &sa, sizeof(sa));
}

static long try_read(const char *path) {
        char buf[512];
        ssize_t n;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -1;
        n = read(fd, buf, sizeof(buf));
        (void) close(fd);
        return n < 0 ? -1 : 0;
}

static long try_setns(void) {
        int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -1;
        return setns(fd, CLONE_NEWNET);
}

static long try_clock_settime(void) {
        struct timespec ts;

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -1;
        return clock_settime(CLOCK_REALTIME, &ts);
}

static int run_check(const char *arg) {
        char check[256], *a1, *a2, *a3;

        snprintf(check, sizeof(check), "%s", arg);
        a1 = strchr(check, ':');
        if (a1)
                *a1++ = '\0';
        a2 = a1 ? strchr(a1, ':') : NULL;
        if (a2)
                *a2++ = '\0';
        a3 = a2 ? strchr(a2, ':') : NULL;
        if (a3)
                *a3++ = '\0';

        errno = 0;
        if (strcmp(check, "keyctl") == 0)
                return report(arg, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
        if (strcmp(check, "add_key") == 0)
                return report(arg, syscall(SYS_add_key, "user", "probe", "x", 1, -3));
        if (strcmp(check, "bpf") == 0)
                return report(arg, try_bpf());
        if (strcmp(check, "perf_event_open") == 0)
                return report(arg, try_perf_event_open());
        if (strcmp(check, "userfaultfd") == 0)
                return report(arg, syscall(SYS_userfaultfd, 0));
        if (strcmp(check, "io_uring_setup") == 0)
                return report(arg, syscall(SYS_io_uring_setup, 1, NULL));
        if (strcmp(check, "init_module") == 0)
                return report(arg, try_init_module());
        if (strcmp(check, "finit_module") == 0)
                return report(arg, try_finit_module());
        if (strcmp(check, "kexec_load") == 0)
                return report(arg, syscall(SYS_kexec_load, 0, 0, NULL, 0));
        if (strcmp(check, "open_by_handle_at") == 0)
                return report(arg, try_open_by_handle());
        if (strcmp(check, "mount-proc") == 0)
                return report(arg, try_mount("proc"));
        if (strcmp(check, "mount-sysfs") == 0)
                return report(arg, try_mount("sysfs"));
        if (strcmp(check, "mount-tmpfs") == 0)
                return report(arg, try_mount("tmpfs"));
        if (strcmp(check, "umount-proc-sys") == 0)
                return report(arg, umount2("/proc/sys", MNT_DETACH));
        if (strcmp(check, "fsopen") == 0)
                return report(arg, syscall(SYS_fsopen, "tmpfs", 0));
        if (strcmp(check, "unshare-user") == 0)
                return report(arg, unshare(CLONE_NEWUSER));
        if (strcmp(check, "unshare-mount") == 0)
                return report(arg, unshare(CLONE_NEWNS));
        if (strcmp(check, "clone-user") == 0) {
                long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);

                if (r == 0)
                        _exit(0);
                if (r > 0)
                        (void) waitpid((pid_t) r, NULL, 0);
                return report(arg, r);
        }
        if (strcmp(check, "clone3") == 0)
                return report(arg, syscall(SYS_clone3, NULL, 0));
        if (strcmp(check, "setns") == 0)
                return report(arg, try_setns());
        if (strcmp(check, "ptrace-wshd") == 0)
                return report(arg, ptrace(PTRACE_ATTACH, 1, NULL, NULL));
        if (strcmp(check, "ptrace-child") == 0)
                return report(arg, try_ptrace_child());
        if (strcmp(check, "kill-wshd") == 0 && a1)
                return report(arg, kill(1, atoi(a1)));
        if (strcmp(check, "reboot") == 0)
                return report(
                        arg,
                        syscall(SYS_reboot,
                                LINUX_REBOOT_MAGIC1,
                                LINUX_REBOOT_MAGIC2,
                                LINUX_REBOOT_CMD_CAD_OFF,
                                NULL));
        if (strcmp(check, "clock_settime") == 0)
                return report(arg, try_clock_settime());
        if (strcmp(check, "sethostname") == 0)
                return report(arg, sethostname("probe", 5));
        if (strcmp(check, "iopl") == 0)
                return report(arg, syscall(SYS_iopl, 3));
        if (strcmp(check, "personality-aslr-off") == 0)
                return report(arg, personality(ADDR_NO_RANDOMIZE));
        if (strcmp(check, "personality-query") == 0)
                return report(arg, personality(0xffffffff));
        if (strcmp(check, "chroot") == 0)
                return report(arg, chroot("/"));
        if (strcmp(check, "mknod-blk") == 0 && a3)
                return report(arg, mknod(a1, S_IFBLK | 0600, makedev(atoi(a2), atoi(a3))));
        if (strcmp(check, "mknod-null") == 0 && a1)
                return report(arg, mknod(a1, S_IFCHR | 0666, makedev(1, 3)));
        if (strcmp(check, "read") == 0 && a1)
                return report(arg, try_read(a1));
        if (strcmp(check, "write") == 0 && a1) {
                int fd = open(a1, O_WRONLY | O_CLOEXEC | O_NOCTTY);

                return report(arg, fd < 0 ? -1 : write(fd, "\n", 1));
        }
        if (strcmp(check, "connect") == 0 && a1)
                return report(arg, try_connect(a1));
        if (strcmp(check, "readlink") == 0 && a1) {
                char buf[256];

                return report(arg, readlink(a1, buf, sizeof(buf)));
        }

        fprintf(stderr, "confine-probe: unknown check '%s'\n", arg);
        return 2;
}

int main(int argc, char *argv[]) {
        int ret = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        for (int i = 1; i < argc; i++)
                if (run_check(argv[i]) != 0)
                        ret = 2;
        return ret;
}
