/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Logging for every component. The lower layers (shared, mount, network, cgroup, wsh) log at debug level
 * only; core, bus and daemon log once where they decide what to do.
 *
 * The output goes through a backend: by default stderr with <N> priority prefixes (which journald
 * understands when stderr is a journal stream). The daemon installs the structured journal backend from
 * src/core/log-journal.c so that this library itself does not depend on libsystemd (wshd links it).
 */

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

/* Called with an already formatted message. 'container' and 'message_id' (32 hex digits, see
 * src/core/warden-messages.h) may be NULL. 'error' is a positive errno or 0. */
typedef void (*LogBackend)(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *container,
        const char *message_id,
        const char *message);

void log_set_max_level(int level);
int log_get_max_level(void);
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);
void log_set_backend(LogBackend backend);
/* Prefix for stderr output when not talking to the journal, e.g. "wardenctl". NULL: no prefix. */
void log_set_prefix(const char *prefix);

/* Returns -abs(error), so that it can be used as "return log_error_errno(r, ...)". */
int log_internal(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *container,
        const char *message_id,
        const char *format,
        ...) _printf_(8, 9);

/* An errno value that must not be shown as "%m"/ERRNO= but is returned all the same. */
#define SYNTHETIC_ERRNO(e) (1 << 30 | (e))
#define ERRNO_VALUE(e) (abs(e) & ~(1 << 30))
#define IS_SYNTHETIC_ERRNO(e) ((abs(e) & (1 << 30)) != 0)

/* The most general form: a message about 'container' (or NULL), tagged with 'message_id' (or NULL), so that
 * operators can find every instance of this event with "journalctl MESSAGE_ID=...". */
#define log_event(level, error, container, message_id, ...)            \
        ({                                                             \
                int _level_ = (level), _e_ = (error);                  \
                _level_ <= log_get_max_level() ? log_internal(         \
                                                         _level_,      \
                                                         _e_,          \
                                                         __FILE__,     \
                                                         __LINE__,     \
                                                         __func__,     \
                                                         (container),  \
                                                         (message_id), \
                                                         __VA_ARGS__)  \
                                               : -ERRNO_VALUE(_e_);    \
        })

#define log_full_errno_container(level, error, container, ...) \
        log_event(level, error, container, NULL, __VA_ARGS__)
#define log_full_errno(level, error, ...) log_event(level, error, NULL, NULL, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_notice_errno(e, ...) log_full_errno(LOG_NOTICE, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(SYNTHETIC_ERRNO(ENOMEM), "Out of memory.")
