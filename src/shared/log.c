/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "string-table.h"

static int log_max_level = LOG_INFO;
static LogBackend log_backend = NULL;
static const char *log_prefix = NULL;

static const char *const log_level_table[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level) {
        if (level >= LOG_EMERG && level <= LOG_DEBUG)
                log_max_level = level;
}

int log_get_max_level(void) {
        return log_max_level;
}

DEFINE_STRING_TABLE_LOOKUP(log_level, int);

void log_set_backend(LogBackend backend) {
        log_backend = backend;
}

void log_set_prefix(const char *prefix) {
        log_prefix = prefix;
}

static void log_write_stderr(int level, const char *container, const char *message) {
        /* The <N> prefix is what sd-daemon.h's SD_ERR & co. expand to; journald parses it from stream
         * connections. On a terminal it would only be noise, so leave it out there. */
        if (log_prefix)
                fprintf(stderr,
                        "%s: %s%s%s%s\n",
                        log_prefix,
                        container ? "[" : "",
                        strempty(container),
                        container ? "] " : "",
                        message);
        else
                fprintf(stderr,
                        "<%i>%s%s%s%s\n",
                        level,
                        container ? "[" : "",
                        strempty(container),
                        container ? "] " : "",
                        message);
}

int log_internal(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *container,
        const char *message_id,
        const char *format,
        ...) {
        char buf[2048];
        va_list ap;
        int saved_errno = errno;
        int e = ERRNO_VALUE(error);

        /* %m shows the errno we are logging about, not whatever errno happens to hold. */
        errno = e;
        va_start(ap, format);
        (void) vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        if (log_backend)
                log_backend(
                        level,
                        IS_SYNTHETIC_ERRNO(error) ? 0 : e,
                        file,
                        line,
                        func,
                        container,
                        message_id,
                        buf);
        else
                log_write_stderr(level, container, buf);

        errno = saved_errno;
        return -e;
}
