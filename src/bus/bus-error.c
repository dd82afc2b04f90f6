/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>

#include "bus-error.h"

const sd_bus_error_map warden_bus_errors[] = {
        SD_BUS_ERROR_MAP(WARDEN_ERROR_NO_SUCH_CONTAINER, ENXIO),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_CONTAINER_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_INVALID_HANDLE, EBADR),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_INVALID_STATE, EBADFD),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_NO_SUCH_JOB, ESRCH),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_POOL_EXHAUSTED, ENOSR),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_ROOTFS_NOT_FOUND, ENOMEDIUM),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_BIND_MOUNT_SOURCE, EMEDIUMTYPE),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_LIMIT_FAILED, ECOMM),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_NO_SPACE, ENOSPC),
        SD_BUS_ERROR_MAP(WARDEN_ERROR_HOST_FD, EBADE),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_register_map(void) {
        int r = sd_bus_error_add_map(warden_bus_errors);

        return r < 0 ? r : 0;
}
