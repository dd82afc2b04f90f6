/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Small building blocks used everywhere: cleanup attributes, ownership transfer, array helpers.
 * Nothing here allocates or logs.
 */

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _public_ __attribute__((visibility("default")))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Like assert(), but the expression is evaluated even with NDEBUG, for expressions with side effects. */
#ifdef NDEBUG
#        define assert_se(expr) ((void) (expr))
#else
#        define assert_se(expr) assert(expr)
#endif

#define assert_return(expr, r)           \
        do {                             \
                if (_unlikely_(!(expr))) \
                        return (r);      \
        } while (false)

/* Hand over ownership of a pointer or fd: returns the value and resets the variable. */
#define TAKE_PTR(p)                        \
        ({                                 \
                __typeof__(p) _ptr_ = (p); \
                (p) = NULL;                \
                _ptr_;                     \
        })

#define TAKE_FD(fd)              \
        ({                       \
                int _fd_ = (fd); \
                (fd) = -EBADF;   \
                _fd_;            \
        })

/* Turn a libc -1/errno return into a negative errno. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define RET_NERRNO(expr)                                \
        ({                                              \
                long _r_ = (expr);                      \
                _r_ < 0 ? negative_errno() : (int) _r_; \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        *p = func(*p);          \
        }

#define DEFINE_CLEANUP_FUNC_VOID(type, func)  \
        static inline void func##p(type *p) { \
                if (*p)                       \
                        func(*p);             \
        }

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* Closes the fd and keeps errno, so that it can be used on error paths. */
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
        *fd = -EBADF;
}
#define _cleanup_close_ _cleanup_(closep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

#include <dirent.h>
static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

static inline const char *strempty(const char *s) {
        return s ?: "";
}

static inline const char *strna(const char *s) {
        return s ?: "n/a";
}

static inline const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

#define FOREACH_ARRAY(i, array, num) for (__typeof__(array[0]) *i = (array); i && i < (array) + (num); i++)

static inline bool isempty(const char *s) {
        return !s || !s[0];
}

/* The rest of 's' after 'prefix', or NULL if it does not start with it. */
static inline const char *startswith(const char *s, const char *prefix) {
        size_t n = strlen(prefix);

        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

static inline const char *endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && streq(s + a - b, suffix) ? s + a - b : NULL;
}

#define assert_not_reached() abort()

#define EBADF_PAIR \
        { -EBADF, -EBADF }

static inline void close_pairp(int (*p)[2]) {
        (*p)[0] = safe_close((*p)[0]);
        (*p)[1] = safe_close((*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)

#include <time.h>
static inline uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        assert_se(clock_gettime(clock, &ts) == 0);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000) + (uint64_t) ts.tv_nsec / UINT64_C(1000);
}

/* x equals one of the (integer) arguments. */
#define IN_SET(x, first, ...)                                             \
        ({                                                                \
                const __typeof__(first) _set_[] = { first, __VA_ARGS__ }; \
                bool _found_ = false;                                     \
                for (size_t _i_ = 0; _i_ < ELEMENTSOF(_set_); _i_++)      \
                        if (_set_[_i_] == (x)) {                          \
                                _found_ = true;                           \
                                break;                                    \
                        }                                                 \
                _found_;                                                  \
        })
