/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * MESSAGE_ID= values of the events operators look for (journalctl MESSAGE_ID=<id>), listed in wardend(8)
 * "LOGGING". Never change an existing id; add new ones with `systemd-id128 new`.
 */

#define WARDEN_MESSAGE_STARTED "3cb3864b30734005978b35ae799fd0c7"           /* wardend is up */
#define WARDEN_MESSAGE_IDLE_EXIT "42201c2e8f3c49b0a600990b563cecae"         /* exiting after idle_timeout */
#define WARDEN_MESSAGE_CONTAINER_ADOPTED "03ceaa37242844529e550d3b578706c7" /* re-adopted at start-up */
#define WARDEN_MESSAGE_CONTAINER_LOST "36dbd72c868244f6b858f219007aba6d"    /* wshd gone: cleaned up */
#define WARDEN_MESSAGE_CONFIG_INVALID "f109d1fdb1ff4164b4375a16c0b1c516"    /* configuration refused */
#define WARDEN_MESSAGE_CONTAINER_CREATED "feafccafc5f7454b8e405fadeb8f99a0" /* a container is ready */
#define WARDEN_MESSAGE_CONTAINER_DESTROYED "bfe8c24e0ede430985b43bc3b9ce7919" /* and is gone */
#define WARDEN_MESSAGE_OUT_OF_MEMORY "43f00c3342444213a5441de9c1459dcf" /* an OOM kill in a container */
#define WARDEN_MESSAGE_BUS_LOST "9b1a4f07d6e04c1c8d0e6a3f5b27c811" /* the bus connection is gone: exit */
