/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-util.h"
#include "macro.h"
#include "strv.h"

static int lookup_group(const char *name, gid_t *ret) {
        struct group grp, *result = NULL;
        char buf[4096];
        int r;

        r = getgrnam_r(name, &grp, buf, sizeof(buf), &result);
        if (r != 0)
                return -r;
        if (!result)
                return -ESRCH;
        *ret = result->gr_gid;
        return 0;
}

/* Is 'uid' a member of 'gid' in the user database (primary group or listed in /etc/group & co.)? This is
 * what dbus-daemon's <policy group="..."> goes by, and what we fall back to when the bus does not tell us
 * the sender's supplementary groups. */
static bool user_in_group(uid_t uid, gid_t gid) {
        struct passwd pw, *result = NULL;
        char buf[4096];
        gid_t groups[256];
        int n = (int) ELEMENTSOF(groups);

        if (getpwuid_r(uid, &pw, buf, sizeof(buf), &result) != 0 || !result)
                return false;
        if (result->pw_gid == gid)
                return true;
        if (getgrouplist(result->pw_name, result->pw_gid, groups, &n) < 0)
                return false; /* more than 256 groups: treat as not a member */
        for (int i = 0; i < n; i++)
                if (groups[i] == gid)
                        return true;
        return false;
}

int bus_verify_manage(sd_bus_message *m, sd_bus_error *error) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const gid_t *gids = NULL;
        gid_t warden_gid, gid;
        uid_t uid;
        int r, n;

        r = sd_bus_query_sender_creds(
                        m,
                        SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_GID |
                                        SD_BUS_CREDS_SUPPLEMENTARY_GIDS,
                        &creds);
        if (r < 0)
                return r;

        /* dbus-daemon reports the uid the connection authenticated with; a direct connection has the euid.
         */
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return r;
        if (uid == 0)
                return 1;

        if (lookup_group(WARDEN_GROUP, &warden_gid) >= 0) {
                if (sd_bus_creds_get_gid(creds, &gid) >= 0 && gid == warden_gid)
                        return 1;
                n = sd_bus_creds_get_supplementary_gids(creds, &gids);
                for (int i = 0; i < n; i++)
                        if (gids[i] == warden_gid)
                                return 1;
                if (n < 0 && user_in_group(uid, warden_gid))
                        return 1;
        }

        return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_ACCESS_DENIED,
                        "Only root and members of the group '" WARDEN_GROUP "' may call %s().",
                        sd_bus_message_get_member(m));
}

int bus_message_read_string_pairs(sd_bus_message *m, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        const char *k, *v;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{ss}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "{ss}", &k, &v)) > 0) {
                /* 10^6 pairs (an unprivileged List can send them) would keep the loop busy for minutes */
                if (++n > BUS_STRING_PAIRS_MAX)
                        return -E2BIG;
                for (char **p = l; p && p[0]; p += 2)
                        if (streq(p[0], k))
                                return -EINVAL;
                r = strv_extend(&l, k);
                if (r < 0)
                        return r;
                r = strv_extend(&l, v);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}
