/*
 * Enumerating the store, as express-session's all/ids/length/clear need it:
 * sessile_store_scan (pages of live sessions with a cursor),
 * sessile_store_count and sessile_store_delete_all, with expiry on the
 * manual clock.
 */
#include "harness.h"

#include <stdlib.h>

#define KEY(b) (const char *)sessile_buf_data(b), sessile_buf_len(b)

static const sessile_expiry DEFAULT_EXPIRY = {SESSILE_EXPIRY_KIND_DEFAULT, 0};
static const sessile_expiry KEEP = {SESSILE_EXPIRY_KIND_KEEP, 0};

/* {"user": "alice"} */
static const uint8_t ALICE[] = {0x81, 0xa4, 'u', 's', 'e', 'r', 0xa5, 'a', 'l', 'i', 'c', 'e'};
/* {"a": 1} */
static const uint8_t A1[] = {0x81, 0xa1, 'a', 0x01};

/* The key of the n-th entry of a page (entries of one session each
 * created with data A1 and the default expiry), found by its position:
 * every such entry is 1 + 2 + 32 + 4 + 1 + 1 + 9 bytes. */
enum { A1_ENTRY_LEN = 1 + 2 + 32 + sizeof A1 + 1 + 1 + 9 };

static int cmp_keys(const void *a, const void *b) {
    return memcmp(a, b, SESSILE_KEY_LEN);
}

void test_scan_pages_through_live_sessions_in_key_order(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    enum { N = 7 };
    char made[N][SESSILE_KEY_LEN];
    for (int i = 0; i < N; i++) {
        sessile_buf *key = NULL;
        REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, DEFAULT_EXPIRY, 0, &key));
        memcpy(made[i], sessile_buf_data(key), SESSILE_KEY_LEN);
        sessile_buf_free(key);
    }
    /* One that expires: never listed, even before the sweeper runs. */
    sessile_expiry second = {SESSILE_EXPIRY_KIND_SECONDS, 1};
    sessile_buf *gone = NULL;
    REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, second, 0, &gone));
    CHECK_OK(sessile_engine_advance_clock(e, 1000));
    qsort(made, N, SESSILE_KEY_LEN, cmp_keys);

    /* Pages of 3: 3 + 3 + 1, in key order, the cursor NULL at the end. */
    char seen[N][SESSILE_KEY_LEN];
    int n = 0, pages = 0;
    sessile_buf *cursor = NULL;
    for (;;) {
        sessile_buf *page = NULL, *next = SENTINEL;
        CHECK_OK(sessile_store_scan(e, cursor ? (const char *)sessile_buf_data(cursor) : NULL,
                                    sessile_buf_len(cursor), 3, &page, &next));
        sessile_buf_free(cursor);
        cursor = next == SENTINEL ? NULL : next;
        pages++;
        const uint8_t *p = sessile_buf_data(page);
        size_t len = sessile_buf_len(page);
        CHECK(len >= 1 && (p[0] & 0xf0) == 0x90); /* a fixarray */
        size_t count = p[0] & 0x0f;
        CHECK(len == 1 + count * A1_ENTRY_LEN);
        for (size_t i = 0; i < count && n < N && len == 1 + count * A1_ENTRY_LEN; i++) {
            const uint8_t *entry = p + 1 + i * A1_ENTRY_LEN;
            CHECK(entry[0] == 0x95 && entry[1] == 0xd9 && entry[2] == 32);
            memcpy(seen[n++], entry + 3, SESSILE_KEY_LEN);
            CHECK(memcmp(entry + 35, A1, sizeof A1) == 0);
            CHECK(entry[35 + sizeof A1] == SESSILE_EXPIRY_KIND_DEFAULT);
            CHECK(entry[36 + sizeof A1] == 0);
            CHECK(entry[37 + sizeof A1] == 0xcf); /* a uint64 deadline */
        }
        if (count < 3) CHECK(cursor == NULL);
        sessile_buf_free(page);
        if (!cursor || pages > N) break;
    }
    CHECK(pages == 3);
    CHECK(n == N);
    CHECK(memcmp(seen, made, sizeof made) == 0);
    sessile_buf_free(gone);
    sessile_engine_free(e);
}

void test_scan_entries_carry_key_data_and_expiry(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    /* An empty store: an empty array and no cursor. */
    sessile_buf *page = NULL, *next = SENTINEL;
    CHECK_OK(sessile_store_scan(e, NULL, 0, 10, &page, &next));
    CHECK(buf_is(page, "\x90", 1));
    CHECK(next == NULL);
    sessile_buf_free(page);

    sessile_expiry minute = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    sessile_buf *key = NULL;
    REQUIRE_OK(sessile_store_create(e, ALICE, sizeof ALICE, minute, 0, &key));
    CHECK_OK(sessile_store_scan(e, NULL, 0, 1, &page, &next));
    /* [[key, {"user": "alice"}, SECONDS, 60, T0 + 60000]] */
    uint8_t want[1 + 1 + 2 + 32 + sizeof ALICE + 1 + 1 + 9];
    size_t w = 0;
    want[w++] = 0x91;
    want[w++] = 0x95;
    want[w++] = 0xd9;
    want[w++] = 32;
    memcpy(want + w, sessile_buf_data(key), 32);
    w += 32;
    memcpy(want + w, ALICE, sizeof ALICE);
    w += sizeof ALICE;
    want[w++] = SESSILE_EXPIRY_KIND_SECONDS;
    want[w++] = 60;
    want[w++] = 0xcf;
    uint64_t at = (uint64_t)(T0 + 60000);
    for (int i = 7; i >= 0; i--) want[w++] = (uint8_t)(at >> (8 * i));
    CHECK(w == sizeof want);
    CHECK(buf_is(page, want, sizeof want));
    /* The page was full: a cursor (the last key), then an empty last page. */
    CHECK(next != NULL && buf_is(next, sessile_buf_data(key), 32));
    sessile_buf *page2 = NULL, *next2 = SENTINEL;
    CHECK_OK(sessile_store_scan(e, KEY(next), 1, &page2, &next2));
    CHECK(buf_is(page2, "\x90", 1));
    CHECK(next2 == NULL);
    sessile_buf_free(page2);

    /* A cursor whose session was deleted meanwhile still works. */
    CHECK_OK(sessile_store_delete(e, KEY(key)));
    CHECK_OK(sessile_store_scan(e, KEY(next), 5, &page2, &next2));
    CHECK(buf_is(page2, "\x90", 1) && next2 == NULL);
    sessile_buf_free(page2);
    sessile_buf_free(next);
    sessile_buf_free(page);
    sessile_buf_free(key);
    sessile_engine_free(e);
}

void test_count_sees_only_live_sessions(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    uint64_t count = 77;
    CHECK_OK(sessile_store_count(e, &count));
    CHECK(count == 0);
    sessile_expiry minute = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    sessile_expiry hour = {SESSILE_EXPIRY_KIND_SECONDS, 3600};
    /* More than one internal batch (256 records) of each kind. */
    for (int i = 0; i < 300; i++) {
        sessile_buf *key = NULL;
        REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, i % 2 ? minute : hour, 0, &key));
        sessile_buf_free(key);
    }
    CHECK_OK(sessile_store_count(e, &count));
    CHECK(count == 300);
    CHECK_OK(sessile_engine_advance_clock(e, 60 * 1000));
    CHECK_OK(sessile_store_count(e, &count));
    CHECK(count == 150);
    /* The sweeper changes nothing that count can see. */
    uint64_t swept = 0;
    CHECK_OK(sessile_engine_clear_expired(e, &swept));
    CHECK(swept == 150);
    CHECK_OK(sessile_store_count(e, &count));
    CHECK(count == 150);
    sessile_engine_free(e);
}

void test_delete_all_logs_everyone_out(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    uint64_t removed = 77;
    CHECK_OK(sessile_store_delete_all(e, &removed));
    CHECK(removed == 0);
    sessile_expiry second = {SESSILE_EXPIRY_KIND_SECONDS, 1};
    sessile_buf *keys[260];
    for (int i = 0; i < 260; i++) {
        keys[i] = NULL;
        REQUIRE_OK(sessile_store_create(e, A1, sizeof A1, i == 0 ? second : DEFAULT_EXPIRY, 0,
                                        &keys[i]));
    }
    CHECK_OK(sessile_engine_advance_clock(e, 1000));
    /* Expired but not yet swept records are deleted (and counted) too. */
    CHECK_OK(sessile_store_delete_all(e, &removed));
    CHECK(removed == 260);
    uint64_t count = 77;
    CHECK_OK(sessile_store_count(e, &count));
    CHECK(count == 0);
    /* Nothing is left for the sweeper, and no request can save a session
     * back. */
    uint64_t swept = 77;
    CHECK_OK(sessile_engine_advance_clock(e, 1209600LL * 1000));
    CHECK_OK(sessile_engine_clear_expired(e, &swept));
    CHECK(swept == 0);
    CHECK_RC(sessile_store_save(e, KEY(keys[1]), A1, sizeof A1, KEEP, 0),
             SESSILE_RESULT_SESSION_DELETED);
    for (int i = 0; i < 260; i++) sessile_buf_free(keys[i]);
    sessile_engine_free(e);
}

void test_scan_count_and_delete_all_refuse_bad_arguments(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_buf *page = SENTINEL, *next = SENTINEL;
    uint64_t n = 77;
    static const char KEY32[] = "abcdefghijklmnopqrstuvwxyz012345";

    CHECK_RC(sessile_store_scan(NULL, NULL, 0, 1, &page, &next), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_scan(e, NULL, 32, 1, &page, &next), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_scan(e, NULL, 0, 1, NULL, &next), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK(last_error_has("page_out"));
    CHECK_RC(sessile_store_scan(e, NULL, 0, 1, &page, NULL), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_scan(e, KEY32, SIZE_MAX, 1, &page, &next), SESSILE_RESULT_TOO_LARGE);
    CHECK_RC(sessile_store_scan(e, NULL, 0, 0, &page, &next), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("limit"));
    CHECK_RC(sessile_store_scan(e, S("not-a-key"), 1, &page, &next), SESSILE_RESULT_INVALID_KEY);
    CHECK_RC(sessile_store_count(NULL, &n), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_count(e, NULL), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_delete_all(NULL, &n), SESSILE_RESULT_NULL_ARGUMENT);
    CHECK_RC(sessile_store_delete_all(e, NULL), SESSILE_RESULT_NULL_ARGUMENT);

    /* A panic inside reports the code and writes nothing. */
    sessile_test_panic_next_call();
    CHECK_RC(sessile_store_scan(e, NULL, 0, 1, &page, &next), SESSILE_RESULT_PANIC);
    sessile_test_panic_next_call();
    CHECK_RC(sessile_store_count(e, &n), SESSILE_RESULT_PANIC);
    sessile_test_panic_next_call();
    CHECK_RC(sessile_store_delete_all(e, &n), SESSILE_RESULT_PANIC);

    /* A closed engine answers CLOSED. */
    CHECK_OK(sessile_engine_close(e));
    CHECK_RC(sessile_store_scan(e, NULL, 0, 1, &page, &next), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_count(e, &n), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_delete_all(e, &n), SESSILE_RESULT_CLOSED);
    CHECK(page == SENTINEL && next == SENTINEL && n == 77);
    sessile_engine_free(e);
}
