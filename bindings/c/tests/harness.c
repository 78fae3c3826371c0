#include "harness.h"

#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

int h_failed;

void h_fail(const char *file, int line, const char *what) {
    h_failed = 1;
    fprintf(stderr, "    %s:%d: CHECK failed: %s\n", file, line, what);
}

void h_fail_rc(const char *file, int line, const char *call, sessile_result got,
               sessile_result want) {
    char msg[512];
    h_failed = 1;
    sessile_last_error_message(msg, sizeof msg);
    fprintf(stderr, "    %s:%d: %s\n      returned %s, want %s (last error: %s)\n", file, line,
            call, sessile_result_name(got), sessile_result_name(want), msg);
}

bool buf_is(const sessile_buf *buf, const void *want, size_t len) {
    const uint8_t *data = sessile_buf_data(buf);
    return buf != NULL && sessile_buf_len(buf) == len && memcmp(data, want, len) == 0 &&
           data[len] == 0;
}

bool buf_is_str(const sessile_buf *buf, const char *want) {
    return buf_is(buf, want, strlen(want));
}

bool buf_has(const sessile_buf *buf, const char *needle) {
    return buf != NULL && strstr((const char *)sessile_buf_data(buf), needle) != NULL;
}

bool last_error_has(const char *needle) {
    char msg[1024];
    sessile_last_error_message(msg, sizeof msg);
    return strstr(msg, needle) != NULL;
}

void make_temp_dir(char *out, size_t out_len) {
    const char *base = getenv("TMPDIR");
    snprintf(out, out_len, "%s/sessile-c-XXXXXX", base && *base ? base : "/tmp");
    if (mkdtemp(out) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void rm_tree(const char *path) {
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

sessile_engine *memory_engine_with(void (*tweak)(sessile_options *)) {
    sessile_options *opts = NULL;
    sessile_engine *engine = NULL;
    if (sessile_options_new(&opts) != SESSILE_RESULT_OK) return NULL;
    sessile_options_set_memory(opts, true);
    sessile_options_set_manual_clock(opts, T0);
    sessile_options_set_reaper_interval_ms(opts, 0);
    if (tweak) tweak(opts);
    sessile_result rc = sessile_engine_open(NULL, 0, opts, &engine);
    sessile_options_free(opts);
    return rc == SESSILE_RESULT_OK ? engine : NULL;
}

sessile_engine *memory_engine(void) {
    return memory_engine_with(NULL);
}

bool is_key(const sessile_buf *key) {
    if (key == NULL || sessile_buf_len(key) != SESSILE_KEY_LEN) return false;
    const uint8_t *k = sessile_buf_data(key);
    for (size_t i = 0; i < SESSILE_KEY_LEN; i++) {
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9'))) return false;
    }
    return k[SESSILE_KEY_LEN] == 0;
}
