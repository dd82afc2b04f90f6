/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "macro.h"
#include "tty-util.h"

int tty_raw_enable(TtyRaw *raw, int fd) {
        struct termios saved, t;

        assert(raw);

        if (tcgetattr(fd, &saved) < 0)
                return negative_errno();
        t = saved;
        cfmakeraw(&t);
        t.c_cc[VMIN] = 1;
        t.c_cc[VTIME] = 0;
        if (tcsetattr(fd, TCSANOW, &t) < 0)
                return negative_errno();
        raw->fd = fd;
        raw->saved = saved;
        return 0;
}

int tty_raw_restore(TtyRaw *raw) {
        int r = 0;

        assert(raw);

        if (raw->fd < 0)
                return 0;
        /* TCSANOW: a terminal that no longer drains its output must not keep us from exiting. */
        if (tcsetattr(raw->fd, TCSANOW, &raw->saved) < 0)
                r = negative_errno();
        raw->fd = -EBADF;
        return r;
}

int tty_get_size(int fd, uint16_t *ret_rows, uint16_t *ret_cols) {
        struct winsize ws = {};

        assert(ret_rows);
        assert(ret_cols);

        if (ioctl(fd, TIOCGWINSZ, &ws) < 0)
                return negative_errno();
        if (ws.ws_row == 0 || ws.ws_col == 0)
                return -ENODATA;
        *ret_rows = ws.ws_row;
        *ret_cols = ws.ws_col;
        return 0;
}
