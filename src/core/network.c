/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Why the veth pair is made the way it is:
 *
 * Everything the kernel does here is cheap CPU work except registering, moving and unregistering a network
 * device, each of which waits for RCU grace periods (machine-facts.md: a veth pair into a new netns ~30 ms,
 * moving a link to another netns ~35 ms, deleting one ~35 ms). The classic "ip link add a type veth peer b;
 * ip link set b netns N" pays for registering b in our netns and then for moving it. Instead, a single
 * RTM_NEWLINK carries the peer's IFLA_NET_NS_FD inside VETH_INFO_PEER, so the kernel registers the peer
 * directly in the container's netns; the same request sets both MTUs and brings the host side up. The
 * container side's IFF_UP, the addresses, lo and the default route are separate requests, none of which
 * waits for a grace period (measured in a private netns: setup 2-5 ms median, teardown ~25 ms, which is the
 * unregistering).
 *
 * Talking to the container's netns: a netlink socket stays bound to the netns it was created in, so the
 * calling thread enters the container's netns just long enough to create one, and goes back at once. No
 * other work happens while the thread is in the other netns.
 *
 * libnl returns its own error codes (NLE_*), which are not errnos and lose detail (every kernel errno it
 * does not know becomes NLE_FAILURE). Each socket therefore gets an error callback that keeps the errno
 * the kernel sent; the table below maps only libnl's own failures.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <linux/if.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>
#include <netlink/socket.h>

#include "log.h"
#include "netlink-util.h"
#include "network.h"

DEFINE_CLEANUP_FUNC_VOID(struct rtnl_link *, rtnl_link_put);
DEFINE_CLEANUP_FUNC_VOID(struct rtnl_addr *, rtnl_addr_put);
DEFINE_CLEANUP_FUNC_VOID(struct rtnl_route *, rtnl_route_put);
DEFINE_CLEANUP_FUNC_VOID(struct rtnl_neigh *, rtnl_neigh_put);
DEFINE_CLEANUP_FUNC_VOID(struct nl_addr *, nl_addr_put);
DEFINE_CLEANUP_FUNC_VOID(struct nl_msg *, nlmsg_free);

void netlink_done(Netlink *nl) {
        assert(nl);

        if (nl->sk)
                nl_socket_free(nl->sk); /* closes the socket too */
        nl->sk = NULL;
}

/* The reverse of libnl's nl_syserr2nlerr(), for errors libnl produced itself. */
int errno_from_nlerr(int nlerr) {
        static const struct {
                int nle;
                int errnum;
        } table[] = {
                { NLE_BAD_SOCK, EBADF },
                { NLE_EXIST, EEXIST },
                { NLE_NOADDR, EADDRNOTAVAIL },
                { NLE_OBJ_NOTFOUND, ENOENT },
                { NLE_INTR, EINTR },
                { NLE_AGAIN, EAGAIN },
                { NLE_INVAL, EINVAL },
                { NLE_NOACCESS, EACCES },
                { NLE_NOMEM, ENOMEM },
                { NLE_AF_NOSUPPORT, EAFNOSUPPORT },
                { NLE_PROTO_MISMATCH, EPROTONOSUPPORT },
                { NLE_OPNOTSUPP, EOPNOTSUPP },
                { NLE_PERM, EPERM },
                { NLE_BUSY, EBUSY },
                { NLE_RANGE, ERANGE },
                { NLE_NODEV, ENODEV },
                { NLE_MSGSIZE, EMSGSIZE },
                { NLE_MSG_TRUNC, EMSGSIZE },
                { NLE_MSG_OVERFLOW, EMSGSIZE },
                { NLE_MSG_TOOSHORT, EBADMSG },
                { NLE_SEQ_MISMATCH, EPROTO },
                { NLE_DUMP_INTR, EINTR },
                { NLE_MISSING_ATTR, EINVAL },
        };

        nlerr = nlerr < 0 ? -nlerr : nlerr;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (table[i].nle == nlerr)
                        return -table[i].errnum;
        return -EIO;
}

/* Turns a libnl return value into 0 or a negative errno, preferring what the kernel said. */
int netlink_result(Netlink *nl, int r) {
        int kernel_error = nl->kernel_error;

        assert(nl);

        nl->kernel_error = 0;
        if (r >= 0)
                return 0;
        if (kernel_error < 0)
                return kernel_error;
        return errno_from_nlerr(r);
}

static int netlink_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *userdata) {
        Netlink *nl = userdata;

        nl->kernel_error = e->error < 0 ? e->error : -e->error;
        return NL_STOP; /* libnl then returns its own code for it, which netlink_result() replaces */
}

int netlink_open(Netlink *ret) {
        struct nl_sock *sk;
        int r;

        assert(ret);

        sk = nl_socket_alloc();
        if (!sk)
                return -ENOMEM;
        r = nl_connect(sk, NETLINK_ROUTE);
        if (r < 0) {
                nl_socket_free(sk);
                return errno_from_nlerr(r);
        }

        *ret = (Netlink){ .sk = sk };
        /* The callback points into *ret, so set it only once *ret holds the socket. */
        r = nl_socket_modify_err_cb(sk, NL_CB_CUSTOM, netlink_error_cb, ret);
        if (r < 0) {
                netlink_done(ret);
                return errno_from_nlerr(r);
        }
        return 0;
}

/*
 * Opens a route socket that lives in netns_fd. Only the calling thread switches, and it always switches back
 * before returning.
 */
static int netlink_open_in_netns(int netns_fd, Netlink *ret) {
        _cleanup_close_ int own_netns = -EBADF;
        int r;

        own_netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (own_netns < 0)
                return -errno;

        if (setns(netns_fd, CLONE_NEWNET) < 0)
                return -errno;

        r = netlink_open(ret);

        if (setns(own_netns, CLONE_NEWNET) < 0) {
                /* Cannot happen while we hold CAP_SYS_ADMIN (we just used it). If it does, the caller is now
                 * in the wrong netns; fail, so that it does not go on as if nothing had happened. */
                int k = -errno;

                log_debug_errno(k, "Failed to return to the original network namespace: %m");
                if (r >= 0)
                        netlink_done(ret);
                return k;
        }
        return r;
}

static bool in_addr_is_valid(const char *s) {
        struct in_addr a;

        return s && inet_pton(AF_INET, s, &a) == 1;
}

static int parse_in_addr(const char *s, struct nl_addr **ret) {
        struct in_addr a;
        struct nl_addr *addr;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        addr = nl_addr_build(AF_INET, &a, sizeof(a));
        if (!addr)
                return -ENOMEM;
        *ret = addr;
        return 0;
}

static int address_add(Netlink *nl, int ifindex, const char *ip, unsigned prefixlen) {
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *addr = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *local = NULL;
        int r;

        r = parse_in_addr(ip, &local);
        if (r < 0)
                return r;

        addr = rtnl_addr_alloc();
        if (!addr)
                return -ENOMEM;
        rtnl_addr_set_family(addr, AF_INET);
        rtnl_addr_set_ifindex(addr, ifindex);
        r = rtnl_addr_set_local(addr, local);
        if (r < 0)
                return errno_from_nlerr(r);
        rtnl_addr_set_prefixlen(addr, (int) prefixlen);

        return netlink_result(nl, rtnl_addr_add(nl->sk, addr, NLM_F_EXCL));
}

static int default_route_add(Netlink *nl, int ifindex, const char *gateway) {
        _cleanup_(rtnl_route_putp) struct rtnl_route *route = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *gw = NULL, *dst = NULL;
        struct rtnl_nexthop *nh;
        int r;

        r = parse_in_addr(gateway, &gw);
        if (r < 0)
                return r;
        r = parse_in_addr("0.0.0.0", &dst);
        if (r < 0)
                return r;
        nl_addr_set_prefixlen(dst, 0);

        route = rtnl_route_alloc();
        if (!route)
                return -ENOMEM;
        rtnl_route_set_family(route, AF_INET);
        rtnl_route_set_table(route, RT_TABLE_MAIN);
        r = rtnl_route_set_dst(route, dst);
        if (r < 0)
                return errno_from_nlerr(r);

        nh = rtnl_route_nh_alloc();
        if (!nh)
                return -ENOMEM;
        rtnl_route_nh_set_ifindex(nh, ifindex);
        rtnl_route_nh_set_gateway(nh, gw);
        rtnl_route_add_nexthop(route, nh); /* the route owns nh now */

        return netlink_result(nl, rtnl_route_add(nl->sk, route, NLM_F_EXCL));
}

/* The MAC address of the side of the pair that has 'ip': 02:77 (locally administered, unicast) and the four
 * bytes of the address. Addresses are unique in the pool, so are these. */
static int veth_mac(const char *ip, struct nl_addr **ret) {
        uint8_t mac[6] = { 0x02, 0x77 };
        struct nl_addr *a;
        struct in_addr in;

        if (!ip || inet_pton(AF_INET, ip, &in) != 1)
                return -EINVAL;
        memcpy(mac + 2, &in.s_addr, 4);
        a = nl_addr_build(AF_LLC, mac, sizeof(mac));
        if (!a)
                return -ENOMEM;
        *ret = a;
        return 0;
}

/*
 * A permanent neighbour entry for the other side of the pair: ip → its MAC, on link 'ifindex'. No ARP then
 * on either side, and no entry in the kernel's ARP cache, which is ONE table for all network namespaces:
 * gc_thresh3 (1024 by default, a sysctl of the host's namespace only) ARP entries in all, so that with some
 * 500 containers that talk to the host, new neighbours fail with "neighbor table overflow". Permanent
 * entries do not count against it.
 */
static int neighbour_add(Netlink *nl, int ifindex, const char *ip) {
        _cleanup_(rtnl_neigh_putp) struct rtnl_neigh *neigh = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *dst = NULL, *mac = NULL;
        int r;

        r = parse_in_addr(ip, &dst);
        if (r < 0)
                return r;
        r = veth_mac(ip, &mac);
        if (r < 0)
                return r;
        neigh = rtnl_neigh_alloc();
        if (!neigh)
                return -ENOMEM;
        rtnl_neigh_set_family(neigh, AF_INET);
        rtnl_neigh_set_ifindex(neigh, ifindex);
        r = rtnl_neigh_set_dst(neigh, dst);
        if (r < 0)
                return errno_from_nlerr(r);
        rtnl_neigh_set_lladdr(neigh, mac);
        rtnl_neigh_set_state(neigh, NUD_PERMANENT);
        return netlink_result(nl, rtnl_neigh_add(nl->sk, neigh, NLM_F_CREATE | NLM_F_REPLACE));
}

/* Sets IFF_UP on a link, by ifindex (> 0) or else by name, with a plain RTM_NEWLINK (no NLM_F_CREATE). */
static int link_up(Netlink *nl, int ifindex, const char *ifname) {
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        struct ifinfomsg ifi = {
                .ifi_family = AF_UNSPEC,
                .ifi_index = ifindex > 0 ? ifindex : 0,
                .ifi_flags = IFF_UP,
                .ifi_change = IFF_UP,
        };
        int r;

        msg = nlmsg_alloc_simple(RTM_NEWLINK, 0);
        if (!msg)
                return -ENOMEM;
        r = nlmsg_append(msg, &ifi, sizeof(ifi), NLMSG_ALIGNTO);
        if (r < 0)
                return errno_from_nlerr(r);
        if (ifindex <= 0) {
                r = nla_put_string(msg, IFLA_IFNAME, ifname);
                if (r < 0)
                        return errno_from_nlerr(r);
        }

        /* nl_send_sync() frees the message in every case. */
        return netlink_result(nl, nl_send_sync(nl->sk, TAKE_PTR(msg)));
}

/* Deletes a link by ifindex (> 0) or else by name. */
static int link_delete(Netlink *nl, int ifindex, const char *ifname) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;

        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        if (ifindex > 0)
                rtnl_link_set_ifindex(link, ifindex);
        else
                rtnl_link_set_name(link, ifname);
        return netlink_result(nl, rtnl_link_delete(nl->sk, link));
}

/* The kernel answers ENODEV for an unknown link name; libnl's own lookups say NLE_OBJ_NOTFOUND. */
static bool errno_is_no_such_link(int r) {
        return r == -ENODEV || r == -ENOENT;
}

int network_ifnames(uint32_t id, NetworkConfig *cfg) {
        int n;

        assert(cfg);

        /* "w-4294967295-0" is 14 characters, so this always fits today; the check keeps it so if the
         * format ever grows. */
        n = snprintf(cfg->host_ifname, sizeof(cfg->host_ifname), "w-%" PRIu32 "-0", id);
        if (n < 0 || (size_t) n >= sizeof(cfg->host_ifname))
                return -ENAMETOOLONG;
        n = snprintf(cfg->container_ifname, sizeof(cfg->container_ifname), "w-%" PRIu32 "-1", id);
        if (n < 0 || (size_t) n >= sizeof(cfg->container_ifname))
                return -ENAMETOOLONG;
        return 0;
}

static bool ifname_is_valid(const char *s) {
        size_t n = strnlen(s, NETWORK_IFNAME_MAX);

        return n > 0 && n < NETWORK_IFNAME_MAX && !strpbrk(s, "/: \t\n") && !streq(s, ".") &&
               !streq(s, "..");
}

static int veth_create(Netlink *nl, const NetworkConfig *cfg, int netns_fd) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL, *peer = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *host_mac = NULL, *container_mac = NULL;
        int r;

        /* known MACs, for the neighbour entries of veth_configure() */
        r = veth_mac(cfg->host_ip, &host_mac);
        if (r < 0)
                return r;
        r = veth_mac(cfg->container_ip, &container_mac);
        if (r < 0)
                return r;

        link = rtnl_link_veth_alloc();
        if (!link)
                return -ENOMEM;
        peer = rtnl_link_veth_get_peer(link); /* takes a reference */

        rtnl_link_set_name(link, cfg->host_ifname);
        rtnl_link_set_flags(link, IFF_UP);
        rtnl_link_set_name(peer, cfg->container_ifname);
        /* Not IFF_UP for the peer: the kernel applies the peer's flags before it ties the two devices
         * together, and opening an untied veth fails with ENOTCONN. The host side's flags are applied after,
         * so it can come up here; the peer is brought up by a second request in the container's netns. */
        rtnl_link_set_ns_fd(peer, netns_fd);
        rtnl_link_set_addr(link, host_mac);
        rtnl_link_set_addr(peer, container_mac);
        if (cfg->mtu > 0) {
                rtnl_link_set_mtu(link, cfg->mtu);
                rtnl_link_set_mtu(peer, cfg->mtu);
        }

        /* EXCL: an existing name must fail with EEXIST, not silently reconfigure someone else's link. */
        return netlink_result(nl, rtnl_link_add(nl->sk, link, NLM_F_CREATE | NLM_F_EXCL));
}

/* Looks up the host side: its own ifindex and its peer's ifindex (IFLA_LINK, valid in the peer's netns). */
static int veth_get_ifindexes(Netlink *nl, const char *host_ifname, int *ret_host, int *ret_peer) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r, host, peer;

        r = netlink_result(nl, rtnl_link_get_kernel(nl->sk, 0, host_ifname, &link));
        if (r < 0)
                return r;
        host = rtnl_link_get_ifindex(link);
        peer = rtnl_link_get_link(link);
        if (host <= 0 || peer <= 0)
                return -ENXIO;
        *ret_host = host;
        *ret_peer = peer;
        return 0;
}

static int
veth_configure(Netlink *host, Netlink *container, const NetworkConfig *cfg, int *ret_host_ifindex) {
        int host_ifindex = 0, container_ifindex = 0, r;

        r = veth_get_ifindexes(host, cfg->host_ifname, &host_ifindex, &container_ifindex);
        if (r < 0)
                return log_debug_errno(r, "Failed to look up '%s': %m", cfg->host_ifname);
        *ret_host_ifindex = host_ifindex;

        r = address_add(host, host_ifindex, cfg->host_ip, cfg->prefixlen);
        if (r < 0)
                return log_debug_errno(
                        r,
                        "Failed to add %s/%u to '%s': %m",
                        cfg->host_ip,
                        cfg->prefixlen,
                        cfg->host_ifname);

        r = link_up(container, container_ifindex, NULL);
        if (r < 0)
                return log_debug_errno(r, "Failed to bring up '%s': %m", cfg->container_ifname);

        r = address_add(container, container_ifindex, cfg->container_ip, cfg->prefixlen);
        if (r < 0)
                return log_debug_errno(
                        r,
                        "Failed to add %s/%u to '%s': %m",
                        cfg->container_ip,
                        cfg->prefixlen,
                        cfg->container_ifname);

        r = link_up(container, 0, "lo");
        if (r < 0)
                return log_debug_errno(r, "Failed to bring up lo in the container: %m");

        r = neighbour_add(container, container_ifindex, cfg->host_ip);
        if (r < 0)
                return log_debug_errno(
                        r, "Failed to add the neighbour %s in the container: %m", cfg->host_ip);
        r = neighbour_add(host, host_ifindex, cfg->container_ip);
        if (r < 0)
                return log_debug_errno(
                        r, "Failed to add the neighbour %s on the host: %m", cfg->container_ip);

        r = default_route_add(container, container_ifindex, cfg->host_ip);
        if (r < 0)
                return log_debug_errno(r, "Failed to add the default route via %s: %m", cfg->host_ip);

        return 0;
}

int network_setup(const NetworkConfig *cfg, int netns_fd) {
        _cleanup_(netlink_done) Netlink host = {}, container = {};
        int host_ifindex = 0, r;

        assert(cfg);

        /* Everything that can be checked is checked before the pair exists. */
        if (!ifname_is_valid(cfg->host_ifname) || !ifname_is_valid(cfg->container_ifname) ||
            !in_addr_is_valid(cfg->host_ip) || !in_addr_is_valid(cfg->container_ip) || cfg->prefixlen < 1 ||
            cfg->prefixlen > 30 || netns_fd < 0)
                return -EINVAL;

        r = netlink_open(&host);
        if (r < 0)
                return log_debug_errno(r, "Failed to open a netlink socket: %m");
        r = netlink_open_in_netns(netns_fd, &container);
        if (r < 0)
                return log_debug_errno(r, "Failed to open a netlink socket in the container's netns: %m");

        r = veth_create(&host, cfg, netns_fd);
        if (r < 0)
                return log_debug_errno(
                        r, "Failed to create veth '%s'/'%s': %m", cfg->host_ifname, cfg->container_ifname);

        r = veth_configure(&host, &container, cfg, &host_ifindex);
        if (r < 0) {
                /* Deleting either side deletes the pair. By ifindex when known, so that we cannot hit a link
                 * that somebody else created under that name in the meantime. */
                int k = link_delete(&host, host_ifindex, cfg->host_ifname);
                if (k < 0)
                        log_debug_errno(
                                k,
                                "Failed to delete '%s' after a failed setup, ignoring: %m",
                                cfg->host_ifname);
                return r;
        }

        return 0;
}

int network_teardown(const char *host_ifname) {
        _cleanup_(netlink_done) Netlink nl = {};
        int r;

        if (!host_ifname || !ifname_is_valid(host_ifname))
                return -EINVAL;

        r = netlink_open(&nl);
        if (r < 0)
                return r;

        r = link_delete(&nl, 0, host_ifname);
        if (errno_is_no_such_link(r))
                return 0;
        return r;
}

int network_link_exists(const char *ifname) {
        _cleanup_(netlink_done) Netlink nl = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        if (!ifname || !ifname_is_valid(ifname))
                return -EINVAL;

        r = netlink_open(&nl);
        if (r < 0)
                return r;

        r = netlink_result(&nl, rtnl_link_get_kernel(nl.sk, 0, ifname, &link));
        if (errno_is_no_such_link(r))
                return 0;
        if (r < 0)
                return r;
        return 1;
}
