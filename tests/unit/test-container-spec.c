/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Create's checks (src/core/container-spec.c): the kind and the exact words clients see. */

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container-spec.h"
#include "fileio.h"
#include "manager.h"
#include "strv.h"
#include "tests.h"

/* The default rootfs: outside wardend's trees (its state directory is the test's directory). */
static char rootfs[] = "/tmp/warden-rootfs.XXXXXX";

static Manager *manager_setup(void) {
        Manager *m = NULL;
        char *dir = tests_tmpdir(), *conf = NULL, *text = NULL;

        ASSERT_TRUE(asprintf(&conf, "%s/warden.conf", dir) > 0);
        ASSERT_TRUE(asprintf(&text, "[containers]\ndepot = %s/d\nrootfs = %s\n", dir, rootfs) > 0);
        ASSERT_OK(write_file_atomic(conf, text, strlen(text), 0600));
        ASSERT_OK(manager_new(conf, dir, &m));
        ASSERT_OK(manager_startup(m));
        free(conf);
        free(text);
        return m;
}

/* Checks spec and expects kind and message. */
static void expect(Manager *m, CreateSpec *spec, WardenErrorKind kind, const char *message) {
        _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;

        ASSERT_TRUE(create_spec_check(m, spec, &e) < 0);
        ASSERT_EQ(e.kind, kind);
        ASSERT_STREQ(e.message, message);
        create_spec_done(spec); /* the resolved rootfs of a check that failed later */
}

TEST(create_spec_check_words) {
        _cleanup_(manager_freep) Manager *m = NULL;

        ASSERT_NOT_NULL(mkdtemp(rootfs));
        ASSERT_OK(rmdir(rootfs)); /* missing at first */
        m = manager_setup();
        expect(m,
               &(CreateSpec){ .handle = "-bad" },
               WARDEN_ERROR_KIND_INVALID_HANDLE,
               "Invalid container handle '-bad': a handle has 1 to 64 characters of [A-Za-z0-9_.-] and does "
               "not start with '.' or '-'.");
        expect(m,
               &(CreateSpec){ .rootfs = "/nonexistent-rootfs" },
               WARDEN_ERROR_KIND_ROOTFS_NOT_FOUND,
               "Root file system '/nonexistent-rootfs' does not exist or is not a directory.");
        expect(m,
               &(CreateSpec){ .rootfs = "relative" },
               WARDEN_ERROR_KIND_INVALID_ARGS,
               "Option 'rootfs': 'relative' is not an absolute, normalised path to a directory other than "
               "'/'.");

        /* the default rootfs exists from here on: the later checks are reached */
        ASSERT_OK(mkdir(rootfs, 0700));
        expect(m,
               &(CreateSpec){ .cpu_weight = 10001 },
               WARDEN_ERROR_KIND_INVALID_ARGS,
               "Option 'cpu_weight' must be from 1 to 10000 (0: default).");
        expect(m,
               &(CreateSpec){ .disk_inode_limit = 1000 },
               WARDEN_ERROR_KIND_INVALID_ARGS,
               "Option 'disk_inode_limit' needs 'disk_limit': the inodes are those of the writable layer's "
               "own "
               "file system.");
        expect(m,
               &(CreateSpec){ .memory_limit = 1 },
               WARDEN_ERROR_KIND_INVALID_ARGS,
               "Option 'memory_limit' (0: none) must be from 1048576 (1 MiB) to 1152921504606846976 (1 EiB) "
               "bytes.");
        {
                CreateSpec s = {};

                ASSERT_OK(strv_extend(&s.properties, ""));
                ASSERT_OK(strv_extend(&s.properties, "x"));
                expect(m, &s, WARDEN_ERROR_KIND_INVALID_ARGS, "Option 'properties': empty key.");
        }
        {
                _cleanup_(warden_error_done) WardenError e = WARDEN_ERROR_NULL;
                CreateSpec s = { .handle = "good" };

                ASSERT_OK(create_spec_check(m, &s, &e));
                ASSERT_FALSE(warden_error_is_set(&e));
                ASSERT_NOT_NULL(s.rootfs_resolved);
                ASSERT_STREQ(s.rootfs_resolved, rootfs);
                create_spec_done(&s);
        }
        ASSERT_OK(rmdir(rootfs));
}
