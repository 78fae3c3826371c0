/*
 * Misuse: a NULL for every pointer argument of every function, lengths no
 * object can have, and checks that a refused call has no effect and leaves
 * its outputs alone.
 */
#include "harness.h"

#define NUL_ARG(call) CHECK_RC(call, SESSILE_RESULT_NULL_ARGUMENT)
#define HUGE(call) CHECK_RC(call, SESSILE_RESULT_TOO_LARGE)

static const char KEY32[] = "abcdefghijklmnopqrstuvwxyz012345";
static const uint8_t ONE[] = {0x01};
static const uint8_t A1[] = {0x81, 0xa1, 'a', 0x01};

void test_null_options_and_engine_arguments_are_refused(void) {
    NUL_ARG(sessile_options_new(NULL));
    NUL_ARG(sessile_options_set_cookie_name(NULL, S("sid")));
    NUL_ARG(sessile_options_set_cookie_age(NULL, 1));
    NUL_ARG(sessile_options_set_cookie_domain(NULL, S("x.test")));
    NUL_ARG(sessile_options_set_cookie_path(NULL, S("/")));
    NUL_ARG(sessile_options_set_cookie_secure(NULL, true));
    NUL_ARG(sessile_options_set_cookie_httponly(NULL, true));
    NUL_ARG(sessile_options_set_cookie_samesite(NULL, SESSILE_SAMESITE_LAX));
    NUL_ARG(sessile_options_set_save_every_request(NULL, true));
    NUL_ARG(sessile_options_set_expire_at_browser_close(NULL, true));
    NUL_ARG(sessile_options_set_cache_capacity(NULL, 1));
    NUL_ARG(sessile_options_set_flush_every_ms(NULL, 1));
    NUL_ARG(sessile_options_set_max_data_key_len(NULL, 1));
    NUL_ARG(sessile_options_set_max_value_size(NULL, 1));
    NUL_ARG(sessile_options_set_max_record_size(NULL, 1));
    NUL_ARG(sessile_options_set_max_keys(NULL, 1));
    NUL_ARG(sessile_options_set_reaper_interval_ms(NULL, 1));
    NUL_ARG(sessile_options_set_reaper_budget(NULL, 1));
    NUL_ARG(sessile_options_set_memory(NULL, true));
    NUL_ARG(sessile_options_set_manual_clock(NULL, 1));

    sessile_options *o = NULL;
    REQUIRE_OK(sessile_options_new(&o));
    NUL_ARG(sessile_options_set_cookie_name(o, NULL, 3));
    NUL_ARG(sessile_options_set_cookie_domain(o, NULL, 3));
    NUL_ARG(sessile_options_set_cookie_path(o, NULL, 3));
    HUGE(sessile_options_set_cookie_name(o, "sid", SIZE_MAX));
    HUGE(sessile_options_set_cookie_domain(o, "x", (size_t)PTRDIFF_MAX + 1));
    HUGE(sessile_options_set_cookie_path(o, "/", SIZE_MAX));
    CHECK(last_error_has("cookie_path") || last_error_has("path"));

    sessile_engine *e = SENTINEL;
    NUL_ARG(sessile_engine_open(NULL, 4, o, &e));
    NUL_ARG(sessile_engine_open(S("/tmp/x"), o, NULL));
    HUGE(sessile_engine_open("/tmp/x", SIZE_MAX, o, &e));
    CHECK(e == SENTINEL);
    sessile_options_free(o);

    uint64_t u = 7;
    int64_t i = 7;
    NUL_ARG(sessile_engine_close(NULL));
    NUL_ARG(sessile_engine_flush(NULL));
    NUL_ARG(sessile_engine_clear_expired(NULL, &u));
    NUL_ARG(sessile_engine_now(NULL, &i));
    NUL_ARG(sessile_engine_advance_clock(NULL, 1));
    NUL_ARG(sessile_engine_set_clock(NULL, 1));
    e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    NUL_ARG(sessile_engine_clear_expired(e, NULL));
    NUL_ARG(sessile_engine_now(e, NULL));
    CHECK(u == 7 && i == 7);
    NUL_ARG(sessile_key_generate(NULL));
    NUL_ARG(sessile_key_validate(NULL, 32));
    NUL_ARG(sessile_test_store_corrupt(NULL, NULL));
    NUL_ARG(sessile_test_store_corrupt(e, NULL));
    CHECK(last_error_has("key_out"));
    sessile_engine_free(e);
}

void test_null_store_arguments_are_refused(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *b = SENTINEL;
    sessile_expiry ex = {77, 77};
    sessile_expiry keep = {SESSILE_EXPIRY_KIND_KEEP, 0};
    int64_t at = 77;
    bool yes = false;
    size_t n = 77;

    NUL_ARG(sessile_store_load(NULL, S(KEY32), &b, &ex, &at));
    NUL_ARG(sessile_store_load(e, NULL, 32, &b, &ex, &at));
    NUL_ARG(sessile_store_load(e, S(KEY32), NULL, &ex, &at));
    NUL_ARG(sessile_store_load(e, S(KEY32), &b, NULL, &at));
    NUL_ARG(sessile_store_load(e, S(KEY32), &b, &ex, NULL));
    HUGE(sessile_store_load(e, KEY32, SIZE_MAX, &b, &ex, &at));
    NUL_ARG(sessile_store_exists(NULL, S(KEY32), &yes));
    NUL_ARG(sessile_store_exists(e, NULL, 32, &yes));
    NUL_ARG(sessile_store_exists(e, S(KEY32), NULL));
    HUGE(sessile_store_exists(e, KEY32, SIZE_MAX, &yes));
    NUL_ARG(sessile_store_create(NULL, A1, sizeof A1, keep, 0, &b));
    NUL_ARG(sessile_store_create(e, NULL, 4, keep, 0, &b));
    NUL_ARG(sessile_store_create(e, A1, sizeof A1, keep, 0, NULL));
    HUGE(sessile_store_create(e, A1, SIZE_MAX, keep, 0, &b));
    NUL_ARG(sessile_store_save(NULL, S(KEY32), A1, sizeof A1, keep, 0));
    NUL_ARG(sessile_store_save(e, NULL, 32, A1, sizeof A1, keep, 0));
    NUL_ARG(sessile_store_save(e, S(KEY32), NULL, 4, keep, 0));
    HUGE(sessile_store_save(e, S(KEY32), A1, SIZE_MAX, keep, 0));
    NUL_ARG(sessile_store_save_delta(NULL, S(KEY32), A1, sizeof A1, NULL, 0, keep, 0));
    NUL_ARG(sessile_store_save_delta(e, NULL, 32, A1, sizeof A1, NULL, 0, keep, 0));
    NUL_ARG(sessile_store_save_delta(e, S(KEY32), NULL, 4, NULL, 0, keep, 0));
    NUL_ARG(sessile_store_save_delta(e, S(KEY32), NULL, 0, NULL, 3, keep, 0));
    HUGE(sessile_store_save_delta(e, S(KEY32), NULL, 0, A1, SIZE_MAX, keep, 0));
    NUL_ARG(sessile_store_save_diff(NULL, S(KEY32), NULL, 0, A1, sizeof A1, keep, 0));
    NUL_ARG(sessile_store_save_diff(e, NULL, 32, NULL, 0, A1, sizeof A1, keep, 0));
    NUL_ARG(sessile_store_save_diff(e, S(KEY32), NULL, 4, A1, sizeof A1, keep, 0));
    NUL_ARG(sessile_store_save_diff(e, S(KEY32), NULL, 0, NULL, 4, keep, 0));
    HUGE(sessile_store_save_diff(e, S(KEY32), NULL, 0, A1, SIZE_MAX, keep, 0));
    NUL_ARG(sessile_store_cycle_key(NULL, S(KEY32), NULL, 0, A1, sizeof A1, keep, &b));
    NUL_ARG(sessile_store_cycle_key(e, NULL, 32, NULL, 0, A1, sizeof A1, keep, &b));
    NUL_ARG(sessile_store_cycle_key(e, S(KEY32), NULL, 4, A1, sizeof A1, keep, &b));
    NUL_ARG(sessile_store_cycle_key(e, S(KEY32), NULL, 0, NULL, 4, keep, &b));
    NUL_ARG(sessile_store_cycle_key(e, S(KEY32), NULL, 0, A1, sizeof A1, keep, NULL));
    HUGE(sessile_store_cycle_key(e, S(KEY32), NULL, 0, A1, SIZE_MAX, keep, &b));
    NUL_ARG(sessile_store_load_copy(NULL, S(KEY32), NULL, 0, &n, &at));
    NUL_ARG(sessile_store_load_copy(e, NULL, 32, NULL, 0, &n, &at));
    NUL_ARG(sessile_store_load_copy(e, S(KEY32), NULL, 0, NULL, &at));
    NUL_ARG(sessile_store_load_copy(e, S(KEY32), NULL, 0, &n, NULL));
    HUGE(sessile_store_load_copy(e, KEY32, SIZE_MAX, NULL, 0, &n, &at));
    NUL_ARG(sessile_store_touch(NULL, S(KEY32), keep));
    NUL_ARG(sessile_store_touch(e, NULL, 32, keep));
    HUGE(sessile_store_touch(e, KEY32, SIZE_MAX, keep));
    NUL_ARG(sessile_store_delete(NULL, S(KEY32)));
    NUL_ARG(sessile_store_delete(e, NULL, 32));
    HUGE(sessile_store_delete(e, KEY32, SIZE_MAX));
    CHECK(b == SENTINEL && ex.kind == 77 && at == 77 && !yes);

    /* A NULL output is caught before any work: no session was created. */
    CHECK_OK(sessile_test_fixed_keys(true));
    NUL_ARG(sessile_store_create(e, A1, sizeof A1, keep, 0, NULL));
    b = NULL;
    CHECK_OK(sessile_store_create(e, A1, sizeof A1, keep, 0, &b));
    CHECK_OK(sessile_test_fixed_keys(false));
    sessile_buf_free(b);
    sessile_engine_free(e);
}

void test_null_session_arguments_are_refused(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = SENTINEL;
    NUL_ARG(sessile_session_new(NULL, &s));
    NUL_ARG(sessile_session_new(e, NULL));
    NUL_ARG(sessile_session_open(NULL, S(KEY32), &s));
    NUL_ARG(sessile_session_open(e, NULL, 32, &s));
    NUL_ARG(sessile_session_open(e, S(KEY32), NULL));
    HUGE(sessile_session_open(e, KEY32, SIZE_MAX, &s));
    NUL_ARG(sessile_request_begin(NULL, NULL, 0, &s));
    NUL_ARG(sessile_request_begin(e, NULL, 9, &s));
    NUL_ARG(sessile_request_begin(e, NULL, 0, NULL));
    HUGE(sessile_request_begin(e, "a=b", SIZE_MAX, &s));
    CHECK(s == SENTINEL);
    REQUIRE_OK(sessile_session_new(e, &s));

    sessile_buf *b = SENTINEL;
    sessile_expiry ex = {77, 77};
    sessile_expiry dflt = {SESSILE_EXPIRY_KIND_DEFAULT, 0};
    bool yes = false;
    size_t n = 7;
    int64_t i = 7;
    uint32_t flags = 7;
    NUL_ARG(sessile_session_close(NULL));
    NUL_ARG(sessile_session_key(NULL, &b));
    NUL_ARG(sessile_session_key(s, NULL));
    NUL_ARG(sessile_session_get(NULL, S("a"), &b));
    NUL_ARG(sessile_session_get(s, NULL, 1, &b));
    NUL_ARG(sessile_session_get(s, S("a"), NULL));
    HUGE(sessile_session_get(s, "a", SIZE_MAX, &b));
    NUL_ARG(sessile_session_get_json(NULL, S("a"), &b));
    NUL_ARG(sessile_session_get_json(s, NULL, 1, &b));
    NUL_ARG(sessile_session_get_json(s, S("a"), NULL));
    NUL_ARG(sessile_session_set(NULL, S("a"), ONE, 1));
    NUL_ARG(sessile_session_set(s, NULL, 1, ONE, 1));
    NUL_ARG(sessile_session_set(s, S("a"), NULL, 1));
    HUGE(sessile_session_set(s, S("a"), ONE, SIZE_MAX));
    NUL_ARG(sessile_session_set_json(NULL, S("a"), S("1")));
    NUL_ARG(sessile_session_set_json(s, NULL, 1, S("1")));
    NUL_ARG(sessile_session_set_json(s, S("a"), NULL, 1));
    HUGE(sessile_session_set_json(s, S("a"), "1", SIZE_MAX));
    NUL_ARG(sessile_session_remove(NULL, S("a")));
    NUL_ARG(sessile_session_remove(s, NULL, 1));
    HUGE(sessile_session_remove(s, "a", SIZE_MAX));
    NUL_ARG(sessile_session_contains(NULL, S("a"), &yes));
    NUL_ARG(sessile_session_contains(s, NULL, 1, &yes));
    NUL_ARG(sessile_session_contains(s, S("a"), NULL));
    NUL_ARG(sessile_session_len(NULL, &n));
    NUL_ARG(sessile_session_len(s, NULL));
    NUL_ARG(sessile_session_is_empty(NULL, &yes));
    NUL_ARG(sessile_session_is_empty(s, NULL));
    NUL_ARG(sessile_session_keys(NULL, &b));
    NUL_ARG(sessile_session_keys(s, NULL));
    NUL_ARG(sessile_session_keys_json(NULL, &b));
    NUL_ARG(sessile_session_keys_json(s, NULL));
    NUL_ARG(sessile_session_data(NULL, &b));
    NUL_ARG(sessile_session_data(s, NULL));
    NUL_ARG(sessile_session_data_json(NULL, &b));
    NUL_ARG(sessile_session_data_json(s, NULL));
    NUL_ARG(sessile_session_clear(NULL));
    NUL_ARG(sessile_session_flush(NULL));
    NUL_ARG(sessile_session_cycle_key(NULL));
    NUL_ARG(sessile_session_save(NULL, 0));
    NUL_ARG(sessile_session_delete(NULL));
    NUL_ARG(sessile_session_set_expiry(NULL, dflt));
    NUL_ARG(sessile_session_set_expiry_in(NULL, 1));
    NUL_ARG(sessile_session_get_expiry(NULL, &ex));
    NUL_ARG(sessile_session_get_expiry(s, NULL));
    NUL_ARG(sessile_session_get_expiry_age(NULL, &i));
    NUL_ARG(sessile_session_get_expiry_age(s, NULL));
    NUL_ARG(sessile_session_get_expiry_date(NULL, &i));
    NUL_ARG(sessile_session_get_expiry_date(s, NULL));
    NUL_ARG(sessile_session_get_expire_at_browser_close(NULL, &yes));
    NUL_ARG(sessile_session_get_expire_at_browser_close(s, NULL));
    NUL_ARG(sessile_session_get_cookie_age(NULL, &i));
    NUL_ARG(sessile_session_get_cookie_age(s, NULL));
    NUL_ARG(sessile_session_set_test_cookie(NULL));
    NUL_ARG(sessile_session_test_cookie_worked(NULL, &yes));
    NUL_ARG(sessile_session_test_cookie_worked(s, NULL));
    NUL_ARG(sessile_session_delete_test_cookie(NULL));
    NUL_ARG(sessile_session_accessed(NULL, &yes));
    NUL_ARG(sessile_session_accessed(s, NULL));
    NUL_ARG(sessile_session_modified(NULL, &yes));
    NUL_ARG(sessile_session_modified(s, NULL));
    NUL_ARG(sessile_session_set_modified(NULL, true));
    NUL_ARG(sessile_request_end(NULL, 200, &b, &flags));
    CHECK(b == SENTINEL && ex.kind == 77 && !yes && n == 7 && i == 7 && flags == 7);

    /* A refused request_end saves nothing. */
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    NUL_ARG(sessile_request_end(s, 200, NULL, &flags));
    NUL_ARG(sessile_request_end(s, 200, &b, NULL));
    CHECK_RC(sessile_session_key(s, &b), SESSILE_RESULT_NOT_FOUND);
    CHECK(b == SENTINEL && flags == 7);
    CHECK(last_error_has("session has no key"));
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_an_error_message_names_the_null_argument(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    bool yes;
    NUL_ARG(sessile_store_exists(e, S(KEY32), NULL));
    CHECK(last_error_has("exists_out"));
    NUL_ARG(sessile_store_exists(NULL, S(KEY32), &yes));
    CHECK(last_error_has("engine"));
    sessile_engine_free(e);
}
