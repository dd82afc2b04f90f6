/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <netlink/route/action.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "bandwidth.h"
#include "fileio.h"
#include "limit-check.h"
#include "log.h"
#include "macro.h"
#include "netlink-util.h"
#include "parse-util.h"

DEFINE_CLEANUP_FUNC_VOID(struct rtnl_link *, rtnl_link_put);
DEFINE_CLEANUP_FUNC_VOID(struct rtnl_qdisc *, rtnl_qdisc_put);
DEFINE_CLEANUP_FUNC_VOID(struct rtnl_cls *, rtnl_cls_put);
DEFINE_CLEANUP_FUNC_VOID(struct rtnl_act *, rtnl_act_put);

/* How long a packet may wait in a tbf at the rate, on top of the bucket (tc's "latency"). */
#define TBF_LATENCY_USEC 50000
#define INGRESS_HANDLE TC_HANDLE(0xffffU, 0)
#define ROOT_HANDLE TC_HANDLE(1, 0)
/* u32's handle 800::800: the first node of the default hash table; fixed, so that a replace hits it */
#define FILTER_HANDLE ((0x800U << 20) | 0x800U)
#define FILTER_PRIO 1

int bandwidth_ifb_name(const char *host_ifname, char ret[static NETWORK_IFNAME_MAX]) {
        size_t n = strnlen(host_ifname, NETWORK_IFNAME_MAX);

        assert(host_ifname);
        assert(ret);

        if (n < 4 || n >= NETWORK_IFNAME_MAX || !startswith(host_ifname, "w-") ||
            !endswith(host_ifname, "-0"))
                return -EINVAL;
        memcpy(ret, host_ifname, n + 1);
        ret[n - 1] = 'i';
        return 0;
}

static int link_ifindex(Netlink *nl, const char *ifname, int *ret) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        r = netlink_result(nl, rtnl_link_get_kernel(nl->sk, 0, ifname, &link));
        if (r == -ENOENT)
                r = -ENODEV;
        if (r < 0)
                return r;
        *ret = rtnl_link_get_ifindex(link);
        return *ret > 0 ? 0 : -ENXIO;
}

/* The ifb device, made (up) if missing; an existing link of that name must be an ifb. */
static int ifb_ensure(Netlink *nl, const char *ifname, int *ret_ifindex) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL, *old = NULL;
        int r;

        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        r = rtnl_link_set_type(link, "ifb");
        if (r < 0)
                return errno_from_nlerr(r);
        rtnl_link_set_name(link, ifname);
        rtnl_link_set_flags(link, IFF_UP);
        r = netlink_result(nl, rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL));
        if (r < 0 && r != -EEXIST)
                return log_debug_errno(r, "Failed to create ifb '%s': %m", ifname);

        r = netlink_result(nl, rtnl_link_get_kernel(nl->sk, 0, ifname, &old));
        if (r < 0)
                return r;
        if (!streq_ptr(rtnl_link_get_type(old), "ifb"))
                return log_debug_errno(SYNTHETIC_ERRNO(EEXIST), "'%s' exists and is not an ifb.", ifname);
        if (!(rtnl_link_get_flags(old) & IFF_UP)) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *change = rtnl_link_alloc();

                if (!change)
                        return -ENOMEM;
                rtnl_link_set_flags(change, IFF_UP);
                r = netlink_result(nl, rtnl_link_change(nl->sk, old, change, 0));
                if (r < 0)
                        return r;
        }
        *ret_ifindex = rtnl_link_get_ifindex(old);
        return 0;
}

/* Where a qdisc or filter goes (link, parent, handle) and its kind; 0 or a negative errno. */
static int tc_init(struct rtnl_tc *tc, int ifindex, uint32_t parent, uint32_t handle, const char *kind) {
        int r;

        rtnl_tc_set_ifindex(tc, ifindex);
        rtnl_tc_set_parent(tc, parent);
        rtnl_tc_set_handle(tc, handle);
        r = rtnl_tc_set_kind(tc, kind);
        return r < 0 ? errno_from_nlerr(r) : 0;
}

/* A tbf as the root qdisc of ifindex, replacing whatever is there. */
static int tbf_replace(Netlink *nl, int ifindex, uint64_t rate, uint64_t burst) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
        uint64_t limit = rate * TBF_LATENCY_USEC / 1000000 + burst;
        int r;

        q = rtnl_qdisc_alloc();
        if (!q)
                return -ENOMEM;
        r = tc_init(TC_CAST(q), ifindex, TC_H_ROOT, ROOT_HANDLE, "tbf");
        if (r < 0)
                return r;
        /* limit_check_bandwidth() keeps all three within int */
        rtnl_qdisc_tbf_set_rate(q, (int) rate, (int) burst, 0);
        rtnl_qdisc_tbf_set_limit(q, (int) limit);
        return netlink_result(nl, rtnl_qdisc_add(nl->sk, q, NLM_F_CREATE | NLM_F_REPLACE));
}

static int ingress_ensure(Netlink *nl, int ifindex) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
        int r;

        q = rtnl_qdisc_alloc();
        if (!q)
                return -ENOMEM;
        r = tc_init(TC_CAST(q), ifindex, TC_H_INGRESS, INGRESS_HANDLE, "ingress");
        if (r < 0)
                return r;
        /* an ingress qdisc has nothing to change: it is there or it is made */
        r = netlink_result(nl, rtnl_qdisc_add(nl->sk, q, NLM_F_CREATE | NLM_F_EXCL));
        return r == -EEXIST ? 0 : r;
}

/* u32 "match everything", action mirred egress redirect to the ifb; replaced in place on a second call. */
static int redirect_replace(Netlink *nl, int ifindex, int ifb_ifindex) {
        _cleanup_(rtnl_cls_putp) struct rtnl_cls *cls = NULL;
        _cleanup_(rtnl_act_putp) struct rtnl_act *act = NULL;
        int r;

        cls = rtnl_cls_alloc();
        act = rtnl_act_alloc();
        if (!cls || !act)
                return -ENOMEM;
        r = tc_init(TC_CAST(cls), ifindex, INGRESS_HANDLE, FILTER_HANDLE, "u32");
        if (r < 0)
                return r;
        rtnl_cls_set_protocol(cls, ETH_P_ALL);
        rtnl_cls_set_prio(cls, FILTER_PRIO);
        r = rtnl_u32_add_key_uint32(cls, 0, 0, 0, 0);
        if (r >= 0)
                r = rtnl_u32_set_cls_terminal(cls);
        if (r < 0)
                return errno_from_nlerr(r);

        r = rtnl_tc_set_kind(TC_CAST(act), "mirred");
        if (r >= 0)
                r = rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
        if (r >= 0)
                r = rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
        if (r >= 0)
                r = rtnl_mirred_set_ifindex(act, (uint32_t) ifb_ifindex);
        if (r >= 0)
                r = rtnl_u32_add_action(cls, act); /* takes its own reference */
        if (r < 0)
                return errno_from_nlerr(r);

        return netlink_result(nl, rtnl_cls_add(nl->sk, cls, NLM_F_CREATE | NLM_F_REPLACE));
}

int bandwidth_apply(const char *host_ifname, uint64_t rate, uint64_t burst) {
        _cleanup_(netlink_done) Netlink nl = {};
        char ifb[NETWORK_IFNAME_MAX];
        int host_ifindex = 0, ifb_ifindex = 0, r;

        assert(host_ifname);

        if (rate < 1 || rate > LIMIT_BANDWIDTH_RATE_MAX || burst < 1 || burst > LIMIT_BANDWIDTH_BURST_MAX)
                return -EINVAL;
        r = bandwidth_ifb_name(host_ifname, ifb);
        if (r < 0)
                return r;
        r = netlink_open(&nl);
        if (r < 0)
                return r;
        r = link_ifindex(&nl, host_ifname, &host_ifindex);
        if (r < 0)
                return r;

        r = tbf_replace(&nl, host_ifindex, rate, burst);
        if (r < 0)
                return log_debug_errno(r, "Failed to set a tbf on '%s': %m", host_ifname);
        /* the ifb is shaped before anything is redirected to it */
        r = ifb_ensure(&nl, ifb, &ifb_ifindex);
        if (r < 0)
                return r;
        r = tbf_replace(&nl, ifb_ifindex, rate, burst);
        if (r < 0)
                return log_debug_errno(r, "Failed to set a tbf on '%s': %m", ifb);
        r = ingress_ensure(&nl, host_ifindex);
        if (r < 0)
                return log_debug_errno(r, "Failed to add an ingress qdisc to '%s': %m", host_ifname);
        r = redirect_replace(&nl, host_ifindex, ifb_ifindex);
        if (r < 0)
                return log_debug_errno(
                        r, "Failed to redirect the ingress of '%s' to '%s': %m", host_ifname, ifb);
        return 0;
}

static int qdisc_delete(Netlink *nl, int ifindex, uint32_t parent, uint32_t handle, const char *kind) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
        int r;

        q = rtnl_qdisc_alloc();
        if (!q)
                return -ENOMEM;
        r = tc_init(TC_CAST(q), ifindex, parent, handle, kind);
        if (r < 0)
                return r;
        r = netlink_result(nl, rtnl_qdisc_delete(nl->sk, q));
        /* none there: ENOENT, or EINVAL for the default root qdisc that cannot be deleted */
        return IN_SET(r, -ENOENT, -EINVAL) ? 0 : r;
}

static int link_delete_by_name(Netlink *nl, const char *ifname) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, ifname);
        r = netlink_result(nl, rtnl_link_delete(nl->sk, link));
        return IN_SET(r, -ENODEV, -ENOENT) ? 0 : r;
}

int bandwidth_remove(const char *host_ifname) {
        _cleanup_(netlink_done) Netlink nl = {};
        char ifb[NETWORK_IFNAME_MAX];
        int host_ifindex = 0, r, ret = 0;

        assert(host_ifname);

        r = bandwidth_ifb_name(host_ifname, ifb);
        if (r < 0)
                return r;
        r = netlink_open(&nl);
        if (r < 0)
                return r;
        r = link_ifindex(&nl, host_ifname, &host_ifindex);
        if (r >= 0) {
                r = qdisc_delete(&nl, host_ifindex, TC_H_INGRESS, INGRESS_HANDLE, "ingress");
                if (r < 0)
                        ret = r;
                r = qdisc_delete(&nl, host_ifindex, TC_H_ROOT, ROOT_HANDLE, "tbf");
                if (r < 0 && ret == 0)
                        ret = r;
        } else if (r != -ENODEV)
                ret = r;
        r = link_delete_by_name(&nl, ifb);
        if (r < 0 && ret == 0)
                ret = r;
        return ret;
}

int bandwidth_teardown(const char *host_ifname) {
        _cleanup_(netlink_done) Netlink nl = {};
        char ifb[NETWORK_IFNAME_MAX];
        int r;

        assert(host_ifname);

        r = bandwidth_ifb_name(host_ifname, ifb);
        if (r < 0)
                return r;
        r = netlink_open(&nl);
        if (r < 0)
                return r;
        return link_delete_by_name(&nl, ifb);
}

static int read_counter(const char *ifname, const char *name, uint64_t *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (asprintf(&path, "/sys/class/net/%s/statistics/%s", ifname, name) < 0)
                return -ENOMEM;
        r = read_full_file(path, 64, &text, NULL);
        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        return parse_uint64(text, ret);
}

int bandwidth_link_counters(
        const char *host_ifname, uint64_t *ret_from_container, uint64_t *ret_to_container) {
        uint64_t rx, tx;
        int r;

        assert(ret_from_container);
        assert(ret_to_container);

        if (!host_ifname || strchr(host_ifname, '/') ||
            strnlen(host_ifname, NETWORK_IFNAME_MAX) >= NETWORK_IFNAME_MAX)
                return -EINVAL;
        r = read_counter(host_ifname, "rx_bytes", &rx);
        if (r >= 0)
                r = read_counter(host_ifname, "tx_bytes", &tx);
        if (r < 0)
                return r;
        *ret_from_container = rx;
        *ret_to_container = tx;
        return 0;
}
