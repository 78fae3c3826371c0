/*
 * Smoke test of examples/http_server.c: starts it on an ephemeral port of
 * 127.0.0.1, walks one visitor through counting, login, a failing page and
 * logout, as a browser would (keeping the cookie it is given), and checks
 * each response. Usage: example_client SERVER DB_DIR
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define REQUESTS_STR "9"

static int port;
static char cookie[128]; /* "sessionid=<key>", or "" */
static int failures;

struct response {
    int status;
    char set_cookie[512];
    char body[512];
};

static bool fetch(const char *method, const char *path, const char *body, struct response *r) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)port);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        if (fd >= 0) close(fd);
        return false;
    }
    char req[1024];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, path);
    if (cookie[0]) n += snprintf(req + n, sizeof req - (size_t)n, "Cookie: theme=dark; %s\r\n", cookie);
    n += snprintf(req + n, sizeof req - (size_t)n, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return false;
    }
    char buf[4096];
    size_t used = 0;
    ssize_t got;
    while (used < sizeof buf - 1 && (got = read(fd, buf + used, sizeof buf - 1 - used)) > 0) {
        used += (size_t)got;
    }
    buf[used] = 0;
    close(fd);
    memset(r, 0, sizeof *r);
    if (sscanf(buf, "HTTP/1.1 %d", &r->status) != 1) return false;
    const char *sc = strstr(buf, "\r\nSet-Cookie: ");
    if (sc) {
        sc += 14;
        snprintf(r->set_cookie, sizeof r->set_cookie, "%.*s", (int)strcspn(sc, "\r"), sc);
    }
    const char *b = strstr(buf, "\r\n\r\n");
    if (b) snprintf(r->body, sizeof r->body, "%s", b + 4);
    /* A browser keeps the cookie it is given, and drops a deleted one. */
    if (r->set_cookie[0]) {
        if (strstr(r->set_cookie, "Max-Age=0")) cookie[0] = 0;
        else snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(r->set_cookie, ";"), r->set_cookie);
    }
    return true;
}

#define EXPECT(cond)                                                       \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "example_client.c:%d: %s\n", __LINE__, #cond); \
            failures++;                                                    \
        }                                                                  \
    } while (0)

static void visit(void) {
    struct response r;
    char first_key[128];

    EXPECT(fetch("GET", "/", "", &r));
    EXPECT(r.status == 200 && strstr(r.body, "Hello, anonymous! Visits: 1"));
    EXPECT(strstr(r.set_cookie, "sessionid=") && strstr(r.set_cookie, "HttpOnly"));
    snprintf(first_key, sizeof first_key, "%s", cookie);

    EXPECT(fetch("GET", "/", "", &r));
    EXPECT(r.status == 200 && strstr(r.body, "Visits: 2"));

    EXPECT(fetch("POST", "/login", "username=alice", &r));
    EXPECT(r.status == 303);
    /* Login cycles the key; the data comes along. */
    EXPECT(cookie[0] && strcmp(cookie, first_key) != 0);
    EXPECT(fetch("GET", "/", "", &r));
    EXPECT(strstr(r.body, "Hello, alice! Visits: 3"));

    /* A 500 saves nothing and sets no cookie. */
    EXPECT(fetch("GET", "/boom", "", &r));
    EXPECT(r.status == 500 && r.set_cookie[0] == 0);
    EXPECT(fetch("GET", "/", "", &r));
    EXPECT(strstr(r.body, "Visits: 4"));

    EXPECT(fetch("POST", "/logout", "", &r));
    EXPECT(r.status == 303 && strstr(r.set_cookie, "Max-Age=0") && cookie[0] == 0);
    EXPECT(fetch("GET", "/", "", &r));
    EXPECT(strstr(r.body, "Hello, anonymous! Visits: 1"));

    /* The old, pre-login key names nothing any more. */
    snprintf(cookie, sizeof cookie, "%s", first_key);
    EXPECT(fetch("GET", "/", "", &r));
    EXPECT(strstr(r.body, "Hello, anonymous! Visits: 1"));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: example_client SERVER DB_DIR\n");
        return 2;
    }
    int out[2];
    if (pipe(out) != 0) return 2;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(argv[1], argv[1], "--port", "0", "--db", argv[2], "--max-requests", REQUESTS_STR, (char *)NULL);
        perror("exec");
        _exit(127);
    }
    close(out[1]);
    FILE *server_out = fdopen(out[0], "r");
    char line[256];
    if (server_out == NULL || fgets(line, sizeof line, server_out) == NULL ||
        sscanf(line, "listening on http://127.0.0.1:%d/", &port) != 1) {
        fprintf(stderr, "the server did not start\n");
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        return 1;
    }
    visit();
    if (failures) kill(pid, SIGTERM);
    /* The server stops by itself after REQUESTS_STR requests; show its log. */
    while (fgets(line, sizeof line, server_out)) printf("  server: %s", line);
    fclose(server_out);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the server exited abnormally\n");
        failures++;
    }
    printf("example: %s\n", failures ? "FAILED" : "login/counter/logout flow works");
    return failures ? 1 : 0;
}
