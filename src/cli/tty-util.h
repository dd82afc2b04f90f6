/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The local terminal of an interactive job (wardenctl run --tty, shell): raw mode while the job owns it,
 * and its size. Nothing here logs.
 */

#include <errno.h>
#include <stdint.h>
#include <termios.h>

/* A terminal put into raw mode, and how it was before. fd < 0: nothing to restore. */
typedef struct TtyRaw {
        int fd;
        struct termios saved;
} TtyRaw;

#define TTY_RAW_NULL \
        { .fd = -EBADF }

/*
 * Puts the terminal 'fd' into raw mode: no echo, no line editing, no signals or flow control from keys, no
 * output processing, so that every byte reaches the job as typed and the job's own terminal does the
 * processing. On success 'raw' remembers the previous attributes; -ENOTTY if 'fd' is not a terminal, other
 * negative errno of tcgetattr()/tcsetattr().
 */
int tty_raw_enable(TtyRaw *raw, int fd);

/* Puts the remembered attributes back (at once, without waiting for output to drain) and forgets them.
 * Does nothing if 'raw' holds nothing; safe to call more than once. */
int tty_raw_restore(TtyRaw *raw);

static inline void tty_raw_restorep(TtyRaw *raw) {
        (void) tty_raw_restore(raw);
}

/* The size of the terminal 'fd' (TIOCGWINSZ). -ENOTTY; -ENODATA if the terminal reports 0 rows or columns.
 */
int tty_get_size(int fd, uint16_t *ret_rows, uint16_t *ret_cols);
