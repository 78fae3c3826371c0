/*
 * The panic boundary: a panic inside any export (provoked through the
 * test-only hook) comes back as SESSILE_RESULT_PANIC, or the function's
 * neutral value, never as an abort, and the library keeps working.
 */
#include "harness.h"

static void expect_panic_recorded(void) {
    CHECK(sessile_last_error_code() == SESSILE_RESULT_PANIC);
    CHECK(last_error_has("deliberate panic"));
}

void test_a_panic_inside_an_export_returns_the_panic_code(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));

    /* Functions returning sessile_result: the code, and no effect. */
    sessile_test_panic_next_call();
    CHECK_RC(sessile_session_set_json(s, S("a"), S("1")), SESSILE_RESULT_PANIC);
    expect_panic_recorded();
    bool has = true;
    CHECK_OK(sessile_session_contains(s, S("a"), &has));
    CHECK(!has);

    sessile_buf *key = SENTINEL;
    sessile_test_panic_next_call();
    CHECK_RC(sessile_key_generate(&key), SESSILE_RESULT_PANIC);
    CHECK(key == SENTINEL);

    sessile_engine *e2 = SENTINEL;
    sessile_test_panic_next_call();
    CHECK_RC(sessile_engine_open(NULL, 0, NULL, &e2), SESSILE_RESULT_PANIC);
    CHECK(e2 == SENTINEL);

    sessile_buf *c = SENTINEL;
    uint32_t flags = 7;
    sessile_test_panic_next_call();
    CHECK_RC(sessile_request_end(s, 200, &c, &flags), SESSILE_RESULT_PANIC);
    CHECK(c == SENTINEL && flags == 7);

    sessile_test_panic_next_call();
    CHECK_RC(sessile_test_fixed_keys(true), SESSILE_RESULT_PANIC);
    sessile_test_panic_next_call();
    CHECK(sessile_last_error_code() == SESSILE_RESULT_PANIC);

    /* Functions returning a value give their neutral one. */
    REQUIRE_OK(sessile_key_generate(&key));
    sessile_test_panic_next_call();
    CHECK(sessile_buf_len(key) == 0);
    expect_panic_recorded();
    sessile_test_panic_next_call();
    CHECK(sessile_buf_data(key) == NULL);
    sessile_test_panic_next_call();
    CHECK(sessile_version() == NULL);
    sessile_test_panic_next_call();
    CHECK(sessile_abi_version() == 0);
    sessile_test_panic_next_call();
    CHECK(sessile_result_name(0) == NULL);
    sessile_test_panic_next_call();
    char msg[8];
    CHECK(sessile_last_error_message(msg, sizeof msg) == 0);

    /* A free that panicked freed nothing: the objects are still live and
     * are freed properly below (valgrind and ASan would see a leak or a
     * double free otherwise). */
    sessile_test_panic_next_call();
    sessile_buf_free(key);
    CHECK(sessile_buf_len(key) == SESSILE_KEY_LEN);
    sessile_test_panic_next_call();
    sessile_session_free(s);
    sessile_test_panic_next_call();
    sessile_engine_free(e);

    /* The library works on. */
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    CHECK_OK(sessile_session_contains(s, S("a"), &has));
    CHECK(has);
    CHECK(sessile_version() != NULL);
    sessile_buf_free(key);
    sessile_session_free(s);
    sessile_engine_free(e);
}
