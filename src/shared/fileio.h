/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* File helpers. Negative errno on failure, never logs. */

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes 'data' to 'path' atomically: a temporary file in the same directory, fsync(), rename(). Readers see
 * either the old or the new content, never a torn file, even if we crash halfway.
 */
int write_file_atomic(const char *path, const void *data, size_t size, mode_t mode);

/*
 * Reads a whole regular file into a NUL-terminated buffer. -EFBIG if it is larger than max_size, -ENOENT if
 * it does not exist, other negative errno from open()/read().
 */
int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size);
/* The same from an open fd, read to its end from where it stands. */
int read_full_fd(int fd, size_t max_size, char **ret, size_t *ret_size);

/* mkdir -p with 'mode' for the created directories; existing ones are left alone. */
int mkdir_p(const char *path, mode_t mode);

/* Writes all of buf, retrying on EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t size);
