/*
 * Engine options: every setter takes effect (seen through the Set-Cookie
 * header and the limits), and bad values are refused before anything is
 * opened.
 */
#include "harness.h"

static const uint8_t ONE[] = {0x01};

/* One request that stores a value; returns the Set-Cookie header. */
static sessile_buf *first_response(sessile_engine *e) {
    sessile_session *s = NULL;
    sessile_buf *cookie = NULL;
    uint32_t flags = 0;
    if (sessile_request_begin(e, NULL, 0, &s) != SESSILE_RESULT_OK) return NULL;
    CHECK_OK(sessile_session_set(s, S("n"), ONE, sizeof ONE));
    CHECK_OK(sessile_request_end(s, 200, &cookie, &flags));
    sessile_session_free(s);
    return cookie;
}

static void cookie_settings(sessile_options *o) {
    CHECK_OK(sessile_options_set_cookie_name(o, S("__Host-sid")));
    CHECK_OK(sessile_options_set_cookie_age(o, 3600));
    CHECK_OK(sessile_options_set_cookie_domain(o, S("example.test")));
    CHECK_OK(sessile_options_set_cookie_path(o, S("/app")));
    CHECK_OK(sessile_options_set_cookie_secure(o, true));
    CHECK_OK(sessile_options_set_cookie_httponly(o, false));
    CHECK_OK(sessile_options_set_cookie_samesite(o, SESSILE_SAMESITE_STRICT));
}

void test_cookie_options_shape_the_set_cookie_header(void) {
    sessile_engine *e = memory_engine_with(cookie_settings);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *c = first_response(e);
    CHECK(c != NULL);
    CHECK(buf_has(c, "__Host-sid="));
    CHECK(buf_has(c, "; Domain=example.test"));
    CHECK(buf_has(c, "; Max-Age=3600"));
    CHECK(buf_has(c, "; Path=/app"));
    CHECK(buf_has(c, "; SameSite=Strict"));
    CHECK(buf_has(c, "; Secure"));
    CHECK(!buf_has(c, "HttpOnly"));
    sessile_buf_free(c);
    sessile_engine_free(e);
}

static void samesite_none(sessile_options *o) {
    CHECK_OK(sessile_options_set_cookie_samesite(o, SESSILE_SAMESITE_NONE));
}
static void samesite_omit(sessile_options *o) {
    CHECK_OK(sessile_options_set_cookie_samesite(o, SESSILE_SAMESITE_OMIT));
    /* An empty domain means a host-only cookie again. */
    CHECK_OK(sessile_options_set_cookie_domain(o, S("x.test")));
    CHECK_OK(sessile_options_set_cookie_domain(o, NULL, 0));
}

void test_samesite_can_be_none_or_left_out(void) {
    sessile_engine *e = memory_engine_with(samesite_none);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *c = first_response(e);
    CHECK(buf_has(c, "; SameSite=None"));
    sessile_buf_free(c);
    sessile_engine_free(e);

    e = memory_engine_with(samesite_omit);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    c = first_response(e);
    CHECK(c != NULL && !buf_has(c, "SameSite"));
    CHECK(c != NULL && !buf_has(c, "Domain"));
    CHECK(buf_has(c, "sessionid="));
    sessile_buf_free(c);
    sessile_engine_free(e);
}

static void browser_close(sessile_options *o) {
    CHECK_OK(sessile_options_set_expire_at_browser_close(o, true));
}

void test_expire_at_browser_close_sends_a_session_cookie(void) {
    sessile_engine *e = memory_engine_with(browser_close);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *c = first_response(e);
    CHECK(buf_has(c, "sessionid="));
    CHECK(c != NULL && !buf_has(c, "Max-Age") && !buf_has(c, "expires"));
    sessile_buf_free(c);
    sessile_engine_free(e);
}

static void every_request(sessile_options *o) {
    CHECK_OK(sessile_options_set_save_every_request(o, true));
}

void test_save_every_request_refreshes_an_unchanged_session(void) {
    sessile_engine *e = memory_engine_with(every_request);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *c = first_response(e);
    REQUIRE_OK(c ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    char header[128];
    snprintf(header, sizeof header, "%.*s", 42, (const char *)sessile_buf_data(c));
    sessile_buf_free(c);

    sessile_session *s = NULL;
    sessile_buf *again = NULL;
    uint32_t flags = 0;
    REQUIRE_OK(sessile_request_begin(e, S(header), &s));
    CHECK_OK(sessile_request_end(s, 200, &again, &flags));
    CHECK(buf_has(again, header));
    CHECK(flags & SESSILE_RESPONSE_SAVED);
    sessile_buf_free(again);
    sessile_session_free(s);
    sessile_engine_free(e);
}

static void tiny_limits(sessile_options *o) {
    CHECK_OK(sessile_options_set_max_data_key_len(o, 4));
    CHECK_OK(sessile_options_set_max_value_size(o, 8));
    CHECK_OK(sessile_options_set_max_keys(o, 2));
    CHECK_OK(sessile_options_set_max_record_size(o, 64));
}

void test_size_limits_refuse_what_is_over_them(void) {
    sessile_engine *e = memory_engine_with(tiny_limits);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("abcd"), S("1")));
    CHECK_RC(sessile_session_set_json(s, S("abcde"), S("1")), SESSILE_RESULT_TOO_LARGE);
    CHECK(last_error_has("session data key"));
    CHECK_RC(sessile_session_set_json(s, S("v"), S("\"123456789\"")), SESSILE_RESULT_TOO_LARGE);
    CHECK(last_error_has("value"));
    CHECK_OK(sessile_session_set_json(s, S("w"), S("2")));
    CHECK_RC(sessile_session_set_json(s, S("x"), S("3")), SESSILE_RESULT_TOO_LARGE);
    CHECK(last_error_has("number of keys"));
    size_t len = 0;
    CHECK_OK(sessile_session_len(s, &len));
    CHECK(len == 2);
    sessile_session_free(s);

    /* Store level: the same limits, plus the whole record. */
    sessile_buf *key = NULL;
    static const uint8_t three[] = {0x83, 0xa1, 'a', 1, 0xa1, 'b', 2, 0xa1, 'c', 3};
    static const uint8_t long_key[] = {0x81, 0xa5, 'a', 'b', 'c', 'd', 'e', 1};
    static const uint8_t big_value[] = {0x81, 0xa1, 'a', 0xa8, '1', '2', '3', '4', '5', '6', '7', '8'};
    sessile_expiry dflt = {SESSILE_EXPIRY_KIND_DEFAULT, 0};
    CHECK_RC(sessile_store_create(e, three, sizeof three, dflt, 0, &key), SESSILE_RESULT_TOO_LARGE);
    CHECK_RC(sessile_store_create(e, long_key, sizeof long_key, dflt, 0, &key),
             SESSILE_RESULT_TOO_LARGE);
    CHECK_RC(sessile_store_create(e, big_value, sizeof big_value, dflt, 0, &key),
             SESSILE_RESULT_TOO_LARGE);
    CHECK(key == NULL);
    sessile_engine_free(e);
}

static void small_record(sessile_options *o) {
    CHECK_OK(sessile_options_set_max_record_size(o, 40));
}

void test_record_size_limit_covers_the_whole_session(void) {
    sessile_engine *e = memory_engine_with(small_record);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("a"), S("\"0123456789\"")));
    CHECK_RC(sessile_session_save(s, 0), SESSILE_RESULT_TOO_LARGE);
    CHECK(last_error_has("session record"));
    sessile_buf *key = SENTINEL;
    CHECK_RC(sessile_session_key(s, &key), SESSILE_RESULT_NOT_FOUND);
    CHECK(key == SENTINEL);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_bad_option_values_are_refused(void) {
    sessile_options *o = NULL;
    REQUIRE_OK(sessile_options_new(&o));
    CHECK_RC(sessile_options_set_cookie_name(o, S("")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_name(o, S("a b")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_name(o, S("a;b")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_name(o, S("a=b")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_name(o, S("\xff")), SESSILE_RESULT_INVALID_UTF8);
    CHECK_RC(sessile_options_set_cookie_age(o, -1), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_domain(o, S("x.test; HttpOnly")),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_domain(o, S("x\r\nSet-Cookie: a=b")),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_domain(o, S("\xc3")), SESSILE_RESULT_INVALID_UTF8);
    CHECK_RC(sessile_options_set_cookie_path(o, S("")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_path(o, S("/a;b")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_cookie_path(o, S("/\xe2\x82")), SESSILE_RESULT_INVALID_UTF8);
    CHECK_RC(sessile_options_set_cookie_samesite(o, 4), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_reaper_budget(o, 0), SESSILE_RESULT_INVALID_ARGUMENT);
    /* Values that are fine. */
    CHECK_OK(sessile_options_set_reaper_budget(o, 10));
    CHECK_OK(sessile_options_set_reaper_interval_ms(o, 60000));
    CHECK_OK(sessile_options_set_cache_capacity(o, 1 << 20));
    CHECK_OK(sessile_options_set_flush_every_ms(o, 0));
    CHECK_OK(sessile_options_set_flush_every_ms(o, 100));
    CHECK_OK(sessile_options_set_memory(o, false));
    sessile_options_free(o);
}
