/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * enum ↔ string through a table indexed by the enum, e.g.
 *
 *     static const char *const container_state_table[_CONTAINER_STATE_MAX] = {
 *             [CONTAINER_BORN] = "born", …
 *     };
 *     DEFINE_STRING_TABLE_LOOKUP(container_state, ContainerState);
 *
 * defines container_state_to_string() (NULL for a value out of range or without a name) and
 * container_state_from_string() (-EINVAL for NULL or an unknown string). The _TO_STRING and _FROM_STRING
 * halves exist on their own for a table that only goes one way.
 */

#include <errno.h>
#include <string.h>

#include "macro.h"

#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                   \
        const char *name##_to_string(type i) {                             \
                if ((int) i < 0 || (size_t) i >= ELEMENTSOF(name##_table)) \
                        return NULL;                                       \
                return name##_table[i];                                    \
        }

#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                          \
        type name##_from_string(const char *s) {                                    \
                if (!s)                                                             \
                        return (type) -EINVAL;                                      \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(name##_table); _i_++)         \
                        if (name##_table[_i_] && strcmp(name##_table[_i_], s) == 0) \
                                return (type) _i_;                                  \
                return (type) -EINVAL;                                              \
        }

#define DEFINE_STRING_TABLE_LOOKUP(name, type)           \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type) \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
