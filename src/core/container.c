/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "job-runtime.h"
#include "job.h"
#include "handle.h"
#include "manager.h"
#include "parse-util.h"
#include "string-table.h"
#include "strv.h"

static const char *const container_state_table[_CONTAINER_STATE_MAX] = {
        [CONTAINER_BORN] = "born",
        [CONTAINER_ACTIVE] = "active",
        [CONTAINER_STOPPED] = "stopped",
        [CONTAINER_DESTROYED] = "destroyed",
};

DEFINE_STRING_TABLE_LOOKUP(container_state, ContainerState);

void log_container_step(const char *handle, const char *step, uint64_t started_usec) {
        assert(handle);
        assert(step);

        log_full_errno_container(
                LOG_DEBUG,
                0,
                handle,
                "Container '%s': step %s took %lluus.",
                handle,
                step,
                (unsigned long long) (now_usec(CLOCK_MONOTONIC) - started_usec));
}

int container_new(const char *handle, Container **ret) {
        _cleanup_(container_freep) Container *c = NULL;
        int r;

        if (!handle_is_valid(handle))
                return -EINVAL;

        c = calloc(1, sizeof(Container));
        if (!c)
                return -ENOMEM;
        c->state = CONTAINER_BORN;
        c->next_job_id = 1;
        c->handle = strdup(handle);
        if (!c->handle)
                return -ENOMEM;
        r = handle_to_unit_name(handle, &c->unit);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

Container *container_free(Container *c) {
        if (!c)
                return NULL;
        if (c->manager)
                manager_remove_container(c->manager, c);
        sd_event_source_disable_unref(c->leader_source);
        sd_event_source_disable_unref(c->grace_source);
        sd_event_source_disable_unref(c->oom_source);
        strv_free(c->clients);
        job_runtime_free(c);
        for (size_t i = 0; i < c->n_jobs; i++)
                job_free(c->jobs[i]);
        free(c->jobs);
        free(c->handle);
        free(c->unit);
        free(c->rootfs);
        free(c->path);
        free(c->host_ip);
        free(c->container_ip);
        strv_free(c->properties);
        strv_free(c->env);
        strv_free(c->events);
        free(c->net_in);
        free(c->net_out);
        free(c);
        return NULL;
}

Job *container_get_job(const Container *c, uint32_t id) {
        for (size_t i = 0; i < c->n_jobs; i++)
                if (c->jobs[i]->id == id)
                        return c->jobs[i];
        return NULL;
}

int container_add_job(Container *c, Job *j) {
        Job **n;

        if (container_get_job(c, j->id))
                return -EEXIST;
        n = reallocarray(c->jobs, c->n_jobs + 1, sizeof(Job *));
        if (!n)
                return -ENOMEM;
        c->jobs = n;
        c->jobs[c->n_jobs++] = j;
        return 0;
}

Job *container_remove_job(Container *c, Job *j) {
        for (size_t i = 0; i < c->n_jobs; i++)
                if (c->jobs[i] == j) {
                        memmove(c->jobs + i, c->jobs + i + 1, (c->n_jobs - i - 1) * sizeof(Job *));
                        c->n_jobs--;
                        return j;
                }
        return NULL;
}

const char *container_get_property(const Container *c, const char *key) {
        for (char **p = c->properties; p && p[0] && p[1]; p += 2)
                if (streq(p[0], key))
                        return p[1];
        return NULL;
}

int container_set_property(Container *c, const char *key, const char *value) {
        char *v;
        int r;

        for (char **p = c->properties; p && p[0] && p[1]; p += 2)
                if (streq(p[0], key)) {
                        v = strdup(value);
                        if (!v)
                                return -ENOMEM;
                        free(p[1]);
                        p[1] = v;
                        return 0;
                }
        r = strv_extend(&c->properties, key);
        if (r < 0)
                return r;
        r = strv_extend(&c->properties, value);
        if (r < 0) {
                /* keep the list in pairs */
                size_t n = strv_length(c->properties);
                free(c->properties[n - 1]);
                c->properties[n - 1] = NULL;
        }
        return r;
}

bool container_match_properties(const Container *c, char *const *filter) {
        for (char *const *p = filter; p && p[0] && p[1]; p += 2)
                if (!streq_ptr(container_get_property(c, p[0]), p[1]))
                        return false;
        return true;
}

int container_add_net_in(Container *c, const NetInRule *r) {
        NetInRule *l = reallocarray(c->net_in, c->n_net_in + 1, sizeof(NetInRule));

        if (!l)
                return -ENOMEM;
        c->net_in = l;
        c->net_in[c->n_net_in++] = *r;
        return 0;
}

int container_add_net_out(Container *c, const NetOutRule *r) {
        NetOutRule *l = reallocarray(c->net_out, c->n_net_out + 1, sizeof(NetOutRule));

        if (!l)
                return -ENOMEM;
        c->net_out = l;
        c->net_out[c->n_net_out++] = *r;
        return 0;
}

int container_remove_net_in(Container *c, uint16_t host_port) {
        for (size_t i = 0; i < c->n_net_in; i++)
                if (c->net_in[i].host_port == host_port) {
                        memmove(c->net_in + i, c->net_in + i + 1, (c->n_net_in - i - 1) * sizeof(NetInRule));
                        c->n_net_in--;
                        return 1;
                }
        return 0;
}

/* Escapes '\', '=', control characters and DEL as \xNN, so that a value is one line and a property key
 * never contains the separator. */
static int escape_value(FILE *f, const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == '=')
                        fprintf(f, "\\x%02x", *p);
                else
                        fputc(*p, f);
        }
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

static int unescape_value(const char *s, size_t len, char **ret) {
        _cleanup_free_ char *out = malloc(len + 1);
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                int hi, lo;

                if (s[i] != '\\') {
                        if (s[i] == '\0')
                                return -EINVAL;
                        out[n++] = s[i];
                        continue;
                }
                if (len - i < 4 || s[i + 1] != 'x')
                        return -EINVAL;
                hi = unhex(s[i + 2]);
                lo = unhex(s[i + 3]);
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                        return -EINVAL;
                out[n++] = (char) (hi << 4 | lo);
                i += 3;
        }
        out[n] = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

static void serialize_string(FILE *f, const char *key, const char *value) {
        if (!value)
                return;
        fprintf(f, "%s=", key);
        escape_value(f, value);
        fputc('\n', f);
}

int container_serialize(const Container *c, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;

        fputs("# Container state, written by wardend. Do not edit.\n", f);
        fputs("VERSION=1\n", f);
        serialize_string(f, "HANDLE", c->handle);
        serialize_string(f, "STATE", container_state_to_string(c->state));
        serialize_string(f, "UNIT", c->unit);
        if (c->leader_pid > 0)
                fprintf(f, "LEADER_PID=%i\n", (int) c->leader_pid);
        serialize_string(f, "ROOTFS", c->rootfs);
        serialize_string(f, "PATH", c->path);
        serialize_string(f, "HOST_IP", c->host_ip);
        serialize_string(f, "CONTAINER_IP", c->container_ip);
        fprintf(f, "GRACE_TIME=%u\n", c->grace_time);
        fprintf(f, "CREATED=%llu\n", (unsigned long long) c->created_usec);
        if (c->uid > 0)
                fprintf(f, "UID=%u\n", c->uid);
        if (c->userns_uid > 0)
                fprintf(f, "USERNS_UID=%u\n", c->userns_uid);
        if (c->has_net)
                fprintf(f, "NET_ID=%u\n", c->net_id);
        if (c->memory_limit > 0)
                fprintf(f, "MEMORY_LIMIT=%llu\n", (unsigned long long) c->memory_limit);
        if (c->cpu_weight > 0)
                fprintf(f, "CPU_WEIGHT=%llu\n", (unsigned long long) c->cpu_weight);
        if (c->cpu_quota > 0)
                fprintf(f, "CPU_QUOTA=%llu\n", (unsigned long long) c->cpu_quota);
        if (c->pids_limit > 0)
                fprintf(f, "PIDS_LIMIT=%llu\n", (unsigned long long) c->pids_limit);
        if (c->job_ids_reserved > 0)
                fprintf(f, "JOB_IDS_RESERVED=%u\n", c->job_ids_reserved);
        {
                const struct {
                        const char *key;
                        uint64_t value;
                } limits[] = {
                        { "DISK_LIMIT", c->disk_limit },         { "DISK_INODE_LIMIT", c->disk_inode_limit },
                        { "BANDWIDTH_RATE", c->bandwidth_rate }, { "BANDWIDTH_BURST", c->bandwidth_burst },
                        { "OOM_KILLS", c->oom_kills },
                };
                FOREACH_ARRAY(l, limits, ELEMENTSOF(limits))
                        if (l->value > 0)
                                fprintf(f, "%s=%llu\n", l->key, (unsigned long long) l->value);
        }
        for (char **p = c->properties; p && p[0] && p[1]; p += 2) {
                fputs("PROPERTY=", f);
                escape_value(f, p[0]);
                fputc('=', f);
                escape_value(f, p[1]);
                fputc('\n', f);
        }
        STRV_FOREACH(e, c->env)
                serialize_string(f, "ENV", *e);
        STRV_FOREACH(e, c->events)
                serialize_string(f, "EVENT", *e);
        FOREACH_ARRAY(n, c->net_in, c->n_net_in)
                fprintf(f, "NET_IN=%u:%u\n", n->host_port, n->container_port);
        FOREACH_ARRAY(n, c->net_out, c->n_net_out) {
                _cleanup_free_ char *rule = NULL;

                if (net_out_rule_to_string(n, &rule) < 0) {
                        fclose(f);
                        return -ENOMEM;
                }
                serialize_string(f, "NET_OUT", rule);
        }

        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

static void replace_string(char **field, char *value) {
        free(*field);
        *field = value;
}

typedef struct DeserializeContext {
        Container *container;
        char *handle;
        bool have_version;
        bool have_state;
} DeserializeContext;

/* PROPERTY=<escaped key>=<escaped value>: '=' is always escaped inside both. */
static int deserialize_property(Container *c, const char *v, size_t len) {
        _cleanup_free_ char *key = NULL, *value = NULL;
        const char *sep = memchr(v, '=', len);
        int r;

        if (!sep)
                return -EINVAL;
        r = unescape_value(v, (size_t) (sep - v), &key);
        if (r < 0)
                return r;
        r = unescape_value(sep + 1, len - (size_t) (sep - v) - 1, &value);
        if (r < 0)
                return r;
        if (container_get_property(c, key))
                return -EINVAL; /* duplicate */
        return container_set_property(c, key, value);
}

static int deserialize_line(DeserializeContext *ctx, const char *line, size_t len) {
        Container *c = ctx->container;
        _cleanup_free_ char *key = NULL, *value = NULL;
        const char *eq;
        int r;

        if (len == 0 || line[0] == '#')
                return 0;
        eq = memchr(line, '=', len);
        if (!eq)
                return -EINVAL;
        key = strndup(line, (size_t) (eq - line));
        if (!key)
                return -ENOMEM;
        len -= (size_t) (eq - line) + 1;

        if (streq(key, "PROPERTY"))
                return deserialize_property(c, eq + 1, len);

        r = unescape_value(eq + 1, len, &value);
        if (r < 0)
                return r;

        if (streq(key, "VERSION")) {
                if (!streq(value, "1"))
                        return -EINVAL;
                ctx->have_version = true;
        } else if (streq(key, "HANDLE"))
                replace_string(&ctx->handle, TAKE_PTR(value));
        else if (streq(key, "STATE")) {
                c->state = container_state_from_string(value);
                if (c->state < 0)
                        return -EINVAL;
                ctx->have_state = true;
        } else if (streq(key, "UNIT"))
                replace_string(&c->unit, TAKE_PTR(value));
        else if (streq(key, "LEADER_PID")) {
                uint32_t pid;

                r = parse_uint32(value, &pid);
                if (r < 0 || pid == 0 || pid > INT32_MAX)
                        return -EINVAL;
                c->leader_pid = (pid_t) pid;
        } else if (streq(key, "ROOTFS"))
                replace_string(&c->rootfs, TAKE_PTR(value));
        else if (streq(key, "PATH"))
                replace_string(&c->path, TAKE_PTR(value));
        else if (streq(key, "HOST_IP"))
                replace_string(&c->host_ip, TAKE_PTR(value));
        else if (streq(key, "CONTAINER_IP"))
                replace_string(&c->container_ip, TAKE_PTR(value));
        else if (streq(key, "GRACE_TIME")) {
                if (parse_uint32(value, &c->grace_time) < 0)
                        return -EINVAL;
        } else if (streq(key, "CREATED")) {
                if (parse_uint64(value, &c->created_usec) < 0)
                        return -EINVAL;
        } else if (streq(key, "UID")) {
                if (parse_uint32(value, &c->uid) < 0 || c->uid == 0)
                        return -EINVAL;
        } else if (streq(key, "USERNS_UID")) {
                if (parse_uint32(value, &c->userns_uid) < 0 || c->userns_uid == 0)
                        return -EINVAL;
        } else if (streq(key, "NET_ID")) {
                if (parse_uint32(value, &c->net_id) < 0)
                        return -EINVAL;
                c->has_net = true;
        } else if (streq(key, "MEMORY_LIMIT")) {
                if (parse_uint64(value, &c->memory_limit) < 0)
                        return -EINVAL;
        } else if (streq(key, "CPU_WEIGHT")) {
                if (parse_uint64(value, &c->cpu_weight) < 0)
                        return -EINVAL;
        } else if (streq(key, "CPU_QUOTA")) {
                if (parse_uint64(value, &c->cpu_quota) < 0)
                        return -EINVAL;
        } else if (streq(key, "PIDS_LIMIT")) {
                if (parse_uint64(value, &c->pids_limit) < 0)
                        return -EINVAL;
        } else if (streq(key, "JOB_IDS_RESERVED")) {
                /* The next id is the one after: UINT32_MAX would wrap it to 0, which is no job id (job_new()
                 * asserts on it at the next Spawn). Found by fuzz-container-state. */
                if (parse_uint32(value, &c->job_ids_reserved) < 0 || c->job_ids_reserved == UINT32_MAX)
                        return -EINVAL;
                c->next_job_id = c->job_ids_reserved + 1;
        } else if (streq(key, "DISK_LIMIT")) {
                if (parse_uint64(value, &c->disk_limit) < 0)
                        return -EINVAL;
        } else if (streq(key, "DISK_INODE_LIMIT")) {
                if (parse_uint64(value, &c->disk_inode_limit) < 0)
                        return -EINVAL;
        } else if (streq(key, "BANDWIDTH_RATE")) {
                if (parse_uint64(value, &c->bandwidth_rate) < 0)
                        return -EINVAL;
        } else if (streq(key, "BANDWIDTH_BURST")) {
                if (parse_uint64(value, &c->bandwidth_burst) < 0)
                        return -EINVAL;
        } else if (streq(key, "OOM_KILLS")) {
                if (parse_uint64(value, &c->oom_kills) < 0)
                        return -EINVAL;
        } else if (streq(key, "ENV"))
                return strv_consume(&c->env, TAKE_PTR(value));
        else if (streq(key, "EVENT"))
                return strv_consume(&c->events, TAKE_PTR(value));
        else if (streq(key, "NET_IN")) {
                char *colon = strchr(value, ':');
                uint32_t host, cont;

                if (!colon)
                        return -EINVAL;
                *colon = '\0';
                if (parse_uint32(value, &host) < 0 || parse_uint32(colon + 1, &cont) < 0 || host == 0 ||
                    host > UINT16_MAX || cont == 0 || cont > UINT16_MAX)
                        return -EINVAL;
                return container_add_net_in(c, &(NetInRule){ (uint16_t) host, (uint16_t) cont });
        } else if (streq(key, "NET_OUT")) {
                NetOutRule rule;

                r = net_out_rule_from_string(value, &rule);
                if (r < 0)
                        return r;
                return container_add_net_out(c, &rule);
        }
        /* else: a key written by a newer wardend; ignore it */
        return 0;
}

int container_deserialize(const char *text, Container **ret) {
        _cleanup_(container_freep) Container *c = NULL;
        DeserializeContext ctx = {};
        int r = 0;

        c = calloc(1, sizeof(Container));
        if (!c)
                return -ENOMEM;
        /* As container_new() does: a container that never ran a job has no JOB_IDS_RESERVED line, and job
         * id 0 does not exist (job_new() asserts on it: the first Spawn after a restart would abort
         * wardend). Found by fuzz-container-state. */
        c->next_job_id = 1;
        ctx.container = c;

        for (const char *p = text; *p && r >= 0;) {
                const char *nl = strchrnul(p, '\n');

                r = deserialize_line(&ctx, p, (size_t) (nl - p));
                p = *nl ? nl + 1 : nl;
        }
        if (r >= 0 && (!ctx.have_version || !ctx.have_state || !handle_is_valid(ctx.handle)))
                r = -EINVAL;
        if (r < 0) {
                free(ctx.handle);
                return r;
        }
        c->handle = TAKE_PTR(ctx.handle);
        if (!c->unit) {
                r = handle_to_unit_name(c->handle, &c->unit);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}
