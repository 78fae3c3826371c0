/*
 * "Log out everywhere" through the C ABI: sessile_options_set_owner_key,
 * sessile_store_sessions_of and sessile_store_end_sessions_of. Three
 * devices of one user and one of another; the third signs the other two
 * out, they load as gone and cannot be saved back, the third and the other
 * user stay. Also the refusals: a bad owner key, no owner key, a bad
 * `except` key.
 */
#include "harness.h"

static const sessile_expiry DEFAULT_EXPIRY = {SESSILE_EXPIRY_KIND_DEFAULT, 0};

/* {"uid": "42"} and {"uid": 42}: one owner, as a string and an integer. */
static const uint8_t U42S[] = {0x81, 0xa3, 'u', 'i', 'd', 0xa2, '4', '2'};
static const uint8_t U42N[] = {0x81, 0xa3, 'u', 'i', 'd', 42};
/* {"uid": "7"} */
static const uint8_t U7[] = {0x81, 0xa3, 'u', 'i', 'd', 0xa1, '7'};

static void owner_uid(sessile_options *o) {
    sessile_options_set_owner_key(o, S("uid"));
}

static sessile_buf *create(sessile_engine *e, const uint8_t *data, size_t len) {
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(e, data, len, DEFAULT_EXPIRY, 0, &key));
    return key;
}

/* The number of sessions a sessions_of page lists (a fixarray here). */
static size_t listed(sessile_engine *e, const char *owner) {
    sessile_buf *page = SENTINEL;
    CHECK_OK(sessile_store_sessions_of(e, S(owner), &page));
    if (page == SENTINEL || page == NULL) return (size_t)-1;
    const uint8_t *p = sessile_buf_data(page);
    size_t n = (sessile_buf_len(page) >= 1 && (p[0] & 0xf0) == 0x90) ? (size_t)(p[0] & 0x0f) : (size_t)-1;
    sessile_buf_free(page);
    return n;
}

static bool is_live(sessile_engine *e, const sessile_buf *key) {
    sessile_buf *data = NULL;
    sessile_expiry expiry;
    int64_t at;
    sessile_result rc =
        sessile_store_load(e, (const char *)sessile_buf_data(key), sessile_buf_len(key), &data, &expiry, &at);
    sessile_buf_free(data);
    return rc == SESSILE_RESULT_OK;
}

void test_sign_out_other_devices_ends_every_other_session_of_the_owner(void) {
    sessile_engine *e = memory_engine_with(owner_uid);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *phone = create(e, U42S, sizeof U42S);
    sessile_buf *laptop = create(e, U42N, sizeof U42N);
    sessile_buf *tablet = create(e, U42S, sizeof U42S);
    sessile_buf *other = create(e, U7, sizeof U7);
    CHECK(listed(e, "42") == 3);
    CHECK(listed(e, "7") == 1);
    CHECK(listed(e, "nobody") == 0);

    /* One entry: [key, data, kind, value, expires_at], as a scan gives. */
    sessile_buf *page = NULL;
    CHECK_OK(sessile_store_sessions_of(e, S("7"), &page));
    const uint8_t *p = sessile_buf_data(page);
    CHECK(sessile_buf_len(page) > 3 + SESSILE_KEY_LEN && p[0] == 0x91 && p[1] == 0x95);
    CHECK(memcmp(p + 4, sessile_buf_data(other), SESSILE_KEY_LEN) == 0);
    sessile_buf_free(page);

    uint64_t ended = 0;
    CHECK_OK(sessile_store_end_sessions_of(e, S("42"), (const char *)sessile_buf_data(tablet),
                                           sessile_buf_len(tablet), &ended));
    CHECK(ended == 2);
    CHECK(!is_live(e, phone) && !is_live(e, laptop));
    CHECK(is_live(e, tablet) && is_live(e, other));
    CHECK(listed(e, "42") == 1);

    /* The phone's request in flight cannot save its session back. */
    CHECK_RC(sessile_store_save(e, (const char *)sessile_buf_data(phone), sessile_buf_len(phone), U42S,
                                sizeof U42S, DEFAULT_EXPIRY, 0),
             SESSILE_RESULT_SESSION_DELETED);
    CHECK(listed(e, "42") == 1);

    /* A password reset: all of them. */
    CHECK_OK(sessile_store_end_sessions_of(e, S("42"), NULL, 0, &ended));
    CHECK(ended == 1);
    CHECK(!is_live(e, tablet) && is_live(e, other));
    CHECK(listed(e, "42") == 0);

    sessile_buf_free(phone);
    sessile_buf_free(laptop);
    sessile_buf_free(tablet);
    sessile_buf_free(other);
    sessile_engine_free(e);
}

void test_owner_calls_refuse_bad_arguments(void) {
    sessile_options *o = NULL;
    REQUIRE_OK(sessile_options_new(&o));
    CHECK_RC(sessile_options_set_owner_key(o, S("a..b")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_owner_key(o, S("")), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_options_set_owner_key(o, "\xff", 1), SESSILE_RESULT_INVALID_UTF8);
    CHECK_RC(sessile_options_set_owner_key(NULL, S("uid")), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_OK(sessile_options_set_owner_key(o, S("passport.user")));
    sessile_options_free(o);

    /* No owner key: nothing can be looked up by owner. */
    sessile_engine *plain = memory_engine();
    REQUIRE_OK(plain ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *page = SENTINEL;
    uint64_t ended = 99;
    CHECK_RC(sessile_store_sessions_of(plain, S("42"), &page), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(page == SENTINEL);
    CHECK_RC(sessile_store_end_sessions_of(plain, S("42"), NULL, 0, &ended), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(ended == 99);
    sessile_engine_free(plain);

    sessile_engine *e = memory_engine_with(owner_uid);
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    CHECK_RC(sessile_store_end_sessions_of(e, S("42"), S("not-a-key"), &ended), SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_store_sessions_of(e, S("42"), NULL), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_sessions_of(NULL, S("42"), &page), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_sessions_of(e, "\xff", 1, &page), SESSILE_RESULT_INVALID_UTF8);
    CHECK_RC(sessile_store_end_sessions_of(e, S("42"), NULL, 0, NULL), SESSILE_RESULT_NULL_ARGUMENT);
    sessile_engine_free(e);
}
