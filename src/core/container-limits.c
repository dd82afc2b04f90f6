/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bandwidth.h"
#include "container-limits.h"
#include "container-lifecycle.h"
#include "container-oom.h"
#include "disk.h"
#include "manager.h"
#include "memcg.h"
#include "network.h"

typedef struct BandwidthJob {
        char host_ifname[NETWORK_IFNAME_MAX];
        uint64_t rate, burst;
} BandwidthJob;

static int bandwidth_work(void *data) {
        BandwidthJob *j = data;

        return bandwidth_apply(j->host_ifname, j->rate, j->burst);
}

int container_bandwidth_start(
        Container *c, const char *host_ifname, worker_done_t done, void *userdata, Worker **ret) {
        BandwidthJob *j;

        assert(c);
        assert(c->manager);
        assert(host_ifname);
        assert(ret);

        if (strlen(host_ifname) >= NETWORK_IFNAME_MAX)
                return -EINVAL;
        j = calloc(1, sizeof(BandwidthJob));
        if (!j)
                return -ENOMEM;
        strcpy(j->host_ifname, host_ifname);
        j->rate = c->bandwidth_rate;
        j->burst = c->bandwidth_burst;
        return worker_start(c->manager->event, "warden-limit", bandwidth_work, j, free, done, userdata, ret);
}

int container_limits_created(Container *c) {
        _cleanup_(memcg_done) Memcg mc = {};
        int r;

        assert(c);

        if (c->memory_limit > 0) {
                r = memcg_find(MEMCG_ROOT, WARDEN_SLICE, c->unit, &mc);
                if (r >= 0) {
                        uint64_t in_force;

                        /* Lowering memsw to the limit cannot make the kernel reclaim here: the scope holds
                         * nothing but a fresh wshd, far below any limit, so this does not block. */
                        r = memcg_read_limit(&mc, &in_force);
                        if (r >= 0) {
                                c->memory_limit = in_force;
                                r = memcg_set_swap_limit(&mc, in_force);
                                if (r == -EOPNOTSUPP)
                                        r = 0;
                        }
                }
                if (r < 0)
                        return log_container_error_errno(
                                c, r, "Failed to make the memory limit of '%s' a hard cap: %m", c->handle);
        }

        if (c->disk_limit > 0) {
                DiskUsage u;

                r = disk_usage(c->path, &u);
                if (r < 0)
                        return log_container_error_errno(
                                c, r, "Failed to look at the disk of '%s': %m", c->handle);
                c->disk_limit = (c->disk_limit + 4095) / 4096 * 4096; /* the image, in whole blocks */
                c->disk_inode_limit = u.inodes_total;
        }

        r = container_oom_watch_new(c);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        return 0;
}

/* The re-application of the bandwidth limit at adoption; the container is held meanwhile. */
typedef struct BandwidthAdoption {
        Container *container;
        Worker *worker;
} BandwidthAdoption;

static void adopt_bandwidth_done(Worker *w, int result, void *userdata) {
        BandwidthAdoption *a = userdata;
        Container *c = a->container;

        worker_free(a->worker);
        free(a);
        if (result < 0)
                log_container_warning_errno(
                        c, result, "Failed to re-apply the bandwidth limit of '%s': %m", c->handle);
        else
                log_container_debug(c, "Bandwidth limit of '%s' re-applied.", c->handle);
        (void) container_release(c);
}

static int adopt_bandwidth(Container *c) {
        _cleanup_free_ BandwidthAdoption *a = NULL;
        NetworkConfig n = {};
        int r;

        r = network_ifnames(c->net_id, &n);
        if (r < 0)
                return r;
        a = calloc(1, sizeof(BandwidthAdoption));
        if (!a)
                return -ENOMEM;
        a->container = c;
        container_hold(c);
        r = container_bandwidth_start(c, n.host_ifname, adopt_bandwidth_done, a, &a->worker);
        if (r < 0) {
                (void) container_release(c);
                return r;
        }
        TAKE_PTR(a);
        return 0;
}

void container_limits_adopt(Container *c) {
        bool missed;
        int r;

        assert(c);

        missed = container_oom_adopt(c);
        /* The qdiscs or the ifb may be gone: apply the limit again, idempotently. */
        if (c->bandwidth_rate > 0 && c->has_net && !c->operation) {
                r = adopt_bandwidth(c);
                if (r < 0)
                        log_container_warning_errno(
                                c, r, "Failed to re-apply the bandwidth limit of '%s': %m", c->handle);
        }
        if (missed)
                container_oom(c); /* now, or when the bandwidth is back */
}
