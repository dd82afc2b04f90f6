/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "strv.h"
#include "tests.h"

TEST(state_names) {
        for (int i = 0; i < _CONTAINER_STATE_MAX; i++)
                ASSERT_EQ(container_state_from_string(container_state_to_string(i)), i);
        ASSERT_STREQ(container_state_to_string(CONTAINER_ACTIVE), "active");
        ASSERT_EQ(container_state_from_string("running"), _CONTAINER_STATE_INVALID);
        ASSERT_NULL(container_state_to_string(_CONTAINER_STATE_MAX));
}

TEST(new_refuses_bad_handles) {
        Container *c = NULL;

        ASSERT_ERROR(container_new("../etc", &c), EINVAL);
        ASSERT_ERROR(container_new("", &c), EINVAL);
        ASSERT_NULL(c);
        ASSERT_OK(container_new("ok", &c));
        ASSERT_STREQ(c->unit, "warden-ok.scope");
        ASSERT_EQ(c->state, CONTAINER_BORN);
        container_free(c);
}

TEST(properties) {
        _cleanup_(container_freep) Container *c = NULL;
        char **filter_ok = STRV_MAKE("app", "web");
        char **filter_bad = STRV_MAKE("app", "db");
        char **filter_missing = STRV_MAKE("nope", "x");

        ASSERT_OK(container_new("p", &c));
        ASSERT_OK(container_set_property(c, "app", "api"));
        ASSERT_OK(container_set_property(c, "app", "web"));
        ASSERT_OK(container_set_property(c, "k=with=eq", "v\nline"));
        ASSERT_STREQ(container_get_property(c, "app"), "web");
        ASSERT_EQ(strv_length(c->properties), 4);
        ASSERT_TRUE(container_match_properties(c, filter_ok));
        ASSERT_FALSE(container_match_properties(c, filter_bad));
        ASSERT_FALSE(container_match_properties(c, filter_missing));
        ASSERT_TRUE(container_match_properties(c, NULL));
}

TEST(serialize_roundtrip) {
        _cleanup_(container_freep) Container *c = NULL, *d = NULL;
        _cleanup_free_ char *text = NULL, *text2 = NULL;

        ASSERT_OK(container_new("round-trip", &c));
        c->state = CONTAINER_ACTIVE;
        c->leader_pid = 4242;
        c->rootfs = strdup("/var/lib/warden/rootfs");
        c->path = strdup("/var/lib/warden/containers/round-trip");
        c->host_ip = strdup("10.254.0.1");
        c->container_ip = strdup("10.254.0.2");
        c->grace_time = 300;
        c->created_usec = 1234567890123ULL;
        c->uid = 10007;
        c->userns_uid = 0x40010000;
        c->net_id = 0; /* index 0 is a real network: has_net says it is set */
        c->has_net = true;
        c->memory_limit = 64ULL << 20;
        c->cpu_weight = 200;
        c->cpu_quota = 250;
        c->pids_limit = 512;
        c->disk_limit = 16ULL << 20;
        c->disk_inode_limit = 4096;
        c->bandwidth_rate = 1000000;
        c->bandwidth_burst = 65536;
        c->oom_kills = 3;
        ASSERT_OK(container_set_property(c, "owner", "team=a\\b"));
        ASSERT_OK(container_set_property(c, "weird\tkey", "line1\nline2\x7f"));
        ASSERT_OK(strv_extend(&c->env, "PATH=/bin:/usr/bin"));
        ASSERT_OK(strv_extend(&c->events, "out of memory"));

        ASSERT_OK(container_serialize(c, &text));
        ASSERT_NULL(strstr(text, "line1\n")); /* newlines are escaped */
        ASSERT_OK(container_deserialize(text, &d));
        ASSERT_STREQ(d->handle, "round-trip");
        ASSERT_EQ(d->state, CONTAINER_ACTIVE);
        ASSERT_EQ(d->leader_pid, 4242);
        ASSERT_STREQ(d->unit, "warden-round-trip.scope");
        ASSERT_STREQ(d->rootfs, c->rootfs);
        ASSERT_STREQ(d->path, c->path);
        ASSERT_STREQ(d->host_ip, "10.254.0.1");
        ASSERT_STREQ(d->container_ip, "10.254.0.2");
        ASSERT_EQ(d->grace_time, 300);
        ASSERT_EQ(d->created_usec, 1234567890123ULL);
        ASSERT_EQ(d->uid, 10007u);
        ASSERT_EQ(d->userns_uid, 0x40010000u);
        ASSERT_EQ(container_host_uid(d, 0), 0x40010000u);
        ASSERT_EQ(container_host_uid(d, 5), 0x40010005u);
        ASSERT_TRUE(d->has_net);
        ASSERT_EQ(d->net_id, 0u);
        ASSERT_EQ(d->memory_limit, 64ULL << 20);
        ASSERT_EQ(d->cpu_weight, 200u);
        ASSERT_EQ(d->cpu_quota, 250u);
        ASSERT_EQ(d->pids_limit, 512u);
        ASSERT_EQ(d->disk_limit, 16ULL << 20);
        ASSERT_EQ(d->disk_inode_limit, 4096u);
        ASSERT_EQ(d->bandwidth_rate, 1000000u);
        ASSERT_EQ(d->bandwidth_burst, 65536u);
        ASSERT_EQ(d->oom_kills, 3u);
        ASSERT_NOT_NULL(strstr(text, "\nBANDWIDTH_RATE=1000000\n"));
        ASSERT_STREQ(container_get_property(d, "owner"), "team=a\\b");
        ASSERT_STREQ(container_get_property(d, "weird\tkey"), "line1\nline2\x7f");
        ASSERT_STREQ(d->env[0], "PATH=/bin:/usr/bin");
        ASSERT_STREQ(d->events[0], "out of memory");

        /* a second round gives the same bytes */
        ASSERT_OK(container_serialize(d, &text2));
        ASSERT_STREQ(text, text2);
}

TEST(deserialize_rejects_garbage) {
        static const char *const bad[] = {
                "",
                "VERSION=1\nSTATE=active\n",              /* no handle */
                "VERSION=1\nHANDLE=x\n",                  /* no state */
                "HANDLE=x\nSTATE=active\n",               /* no version */
                "VERSION=2\nHANDLE=x\nSTATE=active\n",    /* future version */
                "VERSION=1\nHANDLE=../x\nSTATE=active\n", /* invalid handle */
                "VERSION=1\nHANDLE=x\nSTATE=running\n",   /* unknown state */
                "VERSION=1\nHANDLE=x\nSTATE=active\nLEADER_PID=0\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nLEADER_PID=-5\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nLEADER_PID=99999999999\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nGRACE_TIME=abc\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nnoequals\n",
                "VERSION=1\nHANDLE=x\\x\nSTATE=active\n",          /* truncated escape */
                "VERSION=1\nHANDLE=x\nSTATE=active\nPATH=\\x00\n", /* NUL */
                "VERSION=1\nHANDLE=x\nSTATE=active\nPATH=\\xzz\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nPROPERTY=novalue\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nPROPERTY=a=1\nPROPERTY=a=2\n", /* duplicate */
                "VERSION=1\nHANDLE=x\nSTATE=active\nUID=0\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nUSERNS_UID=0\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nUSERNS_UID=x\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nUID=4294967296\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nNET_ID=-1\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nMEMORY_LIMIT=lots\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nDISK_LIMIT=-1\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nDISK_INODE_LIMIT=1k\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nBANDWIDTH_RATE=\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nBANDWIDTH_BURST=18446744073709551616\n",
                "VERSION=1\nHANDLE=x\nSTATE=active\nOOM_KILLS=one\n",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                Container *c = NULL;
                int r = container_deserialize(bad[i], &c);

                if (r != -EINVAL)
                        tests_fail(__FILE__, __LINE__, "case %zu: got %d, expected -EINVAL", i, r);
                ASSERT_NULL(c);
        }
}

TEST(deserialize_ignores_unknown_keys) {
        _cleanup_(container_freep) Container *c = NULL;

        ASSERT_OK(container_deserialize("# hi\nVERSION=1\nHANDLE=x\nSTATE=stopped\nFUTURE_KEY=1\n", &c));
        ASSERT_STREQ(c->handle, "x");
        ASSERT_EQ(c->state, CONTAINER_STOPPED);
        ASSERT_STREQ(c->unit, "warden-x.scope");
        ASSERT_EQ(c->next_job_id, 1u); /* no JOB_IDS_RESERVED: no job yet, ids start at 1 */
}
