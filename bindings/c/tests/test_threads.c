/*
 * Threads: one engine shared by several threads (the engine is documented
 * thread-safe), concurrent delta saves to one session losing nothing, and
 * a close racing with work in flight.
 */
#include "harness.h"

#include <pthread.h>

#define THREADS 4
#define ROUNDS 25

struct worker {
    sessile_engine *engine;
    const char *shared_key;
    int id;
    int failures;
};

static void *work(void *arg) {
    struct worker *w = arg;
    sessile_expiry keep = {SESSILE_EXPIRY_KIND_KEEP, 0};
    for (int i = 0; i < ROUNDS; i++) {
        /* A session of its own... */
        sessile_buf *key = NULL;
        if (sessile_store_create(w->engine, NULL, 0, keep, 0, &key) != SESSILE_RESULT_OK) {
            w->failures++;
            continue;
        }
        sessile_session *s = NULL;
        if (sessile_session_open(w->engine, (const char *)sessile_buf_data(key), sessile_buf_len(key),
                                 &s) != SESSILE_RESULT_OK ||
            sessile_session_set_json(s, S("i"), S("1")) != SESSILE_RESULT_OK ||
            sessile_session_save(s, 0) != SESSILE_RESULT_OK) {
            w->failures++;
        }
        sessile_session_free(s);
        sessile_buf_free(key);
        /* ...and its own data key in the shared one: {"t<id>_<i>": i} */
        uint8_t delta[16];
        int n = snprintf((char *)delta + 2, sizeof delta - 3, "t%d_%d", w->id, i);
        delta[0] = 0x81;
        delta[1] = (uint8_t)(0xa0 | n);
        delta[2 + n] = (uint8_t)i;
        if (sessile_store_save_delta(w->engine, w->shared_key, SESSILE_KEY_LEN, delta,
                                     (size_t)n + 3, NULL, 0, keep, 0) != SESSILE_RESULT_OK) {
            w->failures++;
        }
        /* Errors stay on this thread. */
        if (sessile_key_validate(S("bad")) != SESSILE_RESULT_INVALID_KEY ||
            sessile_last_error_code() != SESSILE_RESULT_INVALID_KEY) {
            w->failures++;
        }
    }
    return NULL;
}

void test_one_engine_serves_many_threads_without_lost_updates(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_expiry dflt = {SESSILE_EXPIRY_KIND_DEFAULT, 0};
    sessile_buf *shared = NULL;
    REQUIRE_OK(sessile_store_create(e, NULL, 0, dflt, 0, &shared));

    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){e, (const char *)sessile_buf_data(shared), t, 0};
        CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
    }
    for (int t = 0; t < THREADS; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(workers[t].failures == 0);
    }
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_open(e, (const char *)sessile_buf_data(shared), SESSILE_KEY_LEN, &s));
    size_t len = 0;
    CHECK_OK(sessile_session_len(s, &len));
    CHECK(len == THREADS * ROUNDS);
    sessile_session_free(s);
    sessile_buf_free(shared);
    sessile_engine_free(e);
}

struct racer {
    sessile_engine *engine;
    int unexpected;
};

static void *race_close(void *arg) {
    struct racer *r = arg;
    for (int i = 0; i < 200; i++) {
        sessile_session *s = NULL;
        sessile_result rc = sessile_request_begin(r->engine, NULL, 0, &s);
        if (rc == SESSILE_RESULT_CLOSED) break;
        if (rc != SESSILE_RESULT_OK) {
            r->unexpected++;
            break;
        }
        /* A session begun before the close still saves. */
        if (sessile_session_set_json(s, S("n"), S("1")) != SESSILE_RESULT_OK ||
            sessile_session_save(s, 0) != SESSILE_RESULT_OK) {
            r->unexpected++;
        }
        sessile_session_free(s);
    }
    return NULL;
}

void test_closing_an_engine_while_threads_use_it_is_safe(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    pthread_t threads[2];
    struct racer racers[2] = {{e, 0}, {e, 0}};
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&threads[t], NULL, race_close, &racers[t]) == 0);
    CHECK_OK(sessile_engine_close(e));
    for (int t = 0; t < 2; t++) {
        CHECK(pthread_join(threads[t], NULL) == 0);
        CHECK(racers[t].unexpected == 0);
    }
    /* Every call after close answers CLOSED. */
    sessile_session *s = SENTINEL;
    CHECK_RC(sessile_request_begin(e, NULL, 0, &s), SESSILE_RESULT_CLOSED);
    sessile_engine_free(e);
}
