/*
 * Version, result codes, the per-thread last error, and sessile_buf: the
 * parts of the ABI every binding touches first.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>

/* The numbers are ABI: a code never changes its value. */
_Static_assert(SESSILE_RESULT_OK == 0, "fixed number");
_Static_assert(SESSILE_RESULT_NULL_ARGUMENT == 1, "fixed number");
_Static_assert(SESSILE_RESULT_INVALID_ARGUMENT == 2, "fixed number");
_Static_assert(SESSILE_RESULT_INVALID_UTF8 == 3, "fixed number");
_Static_assert(SESSILE_RESULT_INVALID_KEY == 4, "fixed number");
_Static_assert(SESSILE_RESULT_INVALID_DATA == 5, "fixed number");
_Static_assert(SESSILE_RESULT_TOO_LARGE == 6, "fixed number");
_Static_assert(SESSILE_RESULT_NOT_FOUND == 7, "fixed number");
_Static_assert(SESSILE_RESULT_SESSION_DELETED == 8, "fixed number");
_Static_assert(SESSILE_RESULT_WRONG_TYPE == 9, "fixed number");
_Static_assert(SESSILE_RESULT_CLOSED == 10, "fixed number");
_Static_assert(SESSILE_RESULT_LOCKED == 11, "fixed number");
_Static_assert(SESSILE_RESULT_IO == 12, "fixed number");
_Static_assert(SESSILE_RESULT_CORRUPT == 13, "fixed number");
_Static_assert(SESSILE_RESULT_KEY_COLLISION == 14, "fixed number");
_Static_assert(SESSILE_RESULT_PANIC == 15, "fixed number");
_Static_assert(SESSILE_RESULT_FORKED == 16, "fixed number");
_Static_assert(SESSILE_RESULT_UNAVAILABLE == 17, "fixed number");
_Static_assert(SESSILE_EXPIRY_KIND_DEFAULT == 0 && SESSILE_EXPIRY_KIND_BROWSER_CLOSE == 1 &&
                   SESSILE_EXPIRY_KIND_SECONDS == 2 && SESSILE_EXPIRY_KIND_AT == 3 &&
                   SESSILE_EXPIRY_KIND_KEEP == 4,
               "fixed numbers");
_Static_assert(SESSILE_SAMESITE_OMIT == 0 && SESSILE_SAMESITE_LAX == 1 &&
                   SESSILE_SAMESITE_STRICT == 2 && SESSILE_SAMESITE_NONE == 3,
               "fixed numbers");
_Static_assert(SESSILE_SAVE_UPSERT == 1 && SESSILE_SAVE_DURABLE == 2 && SESSILE_SAVE_CLEAR == 4 &&
                   SESSILE_SAVE_CREATE_ONLY == 8,
               "fixed numbers");
_Static_assert(SESSILE_RESPONSE_VARY_COOKIE == 1 && SESSILE_RESPONSE_SAVED == 2, "fixed numbers");
_Static_assert(SESSILE_KEY_LEN == 32, "key length");
_Static_assert(sizeof(sessile_result) == 4, "sessile_result is a uint32_t");

void test_version_macros_match_the_library(void) {
    const char *v = sessile_version();
    CHECK(v != NULL);
    if (v == NULL) return;
    CHECK(strcmp(v, SESSILE_VERSION_STRING) == 0);
    int major = -1, minor = -1, patch = -1;
    CHECK(sscanf(v, "%d.%d.%d", &major, &minor, &patch) == 3);
    CHECK(major == SESSILE_VERSION_MAJOR);
    CHECK(minor == SESSILE_VERSION_MINOR);
    CHECK(patch == SESSILE_VERSION_PATCH);
    CHECK(SESSILE_VERSION_NUMBER == ((major << 16) | (minor << 8) | patch));
    CHECK(sessile_abi_version() == SESSILE_ABI_VERSION);
    CHECK(SESSILE_ABI_VERSION >= 1);
}

void test_every_result_code_has_its_name(void) {
    static const char *const names[] = {
        "SESSILE_RESULT_OK",           "SESSILE_RESULT_NULL_ARGUMENT",
        "SESSILE_RESULT_INVALID_ARGUMENT", "SESSILE_RESULT_INVALID_UTF8",
        "SESSILE_RESULT_INVALID_KEY",  "SESSILE_RESULT_INVALID_DATA",
        "SESSILE_RESULT_TOO_LARGE",    "SESSILE_RESULT_NOT_FOUND",
        "SESSILE_RESULT_SESSION_DELETED", "SESSILE_RESULT_WRONG_TYPE",
        "SESSILE_RESULT_CLOSED",       "SESSILE_RESULT_LOCKED",
        "SESSILE_RESULT_IO",           "SESSILE_RESULT_CORRUPT",
        "SESSILE_RESULT_KEY_COLLISION", "SESSILE_RESULT_PANIC",
        "SESSILE_RESULT_FORKED",       "SESSILE_RESULT_UNAVAILABLE",
        "SESSILE_RESULT_NOT_A_DATABASE",
    };
    for (uint32_t code = 0; code < sizeof names / sizeof names[0]; code++) {
        const char *name = sessile_result_name(code);
        CHECK(name != NULL && strcmp(name, names[code]) == 0);
    }
    CHECK(strcmp(sessile_result_name(19), "SESSILE_RESULT_UNKNOWN") == 0);
    CHECK(SESSILE_RESULT_NOT_A_DATABASE == 18);
    CHECK(strcmp(sessile_result_name(UINT32_MAX), "SESSILE_RESULT_UNKNOWN") == 0);
}

void test_last_error_describes_the_last_failure_then_clears(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    bool exists = true;
    CHECK_RC(sessile_store_exists(e, S("not-a-key"), &exists), SESSILE_RESULT_INVALID_KEY);
    CHECK(exists == true); /* untouched */
    CHECK(sessile_last_error_code() == SESSILE_RESULT_INVALID_KEY);
    size_t len = sessile_last_error_message(NULL, 0);
    CHECK(len > 0);
    char *msg = malloc(len + 1);
    CHECK(sessile_last_error_message(msg, len + 1) == len);
    CHECK(strlen(msg) == len);
    CHECK(strstr(msg, "session key") != NULL);
    free(msg);

    /* snprintf-style truncation always NUL-terminates. */
    char small[5];
    memset(small, 'x', sizeof small);
    CHECK(sessile_last_error_message(small, sizeof small) == len);
    CHECK(strlen(small) == 4);
    char one[1] = {'x'};
    CHECK(sessile_last_error_message(one, 1) == len);
    CHECK(one[0] == 0);

    /* A success clears it. */
    CHECK_OK(sessile_store_exists(e, S("abcdefghijklmnopqrstuvwxyz012345"), &exists));
    CHECK(exists == false);
    CHECK(sessile_last_error_code() == SESSILE_RESULT_OK);
    CHECK(sessile_last_error_message(NULL, 0) == 0);
    char empty[4] = "abc";
    CHECK(sessile_last_error_message(empty, sizeof empty) == 0);
    CHECK(empty[0] == 0);
    sessile_engine_free(e);
}

void test_truncated_error_messages_stay_utf8(void) {
    sessile_options *o = NULL;
    REQUIRE_OK(sessile_options_new(&o));
    /* The message quotes the name: `"é é"` puts a two-byte character at a
     * known place. */
    CHECK_RC(sessile_options_set_cookie_name(o, S("\xc3\xa9 \xc3\xa9")),
             SESSILE_RESULT_INVALID_ARGUMENT);
    char msg[256];
    size_t len = sessile_last_error_message(msg, sizeof msg);
    CHECK(len < sizeof msg);
    const char *at = strstr(msg, "\xc3\xa9");
    CHECK(at != NULL);
    if (at != NULL) {
        /* A buffer that ends in the middle of the character drops it whole. */
        size_t cut = (size_t)(at - msg) + 1;
        char part[256];
        sessile_last_error_message(part, cut + 1);
        CHECK(strlen(part) == cut - 1);
    }
    sessile_options_free(o);
}

static void *fail_on_this_thread(void *arg) {
    (void)arg;
    CHECK_RC(sessile_key_validate(S("nope")), SESSILE_RESULT_INVALID_KEY);
    CHECK(sessile_last_error_code() == SESSILE_RESULT_INVALID_KEY);
    return NULL;
}

void test_last_error_is_per_thread(void) {
    CHECK_OK(sessile_key_validate(S("abcdefghijklmnopqrstuvwxyz012345")));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fail_on_this_thread, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    /* The other thread's failure does not show here. */
    CHECK(sessile_last_error_code() == SESSILE_RESULT_OK);
    CHECK(sessile_last_error_message(NULL, 0) == 0);
}

void test_buffers_are_nul_terminated_and_free_null_is_a_no_op(void) {
    CHECK(sessile_buf_data(NULL) == NULL);
    CHECK(sessile_buf_len(NULL) == 0);
    sessile_buf_free(NULL);
    sessile_options_free(NULL);
    sessile_engine_free(NULL);
    sessile_session_free(NULL);

    sessile_buf *key = NULL;
    CHECK_OK(sessile_key_generate(&key));
    CHECK(is_key(key));
    /* Usable directly as a C string. */
    CHECK(strlen((const char *)sessile_buf_data(key)) == SESSILE_KEY_LEN);
    CHECK_OK(sessile_key_validate((const char *)sessile_buf_data(key), sessile_buf_len(key)));
    sessile_buf *other = NULL;
    CHECK_OK(sessile_key_generate(&other));
    CHECK(is_key(other));
    CHECK(memcmp(sessile_buf_data(key), sessile_buf_data(other), SESSILE_KEY_LEN) != 0);
    sessile_buf_free(key);
    sessile_buf_free(other);
}

void test_key_validation_follows_the_key_rules(void) {
    CHECK_OK(sessile_key_validate(S("0123456789abcdefghijklmnopqrstuv")));
    CHECK_RC(sessile_key_validate(S("0123456789abcdefghijklmnopqrstu")), SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_key_validate(S("0123456789abcdefghijklmnopqrstuvw")),
             SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_key_validate(S("0123456789ABCDEFGHIJKLMNOPQRSTUV")),
             SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_key_validate(S("0123456789abcdefghijklmnopqrst-_")),
             SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_key_validate(S("0123456789abcdefghijklmnopqrst\xc3\xa9")),
             SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_key_validate(NULL, 0), SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_key_validate(NULL, 32), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_key_validate("x", SIZE_MAX), SESSILE_RESULT_TOO_LARGE);
    CHECK_RC(sessile_key_generate(NULL), SESSILE_RESULT_NULL_ARGUMENT);
}
