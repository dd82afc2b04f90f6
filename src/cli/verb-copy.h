/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* wardenctl's file commands, copy-in and copy-out. See wardenctl(1). They log their failures. */

#include <systemd/sd-bus.h>

/* Copies the host path 'src' to 'dst' in the container (CopyIn). A relative 'src' is taken relative to our
 * working directory; 'dst' is a path inside the container, as given. */
int copy_in(sd_bus *bus, const char *handle, const char *src, const char *dst);

/* Copies 'src' in the container to the host path 'dst' (CopyOut), relative to our working directory unless
 * absolute, owned by 'owner' ("user:group"; NULL or "": wardend's default). */
int copy_out(sd_bus *bus, const char *handle, const char *src, const char *dst, const char *owner);

/*
 * The absolute, normalised form of the host path 'path' that CopyIn/CopyOut accept: relative to the working
 * directory unless absolute; no empty or "." components; everything up to the last ".." resolved with
 * realpath(), as the kernel would resolve it; a trailing "/" kept, and added for "." and "DIR/.", which name
 * a directory's contents. -EINVAL for "", -ENAMETOOLONG, -ENOMEM, or the errno of getcwd()/realpath().
 */
int path_make_absolute_cwd(const char *path, char **ret);
