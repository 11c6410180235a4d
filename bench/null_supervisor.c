/* A null supervisor in C: bench/start_floor.py's NULL_SUPERVISOR, minus the interpreter. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
extern char **environ;
static char buf[1 << 16];
static size_t have;
static int frame(int c) { /* drop one length-prefixed frame */
    for (;;) {
        if (have >= 4) {
            uint32_t n; memcpy(&n, buf, 4); n = ntohl(n);
            if (have >= 4 + n) { memmove(buf, buf + 4 + n, have - 4 - n); have -= 4 + n; return 0; }
        }
        ssize_t r = recv(c, buf + have, sizeof buf - have, 0);
        if (r <= 0) return -1;
        have += (size_t)r;
    }
}
static void send_frame(int c, const char *body) {
    uint32_t n = htonl((uint32_t)strlen(body));
    char out[256]; memcpy(out, &n, 4); memcpy(out + 4, body, strlen(body));
    send(c, out, 4 + strlen(body), MSG_NOSIGNAL);
}
int main(int argc, char **argv) { /* rundir, then one command per argument, words split by 0x1f */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/control.sock", argv[1]);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0) return 1;
    char ready[4096]; snprintf(ready, sizeof ready, "%s/ready", argv[1]);
    close(open(ready, O_CREAT | O_WRONLY, 0644));
    int devnull = open("/dev/null", O_RDWR);
    posix_spawn_file_actions_t fa; posix_spawn_file_actions_init(&fa);
    for (int i = 0; i < 3; i++) posix_spawn_file_actions_adddup2(&fa, devnull, i);
    char **cmds[64]; int ncmd = 0;
    for (int i = 2; i < argc && ncmd < 64; i++) {
        char **w = calloc(64, sizeof *w); int k = 0;
        for (char *p = strtok(argv[i], "\x1f"); p && k < 63; p = strtok(NULL, "\x1f")) w[k++] = p;
        cmds[ncmd++] = w;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        have = 0;
        if (frame(c) < 0 || frame(c) < 0) { close(c); continue; }
        send_frame(c, "{\"type\":\"hello\",\"version\":1}");
        int ok = 1;
        for (int i = 0; i < ncmd && ok; i++) {
            pid_t pid;
            if (posix_spawn(&pid, cmds[i][0], &fa, NULL, cmds[i], environ) != 0) { ok = 0; break; }
            int st; pid_t got;
            do got = waitpid(-1, &st, 0); while (got != pid && got > 0);
            if (st) ok = 0;
        }
        send_frame(c, ok ? "{\"type\":\"response\",\"id\":1,\"ok\":true,\"result\":{}}"
                         : "{\"type\":\"response\",\"id\":1,\"ok\":false,\"result\":{}}");
        close(c);
    }
}
