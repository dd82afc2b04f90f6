/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The named errors of the org.warden.Manager API (api.md "Errors") and their errno mapping. Both wardend and
 * wardenctl register the map with sd_bus_error_add_map(), so that a client gets a real errno back from
 * sd_bus_error_get_errno() and "%m" prints something sensible.
 *
 * Each name maps to an errno that nothing else in wardend returns through D-Bus, so the mapping is
 * unambiguous in both directions:
 *     NoSuchContainer ENXIO, ContainerExists EEXIST, InvalidHandle EBADR, InvalidState EBADFD,
 *     NoSuchJob ESRCH, PoolExhausted ENOSR, RootfsNotFound ENOMEDIUM, BindMountSource EMEDIUMTYPE,
 *     LimitFailed ECOMM, NoSpace ENOSPC, HostFd EBADE.
 */

#include <systemd/sd-bus.h>

#define WARDEN_ERROR_PREFIX "org.warden.Error."
#define WARDEN_ERROR_NO_SUCH_CONTAINER WARDEN_ERROR_PREFIX "NoSuchContainer"
#define WARDEN_ERROR_CONTAINER_EXISTS WARDEN_ERROR_PREFIX "ContainerExists"
#define WARDEN_ERROR_INVALID_HANDLE WARDEN_ERROR_PREFIX "InvalidHandle"
#define WARDEN_ERROR_INVALID_STATE WARDEN_ERROR_PREFIX "InvalidState"
#define WARDEN_ERROR_NO_SUCH_JOB WARDEN_ERROR_PREFIX "NoSuchJob"
#define WARDEN_ERROR_POOL_EXHAUSTED WARDEN_ERROR_PREFIX "PoolExhausted"
#define WARDEN_ERROR_ROOTFS_NOT_FOUND WARDEN_ERROR_PREFIX "RootfsNotFound"
#define WARDEN_ERROR_BIND_MOUNT_SOURCE WARDEN_ERROR_PREFIX "BindMountSource"
#define WARDEN_ERROR_LIMIT_FAILED WARDEN_ERROR_PREFIX "LimitFailed"
#define WARDEN_ERROR_NO_SPACE WARDEN_ERROR_PREFIX "NoSpace"
#define WARDEN_ERROR_HOST_FD WARDEN_ERROR_PREFIX "HostFd"

extern const sd_bus_error_map warden_bus_errors[];

/* Registers warden_bus_errors with sd-bus (process-wide; idempotent). Negative errno on failure. */
int bus_error_register_map(void);
