/*
 * The session level: Django's request.session, value by value, in
 * MessagePack and in JSON, with its flags, key cycling, flush, expiry
 * forms and the test cookie.
 */
#include "harness.h"

#define KEY(b) (const char *)sessile_buf_data(b), sessile_buf_len(b)

static sessile_buf *saved_key(sessile_session *s) {
    sessile_buf *key = NULL;
    CHECK_OK(sessile_session_key(s, &key));
    return key;
}

void test_values_round_trip_as_messagepack_and_json(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));

    static const uint8_t answer[] = {0x2a};                       /* 42 */
    static const uint8_t name[] = {0xa5, 'a', 'l', 'i', 'c', 'e'}; /* "alice" */
    static const uint8_t blob[] = {0xc4, 0x02, 0x00, 0xff};        /* binary */
    CHECK_OK(sessile_session_set(s, S("answer"), answer, sizeof answer));
    CHECK_OK(sessile_session_set(s, S("name"), name, sizeof name));
    CHECK_OK(sessile_session_set(s, S("blob"), blob, sizeof blob));

    sessile_buf *v = NULL;
    CHECK_OK(sessile_session_get(s, S("answer"), &v));
    CHECK(buf_is(v, answer, sizeof answer));
    sessile_buf_free(v);
    CHECK_OK(sessile_session_get_json(s, S("name"), &v));
    CHECK(buf_is_str(v, "\"alice\""));
    sessile_buf_free(v);

    /* JSON in: integers stay integers, other numbers become floats. */
    CHECK_OK(sessile_session_set_json(s, S("cart"), S("{\"items\":[1,2.5,\"x\",null,true],\"n\":-3}")));
    CHECK_OK(sessile_session_get_json(s, S("cart"), &v));
    CHECK(buf_is_str(v, "{\"items\":[1,2.5,\"x\",null,true],\"n\":-3}"));
    sessile_buf_free(v);
    CHECK_OK(sessile_session_set_json(s, S("big"), S("18446744073709551615")));
    CHECK_OK(sessile_session_get(s, S("big"), &v));
    static const uint8_t u64max[] = {0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(buf_is(v, u64max, sizeof u64max));
    sessile_buf_free(v);
    CHECK_OK(sessile_session_set_json(s, S("n"), S("1")));
    CHECK_OK(sessile_session_get(s, S("n"), &v));
    static const uint8_t one[] = {0x01};
    CHECK(buf_is(v, one, 1));
    sessile_buf_free(v);

    /* What JSON cannot hold. */
    sessile_buf *untouched = SENTINEL;
    CHECK_RC(sessile_session_get_json(s, S("blob"), &untouched), SESSILE_RESULT_WRONG_TYPE);
    CHECK_RC(sessile_session_data_json(s, &untouched), SESSILE_RESULT_WRONG_TYPE);
    static const uint8_t nan[] = {0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0};
    static const uint8_t int_keyed[] = {0x81, 0x01, 0x02};
    static const uint8_t ext[] = {0xd4, 0x01, 0x00};
    CHECK_OK(sessile_session_set(s, S("blob"), nan, sizeof nan));
    CHECK_RC(sessile_session_get_json(s, S("blob"), &untouched), SESSILE_RESULT_WRONG_TYPE);
    CHECK_OK(sessile_session_set(s, S("blob"), int_keyed, sizeof int_keyed));
    CHECK_RC(sessile_session_get_json(s, S("blob"), &untouched), SESSILE_RESULT_WRONG_TYPE);
    CHECK_OK(sessile_session_set(s, S("blob"), ext, sizeof ext));
    CHECK_RC(sessile_session_get_json(s, S("blob"), &untouched), SESSILE_RESULT_WRONG_TYPE);
    CHECK(untouched == SENTINEL);
    CHECK_OK(sessile_session_remove(s, S("blob")));

    /* Bad input leaves the session as it was. */
    static const uint8_t two_values[] = {0x01, 0x02};
    static const uint8_t truncated[] = {0xa5, 'a'};
    CHECK_RC(sessile_session_set(s, S("x"), two_values, 2), SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_session_set(s, S("x"), truncated, 2), SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_session_set(s, S("x"), NULL, 0), SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_session_set_json(s, S("x"), S("{")), SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_session_set_json(s, S("x"), S("1 2")), SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_session_set_json(s, S("x"), S("")), SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_session_set_json(s, S("x"), S("\"\xff\"")), SESSILE_RESULT_INVALID_UTF8);
    CHECK_RC(sessile_session_set_json(s, S("\xff"), S("1")), SESSILE_RESULT_INVALID_UTF8);
    CHECK_RC(sessile_session_set(s, S("\xc3("), one, 1), SESSILE_RESULT_INVALID_UTF8);
    bool has = true;
    CHECK_OK(sessile_session_contains(s, S("x"), &has));
    CHECK(!has);

    /* Keys and the whole data, in both encodings. */
    CHECK_OK(sessile_session_keys_json(s, &v));
    CHECK(buf_is_str(v, "[\"answer\",\"big\",\"cart\",\"n\",\"name\"]"));
    sessile_buf_free(v);
    CHECK_OK(sessile_session_remove(s, S("cart")));
    CHECK_OK(sessile_session_remove(s, S("big")));
    CHECK_OK(sessile_session_keys(s, &v));
    static const uint8_t keys[] = {0x93, 0xa6, 'a', 'n', 's', 'w', 'e', 'r', 0xa1, 'n',
                                   0xa4, 'n',  'a', 'm', 'e'};
    CHECK(buf_is(v, keys, sizeof keys));
    sessile_buf_free(v);
    CHECK_OK(sessile_session_data_json(s, &v));
    CHECK(buf_is_str(v, "{\"answer\":42,\"n\":1,\"name\":\"alice\"}"));
    sessile_buf_free(v);
    CHECK_OK(sessile_session_data(s, &v));
    static const uint8_t data[] = {0x83, 0xa6, 'a', 'n', 's', 'w', 'e', 'r', 0x2a, 0xa1, 'n', 0x01,
                                   0xa4, 'n',  'a', 'm', 'e', 0xa5, 'a', 'l', 'i', 'c', 'e'};
    CHECK(buf_is(v, data, sizeof data));
    sessile_buf_free(v);
    size_t len = 0;
    CHECK_OK(sessile_session_len(s, &len));
    CHECK(len == 3);

    /* Missing keys. */
    CHECK_RC(sessile_session_get(s, S("nope"), &untouched), SESSILE_RESULT_NOT_FOUND);
    CHECK_RC(sessile_session_get_json(s, S("nope"), &untouched), SESSILE_RESULT_NOT_FOUND);
    CHECK_RC(sessile_session_remove(s, S("nope")), SESSILE_RESULT_NOT_FOUND);
    CHECK(untouched == SENTINEL);
    /* The empty string is a key like any other. */
    CHECK_OK(sessile_session_set_json(s, NULL, 0, S("0")));
    CHECK_OK(sessile_session_contains(s, "", 0, &has));
    CHECK(has);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_flags_follow_reads_and_writes(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    bool accessed = true, modified = true, empty = false;
    CHECK_OK(sessile_session_accessed(s, &accessed));
    CHECK_OK(sessile_session_modified(s, &modified));
    CHECK_OK(sessile_session_is_empty(s, &empty));
    CHECK(!accessed && !modified && empty);
    bool has = true;
    CHECK_OK(sessile_session_contains(s, S("a"), &has));
    CHECK_OK(sessile_session_accessed(s, &accessed));
    CHECK_OK(sessile_session_modified(s, &modified));
    CHECK(!has && accessed && !modified);
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    CHECK_OK(sessile_session_modified(s, &modified));
    CHECK_OK(sessile_session_is_empty(s, &empty));
    CHECK(modified && !empty);
    CHECK_OK(sessile_session_set_modified(s, false));
    CHECK_OK(sessile_session_modified(s, &modified));
    CHECK(!modified);
    CHECK_OK(sessile_session_set_modified(s, true));
    CHECK_OK(sessile_session_modified(s, &modified));
    CHECK(modified);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_a_saved_session_is_found_again_by_its_key(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    sessile_buf *none = SENTINEL;
    CHECK_RC(sessile_session_key(s, &none), SESSILE_RESULT_NOT_FOUND);
    CHECK(none == SENTINEL);
    CHECK_OK(sessile_session_set_json(s, S("user"), S("\"bob\"")));
    CHECK_OK(sessile_session_save(s, 0));
    sessile_buf *key = saved_key(s);
    CHECK(is_key(key));
    sessile_session_free(s);

    REQUIRE_OK(sessile_session_open(e, KEY(key), &s));
    sessile_buf *v = NULL;
    CHECK_OK(sessile_session_get_json(s, S("user"), &v));
    CHECK(buf_is_str(v, "\"bob\""));
    sessile_buf_free(v);
    sessile_session_free(s);

    /* A malformed or unknown key is an empty session, not an error. */
    const char *keys[] = {"forged", "abcdefghijklmnopqrstuvwxyz012345", "\xff\xfe"};
    for (size_t i = 0; i < 3; i++) {
        REQUIRE_OK(sessile_session_open(e, S(keys[i]), &s));
        size_t len = 9;
        CHECK_OK(sessile_session_len(s, &len));
        CHECK(len == 0);
        sessile_buf *k = SENTINEL;
        CHECK_RC(sessile_session_key(s, &k), SESSILE_RESULT_NOT_FOUND);
        sessile_session_free(s);
    }
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_flush_deletes_the_session_and_drops_its_key(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("user"), S("1")));
    CHECK_OK(sessile_session_save(s, 0));
    sessile_buf *key = saved_key(s);
    CHECK_OK(sessile_session_flush(s));
    sessile_buf *k = SENTINEL;
    CHECK_RC(sessile_session_key(s, &k), SESSILE_RESULT_NOT_FOUND);
    size_t len = 9;
    CHECK_OK(sessile_session_len(s, &len));
    CHECK(len == 0);
    bool exists = true;
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(!exists);
    sessile_buf_free(key);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_clear_empties_the_stored_session_on_save(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    sessile_expiry minute = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    CHECK_OK(sessile_session_set_expiry(s, minute));
    CHECK_OK(sessile_session_save(s, 0));
    CHECK_OK(sessile_session_clear(s));
    sessile_expiry ex = {77, 77};
    CHECK_OK(sessile_session_get_expiry(s, &ex));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_DEFAULT);
    CHECK_OK(sessile_session_save(s, 0));
    sessile_buf *key = saved_key(s);
    sessile_buf *data = NULL;
    int64_t at = 0;
    CHECK_OK(sessile_store_load(e, KEY(key), &data, &ex, &at));
    static const uint8_t empty[] = {0x80};
    CHECK(buf_is(data, empty, 1));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_DEFAULT);
    sessile_buf_free(data);
    sessile_buf_free(key);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_cycle_key_moves_the_data_to_a_new_key(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("cart"), S("[1]")));
    CHECK_OK(sessile_session_save(s, 0));
    sessile_buf *old = saved_key(s);
    CHECK_OK(sessile_session_cycle_key(s));
    sessile_buf *fresh = saved_key(s);
    CHECK(is_key(fresh) && memcmp(sessile_buf_data(old), sessile_buf_data(fresh), 32) != 0);
    bool exists = true;
    CHECK_OK(sessile_store_exists(e, KEY(old), &exists));
    CHECK(!exists);
    CHECK_OK(sessile_store_exists(e, KEY(fresh), &exists));
    CHECK(exists);
    sessile_buf *v = NULL;
    CHECK_OK(sessile_session_get_json(s, S("cart"), &v));
    CHECK(buf_is_str(v, "[1]"));
    sessile_buf_free(v);
    sessile_buf_free(old);
    sessile_buf_free(fresh);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_delete_removes_the_record_but_keeps_the_data_in_hand(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    CHECK_OK(sessile_session_delete(s)); /* nothing stored yet: fine */
    CHECK_OK(sessile_session_save(s, SESSILE_SAVE_DURABLE));
    sessile_buf *key = saved_key(s);
    CHECK_OK(sessile_session_delete(s));
    bool exists = true;
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(!exists);
    bool has = false;
    CHECK_OK(sessile_session_contains(s, S("a"), &has));
    CHECK(has);
    /* ...and a save after that is refused, as after a logout elsewhere. */
    CHECK_RC(sessile_session_save(s, 0), SESSILE_RESULT_SESSION_DELETED);
    CHECK_RC(sessile_session_save(s, 8), SESSILE_RESULT_INVALID_ARGUMENT);
    sessile_buf_free(key);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_concurrent_requests_changing_different_keys_both_land(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("base"), S("0")));
    CHECK_OK(sessile_session_save(s, 0));
    sessile_buf *key = saved_key(s);
    sessile_session_free(s);

    sessile_session *tab1 = NULL, *tab2 = NULL;
    REQUIRE_OK(sessile_session_open(e, KEY(key), &tab1));
    REQUIRE_OK(sessile_session_open(e, KEY(key), &tab2));
    CHECK_OK(sessile_session_set_json(tab1, S("one"), S("1")));
    CHECK_OK(sessile_session_set_json(tab2, S("two"), S("2")));
    CHECK_OK(sessile_session_save(tab1, 0));
    CHECK_OK(sessile_session_save(tab2, 0));
    sessile_session_free(tab1);
    sessile_session_free(tab2);

    REQUIRE_OK(sessile_session_open(e, KEY(key), &s));
    sessile_buf *v = NULL;
    CHECK_OK(sessile_session_data_json(s, &v));
    CHECK(buf_is_str(v, "{\"base\":0,\"one\":1,\"two\":2}"));
    sessile_buf_free(v);
    sessile_session_free(s);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_every_form_of_set_expiry(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    sessile_expiry ex = {77, 77};
    int64_t age = 0, date = 0, cookie_age = 0;
    bool at_close = true;

    /* None: the cookie age. */
    CHECK_OK(sessile_session_get_expiry(s, &ex));
    CHECK_OK(sessile_session_get_expiry_age(s, &age));
    CHECK_OK(sessile_session_get_expiry_date(s, &date));
    CHECK_OK(sessile_session_get_expire_at_browser_close(s, &at_close));
    CHECK_OK(sessile_session_get_cookie_age(s, &cookie_age));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_DEFAULT && age == 1209600 && cookie_age == 1209600);
    CHECK(date == T0 + 1209600LL * 1000 && !at_close);

    /* 0: at browser close. */
    sessile_expiry zero = {SESSILE_EXPIRY_KIND_SECONDS, 0};
    CHECK_OK(sessile_session_set_expiry(s, zero));
    CHECK_OK(sessile_session_get_expiry(s, &ex));
    CHECK_OK(sessile_session_get_expire_at_browser_close(s, &at_close));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_BROWSER_CLOSE && at_close);
    sessile_expiry close = {SESSILE_EXPIRY_KIND_BROWSER_CLOSE, 0};
    CHECK_OK(sessile_session_set_expiry(s, close));
    CHECK_OK(sessile_session_get_expiry_age(s, &age));
    CHECK(age == 1209600);

    /* An int: seconds. */
    sessile_expiry five_min = {SESSILE_EXPIRY_KIND_SECONDS, 300};
    CHECK_OK(sessile_session_set_expiry(s, five_min));
    CHECK_OK(sessile_session_get_expiry_age(s, &age));
    CHECK_OK(sessile_session_get_expiry_date(s, &date));
    CHECK_OK(sessile_session_get_expire_at_browser_close(s, &at_close));
    CHECK(age == 300 && date == T0 + 300 * 1000 && !at_close);

    /* A datetime. */
    sessile_expiry at = {SESSILE_EXPIRY_KIND_AT, T0 + 10 * 1000};
    CHECK_OK(sessile_session_set_expiry(s, at));
    CHECK_OK(sessile_session_get_expiry_age(s, &age));
    CHECK_OK(sessile_session_get_expiry_date(s, &date));
    CHECK(age == 10 && date == T0 + 10 * 1000);

    /* A timedelta: an absolute time from now on. */
    CHECK_OK(sessile_session_set_expiry_in(s, 90 * 1000));
    CHECK_OK(sessile_session_get_expiry(s, &ex));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_AT && ex.value == T0 + 90 * 1000);
    CHECK_OK(sessile_engine_advance_clock(e, 30 * 1000));
    CHECK_OK(sessile_session_get_expiry_age(s, &age));
    CHECK(age == 60);

    /* None again. */
    sessile_expiry dflt = {SESSILE_EXPIRY_KIND_DEFAULT, 0};
    CHECK_OK(sessile_session_set_expiry(s, dflt));
    CHECK_OK(sessile_session_get_expiry(s, &ex));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_DEFAULT);

    /* What set_expiry does not take. */
    sessile_expiry keep = {SESSILE_EXPIRY_KIND_KEEP, 0};
    sessile_expiry bogus = {42, 0};
    CHECK_RC(sessile_session_set_expiry(s, keep), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_session_set_expiry(s, bogus), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_session_set_expiry_in(s, -1), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_OK(sessile_session_get_expiry(s, &ex));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_DEFAULT);

    /* Out of range (1 s to 400 days; a date after now, at most 400 days
     * ahead): refused, naming the range, and nothing changes. Before, -1
     * was sent as Max-Age=-1 and INT64_MAX as Max-Age=9223372036854775807. */
    const int64_t max_s = 400 * 86400;
    CHECK_OK(sessile_session_set_expiry(s, five_min));
    int64_t now = 0;
    CHECK_OK(sessile_engine_now(e, &now));
    const sessile_expiry refused[] = {
        {SESSILE_EXPIRY_KIND_SECONDS, -1},
        {SESSILE_EXPIRY_KIND_SECONDS, INT64_MIN},
        {SESSILE_EXPIRY_KIND_SECONDS, max_s + 1},
        {SESSILE_EXPIRY_KIND_SECONDS, INT64_MAX},
        {SESSILE_EXPIRY_KIND_AT, now - 1000},
        {SESSILE_EXPIRY_KIND_AT, now},
        {SESSILE_EXPIRY_KIND_AT, now + max_s * 1000 + 1},
        {SESSILE_EXPIRY_KIND_AT, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK_RC(sessile_session_set_expiry(s, refused[i]), SESSILE_RESULT_INVALID_ARGUMENT);
        CHECK(last_error_has("400 days"));
        CHECK_OK(sessile_session_get_expiry(s, &ex));
        CHECK(ex.kind == SESSILE_EXPIRY_KIND_SECONDS && ex.value == 300);
    }
    CHECK_RC(sessile_session_set_expiry(s, refused[0]), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("expiry seconds"));
    CHECK_RC(sessile_session_set_expiry_in(s, 0), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_session_set_expiry_in(s, max_s * 1000 + 1), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_session_set_expiry_in(s, INT64_MIN), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("400 days"));
    /* The ends of the range. */
    sessile_expiry longest = {SESSILE_EXPIRY_KIND_SECONDS, max_s};
    sessile_expiry latest = {SESSILE_EXPIRY_KIND_AT, now + max_s * 1000};
    CHECK_OK(sessile_session_set_expiry(s, longest));
    CHECK_OK(sessile_session_set_expiry(s, latest));
    CHECK_OK(sessile_session_set_expiry_in(s, max_s * 1000));
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_the_test_cookie_round_trip(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    bool worked = true;
    CHECK_OK(sessile_session_test_cookie_worked(s, &worked));
    CHECK(!worked);
    CHECK_OK(sessile_session_set_test_cookie(s));
    CHECK_OK(sessile_session_save(s, 0));
    sessile_buf *key = saved_key(s);
    sessile_session_free(s);
    REQUIRE_OK(sessile_session_open(e, KEY(key), &s));
    CHECK_OK(sessile_session_test_cookie_worked(s, &worked));
    CHECK(worked);
    CHECK_OK(sessile_session_delete_test_cookie(s));
    CHECK_OK(sessile_session_delete_test_cookie(s)); /* already gone: fine */
    CHECK_OK(sessile_session_test_cookie_worked(s, &worked));
    CHECK(!worked);
    sessile_buf_free(key);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_a_closed_session_answers_closed_and_double_close_is_safe(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    CHECK_OK(sessile_session_close(s));
    CHECK_RC(sessile_session_close(s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_close(s), SESSILE_RESULT_CLOSED);

    static const uint8_t one[] = {0x01};
    sessile_buf *b = SENTINEL;
    bool yes = false;
    size_t n = 7;
    int64_t i = 7;
    uint32_t flags = 7;
    sessile_expiry ex = {77, 77};
    sessile_expiry dflt = {SESSILE_EXPIRY_KIND_DEFAULT, 0};
    CHECK_RC(sessile_session_key(s, &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_get(s, S("a"), &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_get_json(s, S("a"), &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_set(s, S("a"), one, 1), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_set_json(s, S("a"), S("1")), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_remove(s, S("a")), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_contains(s, S("a"), &yes), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_len(s, &n), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_is_empty(s, &yes), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_keys(s, &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_keys_json(s, &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_data(s, &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_data_json(s, &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_clear(s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_flush(s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_cycle_key(s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_save(s, 0), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_delete(s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_set_expiry(s, dflt), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_set_expiry_in(s, 1), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_get_expiry(s, &ex), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_get_expiry_age(s, &i), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_get_expiry_date(s, &i), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_get_expire_at_browser_close(s, &yes), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_get_cookie_age(s, &i), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_set_test_cookie(s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_test_cookie_worked(s, &yes), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_delete_test_cookie(s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_accessed(s, &yes), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_modified(s, &yes), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_set_modified(s, true), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_request_end(s, 200, &b, &flags), SESSILE_RESULT_CLOSED);
    CHECK(b == SENTINEL && !yes && n == 7 && i == 7 && flags == 7 && ex.kind == 77);
    CHECK(last_error_has("session is closed"));
    sessile_session_free(s);
    sessile_engine_free(e);
}
