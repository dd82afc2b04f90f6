/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nftables/libnftables.h>

#include "fileio.h"
#include "firewall.h"
#include "handle.h"
#include "log.h"
#include "parse-util.h"
#include "string-table.h"
#include "worker.h"

#define T FIREWALL_FAMILY " " FIREWALL_TABLE
#define TA FIREWALL_ARP_FAMILY " " FIREWALL_TABLE
#define IP_FORWARD_PATH "/proc/sys/net/ipv4/ip_forward"

/* ---- rules ---------------------------------------------------------------------------------------- */

static const char *const net_protocol_table[_NET_PROTOCOL_MAX] = {
        [NET_PROTOCOL_ALL] = "all",
        [NET_PROTOCOL_TCP] = "tcp",
        [NET_PROTOCOL_UDP] = "udp",
        [NET_PROTOCOL_ICMP] = "icmp",
};

DEFINE_STRING_TABLE_LOOKUP(net_protocol, NetProtocol);

static int parse_ipv4(const char *s, size_t len, uint32_t *ret) {
        char buf[INET_ADDRSTRLEN];
        struct in_addr a;

        if (len == 0 || len >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (inet_pton(AF_INET, buf, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

/* The host bits of a /prefixlen (a shift by 32 is undefined). */
static uint32_t host_mask(unsigned prefixlen) {
        return prefixlen >= 32 ? 0 : UINT32_MAX >> prefixlen;
}

int net_network_parse(
        const char *s,
        NetNetworkKind *ret_kind,
        uint32_t *ret_first,
        uint32_t *ret_last,
        unsigned *ret_prefixlen) {
        const char *dash;
        uint32_t first, last;
        unsigned prefixlen;
        int r;

        assert(ret_kind);
        assert(ret_first);
        assert(ret_last);
        assert(ret_prefixlen);

        if (!s)
                return -EINVAL;
        if (strchr(s, '/')) {
                r = parse_ipv4_cidr(s, &first, &prefixlen);
                if (r < 0)
                        return -EINVAL;
                *ret_kind = NET_NETWORK_CIDR;
                *ret_prefixlen = prefixlen;
                *ret_first = first;
                *ret_last = first | host_mask(prefixlen);
                return 0;
        }
        dash = strchr(s, '-');
        if (dash) {
                if (parse_ipv4(s, (size_t) (dash - s), &first) < 0 ||
                    parse_ipv4(dash + 1, strlen(dash + 1), &last) < 0 || first > last)
                        return -EINVAL;
                *ret_kind = NET_NETWORK_RANGE;
                *ret_prefixlen = 0;
                *ret_first = first;
                *ret_last = last;
                return 0;
        }
        if (parse_ipv4(s, strlen(s), &first) < 0)
                return -EINVAL;
        *ret_kind = NET_NETWORK_ADDRESS;
        *ret_prefixlen = 32;
        *ret_first = *ret_last = first;
        return 0;
}

static int fail_message(char **reterr_message, const char *fmt, ...) _printf_(2, 3);
static int fail_message(char **reterr_message, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vasprintf(reterr_message, fmt, ap);
        va_end(ap);
        if (n < 0) {
                *reterr_message = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

int net_out_rule_from_spec(const NetOutRuleSpec *spec, NetOutRule *ret, char **reterr_message) {
        NetOutRule rule = { .icmp_type = -1, .icmp_code = -1 };
        bool ports;

        assert(spec && ret && reterr_message);

        if (!spec->network)
                return fail_message(reterr_message, "NetOut rule: key 'network' is required.");
        if (net_network_parse(spec->network, &rule.kind, &rule.first, &rule.last, &rule.prefixlen) < 0)
                return fail_message(
                        reterr_message,
                        "NetOut rule: network '%s' is not an IPv4 address, a network a.b.c.d/n "
                        "without "
                        "host bits or a range a.b.c.d-e.f.g.h.",
                        spec->network);

        rule.protocol = NET_PROTOCOL_ALL;
        if (spec->protocol) {
                rule.protocol = net_protocol_from_string(spec->protocol);
                if (rule.protocol < 0)
                        return fail_message(
                                reterr_message,
                                "NetOut rule: unknown protocol '%s' (tcp, udp, icmp or all).",
                                spec->protocol);
        }

        ports = spec->has_port || spec->has_port_range;
        if (spec->has_port && spec->has_port_range)
                return fail_message(
                        reterr_message, "NetOut rule: give either 'port' or 'port_range', not both.");
        if (ports && !IN_SET(rule.protocol, NET_PROTOCOL_TCP, NET_PROTOCOL_UDP))
                return fail_message(
                        reterr_message,
                        "NetOut rule: ports apply to tcp and udp only, not to protocol '%s'.",
                        net_protocol_to_string(rule.protocol));
        if (spec->has_port) {
                if (spec->port == 0)
                        return fail_message(
                                reterr_message, "NetOut rule: port 0 is not a port (1 to 65535).");
                rule.port_min = rule.port_max = spec->port;
        }
        if (spec->has_port_range) {
                if (spec->port_range[0] == 0)
                        return fail_message(
                                reterr_message,
                                "NetOut rule: port_range starts at 0 (ports are 1 to 65535).");
                if (spec->port_range[0] > spec->port_range[1])
                        return fail_message(
                                reterr_message,
                                "NetOut rule: port_range %u-%u: the first port is greater than the "
                                "last.",
                                spec->port_range[0],
                                spec->port_range[1]);
                rule.port_is_range = true;
                rule.port_min = spec->port_range[0];
                rule.port_max = spec->port_range[1];
        }

        if ((spec->has_icmp_type || spec->has_icmp_code) && rule.protocol != NET_PROTOCOL_ICMP)
                return fail_message(
                        reterr_message,
                        "NetOut rule: icmp_type and icmp_code apply to protocol icmp only, not to "
                        "'%s'.",
                        net_protocol_to_string(rule.protocol));
        if (spec->has_icmp_type) {
                if (spec->icmp_type < -1 || spec->icmp_type > 255)
                        return fail_message(
                                reterr_message,
                                "NetOut rule: icmp_type %" PRIi32 " is out of range (0 to 255, -1: any).",
                                spec->icmp_type);
                rule.icmp_type = (int16_t) spec->icmp_type;
        }
        if (spec->has_icmp_code) {
                if (spec->icmp_code < -1 || spec->icmp_code > 255)
                        return fail_message(
                                reterr_message,
                                "NetOut rule: icmp_code %" PRIi32 " is out of range (0 to 255, -1: any).",
                                spec->icmp_code);
                rule.icmp_code = (int16_t) spec->icmp_code;
        }
        if (rule.icmp_code >= 0 && rule.icmp_type < 0)
                return fail_message(reterr_message, "NetOut rule: icmp_code needs an icmp_type.");

        *ret = rule;
        return 0;
}

static void format_ipv4(uint32_t a, char buf[static INET_ADDRSTRLEN]) {
        struct in_addr in = { .s_addr = htonl(a) };

        assert_se(inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN));
}

void net_out_rule_format_network(const NetOutRule *r, char buf[static 32]) {
        char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

        assert(r);

        format_ipv4(r->first, a);
        switch (r->kind) {
        case NET_NETWORK_CIDR:
                snprintf(buf, 32, "%s/%u", a, r->prefixlen);
                break;
        case NET_NETWORK_RANGE:
                format_ipv4(r->last, b);
                snprintf(buf, 32, "%s-%s", a, b);
                break;
        case NET_NETWORK_ADDRESS:
        default:
                snprintf(buf, 32, "%s", a);
                break;
        }
}

int net_out_rule_to_string(const NetOutRule *r, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char network[32];
        size_t size = 0;
        FILE *f;

        assert(r);
        assert(ret);

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        net_out_rule_format_network(r, network);
        fprintf(f, "network:%s protocol:%s", network, net_protocol_to_string(r->protocol));
        if (r->port_min > 0 && r->port_is_range)
                fprintf(f, " port_range:%u-%u", r->port_min, r->port_max);
        else if (r->port_min > 0)
                fprintf(f, " port:%u", r->port_min);
        if (r->icmp_type >= 0)
                fprintf(f, " icmp_type:%i", r->icmp_type);
        if (r->icmp_code >= 0)
                fprintf(f, " icmp_code:%i", r->icmp_code);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static int parse_port(const char *s, uint16_t *ret) {
        uint32_t v;

        if (parse_uint32(s, &v) < 0 || v > UINT16_MAX)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

static int parse_small_int(const char *s, int32_t *ret) {
        uint32_t v;

        if (streq(s, "-1")) {
                *ret = -1;
                return 0;
        }
        if (parse_uint32(s, &v) < 0 || v > 255)
                return -EINVAL;
        *ret = (int32_t) v;
        return 0;
}

int net_out_rule_from_string(const char *s, NetOutRule *ret) {
        _cleanup_free_ char *copy = NULL, *message = NULL;
        NetOutRuleSpec spec = {};
        char *p, *word;
        int r;

        assert(s);
        assert(ret);

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        p = copy;
        while ((word = strsep(&p, " "))) {
                char *value = strchr(word, ':');

                if (word[0] == '\0')
                        continue;
                if (!value)
                        return -EINVAL;
                *value++ = '\0';
                if (streq(word, "network") && !spec.network)
                        spec.network = value;
                else if (streq(word, "protocol") && !spec.protocol)
                        spec.protocol = value;
                else if (streq(word, "port") && !spec.has_port) {
                        if (parse_port(value, &spec.port) < 0)
                                return -EINVAL;
                        spec.has_port = true;
                } else if (streq(word, "port_range") && !spec.has_port_range) {
                        char *dash = strchr(value, '-');

                        if (!dash)
                                return -EINVAL;
                        *dash = '\0';
                        if (parse_port(value, &spec.port_range[0]) < 0 ||
                            parse_port(dash + 1, &spec.port_range[1]) < 0)
                                return -EINVAL;
                        spec.has_port_range = true;
                } else if (streq(word, "icmp_type") && !spec.has_icmp_type) {
                        if (parse_small_int(value, &spec.icmp_type) < 0)
                                return -EINVAL;
                        spec.has_icmp_type = true;
                } else if (streq(word, "icmp_code") && !spec.has_icmp_code) {
                        if (parse_small_int(value, &spec.icmp_code) < 0)
                                return -EINVAL;
                        spec.has_icmp_code = true;
                } else
                        return -EINVAL;
        }
        r = net_out_rule_from_spec(&spec, ret, &message);
        return r == -ENOMEM ? r : (r < 0 ? -EINVAL : 0);
}

/* ---- policy --------------------------------------------------------------------------------------- */

static int copy_networks(const IPv4NetworkList *l, IPv4Network **ret, size_t *ret_n) {
        IPv4Network *copy = NULL;

        if (l->n > 0) {
                copy = calloc(l->n, sizeof(IPv4Network));
                if (!copy)
                        return -ENOMEM;
                memcpy(copy, l->networks, l->n * sizeof(IPv4Network));
        }
        *ret = copy;
        *ret_n = l->n;
        return 0;
}

int firewall_policy_from_config(const ManagerConfig *c, FirewallPolicy *ret) {
        FirewallPolicy p = {
                .pool = c->pool,
                .allow_host_access = c->allow_host_access,
                .enable_ip_forward = c->enable_ip_forward,
        };

        assert(c);
        assert(ret);

        if (copy_networks(&c->allow_networks, &p.allow_networks, &p.n_allow_networks) < 0 ||
            copy_networks(&c->deny_networks, &p.deny_networks, &p.n_deny_networks) < 0) {
                firewall_policy_done(&p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

void firewall_policy_done(FirewallPolicy *p) {
        assert(p);

        p->allow_networks = mfree(p->allow_networks);
        p->deny_networks = mfree(p->deny_networks);
        p->n_allow_networks = p->n_deny_networks = 0;
}

/* ---- nft text ------------------------------------------------------------------------------------- */

static int text_begin(char **buf, size_t *size, FILE **ret) {
        *buf = NULL;
        *size = 0;
        *ret = open_memstream(buf, size);
        return *ret ? 0 : -ENOMEM;
}

static int text_end(FILE *f, char **buf, char **ret) {
        if (fclose(f) != 0) {
                *buf = mfree(*buf);
                return -ENOMEM;
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

static void text_set(FILE *f, const char *name, const IPv4Network *networks, size_t n) {
        fprintf(f, "add set " T " %s { type ipv4_addr; flags interval; auto-merge; }\n", name);
        if (n == 0)
                return;
        fprintf(f, "add element " T " %s { ", name);
        for (size_t i = 0; i < n; i++) {
                char a[INET_ADDRSTRLEN];

                format_ipv4(networks[i].address, a);
                fprintf(f, "%s%s/%u", i > 0 ? ", " : "", a, networks[i].prefixlen);
        }
        fputs(" }\n", f);
}

int firewall_text_base(const FirewallPolicy *p, char **ret) {
        _cleanup_free_ char *buf = NULL;
        char pool[INET_ADDRSTRLEN];
        size_t size;
        FILE *f;

        assert(p);
        assert(ret);

        if (text_begin(&buf, &size, &f) < 0)
                return -ENOMEM;
        format_ipv4(p->pool.address, pool);

        /* "add" first, so that "delete" works whether or not a table is there */
        fputs("add table " T "\n"
              "delete table " T "\n"
              "add table " T " { comment \"warden: container network policy, managed by wardend\"; }\n",
              f);
        text_set(f, "allow_networks", p->allow_networks, p->n_allow_networks);
        text_set(f, "deny_networks", p->deny_networks, p->n_deny_networks);
        fputs("add map " T " egress { type ifname : verdict; }\n"
              "add map " T " net_in { type inet_service : ipv4_addr . inet_service; }\n",
              f);

        /* filter: what containers may send and receive. A refusal is a TCP reset or an ICMP
         * "administratively prohibited", so that a client learns it at once instead of timing out. */
        fputs("add chain " T " forward { type filter hook forward priority filter; policy accept; }\n"
              "add chain " T " from_container\n"
              "add chain " T " to_container\n"
              "add chain " T " refuse\n"
              "add rule " T " refuse meta l4proto tcp reject with tcp reset\n"
              "add rule " T " refuse reject with icmpx admin-prohibited\n"
              "add rule " T " forward ct state established,related accept\n"
              "add rule " T " forward iifname \"" FIREWALL_LINK_PATTERN "\" jump from_container\n"
              "add rule " T " forward oifname \"" FIREWALL_LINK_PATTERN "\" jump to_container\n"
              "add rule " T " from_container oifname \"" FIREWALL_LINK_PATTERN "\" goto refuse\n"
              "add rule " T " from_container ip daddr @deny_networks goto refuse\n"
              "add rule " T " from_container iifname vmap @egress\n"
              "add rule " T " from_container ip daddr @allow_networks accept\n"
              "add rule " T " from_container goto refuse\n"
              "add rule " T " to_container ct status dnat accept\n"
              "add rule " T " to_container goto refuse\n",
              f);
        if (!p->allow_host_access)
                fputs("add chain " T " input { type filter hook input priority filter; policy accept; }\n"
                      "add rule " T " input iifname \"" FIREWALL_LINK_PATTERN "\" "
                      "ct state established,related accept\n"
                      "add rule " T " input iifname \"" FIREWALL_LINK_PATTERN "\" goto refuse\n",
                      f);

        /* nat: NetIn on every local address but loopback (no route_localnet), for packets that arrive and
         * for the host's own; masquerade what leaves through anything but a container link */
        fputs("add chain " T " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
              "add chain " T " output { type nat hook output priority -100; policy accept; }\n"
              "add chain " T " postrouting { type nat hook postrouting priority srcnat; policy accept; }\n"
              "add rule " T " prerouting fib daddr type local ip daddr != 127.0.0.0/8 "
              "dnat ip to tcp dport map @net_in\n"
              "add rule " T " output fib daddr type local ip daddr != 127.0.0.0/8 "
              "dnat ip to tcp dport map @net_in\n",
              f);
        fprintf(f,
                "add rule " T " postrouting ip saddr %s/%u oifname != \"" FIREWALL_LINK_PATTERN
                "\" masquerade\n",
                pool,
                p->pool.prefixlen);

        /* No spoofing: what comes in from a container's link must carry its address, checked before
         * conntrack (priority raw), so that a forged packet neither joins another's flow nor makes one.
         * IPv6 is never assigned (a link-local address at most): all of it goes, counted apart. One
         * set of link . address pairs: one hash lookup however many containers there are. */
        fputs("add set " T " sources { type ifname . ipv4_addr; }\n"
              "add counter " T " spoofed\n"
              "add counter " T " ipv6\n"
              "add chain " T " antispoof { type filter hook prerouting priority raw; policy accept; }\n"
              "add rule " T " antispoof iifname != \"" FIREWALL_LINK_PATTERN "\" accept\n"
              "add rule " T " antispoof iifname . ip saddr @sources accept\n"
              "add rule " T " antispoof meta nfproto ipv6 counter name ipv6 drop\n"
              "add rule " T " antispoof counter name spoofed drop\n",
              f);
        /* ... and so must its ARP, or it could claim another's address or the host's in the host's
         * neighbour table (requests and gratuitous ARP included: the kernel learns from both) */
        fputs("add table " TA "\n"
              "delete table " TA "\n"
              "add table " TA
              " { comment \"warden: no ARP spoofing from containers, managed by wardend\"; }\n"
              "add set " TA " sources { type ifname . ipv4_addr; }\n"
              "add counter " TA " spoofed\n"
              "add chain " TA " input { type filter hook input priority filter; policy accept; }\n"
              "add rule " TA " input iifname != \"" FIREWALL_LINK_PATTERN "\" accept\n"
              "add rule " TA " input iifname . arp saddr ip @sources accept\n"
              "add rule " TA " input counter name spoofed drop\n",
              f);
        return text_end(f, &buf, ret);
}

static void text_net_in(FILE *f, const FirewallContainer *fc, const NetInRule *r) {
        fprintf(f,
                "add element " T " net_in { %u : %s . %u }\n",
                r->host_port,
                fc->container_ip,
                r->container_port);
}

static void text_net_out(FILE *f, const FirewallContainer *fc, const NetOutRule *r) {
        char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

        fprintf(f, "add rule " T " out-%u", fc->id);
        format_ipv4(r->first, a);
        format_ipv4(r->last, b);
        if (r->first == 0 && r->last == UINT32_MAX)
                fputs(" meta nfproto ipv4", f);
        else if (r->first == r->last)
                fprintf(f, " ip daddr %s", a);
        else if (r->kind == NET_NETWORK_CIDR)
                fprintf(f, " ip daddr %s/%u", a, r->prefixlen);
        else
                fprintf(f, " ip daddr %s-%s", a, b);

        switch (r->protocol) {
        case NET_PROTOCOL_TCP:
        case NET_PROTOCOL_UDP: {
                const char *proto = net_protocol_to_string(r->protocol);

                if (r->port_min == 0)
                        fprintf(f, " meta l4proto %s", proto);
                else if (r->port_min == r->port_max)
                        fprintf(f, " %s dport %u", proto, r->port_min);
                else
                        fprintf(f, " %s dport %u-%u", proto, r->port_min, r->port_max);
                break;
        }
        case NET_PROTOCOL_ICMP:
                if (r->icmp_type < 0)
                        fputs(" meta l4proto icmp", f);
                else
                        fprintf(f, " icmp type %i", r->icmp_type);
                if (r->icmp_code >= 0)
                        fprintf(f, " icmp code %i", r->icmp_code);
                break;
        case NET_PROTOCOL_ALL:
        default:
                break;
        }
        fputs(" accept\n", f);
}

static int check_container(const FirewallContainer *fc) {
        struct in_addr a;

        if (!handle_is_valid(fc->handle) || !fc->container_ip ||
            inet_pton(AF_INET, fc->container_ip, &a) != 1)
                return -EINVAL;
        return 0;
}

/* The one address the container's link may send from, in the IP and in the ARP table. */
static void text_sources(FILE *f, const char *verb, const FirewallContainer *fc) {
        fprintf(f, "%s element " T " sources { \"w-%u-0\" . %s }\n", verb, fc->id, fc->container_ip);
        fprintf(f, "%s element " TA " sources { \"w-%u-0\" . %s }\n", verb, fc->id, fc->container_ip);
}

int firewall_text_container_add(const FirewallContainer *fc, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f;

        assert(fc);
        assert(ret);

        if (check_container(fc) < 0)
                return -EINVAL;
        if (text_begin(&buf, &size, &f) < 0)
                return -ENOMEM;
        /* The element's data follows from the id, so re-adding an existing one is a no-op. */
        fprintf(f,
                "add chain " T " out-%u { comment \"container %s\"; }\n"
                "flush chain " T " out-%u\n"
                "add element " T " egress { \"w-%u-0\" comment \"%s\" : jump out-%u }\n",
                fc->id,
                fc->handle,
                fc->id,
                fc->id,
                fc->handle,
                fc->id);
        text_sources(f, "add", fc);
        FOREACH_ARRAY(r, fc->net_in, fc->n_net_in)
                text_net_in(f, fc, r);
        FOREACH_ARRAY(r, fc->net_out, fc->n_net_out)
                text_net_out(f, fc, r);
        return text_end(f, &buf, ret);
}

int firewall_text_container_remove(const FirewallContainer *fc, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f;

        assert(fc);
        assert(ret);

        if (check_container(fc) < 0)
                return -EINVAL;
        if (text_begin(&buf, &size, &f) < 0)
                return -ENOMEM;
        /* Each object is added (a no-op if it is there) before it is deleted: the whole is idempotent, and
         * fails only if an object of that name has other content, i.e. is not this container's. */
        fprintf(f,
                "add chain " T " out-%u\n"
                "add element " T " egress { \"w-%u-0\" : jump out-%u }\n"
                "delete element " T " egress { \"w-%u-0\" }\n"
                "delete chain " T " out-%u\n",
                fc->id,
                fc->id,
                fc->id,
                fc->id,
                fc->id);
        text_sources(f, "add", fc);
        text_sources(f, "delete", fc);
        FOREACH_ARRAY(r, fc->net_in, fc->n_net_in) {
                text_net_in(f, fc, r);
                fprintf(f, "delete element " T " net_in { %u }\n", r->host_port);
        }
        return text_end(f, &buf, ret);
}

int firewall_text_net_in(const FirewallContainer *fc, const NetInRule *r, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f;

        assert(fc);
        assert(r);
        assert(ret);

        if (check_container(fc) < 0 || r->host_port == 0 || r->container_port == 0)
                return -EINVAL;
        if (text_begin(&buf, &size, &f) < 0)
                return -ENOMEM;
        text_net_in(f, fc, r);
        return text_end(f, &buf, ret);
}

int firewall_text_net_out(const FirewallContainer *fc, const NetOutRule *r, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        FILE *f;

        assert(fc);
        assert(r);
        assert(ret);

        if (check_container(fc) < 0)
                return -EINVAL;
        if (text_begin(&buf, &size, &f) < 0)
                return -ENOMEM;
        text_net_out(f, fc, r);
        return text_end(f, &buf, ret);
}

int firewall_enable_ip_forward(void) {
        _cleanup_free_ char *v = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = read_full_file(IP_FORWARD_PATH, 16, &v, NULL);
        if (r < 0)
                return r;
        if (startswith(v, "1"))
                return 0;
        fd = open(IP_FORWARD_PATH, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return loop_write(fd, "1\n", 2);
}

/* ---- running transactions ------------------------------------------------------------------------- */

static int nft_context(struct nft_ctx **ctx) {
        if (*ctx)
                return 0;
        *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!*ctx)
                return -ENOMEM;
        if (nft_ctx_buffer_output(*ctx) < 0 || nft_ctx_buffer_error(*ctx) < 0) {
                nft_ctx_free(*ctx);
                *ctx = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Runs one transaction. -EIO with *ret_message (nft's own words, without the trailing newline). */
static int nft_run(struct nft_ctx *ctx, const char *text, char **ret_message) {
        const char *err;
        int r;

        *ret_message = NULL;
        r = nft_run_cmd_from_buffer(ctx, text);
        err = nft_ctx_get_error_buffer(ctx); /* reading a buffer also empties it for the next run */
        (void) nft_ctx_get_output_buffer(ctx);
        if (r == 0)
                return 0;
        if (err) {
                size_t n = strlen(err);

                while (n > 0 && err[n - 1] == '\n')
                        n--;
                *ret_message = strndup(err, n);
        }
        return -EIO;
}

struct FirewallJob {
        FirewallJob *next;
        char *text;
        bool enable_ip_forward;
        bool makes_table; /* on failure, the table is not there: the next container makes it again */
        firewall_done_t done;
        void *userdata;
        uint64_t submitted_usec;
};

/* What the worker thread gets: its own copies, and the nft context, which it makes if there is none yet
 * (that takes a few ms: not on the loop). The run owns the context until the loop takes it back. */
typedef struct FirewallRun {
        struct nft_ctx *ctx;
        char *text;
        bool enable_ip_forward;
        int ip_forward_result;
        char *message;
        uint64_t run_usec; /* how long nft took, for the debug log */
} FirewallRun;

/*
 * The queue: at most one transaction runs (fw->running, on fw->worker); the others wait in order. While a
 * done callback runs (fw->dispatching), new jobs are only appended: the next one is started after it, so
 * that completions are reported in submission order and a job is never started from inside another's
 * callback.
 */
struct Firewall {
        sd_event *event;
        FirewallPolicy policy;
        struct nft_ctx *ctx;
        bool have_table; /* as of the last transaction queued */
        unsigned n_containers;
        FirewallJob *queue_head, *queue_tail;
        FirewallJob *running;
        FirewallRun *run;
        Worker *worker;
        bool dispatching;
};

static void firewall_run_free(void *data) {
        FirewallRun *run = data;

        if (!run)
                return;
        if (run->ctx)
                nft_ctx_free(run->ctx);
        free(run->text);
        free(run->message);
        free(run);
}

static int firewall_run_work(void *data) {
        FirewallRun *run = data;
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        int r;

        if (run->enable_ip_forward)
                run->ip_forward_result = firewall_enable_ip_forward();
        r = nft_context(&run->ctx);
        if (r >= 0)
                r = nft_run(run->ctx, run->text, &run->message);
        run->run_usec = now_usec(CLOCK_MONOTONIC) - start;
        return r;
}

static void firewall_job_free(FirewallJob *j) {
        if (!j)
                return;
        free(j->text);
        free(j);
}

static void log_ip_forward_failure(int r) {
        log_warning_errno(
                r, "Failed to set " IP_FORWARD_PATH " to 1, containers cannot reach other networks: %m");
}

static void firewall_worker_done(Worker *w, int result, void *userdata);

/* Starts the job at the head of the queue. Negative errno if it could not; it stays at the head then. */
static int firewall_start_head(Firewall *fw) {
        FirewallJob *j = fw->queue_head;
        FirewallRun *run;
        int r;

        assert(j && !fw->worker);
        run = calloc(1, sizeof(FirewallRun));
        if (!run)
                return -ENOMEM;
        run->ctx = TAKE_PTR(fw->ctx);
        run->text = TAKE_PTR(j->text);
        run->enable_ip_forward = j->enable_ip_forward;
        fw->run = run;
        r = worker_start(
                fw->event,
                "warden-nft",
                firewall_run_work,
                run,
                firewall_run_free,
                firewall_worker_done,
                fw,
                &fw->worker);
        if (r < 0) {
                fw->run = NULL; /* freed by worker_start */
                return r;
        }
        fw->queue_head = j->next;
        if (!fw->queue_head)
                fw->queue_tail = NULL;
        j->next = NULL;
        fw->running = j;
        return 0;
}

static void firewall_complete(Firewall *fw, FirewallJob *j, int result, const char *message) {
        if (result < 0 && j->makes_table)
                fw->have_table = false;
        fw->dispatching = true;
        if (j->done)
                j->done(result, message, j->userdata);
        else if (result < 0)
                log_debug("An nft transaction nobody waits for failed: %s", strna(message));
        fw->dispatching = false;
        firewall_job_free(j);
}

/* After a job: start the next; one that cannot be started is reported failed, in its turn. */
static void firewall_start_next(Firewall *fw) {
        while (!fw->worker && fw->queue_head) {
                FirewallJob *j;
                int r;

                r = firewall_start_head(fw);
                if (r >= 0)
                        return;
                j = fw->queue_head;
                fw->queue_head = j->next;
                if (!fw->queue_head)
                        fw->queue_tail = NULL;
                firewall_complete(fw, j, r, NULL);
        }
}

static void firewall_worker_done(Worker *w, int result, void *userdata) {
        Firewall *fw = userdata;
        FirewallJob *j = TAKE_PTR(fw->running);
        _cleanup_free_ char *message = TAKE_PTR(fw->run->message);

        if (fw->run->enable_ip_forward && fw->run->ip_forward_result < 0)
                log_ip_forward_failure(fw->run->ip_forward_result);
        log_debug(
                "nft transaction took %lluus in nft, %lluus from submission (%s).",
                (unsigned long long) fw->run->run_usec,
                (unsigned long long) (now_usec(CLOCK_MONOTONIC) - j->submitted_usec),
                result < 0 ? "failed" : "done");
        fw->ctx = TAKE_PTR(fw->run->ctx);
        fw->run = NULL;
        fw->worker = worker_free(fw->worker); /* frees the run */

        firewall_complete(fw, j, result, message);
        firewall_start_next(fw);
}

static int firewall_queue(
        Firewall *fw,
        char *text,
        bool enable_ip_forward,
        bool makes_table,
        firewall_done_t done,
        void *userdata,
        FirewallJob **ret) {
        FirewallJob *j;
        int r;

        j = calloc(1, sizeof(FirewallJob));
        if (!j) {
                free(text);
                return -ENOMEM;
        }
        *j = (FirewallJob){
                .text = text,
                .enable_ip_forward = enable_ip_forward,
                .makes_table = makes_table,
                .done = done,
                .userdata = userdata,
                .submitted_usec = now_usec(CLOCK_MONOTONIC),
        };
        if (fw->queue_tail)
                fw->queue_tail->next = j;
        else
                fw->queue_head = j;
        fw->queue_tail = j;

        /* Nothing runs and nobody is being told about a finished job: the queue was empty, start it now. A
         * failure to start is the caller's, and the job was never there. */
        if (!fw->worker && !fw->dispatching) {
                assert(fw->queue_head == j);
                r = firewall_start_head(fw);
                if (r < 0) {
                        fw->queue_head = fw->queue_tail = NULL;
                        firewall_job_free(j);
                        return r;
                }
        }
        if (ret)
                *ret = j;
        return 0;
}

int firewall_new(sd_event *e, const FirewallPolicy *policy, Firewall **ret) {
        _cleanup_(firewall_freep) Firewall *fw = NULL;
        int r;

        assert(policy);
        assert(ret);
        assert(e);

        fw = calloc(1, sizeof(Firewall));
        if (!fw)
                return -ENOMEM;
        fw->event = sd_event_ref(e);
        fw->policy = (FirewallPolicy){
                .pool = policy->pool,
                .allow_host_access = policy->allow_host_access,
                .enable_ip_forward = policy->enable_ip_forward,
        };
        r = copy_networks(
                &(IPv4NetworkList){ .networks = policy->allow_networks, .n = policy->n_allow_networks },
                &fw->policy.allow_networks,
                &fw->policy.n_allow_networks);
        if (r >= 0)
                r = copy_networks(
                        &(IPv4NetworkList){ .networks = policy->deny_networks,
                                            .n = policy->n_deny_networks },
                        &fw->policy.deny_networks,
                        &fw->policy.n_deny_networks);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(fw);
        return 0;
}

Firewall *firewall_free(Firewall *fw) {
        if (!fw)
                return NULL;
        while (fw->queue_head) {
                FirewallJob *j = fw->queue_head;

                fw->queue_head = j->next;
                firewall_job_free(j);
        }
        /* A running transaction finishes on its own and frees its run, context included (worker.h). */
        fw->worker = worker_free(fw->worker);
        firewall_job_free(fw->running);
        if (fw->ctx)
                nft_ctx_free(fw->ctx);
        firewall_policy_done(&fw->policy);
        sd_event_unref(fw->event);
        free(fw);
        return NULL;
}

unsigned firewall_n_containers(const Firewall *fw) {
        assert(fw);

        return fw->n_containers;
}

void firewall_job_cancel(FirewallJob *j) {
        if (j)
                j->done = NULL;
}

int firewall_sync(
        Firewall *fw,
        const FirewallContainer *containers,
        size_t n_containers,
        bool wipe,
        char **reterr_message) {
        _cleanup_free_ char *text = NULL;
        char *buf = NULL;
        size_t size;
        FILE *f;
        int r;

        assert(containers || n_containers == 0);
        assert(!fw->worker && !fw->queue_head && fw->n_containers == 0);
        *reterr_message = NULL;

        if (n_containers == 0 && !wipe)
                return 0;
        if (text_begin(&buf, &size, &f) < 0)
                return -ENOMEM;
        if (n_containers == 0)
                fputs("add table " T "\ndelete table " T "\nadd table " TA "\ndelete table " TA "\n", f);
        else {
                _cleanup_free_ char *base = NULL;

                r = firewall_text_base(&fw->policy, &base);
                if (r < 0) {
                        fclose(f);
                        free(buf);
                        return r;
                }
                fputs(base, f);
                for (size_t i = 0; i < n_containers; i++) {
                        _cleanup_free_ char *c = NULL;

                        r = firewall_text_container_add(&containers[i], &c);
                        if (r < 0) {
                                fclose(f);
                                free(buf);
                                return r;
                        }
                        fputs(c, f);
                }
        }
        r = text_end(f, &buf, &text);
        if (r < 0)
                return r;

        /* Counted whatever happens: if the transaction fails, the table of the last wardend stays in force,
         * and a container's removal must still be submitted. */
        fw->n_containers = (unsigned) n_containers;
        fw->have_table = n_containers > 0;

        if (n_containers > 0 && fw->policy.enable_ip_forward) {
                r = firewall_enable_ip_forward();
                if (r < 0)
                        log_ip_forward_failure(r);
        }
        r = nft_context(&fw->ctx);
        if (r < 0)
                return r;
        return nft_run(fw->ctx, text, reterr_message);
}

int firewall_add_container(
        Firewall *fw, const FirewallContainer *fc, firewall_done_t done, void *userdata, FirewallJob **ret) {
        _cleanup_free_ char *base = NULL, *text = NULL;
        bool makes_table = !fw->have_table;
        char *joined;
        int r;

        assert(fw);
        assert(fc);

        r = firewall_text_container_add(fc, &text);
        if (r < 0)
                return r;
        if (makes_table) {
                r = firewall_text_base(&fw->policy, &base);
                if (r < 0)
                        return r;
                if (asprintf(&joined, "%s%s", base, text) < 0)
                        return -ENOMEM;
                free(text);
                text = joined;
        }
        r = firewall_queue(
                fw,
                TAKE_PTR(text),
                makes_table && fw->policy.enable_ip_forward,
                makes_table,
                done,
                userdata,
                ret);
        if (r < 0)
                return r;
        fw->have_table = true;
        fw->n_containers++;
        return 0;
}

int firewall_remove_container(
        Firewall *fw, const FirewallContainer *fc, firewall_done_t done, void *userdata, FirewallJob **ret) {
        _cleanup_free_ char *text = NULL;
        bool last = fw->n_containers <= 1;
        int r;

        assert(fw);
        assert(fc);

        if (last) {
                /* The last one: the whole table goes, and with it everything of warden. */
                text = strdup("delete table " T "\nadd table " TA "\ndelete table " TA "\n");
                if (!text)
                        return -ENOMEM;
        } else {
                r = firewall_text_container_remove(fc, &text);
                if (r < 0)
                        return r;
        }
        r = firewall_queue(fw, TAKE_PTR(text), false, false, done, userdata, ret);
        if (r < 0)
                return r;
        if (fw->n_containers > 0)
                fw->n_containers--;
        if (last)
                fw->have_table = false;
        return 0;
}

int firewall_add_net_in(
        Firewall *fw,
        const FirewallContainer *fc,
        const NetInRule *r,
        firewall_done_t done,
        void *userdata,
        FirewallJob **ret) {
        char *text = NULL;
        int k;

        assert(fw);
        assert(fc);
        assert(r);

        k = firewall_text_net_in(fc, r, &text);
        if (k < 0)
                return k;
        return firewall_queue(fw, text, false, false, done, userdata, ret);
}

int firewall_add_net_out(
        Firewall *fw,
        const FirewallContainer *fc,
        const NetOutRule *r,
        firewall_done_t done,
        void *userdata,
        FirewallJob **ret) {
        char *text = NULL;
        int k;

        assert(fw);
        assert(fc);
        assert(r);

        k = firewall_text_net_out(fc, r, &text);
        if (k < 0)
                return k;
        return firewall_queue(fw, text, false, false, done, userdata, ret);
}
