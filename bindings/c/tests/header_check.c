/* The header on its own compiles as strict C11, with and without the
 * test hooks, and defines what it promises. */
#include "sessile.h"

#ifndef SESSILE_VERSION_MAJOR
#error "SESSILE_VERSION_MAJOR missing"
#endif
#ifndef SESSILE_ABI_VERSION
#error "SESSILE_ABI_VERSION missing"
#endif

int sessile_header_check(void);
int sessile_header_check(void) {
    return SESSILE_VERSION_NUMBER >= 0 && SESSILE_KEY_LEN == 32;
}
