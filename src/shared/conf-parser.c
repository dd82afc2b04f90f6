/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-parser.h"
#include "fileio.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_LINE_MAX 4096

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                e--;
        *e = '\0';
        return s;
}

static bool printable(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 && *s != '\t')
                        return false;
        return true;
}

static int fail(char **reterr_message, int r, const char *format, ...) _printf_(3, 4);
static int fail(char **reterr_message, int r, const char *format, ...) {
        va_list ap;

        if (reterr_message) {
                free(*reterr_message);
                va_start(ap, format);
                if (vasprintf(reterr_message, format, ap) < 0)
                        *reterr_message = NULL;
                va_end(ap);
        }
        return r;
}

int config_parse_text(
        const char *filename,
        const char *text,
        const ConfigItem *items,
        size_t n_items,
        void *userdata,
        char **reterr_message) {
        _cleanup_free_ char *section = NULL;
        const char *p = text;
        unsigned line = 0;

        assert(items);
        assert(text);

        while (*p) {
                char buf[CONFIG_LINE_MAX + 1];
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                const ConfigItem *item = NULL;
                char *l, *eq, *key, *value;
                int r;

                line++;
                if (len > CONFIG_LINE_MAX)
                        return fail(reterr_message, -EINVAL, "%s:%u: line too long", filename, line);
                memcpy(buf, p, len);
                buf[len] = '\0';
                p = nl ? nl + 1 : p + len;

                l = strip(buf);
                if (*l == '\0' || *l == '#' || *l == ';')
                        continue;
                if (!printable(l))
                        return fail(
                                reterr_message,
                                -EINVAL,
                                "%s:%u: control characters in line",
                                filename,
                                line);

                if (*l == '[') {
                        size_t n = strlen(l);
                        char *name;

                        if (l[n - 1] != ']')
                                return fail(
                                        reterr_message,
                                        -EINVAL,
                                        "%s:%u: invalid section header '%s'",
                                        filename,
                                        line,
                                        l);
                        l[n - 1] = '\0';
                        name = strip(l + 1);
                        for (size_t i = 0; i < n_items; i++)
                                if (streq(items[i].section, name)) {
                                        item = &items[i];
                                        break;
                                }
                        if (!item)
                                return fail(
                                        reterr_message,
                                        -EINVAL,
                                        "%s:%u: unknown section [%s]",
                                        filename,
                                        line,
                                        name);
                        free(section);
                        section = strdup(name);
                        if (!section)
                                return -ENOMEM;
                        continue;
                }

                eq = strchr(l, '=');
                if (!eq)
                        return fail(
                                reterr_message,
                                -EINVAL,
                                "%s:%u: expected 'key = value', got '%s'",
                                filename,
                                line,
                                l);
                *eq = '\0';
                key = strip(l);
                value = strip(eq + 1);
                if (!section)
                        return fail(
                                reterr_message,
                                -EINVAL,
                                "%s:%u: key '%s' outside of a section",
                                filename,
                                line,
                                key);

                for (size_t i = 0; i < n_items; i++)
                        if (streq(items[i].section, section) && streq(items[i].key, key)) {
                                item = &items[i];
                                break;
                        }
                if (!item)
                        return fail(
                                reterr_message,
                                -EINVAL,
                                "%s:%u: unknown key '%s' in section [%s]",
                                filename,
                                line,
                                key,
                                section);

                r = item->parse(value, (uint8_t *) userdata + item->offset);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return fail(
                                reterr_message,
                                r == -ERANGE ? -ERANGE : -EINVAL,
                                "%s:%u: key '%s': %s value '%s'%s%s",
                                filename,
                                line,
                                key,
                                r == -ERANGE ? "out of range" : "invalid",
                                value,
                                item->expected ? ", expected " : "",
                                strempty(item->expected));
        }
        return 0;
}

int config_parse_file(
        const char *path, const ConfigItem *items, size_t n_items, void *userdata, char **reterr_message) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        assert(path);
        assert(items || n_items == 0);

        r = read_full_file(path, CONFIG_FILE_MAX, &text, &size);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return fail(reterr_message, r, "%s: cannot read: %s", path, strerror(-r));
        if (memchr(text, '\0', size))
                return fail(reterr_message, -EINVAL, "%s: file contains NUL bytes", path);
        return config_parse_text(path, text, items, n_items, userdata, reterr_message);
}

int config_parse_bool(const char *value, void *data) {
        return parse_boolean(value, data);
}

int config_parse_uint32(const char *value, void *data) {
        return parse_uint32(value, data);
}

int config_parse_uint64(const char *value, void *data) {
        return parse_uint64(value, data);
}

int config_parse_sec(const char *value, void *data) {
        return parse_sec(value, data);
}

int config_parse_size(const char *value, void *data) {
        return parse_size(value, data);
}

int config_parse_string(const char *value, void *data) {
        char **s = data, *c;

        assert(value);
        assert(data);

        c = strdup(value);
        if (!c)
                return -ENOMEM;
        free(*s);
        *s = c;
        return 0;
}

int config_parse_absolute_path(const char *value, void *data) {
        char **s = data, *c = NULL;
        int r;

        r = path_normalize(value, &c);
        if (r < 0)
                return r;
        /* "/srv/rootfs /" normalises to a path that ends in a blank: almost surely a typo, and one that no
         * line can express again (values are stripped), so manager_config_dump() could not write it back.
         * Found by fuzz-manager-config. */
        if (isspace((unsigned char) c[strlen(c) - 1])) {
                free(c);
                return -EINVAL;
        }
        free(*s);
        *s = c;
        return 0;
}

int config_parse_log_level(const char *value, void *data) {
        int l = log_level_from_string(value);

        if (l < 0)
                return l;
        *(int *) data = l;
        return 0;
}
