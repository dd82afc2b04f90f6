/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/param.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "wshd-process.h"
#include "wshd-proto.h"
#include "wshd-pty.h"
#include "wshd-server.h"
#include "wshd-setup.h"

/* Watchers, connections waiting for a STOP and the owners of attached processes are never evicted; the
 * others share what is left. */
#define CONNECTIONS_MAX 256
#define PENDING_STOPS_MAX 8
/* Messages handled per connection and wake-up, so that one busy client cannot starve the others. */
#define MESSAGES_PER_WAKEUP 16
/* While a STOP is pending, how often to look whether the namespace is empty yet: processes that entered
 * through setns() (nsenter) are not our children and their death wakes nobody up. */
#define STOP_POLL_USEC (20 * USEC_PER_MSEC)
#define ACCEPT_RETRY_USEC (100 * USEC_PER_MSEC)
/* How long a connection that has not sent its first request yet is kept from eviction: wardend connects,
 * then writes its SPAWN, and a connection accepted in between is not idle but on its way. */
#define FIRST_REQUEST_GRACE_USEC (5 * USEC_PER_SEC)

#define EPOLL_LISTEN 0
#define EPOLL_SIGNAL 1
#define EPOLL_CONNECTION 100
/* + process index * _RELAY_FD_MAX + RelayFd */
#define EPOLL_PROCESS (UINT64_C(1) << 32)

struct Connection {
        int fd;               /* -EBADF: free slot */
        uint64_t last_active; /* CLOCK_MONOTONIC usec of the last request (or of the accept) */
        bool spoke;           /* has sent a request */
        uint32_t pending_stops[PENDING_STOPS_MAX];
        size_t n_pending_stops;
        bool watcher;        /* sent WATCH: gets an EVENT_EXIT for every (non-attached) process that exits */
        unsigned n_attached; /* running attached processes whose exit goes here */
};

struct Server {
        int epoll_fd;
        int listen_fd;
        int signal_fd;
        int proc_fd; /* our own /proc, opened before the container could mount over it */
        uint32_t host_pid;
        const Confinement *confinement;

        Connection connections[CONNECTIONS_MAX];

        ProcessTable table;
        struct rlimit nofile; /* RLIMIT_NOFILE as wshd got it, for the processes; wshd raises its own */

        bool stopping;
        uint64_t kill_at;          /* CLOCK_MONOTONIC usec: SIGKILL from then on */
        uint64_t listen_resume_at; /* accept() ran out of fds: try again then; 0: listening */
};

static uint64_t monotonic_usec(void) {
        return now_usec(CLOCK_MONOTONIC);
}

int server_listen(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        mode_t old_umask;
        size_t n;
        int r;

        assert(path);

        n = strlen(path);
        if (n >= sizeof(sa.sun_path))
                return setup_error(-ENAMETOOLONG, "socket path '%s'", path);
        memcpy(sa.sun_path, path, n);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return setup_error(-errno, "socket");
        if (unlink(path) < 0 && errno != ENOENT)
                return setup_error(-errno, "unlink stale socket '%s'", path);

        /* Only root may talk to wshd; the umask makes the socket 0600 from its first moment. */
        old_umask = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, offsetof(struct sockaddr_un, sun_path) + n + 1);
        if (r < 0)
                r = -errno;
        umask(old_umask);
        if (r < 0)
                return setup_error(r, "bind '%s'", path);
        if (listen(fd, SOMAXCONN) < 0)
                return setup_error(-errno, "listen on '%s'", path);
        return TAKE_FD(fd);
}

int server_new(int listen_fd, int proc_fd, uint32_t host_pid, const Confinement *confinement, Server **ret) {
        struct epoll_event ev = { .events = EPOLLIN };
        _cleanup_free_ Server *s = NULL;
        struct rlimit rl;
        sigset_t mask;

        assert(listen_fd >= 0);
        assert(proc_fd >= 0);
        assert(confinement);
        assert(ret);

        s = malloc(sizeof(Server));
        if (!s) {
                (void) safe_close(listen_fd);
                (void) safe_close(proc_fd);
                return setup_error(-ENOMEM, "allocate the server");
        }
        *s = (Server){
                .epoll_fd = -EBADF,
                .listen_fd = listen_fd,
                .signal_fd = -EBADF,
                .proc_fd = proc_fd,
                .host_pid = host_pid,
                .confinement = confinement,
        };
        FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX)
                c->fd = -EBADF;
        process_table_init(&s->table);

        /* On failure, wshd exits (setup_fail()): the fds go with it. */
        s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epoll_fd < 0)
                return setup_error(-errno, "epoll_create1");

        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        s->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->signal_fd < 0)
                return setup_error(-errno, "signalfd");

        ev.data.u64 = EPOLL_LISTEN;
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0)
                return setup_error(-errno, "epoll_ctl");
        ev.data.u64 = EPOLL_SIGNAL;
        if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->signal_fd, &ev) < 0)
                return setup_error(-errno, "epoll_ctl");

        /* Relays hold fds (a pty master and two of the caller's per tty process): wshd takes what the hard
         * limit allows, its processes get the limit it was started with. */
        if (getrlimit(RLIMIT_NOFILE, &s->nofile) < 0)
                return setup_error(-errno, "getrlimit RLIMIT_NOFILE");
        rl = (struct rlimit){ .rlim_cur = s->nofile.rlim_max, .rlim_max = s->nofile.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning_errno(errno, "Failed to raise RLIMIT_NOFILE, ignoring: %m");

        *ret = TAKE_PTR(s);
        return 0;
}

/* Processes in the namespace other than wshd, zombies included. Read from /proc rather than counted from
 * waitpid(), because processes that entered with setns() are children of a host process, not ours. */
static int count_processes(Server *s) {
        struct dirent *de;
        unsigned n = 0;
        DIR *d;
        int fd;

        fd = openat(s->proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                (void) close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d))) {
                const char *p = de->d_name;

                if (*p < '1' || *p > '9' || streq(p, "1"))
                        continue;
                while (*p >= '0' && *p <= '9')
                        p++;
                if (*p == 0)
                        n++;
        }
        closedir(d);
        return (int) MIN(n, (unsigned) INT32_MAX);
}

/* ---- connections ------------------------------------------------------------------------------------ */

static Connection *connection_from_key(Server *s, uint64_t data) {
        if (data < EPOLL_CONNECTION || data - EPOLL_CONNECTION >= CONNECTIONS_MAX)
                return NULL;
        return s->connections + (data - EPOLL_CONNECTION);
}

static void connection_forget_processes(Server *s, Connection *c);

static void connection_close(Server *s, Connection *c) {
        if (c->fd < 0)
                return;
        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        c->fd = safe_close(c->fd);
        c->n_pending_stops = 0;
        c->watcher = false;
        connection_forget_processes(s, c);
}

/* A connection that cannot take a reply (gone, or not reading so that its buffer is full) is closed: wshd
 * keeps no output queues. */
static int connection_reply(Server *s, Connection *c, const WshdMessage *m) {
        int r;

        r = wshd_message_send(c->fd, m);
        if (r < 0) {
                log_debug_errno(r, "Failed to send reply, closing connection: %m");
                connection_close(s, c);
        }
        return r;
}

/* 'error' is a negative errno; the reply carries the positive value (the wire's convention). */
static _printf_(5, 6) int connection_reply_error(
        Server *s, Connection *c, uint32_t serial, int error, const char *format, ...) {
        WshdMessage m;
        char text[256];
        va_list ap;

        assert(error < 0);

        va_start(ap, format);
        (void) vsnprintf(text, sizeof(text), format, ap);
        va_end(ap);

        wshd_message_init(&m, WSHD_REPLY_ERROR, serial);
        m.error = ERRNO_VALUE(error);
        m.message = text;
        return connection_reply(s, c, &m);
}

/* ---- processes -------------------------------------------------------------------------------------- */

static uint64_t process_key(Server *s, Process *p) {
        return EPOLL_PROCESS + (uint64_t) process_table_index(&s->table, p) * _RELAY_FD_MAX;
}

static Process *process_from_key(Server *s, uint64_t data) {
        if (data < EPOLL_PROCESS)
                return NULL;
        return process_table_get(&s->table, (data - EPOLL_PROCESS) / _RELAY_FD_MAX);
}

/* The entry goes; an attached process's owner no longer waits for it. */
static void server_remove_process(Server *s, Process *p) {
        if (p->attached && p->owner && p->owner->n_attached > 0)
                p->owner->n_attached--;
        process_table_remove(&s->table, p);
}

static void send_exit(Server *s, Connection *c, uint32_t id, pid_t pid, int wait_status) {
        WshdMessage m;

        if (c->fd < 0)
                return;
        wshd_message_init(&m, WSHD_EVENT_EXIT, 0);
        m.job_id = id;
        m.pid = (uint32_t) pid;
        m.wait_status = (uint32_t) wait_status;
        /* The socket is non-blocking: a watcher that does not read is closed (it gets the exits in the
         * reply to its next WATCH), never waited for. */
        (void) connection_reply(s, c, &m);
}

/* The exit is final: tell who needs to know. */
static void process_report(Server *s, Process *p) {
        process_finish(&s->table, p);

        if (p->attached) {
                Connection *owner = p->owner;
                uint32_t id = p->id;
                pid_t pid = p->pid;
                int status = p->wait_status;

                /* forgotten first: sending may close the connection, which would look for it */
                server_remove_process(s, p);
                if (owner)
                        send_exit(s, owner, id, pid, status);
                return;
        }

        log_debug(
                "Job %" PRIu32 " (PID %d) exited, status 0x%x.",
                p->id,
                (int) p->pid,
                (unsigned) p->wait_status);
        FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX)
                if (c->fd >= 0 && c->watcher)
                        send_exit(s, c, p->id, p->pid, p->wait_status);
}

/* Runs the relay of a tty process; reports the exit once its terminal is drained. */
static void server_relay(Server *s, Process *p) {
        if (process_relay(p, monotonic_usec()))
                process_report(s, p);
}

static void reap_children(Server *s) {
        int status;
        pid_t pid;

        /* Orphans of the whole namespace end up here too: wshd is their init. They are reaped silently. */
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                Process *p = process_table_find_running(&s->table, pid);

                if (p && process_reaped(p, status, monotonic_usec()))
                        process_report(s, p);
        }
}

/* The owner of attached processes is gone: they are forgotten (they run on, and are reaped silently). */
static void connection_forget_processes(Server *s, Connection *c) {
        if (c->n_attached == 0)
                return;
        process_table_disown(&s->table, c);
        c->n_attached = 0;
}

/* ---- requests --------------------------------------------------------------------------------------- */

static _printf_(4, 5) int spawn_refuse(char *text, size_t size, int error, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(text, size, format, ap);
        va_end(ap);
        return error;
}

/* The checks of a SPAWN that need nothing but the request and the table; fills role_fd[]. On failure,
 * returns a negative errno and says why in text[]. */
static int spawn_check(
        Server *s, const WshdMessage *req, int role_fd[static _WSHD_FD_ROLE_MAX], char *text, size_t size) {
        if (s->stopping)
                return spawn_refuse(text, size, -EBUSY, "The container is being stopped.");
        if (req->n_fds != req->n_fd_roles)
                return spawn_refuse(
                        text, size, -EINVAL, "%zu fds but %zu fd roles.", req->n_fds, req->n_fd_roles);
        for (size_t i = 0; i < req->n_fds; i++) {
                if (role_fd[req->fd_roles[i]] >= 0)
                        return spawn_refuse(
                                text, size, -EINVAL, "fd role %" PRIu32 " given twice.", req->fd_roles[i]);
                role_fd[req->fd_roles[i]] = req->fds[i];
        }
        for (size_t i = 0; i < req->n_rlimits; i++)
                if (req->rlimits[i].resource >= RLIMIT_NLIMITS ||
                    req->rlimits[i].soft > req->rlimits[i].hard)
                        return spawn_refuse(
                                text,
                                size,
                                -EINVAL,
                                "Invalid rlimit %" PRIu32 " (%" PRIu64 ", %" PRIu64 ").",
                                req->rlimits[i].resource,
                                req->rlimits[i].soft,
                                req->rlimits[i].hard);
        if (req->tty && (req->tty_rows > USHRT_MAX || req->tty_cols > USHRT_MAX))
                return spawn_refuse(text, size, -EINVAL, "Window size out of range.");
        if (req->tty && req->n_fds > 0 && role_fd[WSHD_FD_STDOUT] < 0)
                return spawn_refuse(text, size, -EINVAL, "A job with a tty and fds needs a STDOUT fd.");
        if (req->job_id >= PROCESS_ATTACHED_ID_MIN)
                return spawn_refuse(
                        text,
                        size,
                        -EINVAL,
                        "Job ids from %" PRIu32 " up are wshd's own.",
                        PROCESS_ATTACHED_ID_MIN);
        if (req->job_id != 0 && process_table_find(&s->table, req->job_id))
                return spawn_refuse(text, size, -EEXIST, "Job %" PRIu32 " exists already.", req->job_id);
        return 0;
}

static void handle_spawn(Server *s, Connection *c, const WshdMessage *req) {
        int role_fd[_WSHD_FD_ROLE_MAX] = { -EBADF, -EBADF, -EBADF };
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        _cleanup_(relay_freep) Relay *relay = NULL;
        char text[256];
        WshdMessage m;
        uint32_t id;
        Process *p;
        pid_t pid;
        int r;

        r = spawn_check(s, req, role_fd, text, sizeof(text));
        if (r < 0) {
                (void) connection_reply_error(s, c, req->serial, r, "%s", text);
                return;
        }
        p = process_table_free_slot(&s->table);
        if (!p) {
                (void) connection_reply_error(
                        s, c, req->serial, -EAGAIN, "Too many jobs (%u), release some.", WSHD_JOBS_MAX);
                return;
        }

        id = req->job_id != 0 ? req->job_id : process_table_attached_id(&s->table);
        if (req->tty) {
                r = pty_open(req->uid, req->tty_rows, req->tty_cols, &master, &slave);
                if (r < 0) {
                        (void) connection_reply_error(
                                s, c, req->serial, r, "Failed to make a pty: %s", strerror(-r));
                        return;
                }
                if (req->n_fds > 0) {
                        r = relay_new(
                                s->proc_fd,
                                s->epoll_fd,
                                process_key(s, p),
                                id,
                                master,
                                role_fd[WSHD_FD_STDIN],
                                role_fd[WSHD_FD_STDOUT],
                                &relay);
                        if (r < 0) {
                                (void) connection_reply_error(
                                        s,
                                        c,
                                        req->serial,
                                        r,
                                        "Failed to set up the relay: %s",
                                        strerror(-r));
                                return;
                        }
                }
        }

        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) connection_reply_error(s, c, req->serial, r, "fork: %s", strerror(-r));
                return;
        }
        if (pid == 0)
                process_exec(req, role_fd, slave, &s->nofile, s->confinement);

        log_debug("Job %" PRIu32 " is PID %d: %s", id, (int) pid, req->argv[0]);
        process_table_add(
                &s->table,
                p,
                &(Process){
                        .in_use = true,
                        .id = id,
                        .pid = pid,
                        .state = PROCESS_RUNNING,
                        .master_fd = TAKE_FD(master),
                        .relay = TAKE_PTR(relay),
                        .attached = req->job_id == 0,
                        .owner = req->job_id == 0 ? c : NULL,
                });
        if (p->attached)
                c->n_attached++;

        wshd_message_init(&m, WSHD_REPLY_SPAWN, req->serial);
        m.job_id = id;
        m.pid = (uint32_t) pid;
        if (p->master_fd >= 0 && !p->relay) {
                /* the caller relays; we keep our copy for RESIZE */
                m.fds[0] = p->master_fd;
                m.n_fds = 1;
        }
        (void) connection_reply(s, c, &m);

        if (p->relay)
                server_relay(s, p);
}

static Process *running_process(Server *s, Connection *c, const WshdMessage *req) {
        Process *p = process_table_find(&s->table, req->job_id);

        if (!p || p->state != PROCESS_RUNNING) {
                (void) connection_reply_error(
                        s, c, req->serial, -ESRCH, "Job %" PRIu32 " is not running.", req->job_id);
                return NULL;
        }
        return p;
}

static void handle_signal(Server *s, Connection *c, const WshdMessage *req) {
        WshdMessage m;
        Process *p;

        p = running_process(s, c, req);
        if (!p)
                return;
        /* The process is a session leader, so its PID is also its process group's. Right after the fork the
         * child may not have called setsid() yet: then it is all there is of the process, and the signal
         * goes to it alone (no handler of wshd's runs in it; what wshd blocks stays pending until the child
         * unblocks it, with the default disposition by then). */
        if (kill(-p->pid, (int) req->signal) < 0 &&
            (errno != ESRCH || kill(p->pid, (int) req->signal) < 0)) {
                int r = -errno;

                (void) connection_reply_error(s, c, req->serial, r, "kill: %s", strerror(-r));
                return;
        }
        wshd_message_init(&m, WSHD_REPLY_OK, req->serial);
        (void) connection_reply(s, c, &m);
}

static void handle_resize(Server *s, Connection *c, const WshdMessage *req) {
        WshdMessage m;
        Process *p;
        int r;

        if (!req->tty || req->tty_rows > USHRT_MAX || req->tty_cols > USHRT_MAX) {
                (void) connection_reply_error(s, c, req->serial, -EINVAL, "RESIZE needs a window size.");
                return;
        }
        p = running_process(s, c, req);
        if (!p)
                return;
        if (p->master_fd < 0) {
                (void) connection_reply_error(
                        s, c, req->serial, -ENOTTY, "Job %" PRIu32 " has no tty.", req->job_id);
                return;
        }
        r = pty_resize(p->master_fd, req->tty_rows, req->tty_cols);
        if (r < 0) {
                (void) connection_reply_error(s, c, req->serial, r, "TIOCSWINSZ: %s", strerror(-r));
                return;
        }
        wshd_message_init(&m, WSHD_REPLY_OK, req->serial);
        (void) connection_reply(s, c, &m);
}

static void handle_watch(Server *s, Connection *c, const WshdMessage *req) {
        _cleanup_free_ uint32_t *running = NULL;
        _cleanup_free_ WshdExited *exited = NULL;
        WshdMessage m;

        wshd_message_init(&m, WSHD_REPLY_WATCH, req->serial);
        if (s->table.n_processes > 0) {
                running = malloc(sizeof(uint32_t) * s->table.n_processes);
                exited = malloc(sizeof(WshdExited) * s->table.n_processes);
                if (!running || !exited) {
                        (void) connection_reply_error(s, c, req->serial, -ENOMEM, "Out of memory.");
                        return;
                }
        }
        FOREACH_ARRAY(p, s->table.processes, WSHD_JOBS_MAX) {
                if (!p->in_use || p->attached)
                        continue;
                /* a draining process's exit is not final yet: it comes as an event */
                if (p->state == PROCESS_EXITED)
                        exited[m.n_exited++] = (WshdExited){
                                .job_id = p->id,
                                .pid = (uint32_t) p->pid,
                                .wait_status = (uint32_t) p->wait_status,
                        };
                else
                        running[m.n_running++] = p->id;
        }
        m.running = running;
        m.exited = exited;

        /* from now on every exit comes as an event; none can happen in between (we are single-threaded) */
        c->watcher = true;
        (void) connection_reply(s, c, &m);
}

static void handle_release(Server *s, Connection *c, const WshdMessage *req) {
        WshdMessage m;
        Process *p;

        p = process_table_find(&s->table, req->job_id);
        if (!p) {
                (void) connection_reply_error(s, c, req->serial, -ESRCH, "No job %" PRIu32 ".", req->job_id);
                return;
        }
        if (p->state != PROCESS_EXITED) {
                (void) connection_reply_error(
                        s, c, req->serial, -EBUSY, "Job %" PRIu32 " is still running.", req->job_id);
                return;
        }
        server_remove_process(s, p);
        wshd_message_init(&m, WSHD_REPLY_OK, req->serial);
        (void) connection_reply(s, c, &m);
}

/* Relays that may make progress without an event, and those whose drain deadline has passed. */
static void server_relays(Server *s) {
        uint64_t now = monotonic_usec();

        if (s->table.n_relays == 0)
                return;
        FOREACH_ARRAY(p, s->table.processes, WSHD_JOBS_MAX)
                if (p->in_use && p->relay && (relay_again(p->relay) || now >= relay_deadline(p->relay)))
                        server_relay(s, p);
}

static void stop_check(Server *s) {
        int n;

        if (!s->stopping)
                return;

        reap_children(s);
        n = count_processes(s);
        if (n < 0) {
                log_warning_errno(n, "Failed to count processes, ignoring: %m");
                return;
        }
        if (n > 0) {
                bool waited_for = false;

                if (monotonic_usec() < s->kill_at)
                        return;
                /* again on every round: something may have forked meanwhile */
                (void) kill(-1, SIGKILL);

                /* Once everybody who asked has hung up (their own timeout), stop killing: what is left
                 * cannot be killed (a zombie whose parent is outside, or stuck in the kernel), and
                 * processes started later must not die for an old STOP. */
                FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX)
                        if (c->fd >= 0 && c->n_pending_stops > 0)
                                waited_for = true;
                if (!waited_for) {
                        log_warning(
                                "%i process(es) survived SIGKILL and nobody waits for them any more.", n);
                        s->stopping = false;
                }
                return;
        }

        log_info("All processes are gone.");
        s->stopping = false;
        FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX) {
                size_t k = c->n_pending_stops;

                c->n_pending_stops = 0;
                for (size_t i = 0; i < k && c->fd >= 0; i++) {
                        WshdMessage m;

                        wshd_message_init(&m, WSHD_REPLY_OK, c->pending_stops[i]);
                        (void) connection_reply(s, c, &m);
                }
        }
}

static void handle_stop(Server *s, Connection *c, const WshdMessage *req) {
        uint64_t deadline;

        if (c->n_pending_stops >= PENDING_STOPS_MAX) {
                (void) connection_reply_error(s, c, req->serial, -EBUSY, "Too many STOP requests pending.");
                return;
        }
        c->pending_stops[c->n_pending_stops++] = req->serial;

        log_info("Stopping all processes (SIGKILL after %" PRIu32 " ms).", req->timeout_ms);
        deadline = monotonic_usec() + (uint64_t) req->timeout_ms * USEC_PER_MSEC;
        if (req->timeout_ms == 0)
                (void) kill(-1, SIGKILL);
        else {
                /* PID 1 of a namespace signals everybody in it but itself with kill(-1). SIGCONT so that
                 * stopped processes get to handle the SIGTERM. */
                (void) kill(-1, SIGTERM);
                (void) kill(-1, SIGCONT);
        }
        if (!s->stopping || deadline < s->kill_at)
                s->kill_at = deadline;
        s->stopping = true;

        stop_check(s);
}

static void handle_hello(Server *s, Connection *c, const WshdMessage *req) {
        WshdMessage m;
        int n;

        reap_children(s);
        n = count_processes(s);
        if (n < 0) {
                (void) connection_reply_error(s, c, req->serial, n, "Failed to count processes.");
                return;
        }
        wshd_message_init(&m, WSHD_REPLY_HELLO, req->serial);
        m.version = WSHD_PROTOCOL_VERSION;
        m.pid = s->host_pid;
        m.n_processes = (uint32_t) n;
        (void) connection_reply(s, c, &m);
}

static void handle_request(Server *s, Connection *c, const WshdMessage *req) {
        switch (req->type) {
        case WSHD_REQUEST_HELLO:
                handle_hello(s, c, req);
                return;
        case WSHD_REQUEST_STOP:
                handle_stop(s, c, req);
                return;
        case WSHD_REQUEST_SPAWN:
                handle_spawn(s, c, req);
                return;
        case WSHD_REQUEST_SIGNAL:
                handle_signal(s, c, req);
                return;
        case WSHD_REQUEST_RESIZE:
                handle_resize(s, c, req);
                return;
        case WSHD_REQUEST_WATCH:
                handle_watch(s, c, req);
                return;
        case WSHD_REQUEST_RELEASE:
                handle_release(s, c, req);
                return;
        default:
                log_debug("Unknown request type %u.", req->type);
                (void) connection_reply_error(
                        s, c, req->serial, -EOPNOTSUPP, "Unknown request type %u.", req->type);
        }
}

static void connection_process(Server *s, Connection *c) {
        for (unsigned i = 0; i < MESSAGES_PER_WAKEUP && c->fd >= 0; i++) {
                WshdMessage req;
                int r;

                r = wshd_message_recv(c->fd, &req);
                if (r == -EAGAIN)
                        return;
                if (r == -EBADMSG || r == -EPROTO) {
                        log_debug_errno(r, "Malformed request, closing connection: %m");
                        (void) connection_reply_error(s, c, 0, r, "Malformed request.");
                        connection_close(s, c);
                        return;
                }
                if (r < 0) {
                        if (r != -ECONNRESET)
                                log_debug_errno(r, "Failed to receive request, closing connection: %m");
                        connection_close(s, c);
                        return;
                }

                c->last_active = monotonic_usec();
                c->spoke = true;
                handle_request(s, c, &req);
                wshd_message_done(&req); /* also closes fds nobody asked for */
        }
}

/* Idle: waits for nothing of its own (no STOP, no WATCH, no attached job) and has sent nothing that is still
 * unread. A request that waits for its turn is not idleness: wardend sends its SPAWNs on one connection
 * each, and a burst of them (500 Runs at once) had the oldest ones, not yet read, closed to make room for
 * the newest, whose callers then got "Connection reset by peer" (found by
 * tests/integration/test-hostile.sh). Nor is a connection just accepted whose first request has not arrived
 * yet: closing it made wardend's write of the SPAWN fail with EPIPE (test-hostile in an emulated guest,
 * where that window is wide). */
static bool connection_idle(const Connection *c, uint64_t now) {
        char b;

        if (c->n_pending_stops > 0 || c->watcher || c->n_attached > 0)
                return false;
        if (!c->spoke && now < c->last_active + FIRST_REQUEST_GRACE_USEC)
                return false;
        return recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0; /* nothing unread (or the peer is gone) */
}

/* A free slot; if there is none, the connection idle for the longest time (still open: it is closed only
 * once a new one takes its place), so that clients that connect and then say nothing cannot lock others
 * out. NULL if no connection is idle. */
static Connection *connection_slot(Server *s) {
        Connection *oldest = NULL;
        uint64_t now = monotonic_usec();

        FOREACH_ARRAY(c, s->connections, CONNECTIONS_MAX) {
                if (c->fd < 0)
                        return c;
                if ((!oldest || c->last_active < oldest->last_active) && connection_idle(c, now))
                        oldest = c;
        }
        return oldest;
}

/* Stops accepting for ACCEPT_RETRY_USEC; new connections wait in the listen backlog meanwhile. */
static void server_pause_accept(Server *s) {
        struct epoll_event ev = { .events = 0, .data.u64 = EPOLL_LISTEN };

        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev);
        s->listen_resume_at = monotonic_usec() + ACCEPT_RETRY_USEC;
}

static void server_accept(Server *s) {
        for (;;) {
                struct epoll_event ev = { .events = EPOLLIN };
                Connection *slot;
                int fd;

                slot = connection_slot(s);
                if (!slot) {
                        /* every connection has a request waiting or waits for something: the new ones stay
                         * in the backlog (their connect() waits, or fails with EAGAIN and is tried again) */
                        log_debug("Too many busy connections, pausing accept().");
                        server_pause_accept(s);
                        return;
                }

                fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                return;
                        /* Out of fds or memory: stop listening for a moment rather than spin. */
                        log_warning_errno(errno, "Failed to accept connection, pausing: %m");
                        server_pause_accept(s);
                        return;
                }

                if (slot->fd >= 0) {
                        log_debug("Too many connections, closing the one idle for the longest time.");
                        connection_close(s, slot);
                }

                ev.data.u64 = EPOLL_CONNECTION + (uint64_t) (slot - s->connections);
                if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                        log_warning_errno(errno, "Failed to watch connection, refusing it: %m");
                        (void) close(fd);
                        continue;
                }
                *slot = (Connection){ .fd = fd, .last_active = monotonic_usec() };
        }
}

static void server_signal(Server *s) {
        struct signalfd_siginfo si;

        while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t) sizeof(si))
                switch (si.ssi_signo) {
                case SIGCHLD:
                        reap_children(s);
                        break;
                case SIGTERM:
                case SIGINT:
                        /* Blocked signals reach PID 1 even from inside its namespace (the kernel's
                         * protection of init only covers signals it does not handle): one sent by a
                         * process of the container (its PID is visible to us) is ignored. From outside
                         * (systemd stopping the scope) the sender's PID is 0 here. */
                        if (si.ssi_pid != 0) {
                                log_debug(
                                        "Ignoring SIG%s from PID %" PRIu32 " in the container.",
                                        si.ssi_signo == SIGTERM ? "TERM" : "INT",
                                        si.ssi_pid);
                                break;
                        }
                        /* The scope is being stopped. Leaving is enough: when PID 1 of a namespace exits,
                         * the kernel kills everything else in it. */
                        log_info("Received SIG%s, exiting.", si.ssi_signo == SIGTERM ? "TERM" : "INT");
                        _exit(EXIT_SUCCESS);
                default:
                        break;
                }
}

static int server_timeout_ms(Server *s) {
        uint64_t now = monotonic_usec(), next = UINT64_MAX;

        if (s->stopping) {
                next = now + STOP_POLL_USEC;
                /* before the deadline, wake up for it; after it, keep polling (not spinning) */
                if (s->kill_at > now)
                        next = MIN(next, s->kill_at);
        }
        if (s->listen_resume_at > 0)
                next = MIN(next, s->listen_resume_at);
        if (s->table.n_relays > 0)
                FOREACH_ARRAY(p, s->table.processes, WSHD_JOBS_MAX) {
                        if (!p->in_use || !p->relay)
                                continue;
                        if (relay_again(p->relay))
                                return 0;
                        next = MIN(next, relay_deadline(p->relay));
                }
        if (next == UINT64_MAX)
                return -1;
        /* round up, so that we do not wake up just before the deadline */
        return (int) MIN((next - MIN(next, now) + 999) / 1000, (uint64_t) INT32_MAX);
}

_noreturn_ void server_run(Server *s) {
        assert(s);

        for (;;) {
                struct epoll_event events[16];
                int n;

                n = epoll_wait(s->epoll_fd, events, ELEMENTSOF(events), server_timeout_ms(s));
                if (n < 0) {
                        if (errno != EINTR) {
                                log_error_errno(errno, "epoll_wait failed: %m");
                                (void) usleep(100 * 1000);
                        }
                        continue;
                }

                for (int i = 0; i < n; i++) {
                        uint64_t d = events[i].data.u64;
                        Connection *c;
                        Process *p;

                        if (d == EPOLL_LISTEN)
                                server_accept(s);
                        else if (d == EPOLL_SIGNAL)
                                server_signal(s);
                        else if ((p = process_from_key(s, d)) && p->relay)
                                server_relay(s, p);
                        else if ((c = connection_from_key(s, d)) && c->fd >= 0)
                                connection_process(s, c);
                }
                server_relays(s);

                if (s->listen_resume_at > 0 && monotonic_usec() >= s->listen_resume_at) {
                        struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EPOLL_LISTEN };

                        (void) epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, s->listen_fd, &ev);
                        s->listen_resume_at = 0;
                }
                stop_check(s);
        }
}
