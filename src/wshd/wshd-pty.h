/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Terminals of wshd's processes: the pty made inside the container, its window size, and the relay that
 * passes a tty process's input and output between the pty master and the caller's fds.
 *
 * The relay runs in wshd's loop, non-blocking, with a bounded buffer per direction (caller's stdin ->
 * in_buf -> master, master -> out_buf -> caller's stdout), RELAY_ROUNDS rounds per wake-up so that one busy
 * process cannot starve the rest. It registers each of its fds with the loop's epoll instance itself,
 * with data.u64 = its key + RelayFd, and only for what it waits for. After the process's exit, what its
 * terminal still holds is passed on before the exit is reported (relay_run() says when).
 *
 * Errors are negative errnos.
 */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

/* The fds of a relay, as added to its epoll key. */
typedef enum RelayFd {
        RELAY_MASTER,
        RELAY_IN,
        RELAY_OUT,
        _RELAY_FD_MAX,
} RelayFd;

typedef struct Relay Relay;

/* A pty for a process of user 'uid' with the window size 'rows' x 'cols' (each at most USHRT_MAX): the
 * master (non-blocking) for wshd and maybe the caller, the slave owned by 'uid' for the process. Neither
 * becomes wshd's controlling terminal. */
int pty_open(uint32_t uid, uint32_t rows, uint32_t cols, int *ret_master, int *ret_slave);
/* Sets the window size of the pty behind 'master_fd'. */
int pty_resize(int master_fd, uint32_t rows, uint32_t cols);

/* A relay between the pty master 'master_fd' (not owned; it must outlive the relay) and the caller's
 * 'out_fd' (required) and 'in_fd' (-1: none), which are reopened or duplicated (not taken). 'proc_fd' is
 * wshd's /proc, 'epoll_fd' the loop's; 'key' is the base of its epoll keys; 'id' names the process in log
 * messages. -EBADF: an fd open in the wrong direction. */
int relay_new(
        int proc_fd,
        int epoll_fd,
        uint64_t key,
        uint32_t id,
        int master_fd,
        int in_fd,
        int out_fd,
        Relay **ret);
/* Unregisters the relay's fds and closes the caller's; NULL. */
Relay *relay_free(Relay *r);

/* Moves what can be moved without blocking and registers for what it waits for. Returns true once the
 * process has exited (relay_exited()) and its terminal is drained, or the drain's deadline has passed:
 * then its exit is to be reported. */
bool relay_run(Relay *r, uint64_t now);
/* The process exited: input is dropped, and what its terminal still holds (up to a bound) is passed on
 * for at most a bounded time from 'now'. */
void relay_exited(Relay *r, uint64_t now);
/* The relay may make progress without an event (plain files, rounds used up): run it again soon. */
bool relay_again(const Relay *r);
/* CLOCK_MONOTONIC usec by which relay_run() must be called again, UINT64_MAX: none. */
uint64_t relay_deadline(const Relay *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(Relay *, relay_free);
