/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The driver that makes a fuzz target a regular test: it feeds every file named on the command line, and
 * every file in every directory named there (a corpus, tests/fuzz/corpus/<target>/), to
 * LLVMFuzzerTestOneInput() once. A crash or a failed assertion in the target fails the test; an empty
 * corpus too, so that a wrong path cannot pass silently. Reusable by every target: link it with one.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        struct stat st;
        uint8_t *buf;
        size_t n = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                return -1;
        }
        /* a copy of exactly the file's size, so that ASan sees any read past the end */
        buf = malloc((size_t) st.st_size ?: 1);
        if (!buf) {
                close(fd);
                return -1;
        }
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);

                if (k <= 0) {
                        fprintf(stderr, "%s: short read\n", path);
                        free(buf);
                        close(fd);
                        return -1;
                }
                n += (size_t) k;
        }
        close(fd);

        fprintf(stderr, "%s (%zu bytes)\n", path, n);
        (void) LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        return 0;
}

static int compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char *argv[]) {
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                struct dirent **entries;
                struct stat st;
                int k;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (run_file(argv[i]) < 0)
                                return EXIT_FAILURE;
                        n++;
                        continue;
                }

                k = scandir(argv[i], &entries, NULL, compare);
                if (k < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                for (int j = 0; j < k; j++) {
                        char path[4096];

                        if (entries[j]->d_name[0] != '.') {
                                (void) snprintf(path, sizeof(path), "%s/%s", argv[i], entries[j]->d_name);
                                if (run_file(path) < 0)
                                        return EXIT_FAILURE;
                                n++;
                        }
                        free(entries[j]);
                }
                free(entries);
        }

        if (n == 0) {
                fprintf(stderr, "No input.\n");
                return EXIT_FAILURE;
        }
        printf("%u inputs replayed.\n", n);
        return EXIT_SUCCESS;
}
