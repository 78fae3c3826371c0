/*
 * Engines: opening on disk and in memory, sharing and locking a directory,
 * durability across close and reopen, the manual clock, and what a closed
 * engine answers.
 */
#include "harness.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

static const uint8_t DATA[] = {0x81, 0xa4, 'u', 's', 'e', 'r', 0xa5, 'a', 'l', 'i', 'c', 'e'};
static const sessile_expiry DEFAULT_EXPIRY = {SESSILE_EXPIRY_KIND_DEFAULT, 0};

/* compression: -1 leaves it unset, 0 or 1 sets it. */
static sessile_result open_disk_compressed(const char *dir, int compression, sessile_engine **out) {
    sessile_options *o = NULL;
    sessile_result rc = sessile_options_new(&o);
    if (rc != SESSILE_RESULT_OK) return rc;
    /* Small cache, no background flusher or sweeper: fewer threads keep
     * valgrind runs quick (sessions_survive_close_and_reopen flushes
     * explicitly; default_options_... covers the background threads). */
    sessile_options_set_cache_capacity(o, 1 << 20);
    sessile_options_set_flush_every_ms(o, 0);
    sessile_options_set_reaper_interval_ms(o, 0);
    if (compression >= 0) sessile_options_set_compression(o, compression == 1);
    rc = sessile_engine_open(S(dir), o, out);
    sessile_options_free(o);
    return rc;
}

static sessile_result open_disk(const char *dir, sessile_engine **out) {
    return open_disk_compressed(dir, -1, out);
}

/* Checks that session `key` in `e` holds DATA; returns its expiry kind. */
static uint32_t loads_data(sessile_engine *e, const sessile_buf *key) {
    sessile_buf *data = NULL;
    sessile_expiry expiry = {0};
    int64_t at = 0;
    CHECK_OK(sessile_store_load(e, (const char *)sessile_buf_data(key), sessile_buf_len(key), &data,
                                &expiry, &at));
    CHECK(buf_is(data, DATA, sizeof DATA));
    sessile_buf_free(data);
    return expiry.kind;
}

void test_sessions_survive_close_and_reopen(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *e = NULL;
    REQUIRE_OK(open_disk(dir, &e));
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(e, DATA, sizeof DATA, DEFAULT_EXPIRY, SESSILE_SAVE_DURABLE, &key));
    CHECK_OK(sessile_engine_flush(e));
    CHECK_OK(sessile_engine_close(e));
    sessile_engine_free(e);

    e = NULL;
    REQUIRE_OK(open_disk(dir, &e));
    CHECK(loads_data(e, key) == SESSILE_EXPIRY_KIND_DEFAULT);
    sessile_buf_free(key);
    CHECK_OK(sessile_engine_close(e));
    sessile_engine_free(e);
    rm_tree(dir);
}

void test_compression_is_fixed_when_a_database_is_created(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *e = NULL;
    REQUIRE_OK(open_disk_compressed(dir, 1, &e));
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(e, DATA, sizeof DATA, DEFAULT_EXPIRY, SESSILE_SAVE_DURABLE, &key));
    CHECK_OK(sessile_engine_close(e));
    sessile_engine_free(e);

    /* Asking for the other setting is refused, with the reason. */
    e = NULL;
    CHECK_RC(open_disk_compressed(dir, 0, &e), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(e == NULL);
    CHECK(last_error_has("created with compression"));

    /* Leaving it unset follows the database; nothing was lost. */
    REQUIRE_OK(open_disk(dir, &e));
    loads_data(e, key);
    sessile_buf_free(key);
    CHECK_OK(sessile_engine_close(e));
    sessile_engine_free(e);
    CHECK_RC(sessile_options_set_compression(NULL, true), SESSILE_RESULT_NULL_ARGUMENT);
    rm_tree(dir);
}

void test_default_options_open_a_database_with_its_sweeper(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *e = NULL;
    /* NULL options: every default, the background sweeper included. */
    REQUIRE_OK(sessile_engine_open(S(dir), NULL, &e));
    int64_t now = 0;
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now > T0);
    CHECK_RC(sessile_engine_advance_clock(e, 1000), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("manual_clock"));
    CHECK_RC(sessile_engine_set_clock(e, 0), SESSILE_RESULT_INVALID_ARGUMENT);
    /* Freeing without closing stops the sweeper and flushes as well. */
    sessile_engine_free(e);
    rm_tree(dir);
}

void test_one_directory_is_shared_within_a_process(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *a = NULL, *b = NULL;
    REQUIRE_OK(open_disk(dir, &a));
    CHECK_OK(open_disk(dir, &b));
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(a, DATA, sizeof DATA, DEFAULT_EXPIRY, 0, &key));
    bool exists = false;
    CHECK_OK(sessile_store_exists(b, (const char *)sessile_buf_data(key), sessile_buf_len(key),
                                  &exists));
    CHECK(exists);
    sessile_buf_free(key);
    sessile_engine_free(a);
    sessile_engine_free(b);
    rm_tree(dir);
}

void test_a_directory_held_elsewhere_is_locked(void) {
    char dir[256], lock[300];
    make_temp_dir(dir, sizeof dir);
    /* sessile holds an exclusive flock on <dir>/sessile.lock while open;
     * another process would hold it the same way. */
    snprintf(lock, sizeof lock, "%s/sessile.lock", dir);
    int fd = open(lock, O_CREAT | O_RDWR, 0600);
    CHECK(fd >= 0);
    CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
    /* The holder writes its pid there, as sessile does. */
    CHECK(write(fd, "4242\n", 5) == 5);
    sessile_engine *e = SENTINEL;
    CHECK_RC(open_disk(dir, &e), SESSILE_RESULT_LOCKED);
    CHECK(e == SENTINEL);
    /* What a second gunicorn worker logs: who holds it, and what to do. */
    CHECK(last_error_has("locked"));
    CHECK(last_error_has("(pid 4242)"));
    CHECK(last_error_has("one process at a time"));
    CHECK(last_error_has("redis://"));
    CHECK(last_error_has("one worker with threads"));
    close(fd);
    e = NULL;
    CHECK_OK(open_disk(dir, &e));
    sessile_engine_free(e);
    rm_tree(dir);
}

void test_a_forked_child_cannot_use_the_parents_engine(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *e = NULL;
    REQUIRE_OK(open_disk(dir, &e));
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(e, DATA, sizeof DATA, DEFAULT_EXPIRY, 0, &key));
    REQUIRE_OK(key ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    const char *k = (const char *)sessile_buf_data(key);
    /* The verdict comes back through a pipe, not the exit status: under
     * valgrind the child's exit status reports the parent's memory it
     * inherited and never frees. */
    int fds[2];
    REQUIRE_OK(pipe(fds) == 0 ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child: the parent's engine refuses, with a message. */
        bool exists = true;
        sessile_result rc = sessile_store_exists(e, k, sessile_buf_len(key), &exists);
        char verdict = rc == SESSILE_RESULT_FORKED && exists && last_error_has("fork") ? 'Y' : 'N';
        ssize_t n = write(fds[1], &verdict, 1);
        _exit(n == 1 ? 0 : 1);
    }
    CHECK(pid > 0);
    close(fds[1]);
    char verdict = '?';
    CHECK(read(fds[0], &verdict, 1) == 1);
    close(fds[0]);
    CHECK(verdict == 'Y');
    int status = -1;
    CHECK(waitpid(pid, &status, 0) == pid);
    /* The parent is unharmed. */
    bool exists = false;
    CHECK_OK(sessile_store_exists(e, k, sessile_buf_len(key), &exists));
    CHECK(exists);
    sessile_buf_free(key);
    sessile_engine_free(e);
    rm_tree(dir);
}

/* What a prefork worker does after the fork: open an engine on a directory
 * of its own, create a session durably, flush, read it back, close. Returns
 * 'Y' when every step succeeded, or the letter of the step that failed. */
static char worker_uses_its_own_engine(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *e = NULL;
    if (open_disk(dir, &e) != SESSILE_RESULT_OK) return 'o';
    sessile_buf *key = NULL;
    char verdict = 'Y';
    bool exists = false;
    if (sessile_store_create(e, DATA, sizeof DATA, DEFAULT_EXPIRY, SESSILE_SAVE_DURABLE, &key) !=
        SESSILE_RESULT_OK)
        verdict = 'c';
    else if (sessile_engine_flush(e) != SESSILE_RESULT_OK)
        verdict = 'f';
    else if (sessile_store_exists(e, (const char *)sessile_buf_data(key), sessile_buf_len(key),
                                  &exists) != SESSILE_RESULT_OK ||
             !exists)
        verdict = 'r';
    else if (sessile_engine_close(e) != SESSILE_RESULT_OK)
        verdict = 'x';
    sessile_buf_free(key);
    sessile_engine_free(e);
    rm_tree(dir);
    return verdict;
}

/* Forks a worker and returns its verdict, or 'H' when it has not finished
 * within a minute (it is then killed): a bound on a hang, not a timing
 * check. The verdict comes through a pipe (see the test above). */
static char fork_a_worker(void) {
#ifdef __SANITIZE_ADDRESS__
    /* GCC 12's AddressSanitizer does not hold its allocator's locks across
     * fork, so a child forked while another thread allocates can wait
     * forever inside malloc, whatever the library does. These tests run
     * under valgrind (make test-c runs both) and in tests/fork_workers.rs. */
    static bool told;
    if (!told) fprintf(stderr, "    skipped under ASan (its allocator is not fork-safe): runs under valgrind\n");
    told = true;
    return 'Y';
#endif
    int fds[2];
    if (pipe(fds) != 0) return 'p';
    pid_t pid = fork();
    if (pid == 0) {
        char verdict = worker_uses_its_own_engine();
        ssize_t n = write(fds[1], &verdict, 1);
        _exit(n == 1 ? 0 : 1);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return 'p';
    }
    char verdict = '?';
    for (int waited_ms = 0;; waited_ms += 10) {
        if (waitpid(pid, NULL, WNOHANG) == pid) break;
        if (waited_ms >= 60000) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            verdict = 'H';
            break;
        }
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    if (verdict != 'H' && read(fds[0], &verdict, 1) != 1) verdict = '?';
    close(fds[0]);
    return verdict;
}

/* 'Y', or the failed step's letter in the failure message. */
#define CHECK_WORKER()                                                   \
    do {                                                                 \
        char verdict_ = fork_a_worker();                                 \
        if (verdict_ != 'Y') fprintf(stderr, "    worker verdict: %c\n", verdict_); \
        CHECK(verdict_ == 'Y');                                          \
    } while (0)

void test_a_worker_forked_after_a_durable_write_opens_its_own_engine(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *e = NULL;
    REQUIRE_OK(open_disk(dir, &e));
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(e, DATA, sizeof DATA, DEFAULT_EXPIRY, SESSILE_SAVE_DURABLE, &key));
    CHECK_WORKER();
    /* The parent goes on. */
    CHECK_OK(sessile_engine_flush(e));
    sessile_buf_free(key);
    sessile_engine_free(e);
    rm_tree(dir);
}

void test_a_worker_forked_after_the_parent_closed_its_engine_opens_its_own(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    sessile_engine *e = NULL;
    REQUIRE_OK(open_disk(dir, &e));
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(e, DATA, sizeof DATA, DEFAULT_EXPIRY, SESSILE_SAVE_DURABLE, &key));
    CHECK_OK(sessile_engine_close(e));
    sessile_engine_free(e);
    sessile_buf_free(key);
    CHECK_WORKER();
    rm_tree(dir);
}

struct writer {
    sessile_engine *engine;
    volatile int stop;
    int failures;
};

static void *keep_writing(void *arg) {
    struct writer *w = arg;
    for (unsigned n = 0; !w->stop; n++) {
        sessile_buf *key = NULL;
        uint32_t flags = n % 2 ? SESSILE_SAVE_DURABLE : 0;
        if (sessile_store_create(w->engine, DATA, sizeof DATA, DEFAULT_EXPIRY, flags, &key) !=
            SESSILE_RESULT_OK)
            w->failures++;
        sessile_buf_free(key);
    }
    return NULL;
}

void test_workers_forked_while_the_parent_writes_open_their_own_engines(void) {
    char dir[256];
    make_temp_dir(dir, sizeof dir);
    struct writer w = {NULL, 0, 0};
    REQUIRE_OK(open_disk(dir, &w.engine));
    pthread_t writers[2];
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&writers[t], NULL, keep_writing, &w) == 0);
    for (int i = 0; i < 4; i++) CHECK_WORKER();
    w.stop = 1;
    for (int t = 0; t < 2; t++) CHECK(pthread_join(writers[t], NULL) == 0);
    CHECK(w.failures == 0);
    sessile_engine_free(w.engine);
    rm_tree(dir);
}

void test_unusable_paths_are_errors(void) {
    char dir[256], file[300];
    make_temp_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/plain-file", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    char under_file[400];
    snprintf(under_file, sizeof under_file, "%s/db", file);
    sessile_engine *e = SENTINEL;
    CHECK_RC(open_disk(under_file, &e), SESSILE_RESULT_IO);
    CHECK(e == SENTINEL);
    CHECK_RC(sessile_engine_open(NULL, 0, NULL, &e), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_engine_open("", 0, NULL, &e), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(e == SENTINEL);
    rm_tree(dir);
}

void test_a_file_or_a_project_folder_is_not_a_database(void) {
    char dir[256], file[300], lock[300];
    make_temp_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/manage.py", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    sessile_engine *e = SENTINEL;
    CHECK_RC(open_disk(file, &e), SESSILE_RESULT_NOT_A_DATABASE);
    CHECK(last_error_has("is not a sessile database"));
    /* The folder holding it: nothing is created there. */
    CHECK_RC(open_disk(dir, &e), SESSILE_RESULT_NOT_A_DATABASE);
    CHECK(last_error_has("is not a sessile database"));
    CHECK(e == SENTINEL);
    snprintf(lock, sizeof lock, "%s/sessile.lock", dir);
    CHECK(access(lock, F_OK) != 0);
    /* An empty directory becomes one. */
    remove(file);
    e = NULL;
    CHECK_OK(open_disk(dir, &e));
    sessile_engine_free(e);
    rm_tree(dir);
}

void test_the_manual_clock_moves_only_when_told(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    int64_t now = 0;
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == T0);
    CHECK_OK(sessile_engine_advance_clock(e, 1500));
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == T0 + 1500);
    CHECK_OK(sessile_engine_advance_clock(e, -500));
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == T0 + 1000);
    CHECK_OK(sessile_engine_set_clock(e, 42));
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == 42);
    sessile_engine_free(e);
}

void test_the_manual_clock_stops_at_its_ends(void) {
    const int64_t last = INT64_C(253402300799999); /* the end of 9999 */
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    int64_t now = 0;
    /* Moves saturate instead of wrapping. */
    CHECK_OK(sessile_engine_advance_clock(e, INT64_MAX));
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == last);
    CHECK_OK(sessile_engine_advance_clock(e, INT64_MAX));
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == last);
    CHECK_OK(sessile_engine_advance_clock(e, INT64_MIN));
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == 0);
    /* Setting it outside the range is refused and changes nothing. */
    CHECK_OK(sessile_engine_set_clock(e, T0));
    CHECK_RC(sessile_engine_set_clock(e, INT64_MIN), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("now_ms"));
    CHECK_RC(sessile_engine_set_clock(e, -1), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_engine_set_clock(e, last + 1), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_OK(sessile_engine_now(e, &now));
    CHECK(now == T0);
    CHECK_OK(sessile_engine_set_clock(e, last));
    sessile_options *o = NULL;
    REQUIRE_OK(sessile_options_new(&o));
    CHECK_RC(sessile_options_set_manual_clock(o, INT64_MIN), SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(last_error_has("start_ms"));
    sessile_options_free(o);
    sessile_engine_free(e);
}

void test_clear_expired_counts_what_it_deletes(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_expiry soon = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    sessile_expiry later = {SESSILE_EXPIRY_KIND_SECONDS, 600};
    sessile_buf *k1 = NULL, *k2 = NULL, *k3 = NULL;
    CHECK_OK(sessile_store_create(e, NULL, 0, soon, 0, &k1));
    CHECK_OK(sessile_store_create(e, NULL, 0, soon, 0, &k2));
    CHECK_OK(sessile_store_create(e, NULL, 0, later, 0, &k3));
    uint64_t removed = 99;
    CHECK_OK(sessile_engine_clear_expired(e, &removed));
    CHECK(removed == 0);
    CHECK_OK(sessile_engine_advance_clock(e, 61 * 1000));
    CHECK_OK(sessile_engine_clear_expired(e, &removed));
    CHECK(removed == 2);
    bool exists = false;
    CHECK_OK(sessile_store_exists(e, (const char *)sessile_buf_data(k3), SESSILE_KEY_LEN, &exists));
    CHECK(exists);
    sessile_buf_free(k1);
    sessile_buf_free(k2);
    sessile_buf_free(k3);
    sessile_engine_free(e);
}

void test_a_closed_engine_answers_closed(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *before = NULL;
    CHECK_OK(sessile_session_new(e, &before));
    CHECK_OK(sessile_engine_close(e));

    const char *key = "abcdefghijklmnopqrstuvwxyz012345";
    sessile_session *s = SENTINEL;
    sessile_buf *b = SENTINEL;
    sessile_expiry ex = {SESSILE_EXPIRY_KIND_KEEP, 0};
    int64_t i64 = 7;
    uint64_t u64 = 7;
    bool yes = false;
    CHECK_RC(sessile_engine_close(e), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_engine_flush(e), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_engine_clear_expired(e, &u64), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_engine_now(e, &i64), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_engine_advance_clock(e, 1), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_engine_set_clock(e, 1), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_new(e, &s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_session_open(e, S(key), &s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_request_begin(e, NULL, 0, &s), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_load(e, S(key), &b, &ex, &i64), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_exists(e, S(key), &yes), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_create(e, NULL, 0, ex, 0, &b), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_save(e, S(key), NULL, 0, ex, 0), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_save_delta(e, S(key), NULL, 0, NULL, 0, ex, 0), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_touch(e, S(key), ex), SESSILE_RESULT_CLOSED);
    CHECK_RC(sessile_store_delete(e, S(key)), SESSILE_RESULT_CLOSED);
    CHECK(s == SENTINEL && b == SENTINEL && i64 == 7 && u64 == 7 && !yes);
    CHECK(last_error_has("closed"));

    /* A session made before the close keeps working, and is freed apart. */
    CHECK_OK(sessile_session_set_json(before, S("still"), S("true")));
    CHECK_OK(sessile_session_save(before, 0));
    sessile_session_free(before);
    sessile_engine_free(e);
}

void test_sessions_outlive_a_freed_engine(void) {
    sessile_engine *e = memory_engine();
    REQUIRE_OK(e ? SESSILE_RESULT_OK : SESSILE_RESULT_IO);
    sessile_session *s = NULL;
    REQUIRE_OK(sessile_session_new(e, &s));
    sessile_engine_free(e);
    CHECK_OK(sessile_session_set_json(s, S("a"), S("1")));
    CHECK_OK(sessile_session_save(s, 0));
    sessile_buf *json = NULL;
    CHECK_OK(sessile_session_get_json(s, S("a"), &json));
    CHECK(buf_is_str(json, "1"));
    sessile_buf_free(json);
    sessile_session_free(s);
}

void test_a_redis_url_opens_a_shared_store(void) {
    /* Nothing listens on port 1: the connection is refused at once, and
     * the open fails with its own code instead of hanging. */
    sessile_engine *e = SENTINEL;
    CHECK_RC(sessile_engine_open(S("redis://127.0.0.1:1/0"), NULL, &e), SESSILE_RESULT_UNAVAILABLE);
    CHECK(e == SENTINEL);
    CHECK(last_error_has("unavailable") && last_error_has("redis://127.0.0.1:1/0"));
    CHECK_RC(sessile_engine_open(S("ftp://example.org/x"), NULL, &e),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK_RC(sessile_engine_open(S("redis://127.0.0.1:1/0?timeout_ms=0"), NULL, &e),
             SESSILE_RESULT_INVALID_ARGUMENT);
    CHECK(e == SENTINEL);
    REQUIRE_OK(sessile_engine_open(S("memory:"), NULL, &e));
    sessile_engine_free(e);

    /* Set by tests/with-redis-server, which `make test-c` runs the suite
     * under: a missing server is a failure, not a skip. */
    const char *base = getenv("SESSILE_TEST_REDIS_URL");
    if (base == NULL) {
        h_fail(__FILE__, __LINE__,
               "SESSILE_TEST_REDIS_URL is not set: run `make test-c` from the repository root");
        return;
    }
    /* A prefix of its own, so the ASan and valgrind runs never meet. */
    char url[300];
    snprintf(url, sizeof url, "%s?prefix=c-test-%ld:", base, (long)getpid());
    sessile_engine *a = NULL, *b = NULL;
    REQUIRE_OK(sessile_engine_open(S(url), NULL, &a));
    REQUIRE_OK(sessile_engine_open(S(url), NULL, &b));
    sessile_buf *key = NULL;
    CHECK_OK(sessile_store_create(a, DATA, sizeof DATA, DEFAULT_EXPIRY, 0, &key));
    /* Another engine on the same URL (another process, in real life) sees it. */
    sessile_buf *data = NULL;
    sessile_expiry expiry;
    int64_t at = 0;
    if (key) {
        CHECK_OK(sessile_store_load(b, (const char *)sessile_buf_data(key), sessile_buf_len(key),
                                    &data, &expiry, &at));
        CHECK(buf_is(data, DATA, sizeof DATA));
        CHECK_OK(sessile_store_delete(b, (const char *)sessile_buf_data(key), sessile_buf_len(key)));
    }
    sessile_buf_free(data);
    sessile_buf_free(key);
    CHECK_OK(sessile_engine_close(a));
    sessile_engine_free(a);
    sessile_engine_free(b);
}
