/*
 * The request helpers: Django's SessionMiddleware rules from two calls.
 * Cookie header in, Set-Cookie header out; nothing saved on a 5xx; the
 * deleting cookie after a logout; Vary: Cookie whenever the session was
 * used.
 */
#include "harness.h"

#include <stdlib.h>

/* The "sessionid=<key>" part of a Set-Cookie header, as a browser would
 * send it back. */
static void cookie_pair(const sessile_buf *set_cookie, char *out, size_t out_len) {
    const char *h = (const char *)sessile_buf_data(set_cookie);
    size_t n = strcspn(h, ";");
    snprintf(out, out_len, "%.*s", (int)n, h);
}

/* One request: begin with `cookie` (NULL: no header), run `view`, end with
 * `status`. Returns the Set-Cookie header or NULL, and the flags. */
typedef void (*view_fn)(sessile_session *);
static sessile_buf *request(sessile_engine *e, const char *cookie, view_fn view, uint32_t status,
                            uint32_t *flags) {
    sessile_session *s = NULL;
    sessile_buf *set_cookie = SENTINEL;
    if (sessile_request_begin(e, cookie, cookie ? strlen(cookie) : 0, &s) != SESSILE_RESULT_OK) {
        CHECK(!"request_begin failed");
        return NULL;
    }
    if (view) view(s);
    *flags = 0xffff;
    CHECK_OK(sessile_request_end(s, status, &set_cookie, flags));
    sessile_session_free(s);
    CHECK(set_cookie != SENTINEL);
    return set_cookie == SENTINEL ? NULL : set_cookie;
}

static void login(sessile_session *s) {
    CHECK_OK(sessile_session_cycle_key(s));
    CHECK_OK(sessile_session_set_json(s, S("user"), S("\"alice\"")));
}
static void count(sessile_session *s) {
    sessile_buf *v = NULL;
    int n = 0;
    if (sessile_session_get_json(s, S("visits"), &v) == SESSILE_RESULT_OK) {
        n = atoi((const char *)sessile_buf_data(v));
        sessile_buf_free(v);
    }
    char json[16];
    snprintf(json, sizeof json, "%d", n + 1);
    CHECK_OK(sessile_session_set_json(s, S("visits"), S(json)));
}
static void read_only(sessile_session *s) {
    bool has = false;
    CHECK_OK(sessile_session_contains(s, S("user"), &has));
    CHECK(has);
}
static void logout(sessile_session *s) {
    CHECK_OK(sessile_session_flush(s));
}

static int visits(sessile_engine *e, const char *cookie) {
    sessile_session *s = NULL;
    sessile_buf *v = NULL;
    int n = -1;
    if (sessile_request_begin(e, S(cookie), &s) != SESSILE_RESULT_OK) return -2;
    if (sessile_session_get_json(s, S("visits"), &v) == SESSILE_RESULT_OK) {
        n = atoi((const char *)sessile_buf_data(v));
        sessile_buf_free(v);
    }
    sessile_session_free(s);
    return n;
}

void test_a_visitor_logs_in_counts_and_logs_out(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    uint32_t flags = 0;

    /* An anonymous request that touches nothing: no cookie, no Vary. */
    sessile_buf *c = request(e, NULL, NULL, 200, &flags);
    CHECK(c == NULL && flags == 0);

    /* Login: a new session, saved, with Django's cookie attributes. */
    c = request(e, NULL, login, 200, &flags);
    REQUIRE_OK(c ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    CHECK(flags == (SESSILE_RESPONSE_VARY_COOKIE | SESSILE_RESPONSE_SAVED));
    CHECK(buf_has(c, "sessionid="));
    CHECK(buf_has(c, "; expires=Tue, 28 Nov 2023 22:13:20 GMT; HttpOnly; Max-Age=1209600; Path=/; "
                     "SameSite=Lax"));
    char cookie[128], header[256];
    cookie_pair(c, cookie, sizeof cookie);
    CHECK(strlen(cookie) == strlen("sessionid=") + SESSILE_KEY_LEN);
    sessile_buf_free(c);

    /* The browser sends it back among other cookies. */
    snprintf(header, sizeof header, "csrftoken=abc; %s; theme=dark", cookie);
    c = request(e, header, read_only, 200, &flags);
    CHECK(c == NULL && flags == SESSILE_RESPONSE_VARY_COOKIE);

    /* Counting: every request changes the session and refreshes the cookie. */
    for (int i = 1; i <= 3; i++) {
        c = request(e, header, count, 200, &flags);
        CHECK(buf_has(c, cookie));
        CHECK(flags == (SESSILE_RESPONSE_VARY_COOKIE | SESSILE_RESPONSE_SAVED));
        sessile_buf_free(c);
        CHECK(visits(e, header) == i);
    }

    /* A failing response saves nothing and sets no cookie. */
    c = request(e, header, count, 500, &flags);
    CHECK(c == NULL && flags == SESSILE_RESPONSE_VARY_COOKIE);
    c = request(e, header, count, 503, &flags);
    CHECK(c == NULL);
    CHECK(visits(e, header) == 3);
    c = request(e, header, count, 499, &flags);
    CHECK(c != NULL);
    sessile_buf_free(c);
    CHECK(visits(e, header) == 4);

    /* Logout: the deleting cookie. */
    c = request(e, header, logout, 200, &flags);
    CHECK(buf_is_str(c, "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; "
                        "Max-Age=0; Path=/; SameSite=Lax"));
    CHECK(flags == SESSILE_RESPONSE_VARY_COOKIE);
    sessile_buf_free(c);
    CHECK(visits(e, header) == -1);
    sessile_engine_free(e);
}

static void short_lived(sessile_session *s) {
    sessile_expiry minute = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    CHECK_OK(sessile_session_set_expiry(s, minute));
}
static void until_browser_close(sessile_session *s) {
    sessile_expiry close = {SESSILE_EXPIRY_KIND_BROWSER_CLOSE, 0};
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    CHECK_OK(sessile_session_set_expiry(s, close));
}
static void touch_data(sessile_session *s) {
    size_t n = 0;
    CHECK_OK(sessile_session_len(s, &n));
}

void test_cookie_lifetime_follows_the_expiry_policy(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    uint32_t flags = 0;
    sessile_buf *c = request(e, NULL, short_lived, 200, &flags);
    CHECK(buf_has(c, "; Max-Age=60;"));
    char cookie[128];
    if (c) cookie_pair(c, cookie, sizeof cookie);
    sessile_buf_free(c);
    c = request(e, NULL, until_browser_close, 200, &flags);
    CHECK(c != NULL && !buf_has(c, "Max-Age") && !buf_has(c, "expires"));
    sessile_buf_free(c);

    /* Past its minute the session is gone; the stale cookie is deleted once
     * the session has been looked at. */
    CHECK_OK(sessile_engine_advance_clock(e, 61 * 1000));
    c = request(e, cookie, touch_data, 200, &flags);
    CHECK(buf_has(c, "Max-Age=0"));
    sessile_buf_free(c);
    sessile_engine_free(e);
}

void test_forged_and_odd_cookie_headers_give_a_fresh_session(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    uint32_t flags = 0;
    sessile_buf *c = request(e, NULL, login, 200, &flags);
    char cookie[128], header[256];
    cookie_pair(c, cookie, sizeof cookie);
    sessile_buf_free(c);

    const char *forged[] = {"sessionid=../../etc/passwd", "sessionid=", "sessionid",
                            "sessionid=ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", ";;;", ""};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        sessile_session *s = NULL;
        REQUIRE_OK(sessile_request_begin(e, S(forged[i]), &s));
        bool has = true;
        CHECK_OK(sessile_session_contains(s, S("user"), &has));
        CHECK(!has);
        sessile_session_free(s);
    }
    /* Bytes that are not UTF-8 in another cookie do not lose the session. */
    snprintf(header, sizeof header, "legacy=caf\xe9; %s", cookie);
    CHECK(visits(e, header) == -1);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_request_begin(e, S(header), &s));
    bool has = false;
    CHECK_OK(sessile_session_contains(s, S("user"), &has));
    CHECK(has);
    sessile_session_free(s);
    /* Django's parser: quotes removed, the last occurrence wins. */
    snprintf(header, sizeof header, "sessionid=bogus; sessionid=\"%s\"", cookie + 10);
    REQUIRE_OK(sessile_request_begin(e, S(header), &s));
    CHECK_OK(sessile_session_contains(s, S("user"), &has));
    CHECK(has);
    sessile_session_free(s);
    sessile_engine_free(e);
}

void test_a_session_deleted_during_the_request_is_not_saved_back(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    uint32_t flags = 0;
    sessile_buf *c = request(e, NULL, login, 200, &flags);
    char cookie[128];
    cookie_pair(c, cookie, sizeof cookie);
    sessile_buf_free(c);

    sessile_session *s = NULL;
    REQUIRE_OK(sessile_request_begin(e, S(cookie), &s));
    count(s);
    /* Meanwhile, a logout in another tab. */
    CHECK_OK(sessile_store_delete(e, cookie + 10, SESSILE_KEY_LEN));
    sessile_buf *set_cookie = SENTINEL;
    flags = 77;
    CHECK_RC(sessile_request_end(s, 200, &set_cookie, &flags), SESSILE_RESULT_SESSION_DELETED);
    CHECK(set_cookie == SENTINEL && flags == 77);
    sessile_session_free(s);
    bool exists = true;
    CHECK_OK(sessile_store_exists(e, cookie + 10, SESSILE_KEY_LEN, &exists));
    CHECK(!exists);
    sessile_engine_free(e);
}

/* The steps: tab A reads the logged-in session; tab B logs out;
 * tab A cycles the key (a login). Nothing comes back under a new key. */
void test_a_logout_in_another_tab_is_not_undone_by_cycle_key(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    uint32_t flags = 0;
    sessile_buf *c = request(e, NULL, login, 200, &flags);
    char cookie[128];
    cookie_pair(c, cookie, sizeof cookie);
    sessile_buf_free(c);

    sessile_session *tab_a = NULL;
    REQUIRE_OK(sessile_request_begin(e, S(cookie), &tab_a));
    read_only(tab_a);
    sessile_buf *deleting = request(e, cookie, logout, 200, &flags);
    CHECK(deleting && buf_has(deleting, "Max-Age=0"));
    sessile_buf_free(deleting);

    CHECK_RC(sessile_session_cycle_key(tab_a), SESSILE_RESULT_SESSION_DELETED);
    CHECK(last_error_has("deleted"));
    CHECK_OK(sessile_session_set_json(tab_a, S("user"), S("\"alice\"")));
    sessile_buf *set_cookie = SENTINEL;
    CHECK_RC(sessile_request_end(tab_a, 200, &set_cookie, &flags), SESSILE_RESULT_SESSION_DELETED);
    CHECK(set_cookie == SENTINEL);
    sessile_session_free(tab_a);
    uint64_t n = 99;
    CHECK_OK(sessile_store_count(e, &n));
    CHECK(n == 0);
    sessile_engine_free(e);
}

void test_statuses_outside_http_are_refused(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_request_begin(e, NULL, 0, &s));
    sessile_buf *c = SENTINEL;
    uint32_t flags = 77;
    CHECK_RC(sessile_request_end(s, 99, &c, &flags), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_request_end(s, 1000, &c, &flags), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_request_end(s, 65536 + 200, &c, &flags), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(c == SENTINEL && flags == 77);
    CHECK_OK(sessile_request_end(s, 100, &c, &flags));
    CHECK(c == NULL && flags == 0);
    sessile_session_free(s);
    sessile_engine_free(e);
}
