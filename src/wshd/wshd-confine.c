/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "wshd-confine.h"
#include "wshd-setup.h"

/* Sets the calling thread's capability sets (64 bits each). */
static int capabilities_set(uint64_t permitted, uint64_t effective, uint64_t inheritable) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {
                {
                        .effective = (uint32_t) effective,
                        .permitted = (uint32_t) permitted,
                        .inheritable = (uint32_t) inheritable,
                },
                {
                        .effective = (uint32_t) (effective >> 32),
                        .permitted = (uint32_t) (permitted >> 32),
                        .inheritable = (uint32_t) (inheritable >> 32),
                },
        };

        return RET_NERRNO(syscall(SYS_capset, &header, data));
}

static int capabilities_get_permitted(uint64_t *ret) {
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = {};

        if (syscall(SYS_capget, &header, data) < 0)
                return -errno;
        *ret = (uint64_t) data[0].permitted | ((uint64_t) data[1].permitted << 32);
        return 0;
}

/* Drops every capability but those in 'keep' from the bounding set: nothing exec()ed from here on can
 * ever get them, not even root or a file with file capabilities. */
static int bounding_set_limit(uint64_t keep) {
        for (unsigned long c = 0; c < 64; c++) {
                if (keep & CAP_BIT(c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
                        if (errno == EINVAL) /* past the kernel's last capability */
                                return 0;
                        return -errno;
                }
        }
        return 0;
}

/* Permitted and effective capabilities 'caps' (none inheritable; 'what' says so on failure), no ambient
 * ones, and no_new_privs. */
static int capabilities_limit(uint64_t caps, const char *what) {
        int r;

        r = capabilities_set(caps, caps, 0);
        if (r < 0)
                return setup_error(r, "%s", what);
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return setup_error(-errno, "clear the ambient capabilities");
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return setup_error(-errno, "PR_SET_NO_NEW_PRIVS");
        return 0;
}

int confinement_read_filter(Confinement *c, int fd) {
        struct stat st;
        ssize_t n;

        assert(c);
        assert(fd >= 0);

        if (fstat(fd, &st) < 0)
                return setup_error(-errno, "stat --seccomp-fd");
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size % (off_t) sizeof(struct sock_filter) != 0 || st.st_size > (off_t) sizeof(c->insns))
                return setup_error(-EBADMSG, "seccomp filter of %lld bytes", (long long) st.st_size);
        do
                n = pread(fd, c->insns, (size_t) st.st_size, 0);
        while (n < 0 && errno == EINTR);
        if (n != (ssize_t) st.st_size)
                return setup_error(n < 0 ? -errno : -EIO, "read the seccomp filter");
        c->prog = (struct sock_fprog){
                .len = (unsigned short) (st.st_size / (off_t) sizeof(struct sock_filter)),
                .filter = c->insns,
        };
        (void) close(fd);
        return 0;
}

/*
 * After the set-up wshd needs no more than the container's capabilities plus CAP_SYS_RESOURCE (to give a
 * process the rlimits asked for; the process drops it). Its bounding set is the container's: whatever runs
 * in the container descends from wshd. No CAP_SYS_ADMIN is left, so even a wshd that were taken over could
 * not mount anything; for the same reason every process (root's too) gets no_new_privs, which lets it load
 * the seccomp filter without CAP_SYS_ADMIN.
 */
int confinement_self(Confinement *c) {
        uint64_t have = 0;
        int r;

        assert(c);

        r = bounding_set_limit(CONTAINER_CAPABILITIES);
        if (r < 0)
                return setup_error(r, "limit the bounding set");
        /* what we were given, which may be less (a host that withholds some from wardend) */
        r = capabilities_get_permitted(&have);
        if (r < 0)
                return setup_error(r, "get capabilities");
        c->capabilities = have & (CONTAINER_CAPABILITIES | CAP_BIT(CAP_SYS_RESOURCE));
        return capabilities_limit(c->capabilities, "drop capabilities");
}

int confinement_process_bounding_set(bool privileged) {
        int r;

        /* Root gets the container's capabilities (wshd's bounding set already is no wider); anybody else
         * gets none, and an empty bounding set too, while we still hold CAP_SETPCAP. */
        if (privileged)
                return 0;
        r = bounding_set_limit(0);
        if (r < 0)
                return setup_error(r, "drop the bounding set");
        return 0;
}

int confinement_process_apply(const Confinement *c, bool privileged) {
        uint64_t caps;
        int r;

        assert(c);

        /* setuid() left the inheritable set alone, and root still has wshd's CAP_SYS_RESOURCE */
        caps = privileged ? CONTAINER_CAPABILITIES & c->capabilities : 0;
        /* no_new_privs: wshd has it already (inherited); said again because the filter depends on it */
        r = capabilities_limit(caps, "set capabilities");
        if (r < 0)
                return r;
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &c->prog) < 0)
                return setup_error(-errno, "load the seccomp filter");
        return 0;
}
