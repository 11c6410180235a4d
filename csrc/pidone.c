/* pidone.c: the `pidone` command compiled: what bin/pidone (the /bin/sh launcher) does,
 * without a shell in front of every call.
 *
 * Why: bin/pidone costs a dash start-up (~0.9 ms here) before anything else runs, and the
 * job verbs' client (csrc/pidone-job.c) then answers in about as much again; compiled, the
 * job verbs are one exec, and every other verb one exec fewer on its way to Python.
 * setup.py installs this program as PREFIX/bin/pidone when it finds a C compiler, in place
 * of the script; without one the script is installed (docs/cli-launcher.md).
 *
 * It does what the script does, step by step:
 *  - $0: the path the caller gave execve(2), which the kernel passes to a script's
 *    interpreter as its $0 and to a program as the auxiliary vector's AT_EXECFN
 *    (getauxval(3)); not argv[0], which `exec -a` or a caller may set to anything and
 *    which a script never sees;
 *  - its directory, or `.` when $0 has no slash; `readlink -f` of $0 when $0 is a symbolic
 *    link (`pidone install-shims --symlink`: systemctl -> pidone keeps the name `systemctl`,
 *    which picks the face, and finds pidone-py beside the real file);
 *  - PIDONE_FAST_DECLINED set: unset it and take the Python path (an earlier client's
 *    hand-back); else, unless PIDONE_NO_FAST is set (even empty), the job verbs, is-active,
 *    is-failed and any first argument that is an option other than --version/-h/--help go
 *    to job_main() (csrc/pidone-job.c), which hands back to launch_python() before it
 *    connects whatever it does not do exactly as Python;
 *  - the Python path: `IFS= read -r line <pidone-py`, then by that first line: `#!python`
 *    (a source checkout's bin/, not installed) runs python3 from PATH with ../src first on
 *    PYTHONPATH; `#!/bin/sh` (an installer's trampoline) and anything that is not a `#!`
 *    line run pidone-py itself; `#!INTERPRETER` runs INTERPRETER -IS pidone-py; each with
 *    `--launched-as=$0` and the arguments.
 *
 * C11 and libc only; built with csrc/pidone-job.c (setup.py).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidone.h"

static const char *self; /* the script's $0 */
static char *here;       /* where pidone-py is: $0's directory (the link target's for a link) */

static _Noreturn void out_of_memory(void) {
    static const char msg[] = "pidone: out of memory\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */
    }
    _exit(1);
}

static char *join(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s) out_of_memory();
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* The directory part of a path, as the script's ${0%/...} (so "/x" gives ""); "." without a slash. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    if (!dir) out_of_memory();
    return dir;
}

/* `IFS= read -r line <FILE || line=`: the first line without its newline; "" when the
 * file cannot be read or ends before a newline (read(1) then fails and the script empties
 * `line`). The first line of an installed pidone-py is a #! line of a few dozen bytes. */
static char *first_line(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return join("", "");
    char *line = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (cap - len < 256) {
            cap = cap ? cap * 2 : 256;
            char *p = realloc(line, cap);
            if (!p) out_of_memory();
            line = p;
        }
        ssize_t n = read(fd, line + len, cap - len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            len = 0; /* no newline before the end (or an error): "" */
            break;
        }
        char *nl = memchr(line + len, '\n', (size_t)n);
        if (nl) {
            len = (size_t)(nl - line);
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    line[len] = 0;
    return line;
}

/* The shell's `exec FILE ARGS...`: a PATH search for a name without a slash, and on a
 * failure its exit statuses (127: not found, 126: found but not runnable). */
static _Noreturn void run(const char *file, char **argv) {
    execvp(file, argv);
    int err = errno;
    fprintf(stderr, "pidone: cannot run %s: %s\n", file, strerror(err));
    exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

_Noreturn void launch_python(char **args, int n) {
    char *helper = join(here, "/pidone-py");
    char *line = first_line(helper);
    char **argv = calloc((size_t)n + 5, sizeof *argv);
    if (!argv) out_of_memory();
    int k = 0;
    const char *file = helper;
    if (strncmp(line, "#!python", 8) == 0) {
        /* not installed: bin/ of a source checkout, whose src/ is the package's home */
        char *src = join(here, "/../src");
        const char *old = getenv("PYTHONPATH");
        if (old && *old) {
            char *with = join(src, ":");
            src = join(with, old);
        }
        if (setenv("PYTHONPATH", src, 1) != 0) out_of_memory();
        file = argv[k++] = "python3";
    } else if (strncmp(line, "#!", 2) == 0 && strncmp(line, "#!/bin/sh", 9) != 0) {
        file = argv[k++] = line + 2; /* pip's `#!INTERPRETER`, with no options after it */
        argv[k++] = "-IS";
    } /* else `#!/bin/sh` (an installer's sh trampoline) or no #! line: the file itself */
    argv[k++] = helper;
    argv[k++] = join("--launched-as=", self);
    for (int i = 0; i < n; i++) argv[k++] = args[i];
    run(file, argv);
}

/* `case $1 in --version|-h|--help) ;; start|stop|...|is-active|is-failed|-?*)`. */
static int for_the_client(const char *arg) {
    static const char *const verbs[] = {"start", "stop", "restart", "try-restart", "reload",
                                        "reload-or-restart", "condrestart", "is-active",
                                        "is-failed", NULL};
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
        return 0;
    if (arg[0] == '-' && arg[1]) return 1;
    for (const char *const *v = verbs; *v; v++)
        if (strcmp(arg, *v) == 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    self = (const char *)getauxval(AT_EXECFN);
    if (!self || !*self) self = argc > 0 && argv[0] ? argv[0] : "pidone";
    char **args = argc > 0 ? argv + 1 : argv;
    int n = argc > 0 ? argc - 1 : 0;
    here = dir_of(self);
    struct stat st;
    if (lstat(self, &st) == 0 && S_ISLNK(st.st_mode)) { /* `[ -L "$0" ]` */
        char *real = realpath(self, NULL);              /* `readlink -f -- "$0"` */
        here = real ? dir_of(real) : join("", "");      /* a failed $(...) leaves "" */
    }
    const char *base = strrchr(self, '/');
    if (strcmp(base ? base + 1 : self, "pidoned") == 0) {
        /* installed as `pidoned` too (setup.py): `pidone daemon ARGS`, with what follows */
        char **with = malloc((size_t)(n + 2) * sizeof *with);
        if (!with) out_of_memory();
        with[0] = "daemon";
        for (int i = 0; i < n; i++) with[i + 1] = args[i];
        with[n + 1] = NULL;
        args = with;
        n++;
    }
    if (n > 0 && strcmp(args[0], "daemon") == 0 && getpid() != 1 &&
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0) {
        /* `pidone daemon` under another init: the child subreaper attribute survives
         * execve(2) (it lives in the signal struct; prctl(2)), so the daemon is one from
         * its first instruction on, and need not load ctypes for the prctl(2) that Python
         * lacks (~0.6 MiB of RSS). It learns so from PIDONE_SUBREAPER naming its own PID
         * (exec keeps the PID; a stale value inherited from elsewhere names another). */
        char pid[24];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        if (setenv("PIDONE_SUBREAPER", pid, 1) != 0) out_of_memory();
    }
    if (getenv("PIDONE_FAST_DECLINED")) {
        unsetenv("PIDONE_FAST_DECLINED");
    } else if (!getenv("PIDONE_NO_FAST") && n > 0 && for_the_client(args[0])) {
        return job_main(self, args, n);
    }
    launch_python(args, n);
}
