/*
 * The disk failing under an open engine. A full disk: durable saves fail
 * with SESSILE_RESULT_IO and the OS's "No space left on device", sessions
 * already on disk still load, and once space is back the same engine
 * saves again (no reopen by the caller). A directory deleted while open:
 * durable saves and flushes fail with SESSILE_RESULT_IO naming the path.
 * The full-disk test mounts an 8 MB tmpfs (it needs root, and says so when
 * it skips).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* {"p": <300 bytes>}: a few hundred fill a good part of 8 MB. */
static uint8_t PAYLOAD[3 + 3 + 300];
static const sessile_expiry DEFAULT_EXPIRY = {SESSILE_EXPIRY_KIND_DEFAULT, 0};

static void make_payload(void) {
    uint8_t *p = PAYLOAD;
    *p++ = 0x81;
    *p++ = 0xa1;
    *p++ = 'p';
    *p++ = 0xda; /* str 16 */
    *p++ = 300 >> 8;
    *p++ = 300 & 0xff;
    memset(p, 'x', 300);
}

static sessile_result open_at(const char *path, sessile_engine **out) {
    sessile_options *o = NULL;
    sessile_result rc = sessile_options_new(&o);
    if (rc != SESSILE_RESULT_OK) return rc;
    sessile_options_set_manual_clock(o, T0);
    sessile_options_set_reaper_interval_ms(o, 0);
    rc = sessile_engine_open(S(path), o, out);
    sessile_options_free(o);
    return rc;
}

static sessile_result create_durable(sessile_engine *e, sessile_buf **key) {
    return sessile_store_create(e, PAYLOAD, sizeof PAYLOAD, DEFAULT_EXPIRY, SESSILE_SAVE_DURABLE,
                                key);
}

static bool loads(sessile_engine *e, const sessile_buf *key) {
    sessile_buf *data = NULL;
    sessile_expiry expiry = {0};
    int64_t at = 0;
    sessile_result rc = sessile_store_load(e, (const char *)sessile_buf_data(key),
                                           sessile_buf_len(key), &data, &expiry, &at);
    bool ok = rc == SESSILE_RESULT_OK && buf_is(data, PAYLOAD, sizeof PAYLOAD);
    if (rc == SESSILE_RESULT_OK) sessile_buf_free(data);
    return ok;
}

/* Writes `path` until the file system is full. */
static void fill(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    static char chunk[64 * 1024];
    while (write(fd, chunk, sizeof chunk) > 0) {
    }
    CHECK(errno == ENOSPC);
    while (write(fd, chunk, 512) > 0) {
    }
    close(fd);
}

#define MAX_KEYS 4000

void test_a_full_disk_fails_saves_then_recovers_without_a_restart(void) {
    make_payload();
    char mnt[256], cmd[600], db[300], filler[300];
    make_temp_dir(mnt, sizeof mnt);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=8m tmpfs '%s' 2>/dev/null", mnt);
    if (system(cmd) != 0) {
        printf("     SKIPPED: cannot mount an 8 MB tmpfs (needs root)\n");
        rm_tree(mnt);
        return;
    }
    snprintf(db, sizeof db, "%s/db", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    static sessile_buf *keys[MAX_KEYS];
    size_t n = 0;
    sessile_engine *e = NULL;
    CHECK_OK(open_at(db, &e));
    for (; e && n < 200; n++) CHECK_OK(create_durable(e, &keys[n]));

    fill(filler);
    /* sled may have room left inside its file: create until it says no,
     * then 5 more, which must all fail the same way. */
    int failures = 0;
    while (e && failures < 5 && n < MAX_KEYS) {
        sessile_buf *key = NULL;
        sessile_result rc = create_durable(e, &key);
        if (rc == SESSILE_RESULT_OK) {
            CHECK(failures == 0);
            keys[n++] = key;
        } else {
            CHECK(rc == SESSILE_RESULT_IO);
            CHECK(last_error_has("No space left on device"));
            failures++;
        }
    }
    CHECK(failures == 5);
    size_t unreadable = 0;
    for (size_t i = 0; e && i < n; i++) unreadable += !loads(e, keys[i]);
    CHECK(unreadable == 0);

    /* Space comes back: the same engine saves again. */
    CHECK(unlink(filler) == 0);
    for (int i = 0; e && i < 5 && n < MAX_KEYS; i++) CHECK_OK(create_durable(e, &keys[n++]));
    sessile_session *s = NULL;
    if (e && sessile_request_begin(e, NULL, 0, &s) == SESSILE_RESULT_OK) {
        CHECK_OK(sessile_session_set_json(s, S("cart"), S("2")));
        sessile_buf *set_cookie = NULL;
        uint32_t flags = 0;
        CHECK_OK(sessile_request_end(s, 200, &set_cookie, &flags));
        CHECK(set_cookie != NULL && (flags & SESSILE_RESPONSE_SAVED));
        sessile_buf_free(set_cookie);
        sessile_session_free(s);
    }
    for (size_t i = 0; e && i < n; i++) CHECK(loads(e, keys[i]));
    if (e) CHECK_OK(sessile_engine_close(e));
    sessile_engine_free(e);

    /* Every acknowledged session after reopening. */
    e = NULL;
    CHECK_OK(open_at(db, &e));
    for (size_t i = 0; e && i < n; i++) CHECK(loads(e, keys[i]));
    if (e) CHECK_OK(sessile_engine_close(e));
    sessile_engine_free(e);
    for (size_t i = 0; i < n; i++) sessile_buf_free(keys[i]);
    snprintf(cmd, sizeof cmd, "umount -l '%s'", mnt);
    CHECK(system(cmd) == 0);
    rm_tree(mnt);
}

void test_a_deleted_directory_fails_durable_saves(void) {
    make_payload();
    char dir[256], db[300];
    make_temp_dir(dir, sizeof dir);
    snprintf(db, sizeof db, "%s/db", dir);
    sessile_engine *e = NULL;
    REQUIRE_OK(open_at(db, &e));
    sessile_buf *key = NULL;
    CHECK_OK(create_durable(e, &key));
    sessile_buf_free(key);

    rm_tree(dir);
    key = SENTINEL;
    CHECK_RC(create_durable(e, &key), SESSILE_RESULT_IO);
    CHECK(key == SENTINEL);
    CHECK(last_error_has(db));
    CHECK_RC(sessile_engine_flush(e), SESSILE_RESULT_IO);
    CHECK_RC(sessile_engine_close(e), SESSILE_RESULT_IO);
    sessile_engine_free(e);
}
