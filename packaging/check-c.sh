#!/usr/bin/env bash
# `make dist-check`, C part: the tarball of `make dist`, used as a C user
# uses it, with this repository's target/ out of reach. It guards what a C
# developer meets: the tarball unpacks into a prefix; `pkg-config --cflags
# --libs sessile` builds a program against it (shared: the program needs
# libsessile.so.<major>, the library's SONAME; static: libsessile.a with
# the pkg-config file's private libraries); the program runs a login and a
# visit with a cookie; the bundled CLI reads what it wrote.
#
# Usage: packaging/check-c.sh DIST_DIR
set -euo pipefail
dist=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball=$(ls "$dist"/sessile-*-linux-*.tar.gz)
cp "$tarball" "$work/"
cd "$work"
major=$(basename "$tarball" | sed -n 's/^sessile-\([0-9]*\)\..*/\1/p')

# The install line of the README's C section.
prefix=$work/prefix
mkdir -p "$prefix"
tar -xzf sessile-*-linux-*.tar.gz -C "$prefix" --strip-components=1

soname=$(readelf -d "$prefix/lib/libsessile.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = "libsessile.so.$major" ] || { echo "SONAME is '$soname', want libsessile.so.$major" >&2; exit 1; }
if readelf -S "$prefix/lib/libsessile.a" 2>/dev/null | grep -q '\.debug_info'; then
  echo "libsessile.a carries debug info" >&2; exit 1
fi

cat > smoke.c <<'C'
#include <sessile.h>
#include <stdio.h>
#include <string.h>

#define OK(call) do { sessile_result r_ = (call); if (r_ != SESSILE_RESULT_OK) { \
    fprintf(stderr, "%s: %s\n", #call, sessile_result_name(r_)); return 1; } } while (0)

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    if (strcmp(sessile_version(), SESSILE_VERSION_STRING) != 0) return 3;
    sessile_engine *e = NULL;
    OK(sessile_engine_open(argv[1], strlen(argv[1]), NULL, &e));
    /* A visitor logs in. */
    sessile_session *s = NULL;
    OK(sessile_request_begin(e, NULL, 0, &s));
    OK(sessile_session_cycle_key(s));
    OK(sessile_session_set_json(s, "user", 4, "\"alice\"", 7));
    sessile_buf *set_cookie = NULL;
    uint32_t flags = 0;
    OK(sessile_request_end(s, 200, &set_cookie, &flags));
    sessile_session_free(s);
    char cookie[128];
    snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn((const char *)sessile_buf_data(set_cookie), ";"),
             (const char *)sessile_buf_data(set_cookie));
    sessile_buf_free(set_cookie);
    /* The next request carries the cookie back. */
    OK(sessile_request_begin(e, cookie, strlen(cookie), &s));
    sessile_buf *user = NULL;
    OK(sessile_session_get_json(s, "user", 4, &user));
    int ok = strcmp((const char *)sessile_buf_data(user), "\"alice\"") == 0;
    sessile_buf_free(user);
    sessile_session_free(s);
    OK(sessile_engine_flush(e));
    sessile_engine_free(e);
    printf("%s\n", ok ? "alice is logged in" : "wrong user");
    return ok ? 0 : 4;
}
C
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror smoke.c $(pkg-config --cflags --libs sessile) -o smoke_shared
readelf -d smoke_shared | grep -q "NEEDED.*\[libsessile.so.$major\]" \
  || { echo "the program does not need libsessile.so.$major" >&2; exit 1; }
LD_LIBRARY_PATH=$prefix/lib ./smoke_shared "$work/shared.db"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror smoke.c $(pkg-config --cflags sessile) "$prefix/lib/libsessile.a" \
  $(pkg-config --static --libs-only-l sessile | sed 's/-lsessile//') -o smoke_static
./smoke_static "$work/static.db"
key=$("$prefix/bin/sessile" list --db "$work/static.db" | cut -f1)
"$prefix/bin/sessile" get "$key" --db "$work/static.db" | grep -q '"user": *"alice"' \
  || { echo "sessile get does not show what the program stored" >&2; exit 1; }
echo "C: tarball ok ($(du -h "$tarball" | cut -f1), SONAME $soname)"
