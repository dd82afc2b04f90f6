/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * An INI-style parser for /etc/warden/wardend.conf:
 *
 *     # comment
 *     [section]
 *     key = value
 *
 * Keys are looked up in a table of ConfigItem; each value is handed to the item's parser, which stores it at
 * userdata + offset. Pure: it never logs. On failure a message naming the file, the line and the key is
 * returned in *reterr_message, ready to be shown to an administrator.
 */

#include <stddef.h>

#include "macro.h"

/* Parses 'value' into 'data'. Returns 0, -EINVAL for a malformed value, -ERANGE if out of range, -ENOMEM. */
typedef int (*ConfigParser)(const char *value, void *data);

typedef struct ConfigItem {
        const char *section;
        const char *key;
        ConfigParser parse;
        size_t offset;
        const char *expected; /* human description of a valid value, for error messages */
} ConfigItem;

/*
 * Parses 'text' (NUL-terminated); 'filename' is used in messages only.
 * Returns 0 on success; -EINVAL (syntax error, unknown section/key, bad value), -ERANGE or -ENOMEM on
 * failure.
 */
int config_parse_text(
        const char *filename,
        const char *text,
        const ConfigItem *items,
        size_t n_items,
        void *userdata,
        char **reterr_message);

/* Like config_parse_text() on the file's content. -ENOENT if the file does not exist (not an error for
 * callers that fall back to defaults); -EFBIG if larger than 1 MiB; other negative errno from reading. */
int config_parse_file(
        const char *path, const ConfigItem *items, size_t n_items, void *userdata, char **reterr_message);

/* Value parsers for common types. */
int config_parse_bool(const char *value, void *data);          /* bool */
int config_parse_uint32(const char *value, void *data);        /* uint32_t */
int config_parse_uint64(const char *value, void *data);        /* uint64_t */
int config_parse_sec(const char *value, void *data);           /* uint64_t, microseconds */
int config_parse_size(const char *value, void *data);          /* uint64_t, bytes */
int config_parse_string(const char *value, void *data);        /* char *, replaced */
int config_parse_absolute_path(const char *value, void *data); /* char *, absolute and normalised */
int config_parse_log_level(const char *value, void *data);     /* int */
