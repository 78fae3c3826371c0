/*
 * The store level, as a framework adapter (a Django SessionBase subclass,
 * an express-session Store) uses it: load/create/save/save_delta/touch/
 * delete/exists on MessagePack maps, with expiry tested on a manual clock.
 */
#include "harness.h"

#define KEY(b) (const char *)sessile_buf_data(b), sessile_buf_len(b)

static const sessile_expiry DEFAULT_EXPIRY = {SESSILE_EXPIRY_KIND_DEFAULT, 0};
static const sessile_expiry KEEP = {SESSILE_EXPIRY_KIND_KEEP, 0};
static const int64_t TWO_WEEKS_MS = 1209600LL * 1000;

/* {"user": "alice"} */
static const uint8_t ALICE[] = {0x81, 0xa4, 'u', 's', 'e', 'r', 0xa5, 'a', 'l', 'i', 'c', 'e'};
/* {"a": 1} */
static const uint8_t A1[] = {0x81, 0xa1, 'a', 0x01};
/* {"b": 2} */
static const uint8_t B2[] = {0x81, 0xa1, 'b', 0x02};
/* {"a": 1, "b": 2} */
static const uint8_t A1B2[] = {0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02};
/* ["a"] */
static const uint8_t LIST_A[] = {0x91, 0xa1, 'a'};

/* Loads `key` and checks its data bytes; returns the expiry deadline. */
static int64_t load_is(sessile_engine *e, const sessile_buf *key, const uint8_t *want, size_t len) {
    sessile_buf *data = NULL;
    sessile_expiry expiry = {99, 99};
    int64_t at = -1;
    CHECK_OK(sessile_store_load(e, KEY(key), &data, &expiry, &at));
    if (!buf_is(data, want, len)) {
        fprintf(stderr, "    stored:");
        for (size_t i = 0; data && i < sessile_buf_len(data); i++)
            fprintf(stderr, " %02x", sessile_buf_data(data)[i]);
        fprintf(stderr, "\n");
    }
    CHECK(buf_is(data, want, len));
    sessile_buf_free(data);
    return at;
}

void test_create_then_load_returns_the_data_and_expiry(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(e, ALICE, sizeof ALICE, DEFAULT_EXPIRY, 0, &key));
    CHECK(is_key(key));
    sessile_buf *data = NULL;
    sessile_expiry expiry = {99, 99};
    int64_t at = 0;
    CHECK_OK(sessile_store_load(e, KEY(key), &data, &expiry, &at));
    CHECK(buf_is(data, ALICE, sizeof ALICE));
    CHECK(expiry.kind == SESSILE_EXPIRY_KIND_DEFAULT && expiry.value == 0);
    CHECK(at == T0 + TWO_WEEKS_MS);
    sessile_buf_free(data);

    /* An empty map: (NULL, 0). */
    sessile_buf *empty = NULL;
    sessile_expiry five = {SESSILE_EXPIRY_KIND_SECONDS, 5};
    CHECK_OK(sessile_store_create(e, NULL, 0, five, 0, &empty));
    static const uint8_t EMPTY_MAP[] = {0x80};
    CHECK(load_is(e, empty, EMPTY_MAP, 1) == T0 + 5000);
    sessile_buf_free(empty);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_expired_session_is_never_returned(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_expiry minute = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, minute, 0, &key));
    CHECK_OK(sessile_engine_advance_clock(e, 59999));
    bool exists = false;
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(exists);
    CHECK_OK(sessile_engine_advance_clock(e, 1));
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(!exists);
    sessile_buf *data = SENTINEL;
    sessile_expiry ex = {77, 77};
    int64_t at = 77;
    CHECK_RC(sessile_store_load(e, KEY(key), &data, &ex, &at), SESSILE_RESULT_NOT_FOUND);
    CHECK(data == SENTINEL && ex.kind == 77 && ex.value == 77 && at == 77);
    /* ...and cannot be saved back or touched alive. */
    CHECK_RC(sessile_store_save(e, KEY(key), A1, sizeof A1, KEEP, 0),
             SESSILE_RESULT_SESSION_DELETED);
    CHECK_RC(sessile_store_touch(e, KEY(key), KEEP), SESSILE_RESULT_NOT_FOUND);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_save_replaces_the_data_and_slides_the_deadline(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_expiry hour = {SESSILE_EXPIRY_KIND_SECONDS, 3600};
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, hour, 0, &key));
    CHECK_OK(sessile_engine_advance_clock(e, 1000));
    CHECK_OK(sessile_store_save(e, KEY(key), B2, sizeof B2, KEEP, 0));
    CHECK(load_is(e, key, B2, sizeof B2) == T0 + 1000 + 3600 * 1000);

    /* A new policy: an absolute time. */
    sessile_expiry at = {SESSILE_EXPIRY_KIND_AT, T0 + 5000};
    CHECK_OK(sessile_store_save(e, KEY(key), B2, sizeof B2, at, SESSILE_SAVE_DURABLE));
    sessile_buf *data = NULL;
    sessile_expiry ex;
    int64_t deadline = 0;
    CHECK_OK(sessile_store_load(e, KEY(key), &data, &ex, &deadline));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_AT && ex.value == T0 + 5000 && deadline == T0 + 5000);
    sessile_buf_free(data);

    /* Django's 0 seconds is "at browser close". */
    sessile_expiry zero = {SESSILE_EXPIRY_KIND_SECONDS, 0};
    CHECK_OK(sessile_store_save(e, KEY(key), B2, sizeof B2, zero, 0));
    CHECK_OK(sessile_store_load(e, KEY(key), &data, &ex, &deadline));
    CHECK(ex.kind == SESSILE_EXPIRY_KIND_BROWSER_CLOSE && ex.value == 0);
    sessile_buf_free(data);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_save_never_resurrects_a_deleted_session(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0, &key));
    CHECK_OK(sessile_store_delete(e, KEY(key)));
    CHECK_RC(sessile_store_save(e, KEY(key), A1, sizeof A1, KEEP, 0),
             SESSILE_RESULT_SESSION_DELETED);
    CHECK(last_error_has("deleted"));
    CHECK_RC(sessile_store_save_delta(e, KEY(key), B2, sizeof B2, NULL, 0, KEEP, 0),
             SESSILE_RESULT_SESSION_DELETED);
    bool exists = true;
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(!exists);
    /* Deleting what is not there is fine. */
    CHECK_OK(sessile_store_delete(e, KEY(key)));
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_upsert_creates_under_the_callers_key(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    /* express-session: genid() then set(sid, session). */
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_key_generate(&key));
    sessile_expiry day = {SESSILE_EXPIRY_KIND_SECONDS, 86400};
    CHECK_OK(sessile_store_save(e, KEY(key), A1, sizeof A1, day, SESSILE_SAVE_UPSERT));
    CHECK(load_is(e, key, A1, sizeof A1) == T0 + 86400 * 1000LL);
    /* And on an existing session it replaces. */
    CHECK_OK(sessile_store_save(e, KEY(key), B2, sizeof B2, KEEP, SESSILE_SAVE_UPSERT));
    CHECK(load_is(e, key, B2, sizeof B2) == T0 + 86400 * 1000LL);
    /* A delta upsert starts from an empty map; KEEP means the default. */
    sessile_buf *other = NULL;
    REQUIRE_OK(sessile_key_generate(&other));
    CHECK_OK(sessile_store_save_delta(e, KEY(other), A1B2, sizeof A1B2, LIST_A, sizeof LIST_A,
                                      KEEP, SESSILE_SAVE_UPSERT));
    CHECK(load_is(e, other, A1B2, sizeof A1B2) == T0 + TWO_WEEKS_MS);
    sessile_buf_free(other);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_create_only_writes_only_a_key_nobody_holds(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    /* Django's save(must_create=True): a caller-chosen key, refused when
     * taken, in one step (no exists-then-save race). */
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_key_generate(&key));
    CHECK_OK(sessile_store_save(e, KEY(key), A1, sizeof A1, KEEP, SESSILE_SAVE_CREATE_ONLY));
    CHECK(load_is(e, key, A1, sizeof A1) == T0 + TWO_WEEKS_MS);
    CHECK_RC(sessile_store_save(e, KEY(key), B2, sizeof B2, KEEP, SESSILE_SAVE_CREATE_ONLY),
             SESSILE_RESULT_KEY_COLLISION);
    CHECK(last_error_has("already has this key"));
    CHECK_RC(sessile_store_save_diff(e, KEY(key), NULL, 0, B2, sizeof B2, KEEP,
                                     SESSILE_SAVE_CREATE_ONLY),
             SESSILE_RESULT_KEY_COLLISION);
    CHECK(load_is(e, key, A1, sizeof A1) == T0 + TWO_WEEKS_MS);
    /* With upsert it means nothing: refused before anything is read. */
    CHECK_RC(sessile_store_save(e, KEY(key), B2, sizeof B2, KEEP,
                                SESSILE_SAVE_CREATE_ONLY | SESSILE_SAVE_UPSERT),
             SESSILE_RESULT_INVALID_ARGUMENT);
    /* Once the session is gone, the key may be created again. */
    CHECK_OK(sessile_store_delete(e, KEY(key)));
    CHECK_OK(sessile_store_save_diff(e, KEY(key), NULL, 0, B2, sizeof B2, KEEP,
                                     SESSILE_SAVE_CREATE_ONLY));
    CHECK(load_is(e, key, B2, sizeof B2) == T0 + TWO_WEEKS_MS);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_parallel_saves_keep_both_keys(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, NULL, 0, DEFAULT_EXPIRY, 0, &key));
    /* Two requests, each changing its own key. */
    CHECK_OK(sessile_store_save_delta(e, KEY(key), A1, sizeof A1, NULL, 0, KEEP, 0));
    CHECK_OK(sessile_store_save_delta(e, KEY(key), B2, sizeof B2, NULL, 0, KEEP, 0));
    load_is(e, key, A1B2, sizeof A1B2);
    /* A removal touches only its key. */
    CHECK_OK(sessile_store_save_delta(e, KEY(key), NULL, 0, LIST_A, sizeof LIST_A, KEEP, 0));
    load_is(e, key, B2, sizeof B2);
    /* CLEAR drops everything first, then the new values land. */
    CHECK_OK(sessile_store_save_delta(e, KEY(key), A1, sizeof A1, NULL, 0, KEEP,
                                      SESSILE_SAVE_CLEAR | SESSILE_SAVE_DURABLE));
    load_is(e, key, A1, sizeof A1);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_save_diff_writes_only_what_changed_since_the_load(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0, &key));
    /* Request X loads into its own buffer; too small a buffer is told the size. */
    uint8_t seen[64];
    memset(seen, 0xee, sizeof seen);
    size_t len = 0;
    int64_t at = 0;
    CHECK_OK(sessile_store_load_copy(e, KEY(key), seen, 2, &len, &at));
    CHECK(len == sizeof A1 && seen[0] == 0xee && at == T0 + TWO_WEEKS_MS);
    CHECK_OK(sessile_store_load_copy(e, KEY(key), seen, sizeof seen, &len, &at));
    CHECK(len == sizeof A1 && memcmp(seen, A1, len) == 0);
    /* Meanwhile request Y sets "b". */
    CHECK_OK(sessile_store_save_delta(e, KEY(key), B2, sizeof B2, NULL, 0, KEEP, 0));
    /* X sends back what it loaded and its whole session, {"a": 5}: only "a" is written. */
    static const uint8_t A5[] = {0x81, 0xa1, 'a', 0x05};
    static const uint8_t B2A5[] = {0x82, 0xa1, 'b', 0x02, 0xa1, 'a', 0x05};
    CHECK_OK(sessile_store_save_diff(e, KEY(key), seen, len, A5, sizeof A5, KEEP, 0));
    load_is(e, key, B2A5, sizeof B2A5);
    /* Unchanged since the load: what the caller holds is written as it is;
     * a key it dropped is removed. */
    CHECK_OK(sessile_store_save_diff(e, KEY(key), B2A5, sizeof B2A5, B2, sizeof B2, KEEP,
                                     SESSILE_SAVE_DURABLE));
    load_is(e, key, B2, sizeof B2);
    /* The same value written by another encoder (a 16-bit 2) is no change. */
    static const uint8_t B2_WIDE[] = {0x81, 0xa1, 'b', 0xcd, 0x00, 0x02};
    CHECK_OK(sessile_store_save_delta(e, KEY(key), A1, sizeof A1, NULL, 0, KEEP, 0));
    CHECK_OK(sessile_store_save_diff(e, KEY(key), B2_WIDE, sizeof B2_WIDE, B2, sizeof B2, KEEP, 0));
    /* A key set onto stored data goes after the stored keys. */
    static const uint8_t B2A1[] = {0x82, 0xa1, 'b', 0x02, 0xa1, 'a', 0x01};
    load_is(e, key, B2A1, sizeof B2A1);
    /* Not a map: nothing is written. */
    static const uint8_t GARBAGE[] = {0x92, 0x01};
    CHECK_RC(sessile_store_save_diff(e, KEY(key), GARBAGE, sizeof GARBAGE, B2, sizeof B2, KEEP, 0),
             SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_store_save_diff(e, KEY(key), NULL, 0, GARBAGE, sizeof GARBAGE, KEEP, 0),
             SESSILE_RESULT_INVALID_DATA);
    /* A key twice (which value would a reader take?): refused. */
    static const uint8_t B_TWICE[] = {0x82, 0xa1, 'b', 0x01, 0xa1, 'b', 0x02};
    CHECK_RC(sessile_store_save_diff(e, KEY(key), NULL, 0, B_TWICE, sizeof B_TWICE, KEEP, 0),
             SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_store_save(e, KEY(key), B_TWICE, sizeof B_TWICE, KEEP, 0),
             SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_store_save_diff(e, KEY(key), NULL, 0, B2, sizeof B2, KEEP, 0x100),
             SESSILE_RESULT_INVALID_ARGUMENT);
    load_is(e, key, B2A1, sizeof B2A1);
    /* Deleted meanwhile (a logout): not brought back, unless UPSERT asks. */
    CHECK_OK(sessile_store_delete(e, KEY(key)));
    CHECK_RC(sessile_store_save_diff(e, KEY(key), A1, sizeof A1, B2, sizeof B2, KEEP, 0),
             SESSILE_RESULT_SESSION_DELETED);
    CHECK_RC(sessile_store_load_copy(e, KEY(key), seen, sizeof seen, &len, &at),
             SESSILE_RESULT_NOT_FOUND);
    CHECK_OK(sessile_store_save_diff(e, KEY(key), A1, sizeof A1, A1B2, sizeof A1B2, KEEP,
                                     SESSILE_SAVE_UPSERT));
    load_is(e, key, A1B2, sizeof A1B2);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_cycle_key_moves_the_stored_data_and_never_a_deleted_session(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0, &key));
    /* Request X loaded {"a": 1}; meanwhile request Y set "b". */
    CHECK_OK(sessile_store_save_delta(e, KEY(key), B2, sizeof B2, NULL, 0, KEEP, 0));
    /* X logs in: its change ("a" to 5) and Y's both move to the new key. */
    static const uint8_t A5[] = {0x81, 0xa1, 'a', 0x05};
    static const uint8_t B2A5[] = {0x82, 0xa1, 'b', 0x02, 0xa1, 'a', 0x05};
    sessile_buf *fresh = SENTINEL;
    CHECK_OK(sessile_store_cycle_key(e, KEY(key), A1, sizeof A1, A5, sizeof A5, KEEP, &fresh));
    REQUIRE_OK(fresh != SENTINEL && is_key(fresh) ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    CHECK(strcmp((const char *)sessile_buf_data(fresh), (const char *)sessile_buf_data(key)) != 0);
    load_is(e, fresh, B2A5, sizeof B2A5);
    bool exists = true;
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(!exists);
    /* No data given: the session moves as stored. */
    sessile_buf *third = SENTINEL;
    CHECK_OK(sessile_store_cycle_key(e, KEY(fresh), NULL, 0, NULL, 0, KEEP, &third));
    REQUIRE_OK(third != SENTINEL ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    load_is(e, third, B2A5, sizeof B2A5);
    /* Logged out in another tab: the key cycle of a request that still
     * holds the session brings nothing back. */
    CHECK_OK(sessile_store_delete(e, KEY(third)));
    sessile_buf *none = SENTINEL;
    CHECK_RC(sessile_store_cycle_key(e, KEY(third), B2A5, sizeof B2A5, B2A5, sizeof B2A5, KEEP,
                                     &none),
             SESSILE_RESULT_SESSION_DELETED);
    CHECK(none == SENTINEL);
    uint64_t n = 99;
    CHECK_OK(sessile_store_count(e, &n));
    CHECK(n == 0);
    sessile_buf_free(third);
    sessile_buf_free(fresh);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_touch_keeps_a_session_alive_without_changing_it(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_expiry minute = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, minute, 0, &key));
    for (int i = 0; i < 5; i++) {
        CHECK_OK(sessile_engine_advance_clock(e, 50 * 1000));
        CHECK_OK(sessile_store_touch(e, KEY(key), KEEP));
    }
    CHECK(load_is(e, key, A1, sizeof A1) == T0 + 250 * 1000 + 60 * 1000);
    sessile_expiry hour = {SESSILE_EXPIRY_KIND_SECONDS, 3600};
    CHECK_OK(sessile_store_touch(e, KEY(key), hour));
    CHECK(load_is(e, key, A1, sizeof A1) == T0 + 250 * 1000 + 3600 * 1000);
    sessile_buf *missing = NULL;
    REQUIRE_OK(sessile_key_generate(&missing));
    CHECK_RC(sessile_store_touch(e, KEY(missing), KEEP), SESSILE_RESULT_NOT_FOUND);
    bool exists = true;
    CHECK_OK(sessile_store_exists(e, KEY(missing), &exists));
    CHECK(!exists);
    sessile_buf_free(missing);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_malformed_keys_are_refused_before_storage(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    static const char *const bad[] = {
        "", "short", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", "abcdefghijklmnopqrstuvwxyz01234/",
        "abcdefghijklmnopqrstuvwxyz0123\xc3\xa9", "abcdefghijklmnopqrstuvwxyz0123456",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sessile_buf *b = SENTINEL;
        sessile_expiry ex = {77, 77};
        int64_t at = 77;
        bool yes = false;
        CHECK_RC(sessile_store_load(e, S(bad[i]), &b, &ex, &at), SESSILE_RESULT_INVALID_KEY);
        CHECK_RC(sessile_store_exists(e, S(bad[i]), &yes), SESSILE_RESULT_INVALID_KEY);
        CHECK_RC(sessile_store_save(e, S(bad[i]), A1, sizeof A1, KEEP, SESSILE_SAVE_UPSERT),
                 SESSILE_RESULT_INVALID_KEY);
        CHECK_RC(sessile_store_save_delta(e, S(bad[i]), A1, sizeof A1, NULL, 0, KEEP, 0),
                 SESSILE_RESULT_INVALID_KEY);
        CHECK_RC(sessile_store_touch(e, S(bad[i]), KEEP), SESSILE_RESULT_INVALID_KEY);
        CHECK_RC(sessile_store_delete(e, S(bad[i])), SESSILE_RESULT_INVALID_KEY);
        CHECK(b == SENTINEL && ex.kind == 77 && at == 77 && !yes);
    }
    sessile_engine_free(e);
}

void test_data_that_is_not_a_string_keyed_map_is_refused(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    static const uint8_t not_map[] = {0x01};
    static const uint8_t trailing[] = {0x80, 0x01};
    static const uint8_t garbage[] = {0xc1};
    static const uint8_t truncated[] = {0x81, 0xa1, 'a'};
    static const uint8_t int_key[] = {0x81, 0x01, 0x01};
    static const uint8_t bad_utf8_key[] = {0x81, 0xa1, 0xff, 0x01};
    static const uint8_t not_list[] = {0xa1, 'a'};
    static const uint8_t list_of_ints[] = {0x91, 0x01};
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{not_map, 1}, {trailing, 2}, {garbage, 1}, {truncated, 3}, {int_key, 3}, {bad_utf8_key, 4}};
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0, &key));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sessile_buf *k = SENTINEL;
        CHECK_RC(sessile_store_create(e, bad[i].p, bad[i].n, DEFAULT_EXPIRY, 0, &k),
                 SESSILE_RESULT_INVALID_DATA);
        CHECK(k == SENTINEL);
        CHECK_RC(sessile_store_save(e, KEY(key), bad[i].p, bad[i].n, KEEP, 0),
                 SESSILE_RESULT_INVALID_DATA);
        CHECK_RC(sessile_store_save_delta(e, KEY(key), bad[i].p, bad[i].n, NULL, 0, KEEP, 0),
                 SESSILE_RESULT_INVALID_DATA);
    }
    CHECK_RC(sessile_store_save_delta(e, KEY(key), NULL, 0, not_list, sizeof not_list, KEEP, 0),
             SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_store_save_delta(e, KEY(key), NULL, 0, list_of_ints, sizeof list_of_ints, KEEP,
                                      0),
             SESSILE_RESULT_INVALID_DATA);
    CHECK_RC(sessile_store_save_delta(e, KEY(key), NULL, 0, garbage, sizeof garbage, KEEP, 0),
             SESSILE_RESULT_INVALID_DATA);
    /* Nothing of that reached the session. */
    load_is(e, key, A1, sizeof A1);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_unknown_flags_and_expiry_kinds_are_refused(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0, &key));
    sessile_expiry bogus = {5, 0};
    sessile_buf *k = SENTINEL;
    CHECK_RC(sessile_store_create(e, A1, sizeof A1, bogus, 0, &k), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, SESSILE_SAVE_UPSERT, &k),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0x80, &k),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(k == SENTINEL);
    CHECK_RC(sessile_store_save(e, KEY(key), A1, sizeof A1, bogus, 0), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_store_save(e, KEY(key), A1, sizeof A1, KEEP, SESSILE_SAVE_CLEAR),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_store_save_delta(e, KEY(key), A1, sizeof A1, NULL, 0, KEEP, 0x100),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_store_touch(e, KEY(key), bogus), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("sessile_expiry_kind"));
    /* Ages outside 1 s to 400 days, and dates more than 400 days ahead. A
     * past date is a session stored already expired (Django's backend). */
    const sessile_expiry negative = {SESSILE_EXPIRY_KIND_SECONDS, -1};
    const sessile_expiry huge = {SESSILE_EXPIRY_KIND_SECONDS, INT64_MAX};
    const sessile_expiry far = {SESSILE_EXPIRY_KIND_AT, T0 + INT64_C(401) * 86400 * 1000};
    const sessile_expiry past = {SESSILE_EXPIRY_KIND_AT, T0 - 1000};
    CHECK_RC(sessile_store_create(e, A1, sizeof A1, negative, 0, &k), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("expiry seconds"));
    CHECK(k == SENTINEL);
    CHECK_RC(sessile_store_save(e, KEY(key), A1, sizeof A1, huge, 0), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_store_touch(e, KEY(key), far), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("400 days"));
    bool exists = false;
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(exists);
    CHECK_OK(sessile_store_touch(e, KEY(key), past));
    CHECK_OK(sessile_store_exists(e, KEY(key), &exists));
    CHECK(!exists);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_key_collisions_are_reported(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    /* Test hook: every generated key is the same one. */
    CHECK_OK(sessile_test_fixed_keys(true));
    sessile_buf *first = NULL, *second = SENTINEL;
    CHECK_OK(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0, &first));
    CHECK_RC(sessile_store_create(e, B2, sizeof B2, DEFAULT_EXPIRY, 0, &second),
             SESSILE_RESULT_KEY_COLLISION);
    CHECK(second == SENTINEL);
    /* The first session is untouched. */
    load_is(e, first, A1, sizeof A1);
    CHECK_OK(sessile_test_fixed_keys(false));
    CHECK_OK(sessile_store_create(e, B2, sizeof B2, DEFAULT_EXPIRY, 0, &second));
    CHECK(is_key(second) && memcmp(sessile_buf_data(first), sessile_buf_data(second), 32) != 0);
    sessile_buf_free(first);
    sessile_buf_free(second);
    sessile_engine_free(e);
}

void test_damaged_records_are_reported_as_corrupt(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_test_store_corrupt(e, &key));
    sessile_buf *data = SENTINEL;
    sessile_expiry ex = {77, 77};
    int64_t at = 77;
    CHECK_RC(sessile_store_load(e, KEY(key), &data, &ex, &at), SESSILE_RESULT_CORRUPT);
    CHECK(data == SENTINEL && ex.kind == 77 && at == 77);
    CHECK_RC(sessile_store_save_delta(e, KEY(key), A1, sizeof A1, NULL, 0, KEEP, 0),
             SESSILE_RESULT_CORRUPT);
    /* At the session level a damaged session is a new, empty one. */
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_open(e, KEY(key), &s));
    size_t len = 99;
    CHECK_OK(sessile_session_len(s, &len));
    CHECK(len == 0);
    sessile_buf *k = SENTINEL;
    CHECK_RC(sessile_session_key(s, &k), SESSILE_RESULT_NOT_FOUND);
    sessile_session_free(s);
    /* Deleting it clears the way. */
    CHECK_OK(sessile_store_delete(e, KEY(key)));
    CHECK_RC(sessile_store_load(e, KEY(key), &data, &ex, &at), SESSILE_RESULT_NOT_FOUND);
    sessile_buf_free(key);
    sessile_engine_free(e);
}
