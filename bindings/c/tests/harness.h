/*
 * A minimal test harness for the sessile C suite: no dependencies beyond
 * libc and pthreads, so it runs the same under AddressSanitizer/UBSan and
 * under valgrind.
 *
 * Include this header first: it selects the POSIX features the tests use.
 */
#ifndef SESSILE_TEST_HARNESS_H
#define SESSILE_TEST_HARNESS_H

#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 700

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sessile.h"

/* Checks made in the running test, and whether one failed. */
extern int h_failed;

void h_fail(const char *file, int line, const char *what);
void h_fail_rc(const char *file, int line, const char *call, sessile_result got,
               sessile_result want);

#define CHECK(cond)                                   \
    do {                                              \
        if (!(cond)) h_fail(__FILE__, __LINE__, #cond); \
    } while (0)

/* Checks that a call returns `want`; on mismatch prints both names and the
 * thread's last error message. */
#define CHECK_RC(call, want)                                         \
    do {                                                             \
        sessile_result h_rc_ = (call);                               \
        if (h_rc_ != (want)) h_fail_rc(__FILE__, __LINE__, #call, h_rc_, (want)); \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, SESSILE_RESULT_OK)

/* A C string as a (pointer, length) pair. */
#define S(s) (s), strlen(s)

/* A pointer value a failed call must leave untouched. */
#define SENTINEL ((void *)(uintptr_t)0x5e551e)

/* Stops the test when a setup step failed (later checks would only echo). */
#define REQUIRE_OK(call)                                             \
    do {                                                             \
        sessile_result h_rc_ = (call);                               \
        if (h_rc_ != SESSILE_RESULT_OK) {                            \
            h_fail_rc(__FILE__, __LINE__, #call, h_rc_, SESSILE_RESULT_OK); \
            return;                                                  \
        }                                                            \
    } while (0)

/* Whether a buffer holds exactly `len` bytes equal to `want`, NUL after. */
bool buf_is(const sessile_buf *buf, const void *want, size_t len);
/* Whether a buffer holds the text `want`. */
bool buf_is_str(const sessile_buf *buf, const char *want);
/* Whether a buffer's text contains `needle`. */
bool buf_has(const sessile_buf *buf, const char *needle);
/* Whether the thread's last error message contains `needle`. */
bool last_error_has(const char *needle);

/* A fresh directory under $TMPDIR (or /tmp); removed with rm_tree. */
void make_temp_dir(char *out, size_t out_len);
void rm_tree(const char *path);

/* An in-memory engine on a manual clock starting at T0, no sweeper. */
#define T0 ((int64_t)1700000000000)
sessile_engine *memory_engine(void);
/* The same with options changed by `tweak` (which may be NULL). */
sessile_engine *memory_engine_with(void (*tweak)(sessile_options *));

/* Whether `key` is 32 characters of [a-z0-9]. */
bool is_key(const sessile_buf *key);

#endif
