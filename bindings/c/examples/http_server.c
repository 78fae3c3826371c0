/*
 * A tiny HTTP server on 127.0.0.1 that keeps its visitors' sessions in
 * sessile: the counter / login / logout flow of a typical Django tutorial,
 * with every cookie decision taken by sessile's request helpers
 * (sessile_request_begin with the Cookie header, sessile_request_end with
 * the response status, which returns the Set-Cookie header to send).
 *
 *   GET  /                 "Hello, <user or anonymous>! Visits: N" (counts)
 *   POST /login            body "username=NAME": logs in (new session key)
 *   GET  /login?username=NAME   the same, for a browser's address bar
 *   POST /logout (or GET)  flushes the session; the cookie is deleted
 *   GET  /boom             counts, then fails with 500: nothing is saved
 *
 * Build and run (see README.md):
 *   cc -std=c11 http_server.c $(pkg-config --cflags --libs sessile) -o server
 *   ./server --port 8000 --db ./sessions.db
 *
 * One request per connection, one connection at a time: an example, not a
 * production server.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sessile.h>

#define MAX_REQUEST 16384

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static void fail(const char *what, sessile_result rc) {
    char msg[512];
    sessile_last_error_message(msg, sizeof msg);
    fprintf(stderr, "%s: %s: %s\n", what, sessile_result_name(rc), msg);
}

struct request {
    char method[8];
    char path[512];
    char query[512];
    const char *cookie; /* value of the Cookie header, or NULL */
    size_t cookie_len;
    const char *body;
    size_t body_len;
};

/* Finds header `name` (case-insensitive) in the header block. */
static const char *find_header(const char *headers, const char *end, const char *name,
                               size_t *len) {
    size_t n = strlen(name);
    for (const char *line = headers; line < end;) {
        const char *eol = strstr(line, "\r\n");
        if (eol == NULL || eol > end) eol = end;
        if ((size_t)(eol - line) > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            *len = (size_t)(eol - v);
            return v;
        }
        line = eol + 2;
    }
    return NULL;
}

/* Reads one request into buf; returns false on a malformed one. */
static bool read_request(int fd, char *buf, size_t cap, struct request *req) {
    size_t used = 0;
    char *head_end = NULL;
    while (head_end == NULL) {
        if (used == cap - 1) return false;
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n <= 0) return false;
        used += (size_t)n;
        buf[used] = 0;
        head_end = strstr(buf, "\r\n\r\n");
    }
    char target[512];
    if (sscanf(buf, "%7s %511s", req->method, target) != 2) return false;
    char *q = strchr(target, '?');
    snprintf(req->query, sizeof req->query, "%s", q ? q + 1 : "");
    if (q) *q = 0;
    snprintf(req->path, sizeof req->path, "%s", target);
    const char *headers = strstr(buf, "\r\n") + 2;
    req->cookie = find_header(headers, head_end, "Cookie", &req->cookie_len);
    size_t cl_len = 0;
    const char *cl = find_header(headers, head_end, "Content-Length", &cl_len);
    size_t want = cl ? (size_t)strtoul(cl, NULL, 10) : 0;
    char *body = head_end + 4;
    while ((size_t)(buf + used - body) < want) {
        if (used == cap - 1) return false;
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n <= 0) return false;
        used += (size_t)n;
        buf[used] = 0;
    }
    req->body = body;
    req->body_len = want;
    return true;
}

/* The value of `name` in an application/x-www-form-urlencoded string
 * (letters and digits only, which is all this example accepts). */
static bool form_value(const char *form, size_t len, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = form; p < form + len;) {
        const char *amp = memchr(p, '&', (size_t)(form + len - p));
        const char *end = amp ? amp : form + len;
        if ((size_t)(end - p) > n && strncmp(p, name, n) == 0 && p[n] == '=') {
            size_t i = 0;
            for (const char *c = p + n + 1; c < end && i + 1 < cap; c++) {
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
                    out[i++] = *c;
            }
            out[i] = 0;
            return i > 0;
        }
        p = end + 1;
    }
    return false;
}

/* Reads an integer session value (JSON), 0 when absent. */
static long get_int(sessile_session *s, const char *key) {
    sessile_buf *v = NULL;
    long n = 0;
    if (sessile_session_get_json(s, key, strlen(key), &v) == SESSILE_RESULT_OK) {
        n = strtol((const char *)sessile_buf_data(v), NULL, 10);
        sessile_buf_free(v);
    }
    return n;
}

static sessile_result count_visit(sessile_session *s) {
    char json[32];
    snprintf(json, sizeof json, "%ld", get_int(s, "visits") + 1);
    return sessile_session_set_json(s, "visits", 6, json, strlen(json));
}

/* Runs the view for one request. Sets *status, the body, and *location for
 * redirects. */
static sessile_result view(sessile_session *s, const struct request *req, int *status, char *body,
                           size_t cap, const char **location) {
    sessile_result rc = SESSILE_RESULT_OK;
    char user[64];
    *location = NULL;
    if (strcmp(req->path, "/") == 0) {
        if ((rc = count_visit(s)) != SESSILE_RESULT_OK) return rc;
        /* The name is a JSON string of letters and digits: drop the quotes. */
        sessile_buf *name = NULL;
        if (sessile_session_get_json(s, "user", 4, &name) == SESSILE_RESULT_OK) {
            snprintf(body, cap, "Hello, %.*s! Visits: %ld\n", (int)sessile_buf_len(name) - 2,
                     (const char *)sessile_buf_data(name) + 1, get_int(s, "visits"));
        } else {
            snprintf(body, cap, "Hello, anonymous! Visits: %ld\n", get_int(s, "visits"));
        }
        sessile_buf_free(name);
        *status = 200;
    } else if (strcmp(req->path, "/login") == 0) {
        bool post = strcmp(req->method, "POST") == 0;
        bool ok = post ? form_value(req->body, req->body_len, "username", user, sizeof user)
                       : form_value(req->query, strlen(req->query), "username", user, sizeof user);
        if (!ok) {
            *status = 400;
            snprintf(body, cap, "username missing\n");
            return SESSILE_RESULT_OK;
        }
        /* Django's login(): a new key against session fixation. */
        if ((rc = sessile_session_cycle_key(s)) != SESSILE_RESULT_OK) return rc;
        char json[80];
        snprintf(json, sizeof json, "\"%s\"", user);
        if ((rc = sessile_session_set_json(s, "user", 4, json, strlen(json))) != SESSILE_RESULT_OK)
            return rc;
        *status = 303;
        *location = "/";
        snprintf(body, cap, "logged in\n");
    } else if (strcmp(req->path, "/logout") == 0) {
        /* Django's logout(): flush, so the cookie is deleted. */
        if ((rc = sessile_session_flush(s)) != SESSILE_RESULT_OK) return rc;
        *status = 303;
        *location = "/";
        snprintf(body, cap, "logged out\n");
    } else if (strcmp(req->path, "/boom") == 0) {
        if ((rc = count_visit(s)) != SESSILE_RESULT_OK) return rc;
        *status = 500;
        snprintf(body, cap, "something broke; this visit was not saved\n");
    } else {
        *status = 404;
        snprintf(body, cap, "not found\n");
    }
    return rc;
}

static const char *reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    default: return "Internal Server Error";
    }
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return;
        p += w;
        n -= (size_t)w;
    }
}

static void serve(sessile_engine *engine, int fd) {
    static char buf[MAX_REQUEST];
    struct request req;
    if (!read_request(fd, buf, sizeof buf, &req)) return;

    sessile_session *s = NULL;
    sessile_result rc = sessile_request_begin(engine, req.cookie, req.cookie ? req.cookie_len : 0, &s);
    if (rc != SESSILE_RESULT_OK) {
        fail("request_begin", rc);
        return;
    }
    int status = 500;
    char body[512];
    const char *location = NULL;
    rc = view(s, &req, &status, body, sizeof body, &location);
    if (rc != SESSILE_RESULT_OK) {
        fail("view", rc);
        status = 500;
        snprintf(body, sizeof body, "session error\n");
    }
    sessile_buf *set_cookie = NULL;
    uint32_t flags = 0;
    rc = sessile_request_end(s, (uint32_t)status, &set_cookie, &flags);
    if (rc == SESSILE_RESULT_SESSION_DELETED) {
        /* Django's SessionInterrupted: logged out elsewhere meanwhile. */
        status = 400;
        snprintf(body, sizeof body, "your session ended during this request\n");
    } else if (rc != SESSILE_RESULT_OK) {
        fail("request_end", rc);
        status = 500;
        snprintf(body, sizeof body, "session error\n");
    }
    sessile_session_free(s);

    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n",
                     status, reason(status), strlen(body));
    if (location) n += snprintf(head + n, sizeof head - (size_t)n, "Location: %s\r\n", location);
    if (flags & SESSILE_RESPONSE_VARY_COOKIE)
        n += snprintf(head + n, sizeof head - (size_t)n, "Vary: Cookie\r\n");
    write_all(fd, head, (size_t)n);
    if (set_cookie) {
        write_all(fd, "Set-Cookie: ", 12);
        write_all(fd, (const char *)sessile_buf_data(set_cookie), sessile_buf_len(set_cookie));
        write_all(fd, "\r\n", 2);
    }
    write_all(fd, "\r\n", 2);
    write_all(fd, body, strlen(body));
    printf("%s %s -> %d%s\n", req.method, req.path, status, set_cookie ? " (Set-Cookie)" : "");
    fflush(stdout);
    sessile_buf_free(set_cookie);
}

static void usage(void) {
    fprintf(stderr, "usage: server [--port N] [--db DIR | --memory] [--max-requests N]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int port = 8000;
    const char *db = "sessile-example.db";
    bool memory = false;
    long max_requests = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) db = argv[++i];
        else if (strcmp(argv[i], "--memory") == 0) memory = true;
        else if (strcmp(argv[i], "--max-requests") == 0 && i + 1 < argc) max_requests = atol(argv[++i]);
        else usage();
    }
    if (sessile_abi_version() != SESSILE_ABI_VERSION) {
        fprintf(stderr, "libsessile ABI %u, this program needs %u\n", sessile_abi_version(),
                SESSILE_ABI_VERSION);
        return 1;
    }

    sessile_options *options = NULL;
    sessile_engine *engine = NULL;
    sessile_result rc = sessile_options_new(&options);
    if (rc == SESSILE_RESULT_OK) rc = sessile_options_set_memory(options, memory);
    if (rc == SESSILE_RESULT_OK) rc = sessile_engine_open(db, strlen(db), options, &engine);
    sessile_options_free(options);
    if (rc != SESSILE_RESULT_OK) {
        fail("opening the session database", rc);
        return 1;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* 127.0.0.1 only */
    addr.sin_port = htons((uint16_t)port);
    socklen_t addr_len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, 16) != 0 || getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("listening on 127.0.0.1");
        sessile_engine_free(engine);
        return 1;
    }
    printf("listening on http://127.0.0.1:%d/ (sessile %s)\n", ntohs(addr.sin_port), sessile_version());
    fflush(stdout);

    for (long served = 0; !stopping && (max_requests == 0 || served < max_requests); served++) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            perror("accept");
            break;
        }
        serve(engine, fd);
        close(fd);
    }
    close(listener);
    rc = sessile_engine_close(engine);
    sessile_engine_free(engine);
    if (rc != SESSILE_RESULT_OK) {
        fail("closing the session database", rc);
        return 1;
    }
    return 0;
}
