/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A tiny test runner. Each test file defines TEST(name) { ... } blocks; tests.c provides main(), which runs
 * them all (or those named on the command line) and prints "N passed, N failed". A failed assertion prints
 * where and why and fails the test at once. tests_skip() exits 77 (meson's SKIP) unless
 * WARDEN_TESTS_MUST_RUN=1, where a skip is a failure.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*TestFunc)(void);
void tests_register(const char *name, TestFunc f);
_Noreturn void tests_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
_Noreturn void tests_skip(const char *why);
/* A fresh temporary directory for this test, removed at exit. */
char *tests_tmpdir(void);
/* For a test of what root may do, run as root or not: nothing as root; else enters a user namespace where
 * the test's user is root (and so is the other end of a socketpair made after this), or skips. */
void tests_become_root(void);
/* For a test of what everyone else may do, run as root or not: as root, drops to nobody (uid and gid
 * 65534, no supplementary groups) for good; else nothing. */
void tests_become_unprivileged(void);

#define TEST(name)                                                            \
        static void test_##name(void);                                        \
        __attribute__((constructor)) static void test_register_##name(void) { \
                tests_register(#name, test_##name);                           \
        }                                                                     \
        static void test_##name(void)

#define ASSERT_TRUE(expr)                                                           \
        do {                                                                        \
                if (!(expr))                                                        \
                        tests_fail(__FILE__, __LINE__, "expected true: %s", #expr); \
        } while (false)

#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))

#define ASSERT_OK(expr)                                                                               \
        do {                                                                                          \
                long long _r_ = (expr);                                                               \
                if (_r_ < 0)                                                                          \
                        tests_fail(__FILE__, __LINE__, "%s failed: %s", #expr, strerror((int) -_r_)); \
        } while (false)

#define ASSERT_ERROR(expr, err)                                             \
        do {                                                                \
                long long _r_ = (expr);                                     \
                if (_r_ != -(err))                                          \
                        tests_fail(                                         \
                                __FILE__,                                   \
                                __LINE__,                                   \
                                "%s returned %lld (%s), expected -%s",      \
                                #expr,                                      \
                                _r_,                                        \
                                _r_ < 0 ? strerror((int) -_r_) : "success", \
                                #err);                                      \
        } while (false)

#define ASSERT_EQ(a, b)                                                                             \
        do {                                                                                        \
                long long _a_ = (long long) (a), _b_ = (long long) (b);                             \
                if (_a_ != _b_)                                                                     \
                        tests_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, _a_, _b_); \
        } while (false)

#define ASSERT_STREQ(a, b)                                 \
        do {                                               \
                const char *_a_ = (a), *_b_ = (b);         \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) \
                        tests_fail(                        \
                                __FILE__,                  \
                                __LINE__,                  \
                                "%s == %s: '%s' != '%s'",  \
                                #a,                        \
                                #b,                        \
                                _a_ ?: "(null)",           \
                                _b_ ?: "(null)");          \
        } while (false)

#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)
