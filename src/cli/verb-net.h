/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * wardenctl's network policy commands: net-in (NetIn, a port of the host forwarded to one of the
 * container) and net-out (NetOut, a rule that lets the container open connections). See wardenctl(1) and
 * NETWORK POLICY in org.warden.Manager(5). The commands log their failures and return a negative errno
 * then. The parsers and net_out_args_append() neither log nor talk to the bus, and never write *ret on
 * failure. Only the syntax is checked here; the rules (port 0, a range's order, which keys go with which
 * protocol) are wardend's, which answers with a message that says what is wrong.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

/* A port number, 0 to 65535. -EINVAL: not a number; -ERANGE: too large. */
int net_port_parse(const char *s, uint16_t *ret);

/* --port= of net-out: "N" (*ret_last = N, *ret_is_range false) or "N-M" (true). -EINVAL, -ERANGE. */
int net_port_range_parse(const char *s, uint16_t *ret_first, uint16_t *ret_last, bool *ret_is_range);

/* --icmp-type= and --icmp-code=: a decimal int32 ("-1": any). -EINVAL, -ERANGE. */
int net_icmp_parse(const char *s, int32_t *ret);

/* The NetOut rule a{sv}: only the keys given are sent. */
typedef struct NetOutArgs {
        const char *network;  /* "network" s; NULL: not sent */
        const char *protocol; /* "protocol" s; NULL: wardend's default, all */
        bool port_set;
        bool port_is_range;             /* "port_range" (qq), else "port" q */
        uint16_t port_first, port_last; /* port_last only for a range */
        bool icmp_type_set, icmp_code_set;
        int32_t icmp_type, icmp_code; /* "icmp_type" i, "icmp_code" i */
} NetOutArgs;

/* Appends NetOut's a{sv} for 'a'. 0 or sd-bus's negative errno. */
int net_out_args_append(sd_bus_message *m, const NetOutArgs *a);

/* NetIn: host port 'host_port' (0: the next free one) to 'container_port' (0: the same); prints the ports
 * in force, "host_port: N" and "container_port: N". */
int net_in(sd_bus *bus, const char *handle, uint16_t host_port, uint16_t container_port, bool json);

/* NetOut with the rule 'a'; prints nothing. */
int net_out(sd_bus *bus, const char *handle, const NetOutArgs *a);
