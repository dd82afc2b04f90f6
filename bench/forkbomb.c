/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The fork bomb of bench/run's isolation part: every process forks for ever and never exits, so that once
 * the container's pids limit is reached all of them spin in a fork() that fails. (A shell's bomb does not
 * hold: busybox sh exits when a fork fails, and the bomb dies down.) Linked statically, for the busybox
 * rootfs.
 */

#include <unistd.h>

int main(void) {
        for (;;)
                (void) fork();
}
