// The header compiles as C++ and its functions link with C linkage.
#include <cstring>

#include "sessile.h"

static_assert(SESSILE_RESULT_OK == 0, "the result enum is usable from C++");
static_assert(sizeof(sessile_result) == 4, "a 32-bit enum, as in C");

int main() {
    const char *v = sessile_version();
    if (v == nullptr || std::strcmp(v, SESSILE_VERSION_STRING) != 0) return 1;
    if (sessile_abi_version() != SESSILE_ABI_VERSION) return 1;
    sessile_expiry e = {SESSILE_EXPIRY_KIND_SECONDS, 60};
    sessile_engine *engine = nullptr;
    sessile_options *options = nullptr;
    if (sessile_options_new(&options) != SESSILE_RESULT_OK) return 1;
    sessile_options_set_memory(options, true);
    sessile_result rc = sessile_engine_open(nullptr, 0, options, &engine);
    sessile_options_free(options);
    if (rc != SESSILE_RESULT_OK) return 1;
    sessile_buf *key = nullptr;
    rc = sessile_store_create(engine, nullptr, 0, e, 0, &key);
    bool ok = rc == SESSILE_RESULT_OK && sessile_buf_len(key) == SESSILE_KEY_LEN;
    sessile_buf_free(key);
    sessile_engine_free(engine);
    return ok ? 0 : 1;
}
