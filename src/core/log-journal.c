/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log-journal.h"
#include "log.h"

static const char *log_identifier = "wardend";

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return st.st_dev == (dev_t) dev && st.st_ino == (ino_t) ino;
}

#define ADD_FIELD(buf, ...)                                                           \
        do {                                                                          \
                (void) snprintf(buf, sizeof(buf), __VA_ARGS__);                       \
                iov[n++] = (struct iovec){ .iov_base = buf, .iov_len = strlen(buf) }; \
        } while (false)

/* Fixed buffers, no allocation: logging must work when memory is short. log_internal() already capped the
 * message at 2 KiB. */
static void log_journal_backend(
        int level,
        int error,
        const char *file,
        int line,
        const char *func,
        const char *container,
        const char *message_id,
        const char *message) {
        char f_message[2100], f_priority[16], f_ident[64], f_file[256], f_line[32], f_func[128], f_errno[32],
                f_container[96], f_message_id[64];
        struct iovec iov[9];
        int n = 0;

        ADD_FIELD(f_message, "MESSAGE=%s", message);
        ADD_FIELD(f_priority, "PRIORITY=%i", level);
        ADD_FIELD(f_ident, "SYSLOG_IDENTIFIER=%s", log_identifier);
        ADD_FIELD(f_file, "CODE_FILE=%s", file);
        ADD_FIELD(f_line, "CODE_LINE=%i", line);
        ADD_FIELD(f_func, "CODE_FUNC=%s", func);
        if (error > 0)
                ADD_FIELD(f_errno, "ERRNO=%i", error);
        if (container)
                ADD_FIELD(f_container, "WARDEN_CONTAINER=%s", container);
        if (message_id)
                ADD_FIELD(f_message_id, "MESSAGE_ID=%s", message_id);

        if (sd_journal_sendv(iov, n) < 0)
                fprintf(stderr, "<%i>%s\n", level, message);
}

void log_setup(const char *identifier) {
        log_identifier = identifier;
        if (stderr_is_journal())
                log_set_backend(log_journal_backend);
        else
                log_set_prefix(identifier);
}
