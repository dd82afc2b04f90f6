/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <systemd/sd-event.h>

#include "bus-call-out.h"
#include "bus-calls.h"
#include "bus-polkit.h"
#include "bus-state.h"
#include "bus-util.h"
#include "event-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"

#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_AUTHORITY_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_AUTHORITY_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ERROR_PREFIX "org.freedesktop.PolicyKit1.Error."
#define POLKIT_CHECK_ALLOW_USER_INTERACTION 1U

/* polkit decides by its rules alone: a few milliseconds, or its D-Bus activation. */
#define POLKIT_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* Someone types a password into an authentication agent. */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (120 * USEC_PER_SEC)
/* How long an answer waits for its call to come back; then the call is asked about anew, if it ever comes.
 */
#define POLKIT_ANSWER_KEEP_USEC (10 * USEC_PER_SEC)

typedef struct PolkitQuery {
        Manager *manager;
        char key[2 * sizeof(void *) + 3]; /* the request's address: unique while we hold the request */
        sd_bus_message *request;          /* held with bus_call_hold() */
        BusCallOut *slot;                 /* CheckAuthorization, until it is answered */
        sd_event_source *expire_source;   /* once answered */
        const char *action;               /* WARDEN_POLKIT_ACTION_* */
        bool group_allows;                /* the verdict without polkit */
        bool answered;
        sd_bus_error refusal; /* answered, and this is what the caller gets; unset: allowed */
} PolkitQuery;

/* ---- the group "warden" ---------------------------------------------------------------------------------
 */

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
 * what dbus-daemon's <policy group="..."> and polkit's subject.isInGroup() go by, and what we fall back to
 * when the bus does not tell us the sender's supplementary groups. */
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

static bool sender_in_warden_group(sd_bus_creds *creds, uid_t uid) {
        const gid_t *gids = NULL;
        gid_t warden_gid, gid;
        int n;

        if (lookup_group(WARDEN_GROUP, &warden_gid) < 0)
                return false;
        if (sd_bus_creds_get_gid(creds, &gid) >= 0 && gid == warden_gid)
                return true;
        n = sd_bus_creds_get_supplementary_gids(creds, &gids);
        for (int i = 0; i < n; i++)
                if (gids[i] == warden_gid)
                        return true;
        return n < 0 && user_in_group(uid, warden_gid);
}

/* The refusal when polkit cannot be asked: the group decides about manage, nobody but root gets host paths.
 */
static int refusal_without_polkit(sd_bus_error *error, const char *action, const char *member) {
        if (streq(action, WARDEN_POLKIT_ACTION_HOST_PATHS))
                return sd_bus_error_setf(
                        error,
                        SD_BUS_ERROR_ACCESS_DENIED,
                        "Only root may use host paths outside wardend's allow-lists in %s() (polkit "
                        "action '" WARDEN_POLKIT_ACTION_HOST_PATHS "'; polkit is not available).",
                        member);
        return sd_bus_error_setf(
                error,
                SD_BUS_ERROR_ACCESS_DENIED,
                "Only root and members of the group '" WARDEN_GROUP "' may call %s() (polkit is not "
                "available).",
                member);
}

/* ---- the registry of questions to polkit -------------------------------------------------------------
 */

static PolkitQuery *polkit_query_free(PolkitQuery *q) {
        if (!q)
                return NULL;
        hashmap_remove(q->manager->bus_manager->polkit_queries, q->key);
        assert(q->manager->n_operations > 0);
        q->manager->n_operations--;
        bus_call_out_free(q->slot);
        sd_event_source_disable_unref(q->expire_source);
        bus_call_release(q->manager, q->request);
        sd_bus_error_free(&q->refusal);
        free(q);
        return NULL;
}

static PolkitQuery *polkit_query_find(Manager *manager, sd_bus_message *m) {
        char key[2 * sizeof(void *) + 3];

        if (!manager || !manager->bus_manager->polkit_queries)
                return NULL;
        (void) snprintf(key, sizeof(key), "%p", (void *) m);
        return hashmap_get(manager->bus_manager->polkit_queries, key);
}

bool bus_polkit_has_answer(Manager *manager, sd_bus_message *m) {
        PolkitQuery *q = polkit_query_find(manager, m);

        return q && q->answered;
}

/* When the event loop ends (SIGTERM, idle exit): forget the questions, so that nothing holds the bus. The
 * callers get no answer from us; the bus tells them that we went away. */
static int polkit_queries_flush(sd_event_source *s, void *userdata) {
        Manager *manager = userdata;
        PolkitQuery *q;

        HASHMAP_FOREACH(q, manager->bus_manager->polkit_queries)
                polkit_query_free(q);
        return 0;
}

static int polkit_answer_expired(sd_event_source *s, uint64_t usec, void *userdata) {
        PolkitQuery *q = userdata;

        log_debug(
                "polkit's answer for %s() of '%s' was not picked up, dropping it.",
                strna(sd_bus_message_get_member(q->request)),
                strna(sd_bus_message_get_sender(q->request)));
        polkit_query_free(q);
        return 0;
}

_printf_(3, 4) static void refuse(PolkitQuery *q, const char *name, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        (void) sd_bus_error_setfv(&q->refusal, name, format, ap);
        va_end(ap);
}

/* Sets q->refusal unless polkit allows the call (or, when polkit cannot be had, the group does). */
static void polkit_judge(PolkitQuery *q, sd_bus_message *reply) {
        const char *member = sd_bus_message_get_member(q->request),
                   *sender = sd_bus_message_get_sender(q->request);
        int authorized, challenge, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (startswith(e->name, POLKIT_ERROR_PREFIX)) {
                        log_debug(
                                "polkit failed to decide about %s() of '%s': %s",
                                member,
                                sender,
                                e->message);
                        refuse(q,
                               SD_BUS_ERROR_ACCESS_DENIED,
                               "polkit did not authorize %s(): %s",
                               member,
                               strna(e->message));
                        return;
                }
                /* Not installed (ServiceUnknown), masked or failing to start, not answering (NoReply), ...:
                 * the rules file's policy, without polkit. */
                log_debug(
                        "polkit cannot be asked about %s of %s() of '%s' (%s: %s); %s.",
                        q->action,
                        member,
                        sender,
                        e->name,
                        strna(e->message),
                        q->group_allows ? "the group '" WARDEN_GROUP "' allows it" : "refused");
                if (!q->group_allows)
                        (void) refusal_without_polkit(&q->refusal, q->action, member);
                return;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                log_warning_errno(
                        r, "Failed to read polkit's answer about %s() of '%s': %m", member, sender);
                refuse(q, SD_BUS_ERROR_ACCESS_DENIED, "Could not read polkit's answer about %s().", member);
                return;
        }
        log_debug(
                "polkit %s %s of %s() of '%s'.",
                authorized  ? "authorizes"
                : challenge ? "wants authentication for"
                            : "refuses",
                q->action,
                member,
                sender);
        if (authorized)
                return;
        if (challenge && streq(q->action, WARDEN_POLKIT_ACTION_HOST_PATHS))
                refuse(q,
                       SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                       "%s() with host paths outside wardend's allow-lists needs an administrator's "
                       "authentication (polkit action '%s'): allow interactive authorization on the call.",
                       member,
                       q->action);
        else if (challenge)
                refuse(q,
                       SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                       "%s() needs authentication (polkit action '%s'): allow interactive "
                       "authorization on the call, or ask to be added to the group '" WARDEN_GROUP "'.",
                       member,
                       q->action);
        else if (streq(q->action, WARDEN_POLKIT_ACTION_HOST_PATHS))
                refuse(q,
                       SD_BUS_ERROR_ACCESS_DENIED,
                       "Not authorized to use host paths outside wardend's allow-lists in %s(): polkit "
                       "refuses the action '%s' to this caller.",
                       member,
                       q->action);
        else
                refuse(q,
                       SD_BUS_ERROR_ACCESS_DENIED,
                       "Not authorized to call %s(): polkit refuses the action '%s' to this caller.",
                       member,
                       q->action);
}

static int polkit_answered(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PolkitQuery *q = userdata;
        int r;

        q->slot = bus_call_out_free(q->slot);
        polkit_judge(q, reply);
        q->answered = true;

        /* Back into the read queue: sd-bus dispatches the call again, and bus_verify_manage() then finds
         * this answer. */
        r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(q->request), q->request);
        if (r < 0) {
                log_error_errno(
                        r,
                        "Failed to dispatch %s() of '%s' again after polkit's answer: %m",
                        strna(sd_bus_message_get_member(q->request)),
                        strna(sd_bus_message_get_sender(q->request)));
                (void) sd_bus_reply_method_errnof(
                        q->request, -r, "Failed to dispatch the call after its authorization: %m");
                polkit_query_free(q);
                return 0;
        }
        r = sd_event_add_time_relative(
                q->manager->event,
                &q->expire_source,
                CLOCK_MONOTONIC,
                POLKIT_ANSWER_KEEP_USEC,
                USEC_PER_SEC,
                polkit_answer_expired,
                q);
        if (r < 0)
                log_warning_errno(r, "Failed to arm the expiry of polkit's answer, ignoring: %m");
        else
                (void) sd_event_source_set_description(q->expire_source, "polkit-answer-expiry");
        return 0;
}

static int polkit_query_start(Manager *manager, sd_bus_message *m, const char *action, bool group_allows) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        sd_bus *bus = sd_bus_message_get_bus(m);
        bool interactive = sd_bus_message_get_allow_interactive_authorization(m) > 0;
        PolkitQuery *q;
        int r;

        if (!manager->bus_manager->polkit_queries) {
                sd_event_source *s = NULL;

                manager->bus_manager->polkit_queries = hashmap_new();
                if (!manager->bus_manager->polkit_queries)
                        return -ENOMEM;
                r = sd_event_add_exit(manager->event, &s, polkit_queries_flush, manager);
                if (r >= 0)
                        r = event_source_float(s, "polkit-queries-flush");
                if (r < 0) {
                        manager->bus_manager->polkit_queries =
                                hashmap_free(manager->bus_manager->polkit_queries);
                        return r;
                }
        }

        r = sd_bus_message_new_method_call(
                bus,
                &call,
                POLKIT_BUS_NAME,
                POLKIT_AUTHORITY_PATH,
                POLKIT_AUTHORITY_INTERFACE,
                "CheckAuthorization");
        if (r < 0)
                return r;
        /* subject, action, details (rules may look at action.lookup("method")), flags, cancellation id */
        r = sd_bus_message_append(
                call,
                "(sa{sv})sa{ss}us",
                "system-bus-name",
                1,
                "name",
                "s",
                sd_bus_message_get_sender(m),
                action,
                1,
                "method",
                strempty(sd_bus_message_get_member(m)),
                interactive ? POLKIT_CHECK_ALLOW_USER_INTERACTION : 0U,
                "");
        if (r < 0)
                return r;

        q = calloc(1, sizeof(PolkitQuery));
        if (!q)
                return -ENOMEM;
        q->manager = manager;
        q->action = action;
        q->group_allows = group_allows;
        (void) snprintf(q->key, sizeof(q->key), "%p", (void *) m);
        r = hashmap_put(manager->bus_manager->polkit_queries, q->key, q);
        if (r < 0) {
                free(q);
                return r;
        }
        manager->n_operations++;
        q->request = bus_call_hold(manager, m);

        r = bus_call_out(
                manager,
                call,
                interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC,
                polkit_answered,
                q,
                &q->slot);
        if (r < 0) {
                polkit_query_free(q);
                return r;
        }
        return 0;
}

/* polkit is reached through a bus daemon; a direct connection (the unit tests) has none. */
static bool polkit_can_be_asked(Manager *manager, sd_bus_message *m) {
        return manager && manager->event && sd_bus_message_get_sender(m) &&
               sd_bus_is_bus_client(sd_bus_message_get_bus(m)) > 0;
}

/* The sender's uid and whether it is in the group "warden" (never for root, who needs no group). */
static int sender_identity(sd_bus_message *m, uid_t *ret_uid, bool *ret_in_group) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(
                m,
                SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID | SD_BUS_CREDS_GID | SD_BUS_CREDS_SUPPLEMENTARY_GIDS,
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
        *ret_uid = uid;
        *ret_in_group = uid != 0 && sender_in_warden_group(creds, uid);
        return 0;
}

int bus_sender_uid(sd_bus_message *m, uid_t *ret) {
        bool in_group;

        assert(m);
        assert(ret);

        return sender_identity(m, ret, &in_group);
}

static int bus_verify(sd_bus_message *m, Manager *manager, const char *action, sd_bus_error *error) {
        bool host_paths = streq(action, WARDEN_POLKIT_ACTION_HOST_PATHS), in_group;
        PolkitQuery *q;
        uid_t uid;
        int r;

        q = polkit_query_find(manager, m);
        if (q && !streq(q->action, action)) {
                /* host-paths is asked only once manage has been granted in an earlier dispatch of this very
                 * call (the query holds it, so no other message has its address) */
                if (!host_paths && streq(q->action, WARDEN_POLKIT_ACTION_HOST_PATHS))
                        return 1;
                polkit_query_free(q);
                q = NULL;
        }
        if (q) {
                if (!q->answered)
                        return 0; /* asked already: the answer brings the call back */
                r = sd_bus_error_is_set(&q->refusal) ? sd_bus_error_copy(error, &q->refusal) : 1;
                polkit_query_free(q);
                return r;
        }

        r = sender_identity(m, &uid, &in_group);
        if (r < 0)
                return r;
        if (uid == 0)
                return 1;

        /* the group gets host paths from nobody: not from the rules file, not without polkit */
        if (polkit_can_be_asked(manager, m)) {
                r = polkit_query_start(manager, m, action, in_group && !host_paths);
                if (r >= 0)
                        return 0;
                log_debug_errno(
                        r,
                        "Failed to ask polkit about %s of %s() of '%s', deciding without it: %m",
                        action,
                        strna(sd_bus_message_get_member(m)),
                        strna(sd_bus_message_get_sender(m)));
        }
        if (in_group && !host_paths)
                return 1;
        return refusal_without_polkit(error, action, strna(sd_bus_message_get_member(m)));
}

int bus_verify_manage(sd_bus_message *m, Manager *manager, sd_bus_error *error) {
        assert(m);

        return bus_verify(m, manager, WARDEN_POLKIT_ACTION_MANAGE, error);
}

int bus_verify_host_paths(sd_bus_message *m, Manager *manager, sd_bus_error *error) {
        assert(m);

        return bus_verify(m, manager, WARDEN_POLKIT_ACTION_HOST_PATHS, error);
}
