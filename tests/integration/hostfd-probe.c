/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * test-hostfd's probe: what a job tries with the terminal it may have been given as its stdin (the
 * container's rootfs has nothing but busybox, so this is linked statically and bound in).
 *
 *     hostfd-probe tiocsti TEXT   makes fd 0 its controlling terminal if it can, then pushes TEXT into the
 *                                 terminal's input (as typed): "tiocsti=ok" or "tiocsti=<ERRNO NAME>"
 *     hostfd-probe tty-reopen     reopens /proc/self/fd/0 read-write: "tty-reopen=ok" if that is a
 *                                 terminal, "tty-reopen=not-a-tty", or "tty-reopen=<ERRNO NAME>"
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        if (argc == 3 && strcmp(argv[1], "tiocsti") == 0) {
                (void) ioctl(STDIN_FILENO, TIOCSCTTY, 0);
                for (const char *p = argv[2]; *p; p++)
                        if (ioctl(STDIN_FILENO, TIOCSTI, p) < 0) {
                                printf("tiocsti=%s\n", strerrorname_np(errno));
                                return 1;
                        }
                puts("tiocsti=ok");
                return 0;
        }
        if (argc == 2 && strcmp(argv[1], "tty-reopen") == 0) {
                int fd = open("/proc/self/fd/0", O_RDWR | O_NOCTTY | O_CLOEXEC);

                if (fd < 0)
                        printf("tty-reopen=%s\n", strerrorname_np(errno));
                else
                        puts(isatty(fd) ? "tty-reopen=ok" : "tty-reopen=not-a-tty");
                return 0;
        }
        fprintf(stderr, "usage: %s tiocsti TEXT | tty-reopen\n", argv[0]);
        return 2;
}
