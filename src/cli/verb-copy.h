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

/* 'path' if it is absolute, else the working directory joined with it (nothing resolved). -ENOMEM, or the
 * errno of getcwd(). */
int path_make_absolute_cwd(const char *path, char **ret);
