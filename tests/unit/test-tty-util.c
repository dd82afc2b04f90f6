/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Raw mode and size of a terminal (tty-util.c), on a pty of our own. */

#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tests.h"
#include "tty-util.h"

TEST(tty_raw_and_size) {
        TtyRaw raw = TTY_RAW_NULL;
        struct termios before, during, after;
        struct winsize ws = { .ws_row = 33, .ws_col = 101 };
        uint16_t rows = 0, cols = 0;
        int master, slave, fds[2];

        if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
                tests_skip("no pty available");

        ASSERT_OK(tcgetattr(slave, &before));
        ASSERT_TRUE(before.c_lflag & ICANON);
        ASSERT_OK(tty_raw_enable(&raw, slave));
        ASSERT_EQ(raw.fd, slave);
        ASSERT_OK(tcgetattr(slave, &during));
        ASSERT_FALSE(during.c_lflag & (ICANON | ECHO | ISIG | IEXTEN));
        ASSERT_FALSE(during.c_iflag & (ICRNL | IXON));
        ASSERT_FALSE(during.c_oflag & OPOST);
        ASSERT_EQ(during.c_cc[VMIN], 1);
        ASSERT_OK(tty_raw_restore(&raw));
        ASSERT_TRUE(raw.fd < 0);
        ASSERT_OK(tcgetattr(slave, &after));
        ASSERT_EQ(after.c_lflag, before.c_lflag);
        ASSERT_EQ(after.c_iflag, before.c_iflag);
        ASSERT_EQ(after.c_oflag, before.c_oflag);
        ASSERT_EQ(after.c_cflag, before.c_cflag);
        /* a second restore does nothing */
        ASSERT_OK(tty_raw_restore(&raw));

        ASSERT_OK(ioctl(master, TIOCSWINSZ, &ws));
        ASSERT_OK(tty_get_size(slave, &rows, &cols));
        ASSERT_EQ(rows, 33);
        ASSERT_EQ(cols, 101);
        ws = (struct winsize){};
        ASSERT_OK(ioctl(master, TIOCSWINSZ, &ws));
        ASSERT_ERROR(tty_get_size(slave, &rows, &cols), ENODATA);
        ASSERT_EQ(rows, 33);

        /* not a terminal */
        ASSERT_OK(pipe2(fds, O_CLOEXEC));
        ASSERT_ERROR(tty_raw_enable(&raw, fds[0]), ENOTTY);
        ASSERT_TRUE(raw.fd < 0);
        ASSERT_ERROR(tty_get_size(fds[0], &rows, &cols), ENOTTY);
        close(fds[0]);
        close(fds[1]);
        close(master);
        close(slave);
}
