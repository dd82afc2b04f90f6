/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The containers' network policy, in nftables, through libnftables' text syntax. Every object lives in one
 * table of warden's own, "inet warden" (inet: one forward chain sees IPv4 and IPv6, so a container's IPv6
 * is denied along with everything else; the rules themselves match IPv4, the only family containers have):
 *
 *     set   allow_networks, deny_networks     from the configuration (flags interval, auto-merge)
 *     map   egress   ifname : verdict         "w-<id>-0" : jump out-<id>, one element per container
 *     map   net_in   inet_service : ipv4_addr . inet_service     host port : container ip . port (NetIn)
 *     chain forward (filter hook)             established/related accept; from a container → from_container;
 *                                             to a container → to_container
 *     chain from_container                    to another container: refuse; deny_networks: refuse;
 *                                             iifname vmap @egress (the container's NetOut rules);
 *                                             allow_networks: accept; anything else: refuse
 *     chain to_container                      DNAT'ed (NetIn): accept; anything else: refuse
 *     chain input (filter hook)               unless allow_host_access: from a container, only replies
 *     chain refuse                            TCP reset, or ICMP administratively prohibited
 *     chain prerouting, output (nat hooks)    to a local address but 127/8: dnat through @net_in
 *     chain postrouting (nat hook)            from the pool, leaving through a non-container link:
 *                                             masquerade
 *     chain out-<id>                          a container's NetOut rules, each "... accept"
 *     set   sources  ifname . ipv4_addr       "w-<id>-0" . <container ip>, one element per container
 *     chain antispoof (filter hook prerouting, priority raw: before conntrack)
 *                                             from a container link: IPv6 (none is assigned): counter
 *                                             "ipv6", drop; unless its pair is in @sources: counter
 *                                             "spoofed", drop
 *
 * and, for ARP (which the inet family does not see), "arp warden":
 *
 *     set   sources  ifname . ipv4_addr       the same pairs
 *     chain input (filter hook)               from a container link, unless the ARP sender address's
 *                                             pair is in @sources: counter "spoofed", drop
 *
 * So one container's change is one small transaction: its chain, map and set elements (Create), a map
 * element (NetIn), a rule in its chain (NetOut), their removal (Destroy). The tables are made when the
 * first container needs them and deleted when the last one goes: without containers nothing of warden is
 * in the ruleset. At start-up both are rebuilt from the containers' state in one transaction.
 *
 * Transactions block (netlink round trips; with a thousand containers a few ms, because libnftables
 * fetches the table first): they run one after the other, in submission order, on a worker thread
 * (worker.h). That order is a contract: a container's removal, submitted after its other changes, runs
 * after them, and their completions are reported (on the event loop) before the removal's.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "manager-config.h"

#define FIREWALL_FAMILY "inet"
#define FIREWALL_TABLE "warden"
#define FIREWALL_ARP_FAMILY "arp"
/* Host-side links of containers (network.h): w-<id>-0. Every link named like this is a container's. */
#define FIREWALL_LINK_PATTERN "w-*"

typedef enum NetProtocol {
        NET_PROTOCOL_ALL,
        NET_PROTOCOL_TCP,
        NET_PROTOCOL_UDP,
        NET_PROTOCOL_ICMP,
        _NET_PROTOCOL_MAX,
        _NET_PROTOCOL_INVALID = -EINVAL,
} NetProtocol;

const char *net_protocol_to_string(NetProtocol p) _pure_;
NetProtocol net_protocol_from_string(const char *s) _pure_;

/* NetIn: TCP to host_port on any local address but 127.0.0.0/8 goes to the container's container_port. */
typedef struct NetInRule {
        uint16_t host_port;
        uint16_t container_port;
} NetInRule;

typedef enum NetNetworkKind {
        NET_NETWORK_ADDRESS, /* a.b.c.d */
        NET_NETWORK_CIDR,    /* a.b.c.d/n */
        NET_NETWORK_RANGE,   /* a.b.c.d-e.f.g.h */
} NetNetworkKind;

/* NetOut: one destination that a container may reach, after validation. */
typedef struct NetOutRule {
        NetNetworkKind kind;
        uint32_t first, last; /* the destination addresses, inclusive, host byte order */
        unsigned prefixlen;   /* NET_NETWORK_CIDR: n; an address: 32; a range: 0 */
        NetProtocol protocol;
        bool port_is_range;           /* given as port_range (else as port) */
        uint16_t port_min, port_max;  /* 0, 0: every port */
        int16_t icmp_type, icmp_code; /* -1: any */
} NetOutRule;

/* A NetOut rule as a client gave it; NULL/false for keys that were not given. */
typedef struct NetOutRuleSpec {
        const char *network;
        const char *protocol;
        bool has_port;
        uint16_t port;
        bool has_port_range;
        uint16_t port_range[2];
        bool has_icmp_type;
        int32_t icmp_type;
        bool has_icmp_code;
        int32_t icmp_code;
} NetOutRuleSpec;

/*
 * Parses a destination: "a.b.c.d", "a.b.c.d/n" (no host bits set) or "a.b.c.d-e.f.g.h" (first <= last).
 * *ret_prefixlen is n (32 for an address, 0 for a range). -EINVAL if it is none of them.
 */
int net_network_parse(
        const char *s,
        NetNetworkKind *ret_kind,
        uint32_t *ret_first,
        uint32_t *ret_last,
        unsigned *ret_prefixlen);

/*
 * Validates a rule: network required; port or port_range (not both; 1..65535, min <= max) only with tcp or
 * udp; icmp_type/icmp_code (0..255, or -1 for any) only with icmp, a code only with a type; protocol tcp,
 * udp, icmp or all (default). -EINVAL with *reterr_message saying what is wrong; -ENOMEM.
 */
int net_out_rule_from_spec(const NetOutRuleSpec *spec, NetOutRule *ret, char **reterr_message);

/* "10.0.0.0/8", "10.1.2.3", "10.0.0.1-10.0.0.9": as it was given (normalised). */
void net_out_rule_format_network(const NetOutRule *r, char buf[static 32]);

/*
 * The rule as one line of "key:value" words, e.g. "network:10.0.0.0/8 protocol:tcp port_range:80-90"
 * (state files, logs), and back (validated again). -EINVAL; -ENOMEM.
 */
int net_out_rule_to_string(const NetOutRule *r, char **ret);
int net_out_rule_from_string(const char *s, NetOutRule *ret);

/* What the base table needs from the configuration (a copy: the pools follow the start-up config). */
typedef struct FirewallPolicy {
        IPv4Network pool;
        IPv4Network *allow_networks;
        size_t n_allow_networks;
        IPv4Network *deny_networks;
        size_t n_deny_networks;
        bool allow_host_access;
        bool enable_ip_forward;
} FirewallPolicy;

/* -ENOMEM. */
int firewall_policy_from_config(const ManagerConfig *c, FirewallPolicy *ret);
void firewall_policy_done(FirewallPolicy *p);

/* One container as the firewall sees it. Borrowed pointers. */
typedef struct FirewallContainer {
        uint32_t id;              /* its /30's index: names its link w-<id>-0 and its chain out-<id> */
        const char *handle;       /* in comments only */
        const char *container_ip; /* dotted quad: NetIn's destination */
        const NetInRule *net_in;
        size_t n_net_in;
        const NetOutRule *net_out;
        size_t n_net_out;
} FirewallContainer;

/*
 * The nft text of each transaction (pure, for tests and logs; -ENOMEM, -EINVAL for an invalid handle):
 *   base              the table from scratch (add + delete + add: replaces whatever is there)
 *   container_add     the container's chain, map and sources elements, NetIn elements and NetOut rules;
 *                     idempotent
 *   container_remove  the same away; idempotent (each object is added before it is deleted)
 *   net_in, net_out   one NetIn element, one NetOut rule
 */
int firewall_text_base(const FirewallPolicy *p, char **ret);
int firewall_text_container_add(const FirewallContainer *fc, char **ret);
int firewall_text_container_remove(const FirewallContainer *fc, char **ret);
int firewall_text_net_in(const FirewallContainer *fc, const NetInRule *r, char **ret);
int firewall_text_net_out(const FirewallContainer *fc, const NetOutRule *r, char **ret);

/* Writes 1 to /proc/sys/net/ipv4/ip_forward (of the caller's network namespace) unless it is 1 already.
 * Negative errno. */
int firewall_enable_ip_forward(void);

typedef struct Firewall Firewall;
typedef struct FirewallJob FirewallJob;

/* 'result' 0 or negative errno (-EIO: nft refused the transaction; 'message' holds what nft said, else
 * NULL). Called on the event loop. */
typedef void (*firewall_done_t)(int result, const char *message, void *userdata);

/* -ENOMEM. The policy is copied. No nft context is made before the first transaction. */
int firewall_new(sd_event *e, const FirewallPolicy *policy, Firewall **ret);
/* Transactions that are queued are dropped without their done being called; a running one finishes. */
Firewall *firewall_free(Firewall *fw);
DEFINE_TRIVIAL_CLEANUP_FUNC(Firewall *, firewall_free);

/*
 * Start-up, synchronously (nothing may be queued): 'containers' are those whose objects must exist. With
 * some, the table is rebuilt with them in one transaction; with none but 'wipe', a table left behind is
 * deleted; otherwise nothing is touched. Negative errno (-EIO with *reterr_message from nft); on failure
 * the ruleset is unchanged and the firewall counts the containers as present all the same (whatever the
 * last wardend installed for them is still in force).
 */
int firewall_sync(
        Firewall *fw,
        const FirewallContainer *containers,
        size_t n_containers,
        bool wipe,
        char **reterr_message);

/*
 * Queue a transaction; 'done' is called when it is over unless the job is cancelled first. *ret (may be
 * NULL) is valid until then. -ENOMEM.
 *   add_container     the first one makes the table (and sets ip_forward if configured)
 *   remove_container  the last one deletes the table; call it once for each add_container
 */
int firewall_add_container(
        Firewall *fw, const FirewallContainer *fc, firewall_done_t done, void *userdata, FirewallJob **ret);
int firewall_remove_container(
        Firewall *fw, const FirewallContainer *fc, firewall_done_t done, void *userdata, FirewallJob **ret);
int firewall_add_net_in(
        Firewall *fw,
        const FirewallContainer *fc,
        const NetInRule *r,
        firewall_done_t done,
        void *userdata,
        FirewallJob **ret);
int firewall_add_net_out(
        Firewall *fw,
        const FirewallContainer *fc,
        const NetOutRule *r,
        firewall_done_t done,
        void *userdata,
        FirewallJob **ret);

/* The transaction still runs (in its turn); only its done is not called. NULL is fine. */
void firewall_job_cancel(FirewallJob *j);

/* Number of containers the firewall holds objects for. */
unsigned firewall_n_containers(const Firewall *fw);
