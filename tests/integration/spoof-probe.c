/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * spoof-probe: sends one forged packet from inside a container, as its root (CAP_NET_RAW), for
 * tests/integration/test-spoof.sh. Linked statically: the containers' rootfs has nothing but busybox.
 *
 *   spoof-probe udp SRC SPORT DST DPORT IPID PAYLOAD
 *   spoof-probe tcp SRC SPORT DST DPORT IPID PAYLOAD     (ACK|PSH, sequence and ack numbers 1)
 *       an IPv4 packet with any source address (IP_HDRINCL), routed by the container's routes; IPID marks
 *       it, so that the receiving side can count it (a NAT on the way changes addresses and ports, never
 *       the id)
 *   spoof-probe arp IFACE request|reply SENDER-IP SENDER-MAC|own TARGET-IP
 *       an ARP packet, broadcast on IFACE, claiming SENDER-IP for SENDER-MAC (own: IFACE's address)
 *   spoof-probe udp6 IFACE SRC-IPV6 DST-IPV6 PORT PAYLOAD
 *       an IPv6 UDP datagram to a multicast DST (ff02::1: every node on the link), written out on IFACE
 *       (so that it needs no address of the container's: IPv6 may still be busy with duplicate address
 *       detection)
 *
 * Exit status 0 if the packet was handed to the kernel, 1 with a message otherwise.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <netpacket/packet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int die(const char *what) {
        fprintf(stderr, "spoof-probe: %s: %s\n", what, strerror(errno));
        return 1;
}

static int usage(void) {
        fputs("usage: spoof-probe udp|tcp SRC SPORT DST DPORT IPID PAYLOAD\n"
              "       spoof-probe arp IFACE request|reply SENDER-IP SENDER-MAC|own TARGET-IP\n"
              "       spoof-probe udp6 IFACE SRC-IPV6 DST-IPV6 PORT PAYLOAD\n",
              stderr);
        return 2;
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum) {
        const uint8_t *p = data;

        for (; len > 1; p += 2, len -= 2)
                sum += (uint32_t) (p[0] << 8 | p[1]);
        if (len)
                sum += (uint32_t) (p[0] << 8);
        return sum;
}

static uint16_t fold(uint32_t sum) {
        while (sum >> 16)
                sum = (sum & 0xffff) + (sum >> 16);
        return htons((uint16_t) ~sum);
}

static int parse_port(const char *s, uint16_t *ret) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);

        if (*s == '\0' || *end != '\0' || v > 65535)
                return -1;
        *ret = (uint16_t) v;
        return 0;
}

static int send_ipv4(int argc, char **argv) {
        bool tcp = strcmp(argv[1], "tcp") == 0;
        uint8_t packet[1500] = {};
        struct iphdr *ip = (struct iphdr *) packet;
        uint8_t *l4 = packet + sizeof(*ip);
        size_t l4len, plen;
        struct in_addr src, dst;
        uint16_t sport, dport, id;
        struct sockaddr_in to = { .sin_family = AF_INET };
        uint32_t sum;
        int fd, one = 1;

        if (argc != 8 || inet_pton(AF_INET, argv[2], &src) != 1 || parse_port(argv[3], &sport) < 0 ||
            inet_pton(AF_INET, argv[4], &dst) != 1 || parse_port(argv[5], &dport) < 0 ||
            parse_port(argv[6], &id) < 0)
                return usage();
        plen = strlen(argv[7]);
        l4len = (tcp ? sizeof(struct tcphdr) : sizeof(struct udphdr)) + plen;
        if (sizeof(*ip) + l4len > sizeof(packet))
                return usage();

        if (tcp) {
                struct tcphdr *th = (struct tcphdr *) l4;

                th->source = htons(sport);
                th->dest = htons(dport);
                th->seq = htonl(1);
                th->ack_seq = htonl(1);
                th->doff = sizeof(*th) / 4;
                th->ack = th->psh = 1;
                th->window = htons(65535);
                memcpy(l4 + sizeof(*th), argv[7], plen);
        } else {
                struct udphdr *uh = (struct udphdr *) l4;

                uh->source = htons(sport);
                uh->dest = htons(dport);
                uh->len = htons((uint16_t) l4len);
                memcpy(l4 + sizeof(*uh), argv[7], plen);
        }
        /* the pseudo header, then the segment */
        sum = sum16(&src, 4, 0);
        sum = sum16(&dst, 4, sum);
        sum += tcp ? IPPROTO_TCP : IPPROTO_UDP;
        sum += (uint32_t) l4len;
        sum = sum16(l4, l4len, sum);
        if (tcp)
                ((struct tcphdr *) l4)->check = fold(sum);
        else
                ((struct udphdr *) l4)->check = fold(sum) ?: 0xffff;

        ip->version = 4;
        ip->ihl = sizeof(*ip) / 4;
        ip->tot_len = htons((uint16_t) (sizeof(*ip) + l4len));
        ip->id = htons(id);
        ip->ttl = 64;
        ip->protocol = tcp ? IPPROTO_TCP : IPPROTO_UDP;
        ip->saddr = src.s_addr;
        ip->daddr = dst.s_addr;
        ip->check = fold(sum16(ip, sizeof(*ip), 0));

        fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
        if (fd < 0)
                return die("socket(AF_INET, SOCK_RAW)");
        if (setsockopt(fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
                return die("IP_HDRINCL");
        to.sin_addr = dst;
        if (sendto(fd, packet, sizeof(*ip) + l4len, 0, (struct sockaddr *) &to, sizeof(to)) < 0)
                return die("sendto");
        close(fd);
        return 0;
}

/* A packet socket for writing whole frames of 'proto' on 'ifname': *to addresses the link (the destination
 * MAC is the caller's), mac is the link's own. -1 after a message. */
static int
open_link(const char *ifname, uint16_t proto, struct sockaddr_ll *to, uint8_t mac[static ETH_ALEN]) {
        struct ifreq ifr = {};
        const char *failed = NULL;
        int fd;

        fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
        if (fd < 0) {
                die("socket(AF_PACKET)");
                return -1;
        }
        strcpy(ifr.ifr_name, ifname);
        *to = (struct sockaddr_ll){
                .sll_family = AF_PACKET,
                .sll_halen = ETH_ALEN,
                .sll_ifindex = (int) if_nametoindex(ifname),
        };
        if (to->sll_ifindex == 0)
                failed = "if_nametoindex";
        else if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
                failed = "SIOCGIFHWADDR";
        if (failed) {
                die(failed);
                close(fd);
                return -1;
        }
        memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
        return fd;
}

static int send_frame(int fd, const void *frame, size_t len, const struct sockaddr_ll *to) {
        int r = 0;

        if (sendto(fd, frame, len, 0, (const struct sockaddr *) to, sizeof(*to)) < 0)
                r = die("sendto");
        close(fd);
        return r;
}

static int send_arp(int argc, char **argv) {
        struct {
                struct ether_header eth;
                struct arphdr arp;
                uint8_t sha[ETH_ALEN], spa[4], tha[ETH_ALEN], tpa[4];
        } __attribute__((packed)) frame = {};
        struct sockaddr_ll to;
        uint8_t own[ETH_ALEN], mac[ETH_ALEN];
        struct in_addr sip, tip;
        bool reply;
        int fd;

        if (argc != 7 || strlen(argv[2]) >= IFNAMSIZ || inet_pton(AF_INET, argv[4], &sip) != 1 ||
            inet_pton(AF_INET, argv[6], &tip) != 1)
                return usage();
        if (strcmp(argv[3], "request") == 0)
                reply = false;
        else if (strcmp(argv[3], "reply") == 0)
                reply = true;
        else
                return usage();

        fd = open_link(argv[2], ETH_P_ARP, &to, own);
        if (fd < 0)
                return 1;
        if (strcmp(argv[5], "own") == 0)
                memcpy(mac, own, ETH_ALEN);
        else if (
                sscanf(argv[5],
                       "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx",
                       &mac[0],
                       &mac[1],
                       &mac[2],
                       &mac[3],
                       &mac[4],
                       &mac[5]) != 6)
                return usage();
        memset(to.sll_addr, 0xff, ETH_ALEN);

        memset(frame.eth.ether_dhost, 0xff, ETH_ALEN);
        memcpy(frame.eth.ether_shost, own, ETH_ALEN);
        frame.eth.ether_type = htons(ETH_P_ARP);
        frame.arp.ar_hrd = htons(ARPHRD_ETHER);
        frame.arp.ar_pro = htons(ETH_P_IP);
        frame.arp.ar_hln = ETH_ALEN;
        frame.arp.ar_pln = 4;
        frame.arp.ar_op = htons(reply ? ARPOP_REPLY : ARPOP_REQUEST);
        memcpy(frame.sha, mac, ETH_ALEN);
        memcpy(frame.spa, &sip, 4);
        if (reply)
                memset(frame.tha, 0xff, ETH_ALEN);
        memcpy(frame.tpa, &tip, 4);
        return send_frame(fd, &frame, sizeof(frame), &to);
}

static int send_udp6(int argc, char **argv) {
        struct {
                struct ether_header eth;
                struct ip6_hdr ip6;
                struct udphdr udp;
                char payload[256];
        } __attribute__((packed)) frame = {};
        struct sockaddr_ll to;
        uint16_t port, len;
        size_t plen;
        uint32_t sum;
        int fd;

        if (argc != 7 || strlen(argv[2]) >= IFNAMSIZ ||
            inet_pton(AF_INET6, argv[3], &frame.ip6.ip6_src) != 1 ||
            inet_pton(AF_INET6, argv[4], &frame.ip6.ip6_dst) != 1 || parse_port(argv[5], &port) < 0 ||
            !IN6_IS_ADDR_MULTICAST(&frame.ip6.ip6_dst))
                return usage();
        plen = strlen(argv[6]);
        if (plen > sizeof(frame.payload))
                return usage();
        len = (uint16_t) (sizeof(struct udphdr) + plen);

        fd = open_link(argv[2], ETH_P_IPV6, &to, frame.eth.ether_shost);
        if (fd < 0)
                return 1;

        /* a multicast destination: 33:33 and its last four bytes */
        frame.eth.ether_dhost[0] = frame.eth.ether_dhost[1] = 0x33;
        memcpy(frame.eth.ether_dhost + 2, frame.ip6.ip6_dst.s6_addr + 12, 4);
        memcpy(to.sll_addr, frame.eth.ether_dhost, ETH_ALEN);
        frame.eth.ether_type = htons(ETH_P_IPV6);
        frame.ip6.ip6_flow = htonl(6u << 28);
        frame.ip6.ip6_plen = htons(len);
        frame.ip6.ip6_nxt = IPPROTO_UDP;
        frame.ip6.ip6_hops = 255;
        frame.udp.source = htons(port);
        frame.udp.dest = htons(port);
        frame.udp.len = htons(len);
        memcpy(frame.payload, argv[6], plen);
        sum = sum16(&frame.ip6.ip6_src, 32, 0); /* source and destination */
        sum += len;
        sum += IPPROTO_UDP;
        sum = sum16(&frame.udp, len, sum);
        frame.udp.check = fold(sum) ?: 0xffff;

        return send_frame(fd, &frame, sizeof(frame.eth) + sizeof(frame.ip6) + len, &to);
}

int main(int argc, char **argv) {
        if (argc < 2)
                return usage();
        if (strcmp(argv[1], "udp") == 0 || strcmp(argv[1], "tcp") == 0)
                return send_ipv4(argc, argv);
        if (strcmp(argv[1], "arp") == 0)
                return send_arp(argc, argv);
        if (strcmp(argv[1], "udp6") == 0)
                return send_udp6(argc, argv);
        return usage();
}
