/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests.h"

#define TESTS_MAX 256

static struct {
        const char *name;
        TestFunc func;
} tests[TESTS_MAX];
static size_t n_tests;
static char *tmpdir;

void tests_register(const char *name, TestFunc f) {
        if (n_tests >= TESTS_MAX) {
                fprintf(stderr, "too many tests\n");
                abort();
        }
        tests[n_tests].name = name;
        tests[n_tests].func = f;
        n_tests++;
}

void tests_fail(const char *file, int line, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s:%d: ", file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        exit(EXIT_FAILURE);
}

void tests_skip(const char *why) {
        const char *must = getenv("WARDEN_TESTS_MUST_RUN");

        if (must && strcmp(must, "1") == 0) {
                fprintf(stderr, "FAIL (WARDEN_TESTS_MUST_RUN=1, would skip): %s\n", why);
                exit(EXIT_FAILURE);
        }
        fprintf(stderr, "SKIP: %s\n", why);
        exit(77);
}

static void remove_tmpdir(void) {
        char cmd[4200];

        if (!tmpdir)
                return;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
                fprintf(stderr, "warning: could not remove %s\n", tmpdir);
        free(tmpdir);
        tmpdir = NULL;
}

char *tests_tmpdir(void) {
        char t[] = "/tmp/warden-test.XXXXXX";

        if (!tmpdir) {
                if (!mkdtemp(t))
                        tests_fail(__FILE__, __LINE__, "mkdtemp: %m");
                tmpdir = strdup(t);
                atexit(remove_tmpdir);
        }
        return tmpdir;
}

static void write_proc(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);

        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                tests_fail(__FILE__, __LINE__, "write %s: %m", path);
        close(fd);
}

void tests_become_root(void) {
        uid_t uid = geteuid();
        gid_t gid = getegid();
        char map[64];

        if (uid == 0)
                return;
        if (unshare(CLONE_NEWUSER) < 0)
                tests_skip("not root, and no user namespace to be root in");
        write_proc("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) uid);
        write_proc("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "0 %u 1", (unsigned) gid);
        write_proc("/proc/self/gid_map", map);
        if (geteuid() != 0)
                tests_fail(
                        __FILE__, __LINE__, "still uid %u in the new user namespace", (unsigned) geteuid());
}

void tests_become_unprivileged(void) {
        if (geteuid() != 0)
                return;
        if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
            setresuid(65534, 65534, 65534) < 0)
                tests_fail(__FILE__, __LINE__, "cannot drop to nobody: %m");
        if (geteuid() == 0 || setresuid(0, 0, 0) >= 0)
                tests_fail(__FILE__, __LINE__, "still root");
}

static bool selected(int argc, char *argv[], const char *name) {
        if (argc <= 1)
                return true;
        for (int i = 1; i < argc; i++)
                if (strcmp(argv[i], name) == 0)
                        return true;
        return false;
}

/* Each test runs in a child, so that a failing assertion (or a crash) fails that test and the others still
 * run, and leak checkers see each test on its own. */
int main(int argc, char *argv[]) {
        unsigned passed = 0, failed = 0, skipped = 0;

        /* a name that is no test, or a file without tests, would otherwise run nothing and pass */
        if (n_tests == 0) {
                fprintf(stderr, "no tests\n");
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                size_t j = 0;

                while (j < n_tests && strcmp(tests[j].name, argv[i]) != 0)
                        j++;
                if (j == n_tests) {
                        fprintf(stderr, "no test named '%s'\n", argv[i]);
                        return EXIT_FAILURE;
                }
        }

        for (size_t i = 0; i < n_tests; i++) {
                pid_t pid;
                int status;

                if (!selected(argc, argv, tests[i].name))
                        continue;
                fflush(NULL);
                pid = fork();
                if (pid < 0) {
                        perror("fork");
                        return EXIT_FAILURE;
                }
                if (pid == 0) {
                        tests[i].func();
                        exit(EXIT_SUCCESS);
                }
                if (waitpid(pid, &status, 0) < 0) {
                        perror("waitpid");
                        return EXIT_FAILURE;
                }
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                        printf("ok      %s\n", tests[i].name);
                        passed++;
                } else if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
                        printf("skip    %s\n", tests[i].name);
                        skipped++;
                } else {
                        printf("FAIL    %s (%s %d)\n",
                               tests[i].name,
                               WIFEXITED(status) ? "exit" : "signal",
                               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
                        failed++;
                }
        }
        printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
        if (failed > 0)
                return EXIT_FAILURE;
        if (passed == 0 && skipped > 0)
                return 77;
        return EXIT_SUCCESS;
}
