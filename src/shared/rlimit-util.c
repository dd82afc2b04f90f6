/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <sys/resource.h>

#include "macro.h"
#include "rlimit-util.h"

static const struct {
        const char *name;
        int resource;
} rlimit_table[] = {
        { "as", RLIMIT_AS },           { "core", RLIMIT_CORE },         { "cpu", RLIMIT_CPU },
        { "data", RLIMIT_DATA },       { "fsize", RLIMIT_FSIZE },       { "locks", RLIMIT_LOCKS },
        { "memlock", RLIMIT_MEMLOCK }, { "msgqueue", RLIMIT_MSGQUEUE }, { "nice", RLIMIT_NICE },
        { "nofile", RLIMIT_NOFILE },   { "nproc", RLIMIT_NPROC },       { "rss", RLIMIT_RSS },
        { "rtprio", RLIMIT_RTPRIO },   { "rttime", RLIMIT_RTTIME },     { "sigpending", RLIMIT_SIGPENDING },
        { "stack", RLIMIT_STACK },
};

int rlimit_from_name(const char *name) {
        assert(name);

        for (size_t i = 0; i < ELEMENTSOF(rlimit_table); i++)
                if (streq(rlimit_table[i].name, name))
                        return rlimit_table[i].resource;
        return -EINVAL;
}
