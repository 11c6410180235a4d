/* pidone-spawn: the compiled spawn helper. It clone3()s services for the daemon, as
 * src/pidone/linux/spawnhelper.py does, for the plans src/pidone/linux/cspawn.py encodes.
 *
 * Why: from the plan to execve, the Python helper's child costs ~2.8 ms of CPU (clone3 of
 * a 3.3 MiB interpreter: its page tables copied, then ~190 copy-on-write faults for every
 * object the child's Python steps touch, then execve tearing the copy down). This program
 * holds a few hundred KiB and its child touches a handful of pages (bench/spawn_exec.py).
 *
 * Started by linux.spawn_cgroup (Spawner) with posix_spawn(3) as
 * `pidone-spawn DAEMON_COMM`, the SOCK_SEQPACKET socket on fd 3, its own session, every
 * signal at SIG_DFL and an empty mask. It serves one request at a time, single-threaded,
 * and exits on EOF. Request: cspawn.py's encoding, the fds attached (unix(7) SCM_RIGHTS);
 * reply: struct "=qi" (pid, 0 on failure; errno). A request it cannot read gets EPROTO
 * (the daemon then uses the Python helper), a failed clone3 its errno (ENOSYS: no clone3,
 * EBUSY: a cgroup with controllers and children; the daemon forks for that start).
 *
 * The child (clone3(2) with CLONE_PARENT: the daemon's child, its reaper and pidfds work as
 * for a fork; CLONE_INTO_CGROUP: born in the unit's cgroup, no migration) runs the steps of
 * linux/spawnchild.py run() in the same order with the same exit statuses (systemd 252
 * exec_child(); systemd.exec(5) "PROCESS EXIT CODES"), writing (status, errno) as two
 * little-endian u32 to the close-on-exec error pipe before _exit(status). The child calls
 * only raw syscalls and async-signal-safe libc: a clone3 made through syscall(2) bypasses
 * glibc's fork handlers, and glibc's cached thread id is the parent's (so no raise(3)).
 *
 * Only libc and Linux headers; C11; build: cc -std=c11 -O2 -Wall -Wextra -o pidone-spawn
 * csrc/pidone-spawn.c (setup.py does it next to pidone-job).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h> /* struct sock_fprog */
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <linux/sched.h> /* struct clone_args, CLONE_INTO_CGROUP */
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x39505350u /* == linux.cspawn.MAGIC */
#define F_INTO_CGROUP 1
#define F_IGNORE_SIGPIPE 2
#define F_SWITCH_IDS 4
#define F_CWD_MISSING_OK 8
#define F_NO_NEW_PRIVILEGES 16
#define F_NON_BLOCKING 32
#define F_NICE 64
#define F_NNP_UNLESS_ADMIN 128
#define MAX_FILTERS 4096
#define MAX_FDS 253              /* SCM_MAX_FD */
#define MAX_REQUEST (1u << 20)   /* == linux.spawnhelper.MAX_REQUEST */
#define SOCK_FD 3

/* Exit statuses: systemd.exec(5), = linux.spawnchild.EXIT_* */
enum {
    EXIT_CHDIR = 200, EXIT_NICE = 201, EXIT_FDS = 202, EXIT_EXEC = 203, EXIT_LIMITS = 205,
    EXIT_OOM_ADJUST = 206, EXIT_SIGNAL_MASK = 207, EXIT_STDIN = 208, EXIT_STDOUT = 209,
    EXIT_IOPRIO = 211, EXIT_SECUREBITS = 213, EXIT_SETSCHEDULER = 214, EXIT_GROUP = 216,
    EXIT_USER = 217, EXIT_CAPABILITIES = 218, EXIT_SETSID = 220, EXIT_STDERR = 222,
    EXIT_NETWORK = 225, EXIT_NAMESPACE = 226, EXIT_NO_NEW_PRIVILEGES = 227,
};
#define CAP_SYS_ADMIN_BIT 21
enum { K_KEEP, K_COPY, K_FD, K_NULL, K_OPEN, K_TTY }; /* == linux.cspawn.STDIO_KINDS */
enum { TTY_WAIT, TTY_FORCE, TTY_FAIL }; /* == linux.cspawn.TTY_MODES (StandardInput=) */
#define TTY_WAIT_STEP_NS 100000000L /* == linux.stdiosteps.TTY_WAIT_STEP */
#ifndef TIOCVHANGUP
#define TIOCVHANGUP 0x5437 /* <asm-generic/ioctls.h> */
#endif

typedef struct {
    int kind, fd, flags;
    int tty, reset, vhangup; /* K_TTY: TTY_*, TTYReset=, TTYVHangup= */
    const char *path;
} Stdio;

/* == the order of linux.cspawn.MOUNT_KINDS (linux.sandbox.MountOp kinds) */
enum {
    OP_BIND, OP_KEEP, OP_RO, OP_RW, OP_TMPFS, OP_HIDE_DIR, OP_HIDE_FILE, OP_DEV,
    OP_RO_SYS, OP_UTS, OP_NETNS, OP_PROC, OP_NS, OP_NOEXEC, OP_EXEC,
};

typedef struct {
    int kind, optional, recursive, readonly, flags;
    const char *target, *source, *data;
} MountOp;

/* linux/privsteps.py's plan (linux.privileges.PrivilegePlan) */
typedef struct {
    int present;
    int ndrops, namb;
    int *drops, *amb;
    uint64_t amb_mask;
    int has_secbits, secbits, keep_caps, ioprio, has_sched, policy, sched_prio;
} Privileges;

typedef struct {
    uint32_t flags;
    int nfds, pre_status, pre_errno, exec_error, umask, nice;
    int64_t uid, gid;
    int ngroups; /* -1: leave the groups */
    gid_t *groups;
    Stdio stdio[3];
    int first_pass, npass, nlimits;
    int *limit_res;
    struct rlimit *limits;
    const char *oom, *path, *cwd;
    char **argv, **envp;
    char **pid_slots; /* where the child writes its PID ($SYSTEMD_EXEC_PID & co.) */
    int npid_slots;
    int nops; /* -1: no mount namespace */
    MountOp *ops;
    const char *dev_log; /* the host's /dev/log symlink target, for PrivateDevices= */
    Privileges priv;
    const char *uid_map, *gid_map; /* PrivateUsers=: a user namespace with these maps */
    int nfilters; /* seccomp programs (linux.seccomp), loaded in this order */
    struct sock_fprog *filters;
    int *filter_status;
} Request;

/* ---- reading the request --------------------------------------------------------- */

typedef struct {
    const unsigned char *p, *end;
    int bad;
} Reader;

static uint32_t rd_u32(Reader *r) {
    if (r->bad || r->end - r->p < 4) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
                 (uint32_t)r->p[3] << 24;
    r->p += 4;
    return v;
}

static int rd_i32(Reader *r) { return (int)(int32_t)rd_u32(r); }

static uint64_t rd_u64(Reader *r) {
    uint64_t lo = rd_u32(r);
    return lo | (uint64_t)rd_u32(r) << 32;
}

static const char *rd_blob(Reader *r) {
    uint32_t n = rd_u32(r);
    if (r->bad || (uint64_t)(r->end - r->p) < (uint64_t)n + 1 || r->p[n] != 0) {
        r->bad = 1;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p += n + 1;
    return s;
}

/* A blob that may hold NULs: its length, then the bytes and a NUL. */
static const unsigned char *rd_raw(Reader *r, uint32_t *len) {
    uint32_t n = rd_u32(r);
    if (r->bad || (uint64_t)(r->end - r->p) < (uint64_t)n + 1 || r->p[n] != 0) {
        r->bad = 1;
        *len = 0;
        return NULL;
    }
    const unsigned char *s = r->p;
    r->p += n + 1;
    *len = n;
    return s;
}

static int rd_count(Reader *r, int max) {
    int n = rd_i32(r);
    if (n < 0 || n > max) r->bad = 1;
    return r->bad ? 0 : n;
}

static void free_request(Request *q) {
    free(q->groups);
    free(q->limit_res);
    free(q->limits);
    free(q->argv);
    if (q->envp)
        for (char **e = q->envp; *e; e++) free(*e);
    free(q->envp);
    free(q->pid_slots);
    free(q->ops);
    free(q->priv.drops);
    free(q->priv.amb);
    free(q->filters);
    free(q->filter_status);
    memset(q, 0, sizeof *q);
}

/* 0 on success; -1 for a malformed request (the caller replies EPROTO), errno ENOMEM. */
static int parse(const unsigned char *data, size_t size, Request *q) {
    Reader r = {data, data + size, 0};
    memset(q, 0, sizeof *q);
    if (rd_u32(&r) != MAGIC) return -1;
    q->flags = rd_u32(&r);
    q->nfds = rd_count(&r, MAX_FDS);
    q->pre_status = rd_i32(&r);
    q->pre_errno = rd_i32(&r);
    q->exec_error = rd_i32(&r);
    q->umask = rd_i32(&r);
    q->nice = rd_i32(&r);
    q->uid = (int64_t)rd_u64(&r);
    q->gid = (int64_t)rd_u64(&r);
    q->ngroups = rd_i32(&r);
    if (q->ngroups < -1 || q->ngroups > 65536) return -1;
    if (q->ngroups > 0) {
        if (!(q->groups = calloc((size_t)q->ngroups, sizeof *q->groups))) goto oom;
        for (int i = 0; i < q->ngroups; i++) q->groups[i] = rd_u32(&r);
    }
    for (int i = 0; i < 3; i++) {
        Stdio *s = &q->stdio[i];
        s->kind = rd_i32(&r);
        s->fd = rd_i32(&r);
        s->flags = rd_i32(&r);
        s->tty = rd_i32(&r);
        s->reset = rd_i32(&r);
        s->vhangup = rd_i32(&r);
        s->path = rd_blob(&r);
        if (s->kind < K_KEEP || s->kind > K_TTY) return -1;
        if (s->kind == K_TTY && (s->tty < TTY_WAIT || s->tty > TTY_FAIL)) return -1;
        if (s->kind == K_FD && (s->fd < 0 || s->fd >= q->nfds)) return -1;
    }
    q->first_pass = rd_i32(&r);
    q->npass = rd_count(&r, MAX_FDS);
    /* the cgroup directory (F_INTO_CGROUP) and the error pipe come before the others */
    int fixed = q->flags & F_INTO_CGROUP ? 2 : 1;
    if (q->first_pass < fixed || q->first_pass + q->npass != q->nfds) return -1;
    for (int i = 0; i < 3; i++)
        if (q->stdio[i].kind == K_FD && q->stdio[i].fd < fixed) return -1;
    q->nlimits = rd_count(&r, 64);
    if (q->nlimits) {
        q->limit_res = calloc((size_t)q->nlimits, sizeof *q->limit_res);
        q->limits = calloc((size_t)q->nlimits, sizeof *q->limits);
        if (!q->limit_res || !q->limits) goto oom;
        for (int i = 0; i < q->nlimits; i++) {
            q->limit_res[i] = rd_i32(&r);
            q->limits[i].rlim_cur = rd_u64(&r);
            q->limits[i].rlim_max = rd_u64(&r);
        }
    }
    q->oom = rd_blob(&r);
    q->path = rd_blob(&r);
    q->cwd = rd_blob(&r);
    int argc = rd_count(&r, 1 << 20);
    if (r.bad || argc < 1) return -1;
    if (!(q->argv = calloc((size_t)argc + 1, sizeof *q->argv))) goto oom;
    for (int i = 0; i < argc; i++) q->argv[i] = (char *)rd_blob(&r);
    int envc = rd_count(&r, 1 << 20);
    if (r.bad) return -1;
    q->envp = calloc((size_t)envc + 1, sizeof *q->envp);
    q->pid_slots = calloc((size_t)envc + 1, sizeof *q->pid_slots);
    if (!q->envp || !q->pid_slots) goto oom;
    for (int i = 0; i < envc; i++) {
        int self_pid = rd_i32(&r);
        const char *key = rd_blob(&r), *value = rd_blob(&r);
        if (r.bad) return -1;
        size_t klen = strlen(key), vlen = strlen(value);
        /* room for any PID (at most 10 digits) when the child writes its own */
        char *entry = malloc(klen + 1 + (self_pid ? 12 : vlen) + 1);
        if (!entry) goto oom;
        memcpy(entry, key, klen);
        entry[klen] = '=';
        if (self_pid) {
            entry[klen + 1] = 0;
            q->pid_slots[q->npid_slots++] = entry + klen + 1;
        } else {
            memcpy(entry + klen + 1, value, vlen + 1);
        }
        q->envp[i] = entry;
    }
    q->nops = rd_i32(&r);
    if (q->nops < -1 || q->nops > 4096) return -1;
    if (q->nops > 0) {
        if (!(q->ops = calloc((size_t)q->nops, sizeof *q->ops))) goto oom;
        for (int i = 0; i < q->nops; i++) {
            MountOp *op = &q->ops[i];
            op->kind = rd_i32(&r);
            op->optional = rd_i32(&r);
            op->recursive = rd_i32(&r);
            op->readonly = rd_i32(&r);
            op->flags = rd_i32(&r);
            op->target = rd_blob(&r);
            op->source = rd_blob(&r);
            op->data = rd_blob(&r);
            if (op->kind < OP_BIND || op->kind > OP_EXEC) r.bad = 1;
        }
    }
    q->dev_log = q->nops >= 0 ? rd_blob(&r) : "";
    Privileges *pv = &q->priv;
    pv->present = rd_i32(&r);
    if (pv->present) {
        pv->ndrops = rd_count(&r, 64);
        if (pv->ndrops && !(pv->drops = calloc((size_t)pv->ndrops, sizeof *pv->drops))) goto oom;
        for (int i = 0; i < pv->ndrops; i++) pv->drops[i] = rd_i32(&r);
        pv->namb = rd_count(&r, 64);
        if (pv->namb && !(pv->amb = calloc((size_t)pv->namb, sizeof *pv->amb))) goto oom;
        for (int i = 0; i < pv->namb; i++) pv->amb[i] = rd_i32(&r);
        pv->amb_mask = rd_u64(&r);
        pv->has_secbits = rd_i32(&r);
        pv->secbits = rd_i32(&r);
        pv->keep_caps = rd_i32(&r);
        pv->ioprio = rd_i32(&r);
        pv->has_sched = rd_i32(&r);
        pv->policy = rd_i32(&r);
        pv->sched_prio = rd_i32(&r);
    }
    q->nfilters = rd_count(&r, MAX_FILTERS);
    if (q->nfilters) {
        q->filters = calloc((size_t)q->nfilters, sizeof *q->filters);
        q->filter_status = calloc((size_t)q->nfilters, sizeof *q->filter_status);
        if (!q->filters || !q->filter_status) goto oom;
        for (int i = 0; i < q->nfilters; i++) {
            uint32_t len = 0;
            q->filter_status[i] = rd_i32(&r);
            const unsigned char *bpf = rd_raw(&r, &len);
            if (r.bad || len == 0 || len % sizeof(struct sock_filter) ||
                len / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -1;
            /* the request buffer outlives the child's use; sock_filter needs 4-byte
             * alignment, which a blob inside the request may lack: the child copies */
            q->filters[i].len = (unsigned short)(len / sizeof(struct sock_filter));
            q->filters[i].filter = (struct sock_filter *)(uintptr_t)bpf;
        }
    }
    q->uid_map = rd_blob(&r);
    q->gid_map = rd_blob(&r);
    if (!q->uid_map[0] != !q->gid_map[0]) return -1;
    if (r.bad || r.p != r.end) return -1;
    return 0;
oom:
    errno = ENOMEM;
    return -2;
}

/* ---- the child ------------------------------------------------------------------- */

static int err_fd; /* where fail() reports: the error pipe, moved along with the fds */

static _Noreturn void fail(int status, int code) {
    unsigned char b[8] = {(unsigned char)status, (unsigned char)(status >> 8),
                          (unsigned char)(status >> 16), (unsigned char)(status >> 24),
                          (unsigned char)code, (unsigned char)(code >> 8),
                          (unsigned char)(code >> 16), (unsigned char)(code >> 24)};
    ssize_t n = write(err_fd, b, sizeof b);
    (void)n;
    _exit(status);
}

/* OSError in linux.spawnchild: its errno, or EIO when there is none */
static _Noreturn void fail_errno(int status) { fail(status, errno ? errno : EIO); }

static int set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    int want = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
    return want == flags ? 0 : fcntl(fd, F_SETFD, want);
}

/* An AF_UNIX stream socket connected to `path`, half-shut as the access mode says: the
 * ENXIO fallback of StandardOutput=file:PATH for a socket (linux/stdiosteps.py). */
static int connect_unix(const char *path, int flags) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if (len >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(addr.sun_path, path, len);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        ((flags & O_ACCMODE) == O_WRONLY && shutdown(fd, SHUT_RD) < 0) ||
        ((flags & O_ACCMODE) == O_RDONLY && shutdown(fd, SHUT_WR) < 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* TTYReset= (linux/stdiosteps.py _reset_terminal; systemd's reset_terminal_fd()): cooked
 * mode with the usual control characters, then both queues flushed (termios(3)); a
 * failing step ends it quietly. */
static void reset_terminal(int fd) {
    struct termios t;
    if (tcgetattr(fd, &t) < 0) return;
    t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | ISTRIP | INLCR | IGNCR | IUCLC);
    t.c_iflag |= ICRNL | IMAXBEL | IUTF8;
    t.c_oflag |= ONLCR | OPOST;
    t.c_cflag |= CREAD;
    t.c_lflag = ISIG | ICANON | IEXTEN | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE;
    t.c_cc[VINTR] = 3;    /* ^C */
    t.c_cc[VQUIT] = 28;   /* ^\ */
    t.c_cc[VERASE] = 127; /* DEL */
    t.c_cc[VKILL] = 21;   /* ^U */
    t.c_cc[VEOF] = 4;     /* ^D */
    t.c_cc[VSTART] = 17;  /* ^Q */
    t.c_cc[VSTOP] = 19;   /* ^S */
    t.c_cc[VSUSP] = 26;   /* ^Z */
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &t) < 0) return;
    tcflush(fd, TCIOFLUSH);
}

/* StandardInput=tty|tty-force|tty-fail on TTYPath= (linux/stdiosteps.py _open_terminal;
 * systemd.exec(5)): opened O_NOCTTY, hung up first with TTYVHangup= (TIOCVHANGUP, which
 * also invalidates our own open: reopened), reset with TTYReset=, then made the
 * controlling terminal of the new session (TIOCSCTTY, ioctl_tty(2); argument 1 steals it
 * from another session, which needs CAP_SYS_ADMIN). EPERM (another session holds it):
 * tty-fail fails, plain tty retries every 100 ms; any other refusal (not a terminal)
 * keeps the fd as it is. */
static int open_terminal(const Stdio *s) {
    int fd = open(s->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (s->vhangup && ioctl(fd, TIOCVHANGUP, 0) == 0) {
        close(fd);
        if ((fd = open(s->path, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) return -1;
    }
    if (s->reset) reset_terminal(fd);
    for (;;) {
        if (ioctl(fd, TIOCSCTTY, s->tty == TTY_FORCE ? 1 : 0) == 0) return fd;
        int e = errno;
        if (s->tty == TTY_FAIL) {
            close(fd);
            errno = e;
            return -1;
        }
        if (e != EPERM || s->tty != TTY_WAIT) return fd;
        struct timespec step = {0, TTY_WAIT_STEP_NS};
        while (nanosleep(&step, &step) < 0 && errno == EINTR) {
        }
    }
}

/* Step 4 for one of fd 0, 1, 2 (linux/spawnchild.py _open_stdio, stdiosteps.open_source) */
static void open_stdio(const Stdio *s, int lifted, int fileno, int status) {
    int fd;
    switch (s->kind) {
    case K_KEEP:
        return;
    case K_COPY:
    case K_FD:
        if (dup2(s->kind == K_FD ? lifted : s->fd, fileno) < 0) fail_errno(status);
        return;
    case K_NULL:
        fd = open("/dev/null", s->flags | O_CLOEXEC);
        break;
    case K_TTY:
        fd = open_terminal(s);
        break;
    default: /* file:, append:, truncate:, kmsg: created with 0666 & ~UMask= */
        fd = open(s->path, s->flags | O_CLOEXEC, 0666);
        if (fd < 0 && errno == ENXIO) fd = connect_unix(s->path, s->flags);
    }
    if (fd < 0) fail_errno(status);
    if (fd != fileno) {
        if (dup2(fd, fileno) < 0) fail_errno(status);
        close(fd);
    } else if (set_cloexec(fd, 0) < 0) { /* open() landed on it: keep it across exec */
        fail_errno(status);
    }
}

/* setrlimit_closest() (linux/rlimits.py; systemd's rlimit-util.c): without
 * CAP_SYS_RESOURCE raising the hard limit fails with EPERM (setrlimit(2)); then both values
 * are clamped to the current hard limit, unless that is unlimited. */
static int setrlimit_closest(int res, const struct rlimit *want) {
    if (prlimit(0, res, want, NULL) == 0) return 0;
    if (errno != EPERM) return -1;
    struct rlimit cur, fixed;
    if (prlimit(0, res, NULL, &cur) < 0) return -1;
    if (cur.rlim_max == RLIM_INFINITY) {
        errno = EPERM;
        return -1;
    }
    fixed.rlim_cur = want->rlim_cur > cur.rlim_max ? cur.rlim_max : want->rlim_cur;
    fixed.rlim_max = want->rlim_max > cur.rlim_max ? cur.rlim_max : want->rlim_max;
    if (fixed.rlim_cur == cur.rlim_cur && fixed.rlim_max == cur.rlim_max) return 0;
    return prlimit(0, res, &fixed, NULL);
}

/* os.makedirs(path, exist_ok=True) with mode 0777 (& the umask, 022 here) */
static int make_dirs(const char *path) {
    char buf[4096];
    size_t len = strlen(path);
    if (len == 0) return 0;
    if (len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) < 0 && errno != EEXIST) return -1;
        buf[i] = c;
    }
    struct stat st;
    if (stat(path, &st) < 0) return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    return 0;
}

/* linux/mountns.py _make_target: a directory or an empty file to bind onto */
static int make_target(const char *target, int source_fd) {
    struct stat st;
    if (lstat(target, &st) == 0) return 0;
    char parent[4096];
    size_t len = strlen(target);
    if (len >= sizeof parent) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(parent, target, len + 1);
    char *slash = strrchr(parent, '/');
    if (slash) {
        if (slash == parent) slash[1] = 0; /* dirname("/tmp") == "/" */
        else *slash = 0;
        if (make_dirs(parent) < 0) return -1;
    }
    if (fstat(source_fd, &st) < 0) return -1;
    if (S_ISDIR(st.st_mode)) return mkdir(target, 0755);
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

static int bind_fd(int fd, const char *target, unsigned long flags) {
    char src[32];
    int n = 0, v = fd;
    char digits[12];
    do digits[n++] = (char)('0' + v % 10); while ((v /= 10) > 0);
    memcpy(src, "/proc/self/fd/", 14);
    for (int i = 0; i < n; i++) src[14 + i] = digits[n - 1 - i];
    src[14 + n] = 0;
    return mount(src, target, NULL, MS_BIND | flags, NULL);
}

typedef struct {
    char *point;
    unsigned long flags; /* per-mount flags (remounts keep all but the one they change) */
} Mount;

static void free_mounts(Mount *m, int n) {
    for (int i = 0; i < n; i++) free(m[i].point);
    free(m);
}

/* Every mount of /proc/self/mountinfo, in its order (proc(5): field 5 the mount point,
 * \ooo-escaped; field 6 the per-mount options); NULL with errno on failure.
 * linux/mountns.py parse_mountinfo. */
static Mount *read_mounts(int *count) {
    static char buf[1 << 16];
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    Mount *m = NULL;
    int n = 0, cap = 0;
    size_t have = 0;
    for (;;) {
        ssize_t got = read(fd, buf + have, sizeof buf - 1 - have);
        if (got < 0) goto bad;
        have += (size_t)got;
        buf[have] = 0;
        char *line = buf, *nl;
        while ((nl = memchr(line, '\n', (size_t)(buf + have - line)))) {
            *nl = 0;
            char *field[6] = {0};
            char *p = line;
            for (int i = 0; i < 6 && p; i++) {
                field[i] = p;
                p = strchr(p, ' ');
                if (p) *p++ = 0;
            }
            line = nl + 1;
            if (!field[5]) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                Mount *bigger = realloc(m, (size_t)cap * sizeof *m);
                if (!bigger) goto bad;
                m = bigger;
            }
            char *point = malloc(strlen(field[4]) + 1);
            if (!point) goto bad;
            size_t k = 0;
            for (char *c = field[4]; *c; c++) {
                if (c[0] == '\\' && c[1] >= '0' && c[1] <= '7' && c[2] >= '0' && c[2] <= '7' &&
                    c[3] >= '0' && c[3] <= '7') {
                    point[k++] = (char)((c[1] - '0') * 64 + (c[2] - '0') * 8 + (c[3] - '0'));
                    c += 3;
                } else {
                    point[k++] = *c;
                }
            }
            point[k] = 0;
            unsigned long flags = 0;
            for (char *opt = strtok(field[5], ","); opt; opt = strtok(NULL, ",")) {
                if (!strcmp(opt, "ro")) flags |= MS_RDONLY;
                else if (!strcmp(opt, "nosuid")) flags |= MS_NOSUID;
                else if (!strcmp(opt, "nodev")) flags |= MS_NODEV;
                else if (!strcmp(opt, "noexec")) flags |= MS_NOEXEC;
                else if (!strcmp(opt, "noatime")) flags |= MS_NOATIME;
                else if (!strcmp(opt, "nodiratime")) flags |= MS_NODIRATIME;
                else if (!strcmp(opt, "relatime")) flags |= MS_RELATIME;
            }
            m[n].point = point;
            m[n++].flags = flags;
        }
        size_t rest = (size_t)(buf + have - line);
        memmove(buf, line, rest);
        have = rest;
        if (got == 0) break;
        if (have >= sizeof buf - 1) have = 0; /* a line longer than the buffer: skip it */
    }
    close(fd);
    *count = n;
    if (!m) m = malloc(sizeof *m); /* (an empty list, not an error) */
    return m;
bad:;
    int e = errno;
    close(fd);
    free_mounts(m, n);
    errno = e ? e : ENOMEM;
    return NULL;
}

static int starts_with_dir(const char *point, const char *dir) {
    size_t len = strlen(dir);
    return strncmp(point, dir, len) == 0 && (point[len] == 0 || point[len] == '/');
}

/* Whether `point` is at or below one of the newline-separated paths of `list`. */
static int below_any(const char *point, const char *list) {
    char dir[4096];
    while (list && *list) {
        const char *end = strchr(list, '\n');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        if (n > 0 && n < sizeof dir) {
            memcpy(dir, list, n);
            dir[n] = 0;
            if (starts_with_dir(point, dir)) return 1;
        }
        list = end ? end + 1 : NULL;
    }
    return 0;
}

static void remount_one(const Mount *m, const char *path, int set, unsigned long flag) {
    unsigned long flags = MS_REMOUNT | MS_BIND | (m->flags & ~flag) | (set ? flag : 0);
    if (mount(NULL, m->point, NULL, flags, NULL) < 0 && strcmp(m->point, path) == 0)
        fail(EXIT_NAMESPACE, errno ? errno : 1);
    /* a submount we may not touch (e.g. a locked one): left as it is */
}

/* linux/mountns.py _remount: `path` (recursive: and every mount below it, but the API
 * file systems when `path` is "/") remounted with `flag` (MS_RDONLY, MS_NOEXEC) set or
 * cleared, each keeping its other per-mount flags; not recursive: the last mount at
 * `path` only. */
static void remount_flag(const char *path, int set, unsigned long flag, int recursive,
                         int keep_sys, const char *skip) {
    int n = 0;
    Mount *m = read_mounts(&n);
    if (!m) fail_errno(EXIT_NAMESPACE);
    int root = strcmp(path, "/") == 0, last = -1;
    char prefix[4096];
    size_t len = strlen(path);
    while (len > 0 && path[len - 1] == '/') len--;
    if (len + 2 > sizeof prefix) fail(EXIT_NAMESPACE, ENAMETOOLONG);
    memcpy(prefix, path, len);
    prefix[len] = '/';
    prefix[len + 1] = 0;
    for (int i = 0; i < n; i++) {
        const char *point = m[i].point;
        if (!recursive) {
            if (strcmp(point, path) == 0) last = i;
            continue;
        }
        if (!(strcmp(point, path) == 0 || strncmp(point, prefix, len + 1) == 0 || root))
            continue;
        if (root && (starts_with_dir(point, "/dev") || starts_with_dir(point, "/proc") ||
                     starts_with_dir(point, "/sys")))
            continue;
        if (keep_sys && (starts_with_dir(point, "/sys/fs/cgroup") ||
                         starts_with_dir(point, "/sys/fs/selinux")))
            continue;
        if (skip && strcmp(point, path) != 0 && below_any(point, skip)) continue;
        remount_one(&m[i], path, set, flag);
    }
    if (last >= 0) remount_one(&m[last], path, set, flag);
    free_mounts(m, n);
}

static void remount(const char *path, int readonly, int recursive) {
    remount_flag(path, readonly, MS_RDONLY, recursive, 0, NULL);
}

/* linux/mountns.py _join_network: PrivateNetwork='s namespace; refused for lack of
 * privilege, the command stays in the manager's (systemd 252 exec_child()) */
static void join_network(int fd) {
    if (setns(fd, CLONE_NEWNET) < 0 && errno != EPERM && errno != EACCES)
        fail(EXIT_NETWORK, errno ? errno : 1);
    close(fd);
}

/* linux/mountns.py _private_uts: ProtectHostname='s UTS namespace (refused or not
 * supported is not an error: systemd 252 apply_protect_hostname()) */
static void private_uts(void) {
    if (unshare(CLONE_NEWUTS) < 0 && errno != EPERM && errno != EACCES && errno != EINVAL &&
        errno != ENOSYS)
        fail(EXIT_NAMESPACE, errno ? errno : 1);
}

static void mount_or_fail(const char *src, const char *dst, const char *fstype,
                          unsigned long flags, const char *data) {
    if (mount(src, dst, fstype, flags, data && data[0] ? data : NULL) < 0)
        fail(EXIT_NAMESPACE, errno ? errno : 1);
}

/* linux/mountns.py _new_procfs: ProtectProc=/ProcSubset=: every mount on /proc detached,
 * then a procfs of our own with hidepid=/subset=pid, or a plain one where the kernel
 * refuses the options (systemd 252 namespace.c mount_procfs()); see the Python twin for
 * locked mounts */
static void new_procfs(const char *target, const char *options) {
    int n = 0, detached = 0;
    Mount *m = read_mounts(&n);
    if (!m) fail_errno(EXIT_NAMESPACE);
    for (int i = n - 1; i >= 0; i--) /* (a locked mount stays) */
        if (starts_with_dir(m[i].point, target) && umount2(m[i].point, MNT_DETACH) == 0)
            detached++;
    free_mounts(m, n);
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    int r = mount("proc", target, "proc", flags, options[0] ? options : NULL);
    if (r < 0 && errno == EINVAL && options[0]) r = mount("proc", target, "proc", flags, NULL);
    /* refused (EPERM: /proc not fully visible) with nothing detached: /proc stays */
    if (r < 0 && !(errno == EPERM && !detached)) fail_errno(EXIT_NAMESPACE);
}

/* linux/mountns.py _keep: bind the manager's notify socket back in (best effort) */
static void keep(const char *target, int fd) {
    struct stat a, b;
    if (stat(target, &a) == 0 && fstat(fd, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return;
    if (make_target(target, fd) == 0) (void)bind_fd(fd, target, 0);
    close(fd);
}

/* "/dev/" + name into buf (at most 16 bytes of name) */
static const char *dev_path(char buf[32], const char *name) {
    size_t len = strlen(name);
    memcpy(buf, "/dev/", 5);
    memcpy(buf + 5, name, len + 1);
    return buf;
}

/* PrivateDevices= (linux/mountns.py _private_dev; systemd.exec(5), systemd 252
 * namespace.c mount_private_dev()): a tmpfs on /dev (nosuid, strictatime, mode=755) with
 * only the pseudo devices null, zero, full, random, urandom and tty bound in from the old
 * /dev (opened O_PATH before it is covered; a missing one is left out), /dev/shm,
 * /dev/mqueue and /dev/hugepages bound in recursively where they exist, a new devpts
 * instance on /dev/pts (devpts(5) newinstance: the service's ptys are its own), and the
 * symlinks ptmx, fd, stdin, stdout, stderr (and log, to the host's /dev/log target). */
static void private_dev(const char *data, const char *dev_log) {
    static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
    static const char *const dirs[] = {"shm", "mqueue", "hugepages"};
    enum { NDEV = sizeof devices / sizeof *devices, NDIR = sizeof dirs / sizeof *dirs };
    int keep_fd[NDEV], dir_fd[NDIR];
    char path[32];
    for (int i = 0; i < NDEV; i++) keep_fd[i] = open(dev_path(path, devices[i]), O_PATH | O_CLOEXEC);
    for (int i = 0; i < NDIR; i++)
        dir_fd[i] = open(dev_path(path, dirs[i]), O_PATH | O_DIRECTORY | O_CLOEXEC);
    mount_or_fail("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, data);
    for (int i = 0; i < NDEV; i++) {
        if (keep_fd[i] < 0) continue;
        int fd = open(dev_path(path, devices[i]), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) fail_errno(EXIT_NAMESPACE);
        close(fd);
        if (bind_fd(keep_fd[i], path, 0) < 0) fail(EXIT_NAMESPACE, errno ? errno : 1);
        close(keep_fd[i]);
    }
    for (int i = 0; i < NDIR; i++) {
        if (dir_fd[i] < 0) continue;
        if (mkdir(dev_path(path, dirs[i]), 0755) < 0) fail_errno(EXIT_NAMESPACE);
        if (bind_fd(dir_fd[i], path, MS_REC) < 0) fail(EXIT_NAMESPACE, errno ? errno : 1);
        close(dir_fd[i]);
    }
    if (mkdir("/dev/pts", 0755) < 0) fail_errno(EXIT_NAMESPACE);
    mount_or_fail("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                  "newinstance,ptmxmode=0666,mode=620,gid=5");
    static const char *const links[][2] = {
        {"pts/ptmx", "/dev/ptmx"},
        {"/proc/self/fd", "/dev/fd"},
        {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"},
        {"/proc/self/fd/2", "/dev/stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (symlink(links[i][0], links[i][1]) < 0) fail_errno(EXIT_NAMESPACE);
    if (dev_log[0] && symlink(dev_log, "/dev/log") < 0) fail_errno(EXIT_NAMESPACE);
}

/* Step 6c: the mount namespace (linux/mountns.py _apply; linux/sandbox.py builds the
 * operations; systemd.exec(5) PrivateTmp=, ProtectSystem=, ProtectHome=, ReadWritePaths=,
 * ReadOnlyPaths=, InaccessiblePaths=, TemporaryFileSystem=, BindPaths=,
 * BindReadOnlyPaths=, PrivateDevices=): unshare(2) CLONE_NEWNS, / recursively MS_SLAVE
 * (mount_namespaces(7): host mounts still propagate in, ours do not leak out), the source
 * of each bind opened O_PATH before any mount, then the operations in order. Mount points
 * created get 0755/0644 whatever UMask= says. */
/* linux/mountns.py _below_fresh_fs: a target inside PrivateDevices='s /dev or a
 * TemporaryFileSystem= is made once that file system is mounted, not in the host's. */
static int below_fresh_fs(const Request *q, const char *target) {
    for (int i = 0; i < q->nops; i++) {
        const MountOp *op = &q->ops[i];
        if (op->kind != OP_DEV && op->kind != OP_TMPFS && op->kind != OP_HIDE_DIR) continue;
        size_t n = strlen(op->target);
        while (n > 0 && op->target[n - 1] == '/') n--;
        if (strncmp(target, op->target, n) == 0 && target[n] == '/') return 1;
    }
    return 0;
}

static void apply_sandbox(const Request *q) {
    mode_t old = umask(022);
    int fds[4096];
    unsigned char writable[4096];
    int mounts = 0; /* PrivateNetwork= alone needs no mount namespace */
    for (int i = 0; i < q->nops; i++)
        if (q->ops[i].kind != OP_NETNS && q->ops[i].kind != OP_UTS) mounts = 1;
    if (mounts) {
        if (unshare(CLONE_NEWNS) < 0) fail(EXIT_NAMESPACE, errno ? errno : 1);
        mount_or_fail(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL);
    }
    for (int i = 0; i < q->nops; i++) {
        const MountOp *op = &q->ops[i];
        fds[i] = -1;
        writable[i] = 0;
        if (op->kind == OP_NETNS) { /* opened before any mount, as the bind sources are */
            if ((fds[i] = open(op->source, O_RDONLY | O_CLOEXEC)) < 0)
                fail(EXIT_NETWORK, errno ? errno : 1);
            continue;
        }
        if (op->kind == OP_KEEP) {
            fds[i] = open(op->source, O_PATH | O_CLOEXEC);
            continue;
        }
        if (op->kind != OP_BIND) continue;
        if ((fds[i] = open(op->source, O_PATH | O_CLOEXEC)) < 0) {
            if (op->optional) continue;
            fail_errno(EXIT_NAMESPACE);
        }
        struct statvfs sv;
        if (!op->readonly) {
            if (fstatvfs(fds[i], &sv) < 0) fail_errno(EXIT_NAMESPACE);
            writable[i] = !(sv.f_flag & ST_RDONLY);
        }
        if (!below_fresh_fs(q, op->target) && make_target(op->target, fds[i]) < 0)
            fail_errno(EXIT_NAMESPACE);
    }
    for (int i = 0; i < q->nops; i++) {
        const MountOp *op = &q->ops[i];
        struct stat st;
        int exists = lstat(op->target, &st) == 0;
        switch (op->kind) {
        case OP_RO:
        case OP_RW:
        case OP_RO_SYS:
        case OP_NOEXEC:
        case OP_EXEC:
        case OP_HIDE_DIR:
        case OP_HIDE_FILE:
        case OP_TMPFS:
            if (!exists) {
                if (op->optional || op->kind == OP_RO || op->kind == OP_RW ||
                    op->kind == OP_RO_SYS || op->kind == OP_NOEXEC || op->kind == OP_EXEC)
                    continue;
                fail(EXIT_NAMESPACE, ENOENT);
            }
            break;
        default:
            break;
        }
        switch (op->kind) {
        case OP_NETNS:
            join_network(fds[i]);
            break;
        case OP_UTS:
            private_uts();
            break;
        case OP_PROC:
            new_procfs(op->target, op->data);
            break;
        case OP_NS: /* PrivateMounts=, MountAPIVFS=: the namespace itself, made above */
            break;
        case OP_RO_SYS: /* ProtectKernelTunables='s /sys (linux/mountns.py _SYS_KEPT) */
            mount_or_fail(op->target, op->target, NULL, MS_BIND | MS_REC, NULL);
            remount_flag(op->target, 1, MS_RDONLY, 1, 1, NULL);
            break;
        case OP_RO: /* a mount point of its own, as systemd's namespace.c makes it */
            if (strcmp(op->target, "/") != 0)
                mount_or_fail(op->target, op->target, NULL, MS_BIND | MS_REC, NULL);
            remount(op->target, 1, 1);
            break;
        case OP_RW:
            mount_or_fail(op->target, op->target, NULL, MS_BIND | MS_REC, NULL);
            remount(op->target, 0, 1);
            break;
        case OP_NOEXEC: /* NoExecPaths=, as OP_RO with MS_NOEXEC; data: the other
                         * entries below it, which keep their exec bit (252's deny list) */
            if (strcmp(op->target, "/") != 0)
                mount_or_fail(op->target, op->target, NULL, MS_BIND | MS_REC, NULL);
            remount_flag(op->target, 1, MS_NOEXEC, 1, 0, op->data);
            break;
        case OP_EXEC: /* ExecPaths= */
            mount_or_fail(op->target, op->target, NULL, MS_BIND | MS_REC, NULL);
            remount_flag(op->target, 0, MS_NOEXEC, 1, 0, NULL);
            break;
        case OP_BIND:
            if (fds[i] < 0) break;
            if (!exists && make_target(op->target, fds[i]) < 0) fail_errno(EXIT_NAMESPACE);
            if (bind_fd(fds[i], op->target, op->recursive ? MS_REC : 0) < 0)
                fail(EXIT_NAMESPACE, errno ? errno : 1);
            close(fds[i]);
            /* A new bind mount carries its source mount's per-mount flags (mount(2)
             * MS_BIND), and systemd 252 changes nothing else: only a read-only bind is
             * remounted, and a writable source that shows read-only here (under an
             * earlier read-only mount: ProtectSystem=) is made writable again, this bind
             * only. */
            if (op->readonly) {
                remount(op->target, 1, op->recursive);
            } else if (writable[i]) {
                struct statvfs sv;
                if (statvfs(op->target, &sv) < 0) fail_errno(EXIT_NAMESPACE);
                if (sv.f_flag & ST_RDONLY) remount(op->target, 0, 0);
            }
            break;
        case OP_TMPFS:
            mount_or_fail("tmpfs", op->target, "tmpfs", MS_NOSUID | MS_NODEV | (unsigned)op->flags,
                          op->data);
            break;
        case OP_HIDE_DIR:
            mount_or_fail("tmpfs", op->target, "tmpfs",
                          MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, op->data);
            break;
        case OP_HIDE_FILE:
            mount_or_fail(op->source, op->target, NULL, MS_BIND, NULL);
            remount(op->target, 1, 0);
            break;
        case OP_KEEP:
            if (fds[i] >= 0) keep(op->target, fds[i]);
            break;
        case OP_DEV:
            private_dev(op->data, q->dev_log);
            break;
        }
    }
    umask(old);
}

/* ---- capabilities and scheduling (linux/privsteps.py) --------------------------- */

static int cap_get(struct __user_cap_data_struct data[2]) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capget, &h, data);
}

static int cap_set(struct __user_cap_data_struct data[2]) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    return (int)syscall(SYS_capset, &h, data);
}

/* Step 6b: IOSchedulingClass=/Priority= (ioprio_set(2)), CPUSchedulingPolicy=/Priority=
 * (sched_setscheduler(2)) */
static void apply_scheduling(const Privileges *pv) {
    if (pv->ioprio >= 0 && syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, pv->ioprio) < 0)
        fail(EXIT_IOPRIO, errno ? errno : EPERM);
    if (pv->has_sched) {
        struct sched_param sp = {.sched_priority = pv->sched_prio};
        if (sched_setscheduler(0, pv->policy, &sp) < 0)
            fail(EXIT_SETSCHEDULER, errno ? errno : EPERM);
    }
}

/* Step 6d, before the user switch: drop the bounding set (prctl(2) PR_CAPBSET_DROP), the
 * ambient set into the inheritable set (capset(2): a capability can only be raised into
 * the ambient set when it is inheritable and permitted, capabilities(7)), and
 * SECBIT_KEEP_CAPS so setresuid(2) keeps the permitted set for the ambient raise. */
static void apply_before_user(const Privileges *pv) {
    for (int i = 0; i < pv->ndrops; i++)
        if (prctl(PR_CAPBSET_DROP, (unsigned long)pv->drops[i], 0, 0, 0) < 0)
            fail_errno(EXIT_CAPABILITIES);
    if (pv->amb_mask) {
        struct __user_cap_data_struct data[2];
        if (cap_get(data) < 0) fail_errno(EXIT_CAPABILITIES);
        data[0].inheritable = (uint32_t)pv->amb_mask;
        data[1].inheritable = (uint32_t)(pv->amb_mask >> 32);
        if (cap_set(data) < 0) fail_errno(EXIT_CAPABILITIES);
    }
    if (pv->keep_caps) {
        int current = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
        if (current < 0 ||
            prctl(PR_SET_SECUREBITS, (unsigned long)(current | pv->secbits | SECBIT_KEEP_CAPS),
                  0, 0, 0) < 0)
            fail_errno(EXIT_CAPABILITIES);
    }
}

/* Step 7b, after the user switch: raise the ambient set (PR_CAP_AMBIENT_RAISE), then
 * SecureBits= (PR_SET_SECUREBITS needs CAP_SETPCAP in the effective set). */
static void apply_after_user(const Privileges *pv) {
    for (int i = 0; i < pv->namb; i++)
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)pv->amb[i], 0, 0) < 0)
            fail(EXIT_CAPABILITIES, errno ? errno : EPERM);
    if (!pv->has_secbits) return; /* SECBIT_KEEP_CAPS is cleared by execve(2) itself */
    int current = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
    if (current < 0) fail(EXIT_CAPABILITIES, errno ? errno : EPERM);
    if (current == pv->secbits) return;
    struct __user_cap_data_struct data[2];
    if (cap_get(data) < 0) fail(EXIT_CAPABILITIES, errno ? errno : EPERM);
    if (data[0].permitted >> CAP_SETPCAP & 1) {
        data[0].effective |= 1u << CAP_SETPCAP;
        if (cap_set(data) < 0) fail(EXIT_CAPABILITIES, errno ? errno : EPERM);
    }
    if (prctl(PR_SET_SECUREBITS, (unsigned long)pv->secbits, 0, 0, 0) < 0)
        fail(EXIT_SECUREBITS, errno ? errno : EPERM);
}

/* Step 8c: the seccomp filters (seccomp(2) SECCOMP_SET_MODE_FILTER through prctl(2)
 * PR_SET_SECCOMP, as libseccomp's seccomp_load() without flags), the last step before
 * execve(2) as in 252's exec_child(). Each program is copied to an aligned buffer on the
 * stack first: struct sock_filter wants 4-byte alignment, a blob in the request may not
 * have it. */
static void load_filters(const Request *q) {
    for (int i = 0; i < q->nfilters; i++) {
        struct sock_filter insns[BPF_MAXINSNS];
        size_t n = q->filters[i].len;
        memcpy(insns, q->filters[i].filter, n * sizeof *insns);
        struct sock_fprog prog = {.len = (unsigned short)n, .filter = insns};
        /* as 252 (ERRNO_IS_SECCOMP_FATAL()): other errors only skip that filter */
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, (unsigned long)&prog, 0, 0) < 0 &&
            (errno == EPERM || errno == EACCES || errno == ENOMEM || errno == EFAULT))
            fail(q->filter_status[i], errno);
    }
}

/* One map file of `pid` (user_namespaces(7)); 0 or the errno. A missing setgroups file
 * (Linux < 3.19) is no error, as in 252. */
static int write_map(long pid, const char *name, const char *text) {
    char path[64];
    int k = 0;
    char digits[24];
    do digits[k++] = (char)('0' + pid % 10); while ((pid /= 10) > 0);
    char *p = path;
    memcpy(p, "/proc/", 6);
    p += 6;
    while (k) *p++ = digits[--k];
    *p++ = '/';
    size_t n = strlen(name);
    memcpy(p, name, n + 1);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT && name[0] == 's' ? 0 : errno;
    int err = write(fd, text, strlen(text)) < 0 ? errno : 0;
    close(fd);
    return err;
}

/* Step 7a: PrivateUsers= (252 setup_private_users()): a user namespace of the command's
 * own in which only the manager's IDs and the service's map to themselves. Writing more
 * than one line of a map needs CAP_SETUID/CAP_SETGID in the *parent* namespace, which the
 * command loses with unshare(2): a short-lived child that stays outside writes them,
 * after "deny" to setgroups (user_namespaces(7): required before an unprivileged gid_map,
 * and kept for good). The child makes only raw calls and exits through SYS_exit. */
static void private_users(const Request *q) {
    int ready = (int)syscall(SYS_eventfd2, 0, O_CLOEXEC);
    int errp[2];
    if (ready < 0 || pipe2(errp, O_CLOEXEC) < 0) fail_errno(EXIT_USER);
    struct clone_args args = {.exit_signal = SIGCHLD};
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) fail_errno(EXIT_USER);
    if (pid == 0) {
        uint64_t c;
        long parent = syscall(SYS_getppid);
        int err = read(ready, &c, sizeof c) == (ssize_t)sizeof c ? 0 : (errno ? errno : EIO);
        if (!err) err = write_map(parent, "setgroups", "deny\n");
        if (!err) err = write_map(parent, "gid_map", q->gid_map);
        if (!err) err = write_map(parent, "uid_map", q->uid_map);
        if (err && write(errp[1], &err, sizeof err) < 0) err = EIO;
        syscall(SYS_exit, err ? 1 : 0);
    }
    close(errp[1]);
    int err = 0;
    if (unshare(CLONE_NEWUSER) < 0) {
        err = errno ? errno : EPERM;
        syscall(SYS_kill, pid, SIGKILL);
    } else {
        uint64_t one = 1;
        if (write(ready, &one, sizeof one) < 0) {
            err = errno ? errno : EIO;
            syscall(SYS_kill, pid, SIGKILL);
        } else if (read(errp[0], &err, sizeof err) != (ssize_t)sizeof err) {
            err = 0; /* EOF: the maps are written */
        }
    }
    while (syscall(SYS_wait4, pid, NULL, 0, NULL) < 0 && errno == EINTR) {
    }
    close(errp[0]);
    close(ready);
    if (err) fail(EXIT_USER, err);
}

static int cap_sys_admin_effective(void) {
    struct __user_cap_data_struct data[2];
    if (cap_get(data) < 0) return 0;
    return (int)(data[0].effective >> CAP_SYS_ADMIN_BIT & 1);
}

static char daemon_comm[16];

static _Noreturn void child(const Request *q, const int *got) {
    int status = EXIT_SIGNAL_MASK;
    err_fd = got[q->flags & F_INTO_CGROUP ? 1 : 0];
    /* The daemon's comm until execve(2) sets the program's, as a fork child has it
     * (prctl(2) PR_SET_NAME). */
    prctl(PR_SET_NAME, (unsigned long)daemon_comm, 0, 0, 0);
    /* 1. signals: the helper's dispositions are all SIG_DFL and its mask is empty (both
     * inherited through clone3 and kept by execve); SIGPIPE as IgnoreSIGPIPE= says
     * (signal(7): an ignored disposition survives execve). */
    struct sigaction sa = {.sa_handler = q->flags & F_IGNORE_SIGPIPE ? SIG_IGN : SIG_DFL};
    if (sigaction(SIGPIPE, &sa, NULL) < 0) fail_errno(status);
    /* 2. a session of its own (setsid(2)) */
    status = EXIT_SETSID;
    if (setsid() < 0) fail_errno(status);
    /* 3. the cgroup: born there (CLONE_INTO_CGROUP) or left in the helper's */
    if (q->pre_status) fail(q->pre_status, q->pre_errno);
    /* 5a. every fd still needed lifted above the final layout, so no dup2 clobbers one */
    status = EXIT_FDS;
    int n = q->npass, base = 3 + n + 1;
    int e = fcntl(err_fd, F_DUPFD_CLOEXEC, base);
    if (e < 0) fail_errno(status);
    err_fd = e;
    int std_lifted[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++)
        if (q->stdio[i].kind == K_FD &&
            (std_lifted[i] = fcntl(got[q->stdio[i].fd], F_DUPFD_CLOEXEC, base)) < 0)
            fail_errno(status);
    int lifted[MAX_FDS];
    for (int i = 0; i < n; i++)
        if ((lifted[i] = fcntl(got[q->first_pass + i], F_DUPFD_CLOEXEC, base)) < 0)
            fail_errno(status);
    /* 4. UMask= first, so file:/append:/truncate: create files with it; then stdio */
    umask((mode_t)q->umask);
    open_stdio(&q->stdio[0], std_lifted[0], 0, EXIT_STDIN);
    open_stdio(&q->stdio[1], std_lifted[1], 1, EXIT_STDOUT);
    open_stdio(&q->stdio[2], std_lifted[2], 2, EXIT_STDERR);
    /* 5b. passed fds at 3.. (sd_listen_fds(3)), O_NONBLOCK as NonBlocking= says
     * (systemd.service(5); a flag of the open file description, fcntl(2)), the error
     * pipe right after them, every other fd closed (close_range(2), Linux 5.9+). */
    status = EXIT_FDS;
    for (int i = 0; i < n; i++) {
        int nb = (q->flags & F_NON_BLOCKING) != 0;
        if (dup2(lifted[i], 3 + i) < 0 || ioctl(3 + i, FIONBIO, &nb) < 0) fail_errno(status);
    }
    if (dup3(err_fd, 3 + n, O_CLOEXEC) < 0) fail_errno(status);
    err_fd = 3 + n;
    if (syscall(SYS_close_range, 3 + n + 1, ~0u, 0) < 0) {
        if (errno != ENOSYS) fail_errno(status);
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3 + n + 1; fd < max; fd++) close((int)fd);
    }
    /* 6. Limit*= (setrlimit(2), clamped as systemd's setrlimit_closest()), Nice=
     * (setpriority(2)), OOMScoreAdjust= (proc(5) /proc/self/oom_score_adj) */
    status = EXIT_LIMITS;
    for (int i = 0; i < q->nlimits; i++)
        if (setrlimit_closest(q->limit_res[i], &q->limits[i]) < 0) fail_errno(status);
    if (q->flags & F_NICE) {
        status = EXIT_NICE;
        if (setpriority(PRIO_PROCESS, 0, q->nice) < 0) fail_errno(status);
    }
    if (q->oom[0]) {
        status = EXIT_OOM_ADJUST;
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (fd < 0) fail_errno(status);
        /* Lowering the score needs CAP_SYS_RESOURCE, which containers usually lack:
         * systemd 252's exec_child() ignores EPERM/EACCES here ("assuming containerized
         * execution") and fails only on other errors. */
        if (write(fd, q->oom, strlen(q->oom)) < 0 && errno != EPERM && errno != EACCES)
            fail_errno(status);
        if (close(fd) < 0) fail_errno(status);
    }
    /* 6b. IO and CPU scheduling */
    if (q->priv.present) apply_scheduling(&q->priv);
    /* 6c. the mount namespace (PrivateTmp=, ProtectSystem=, ...) */
    if (q->nops >= 0) {
        status = EXIT_NAMESPACE;
        apply_sandbox(q);
    }
    /* 6d. bounding set, inheritable set, keep-caps; under PrivateUsers= in the new user
     * namespace (7a), whose creation gives a full bounding set again (user_namespaces(7)) */
    int userns = q->uid_map[0] != 0;
    if (q->priv.present && !userns) apply_before_user(&q->priv);
    /* 7. groups (setgroups(2), then setresgid(2)), then the user (setresuid(2)); raw
     * syscalls: one thread, no glibc set*id broadcast */
    if (q->flags & F_SWITCH_IDS) {
        status = EXIT_GROUP;
        if (q->ngroups >= 0 && syscall(SYS_setgroups, q->ngroups, q->groups) < 0)
            fail_errno(status);
        if (q->gid >= 0 && syscall(SYS_setresgid, (gid_t)q->gid, (gid_t)q->gid, (gid_t)q->gid) < 0)
            fail_errno(status);
    }
    /* 7a. PrivateUsers=: after the groups, before the user, as 252's exec_child() */
    if (userns) {
        private_users(q);
        if (q->priv.present) apply_before_user(&q->priv);
    }
    if (q->flags & F_SWITCH_IDS) {
        status = EXIT_USER;
        if (q->uid >= 0 && syscall(SYS_setresuid, (uid_t)q->uid, (uid_t)q->uid, (uid_t)q->uid) < 0)
            fail_errno(status);
    }
    /* 7b. ambient capabilities, SecureBits= */
    if (q->priv.present) apply_after_user(&q->priv);
    /* 8. WorkingDirectory= after the user switch (the directory may be reachable only by
     * that user); `-` prefix: a missing one is no error (systemd.exec(5)) */
    status = EXIT_CHDIR;
    if (chdir(q->cwd) < 0 && !(q->flags & F_CWD_MISSING_OK)) fail_errno(status);
    /* 8b. NoNewPrivileges= (prctl(2) PR_SET_NO_NEW_PRIVS, Linux 3.5+); implied by a
     * seccomp setting when CAP_SYS_ADMIN is gone (252 context_has_no_new_privileges():
     * loading a filter needs one or the other, seccomp(2)) */
    if ((q->flags & F_NO_NEW_PRIVILEGES) ||
        ((q->flags & F_NNP_UNLESS_ADMIN) && !cap_sys_admin_effective())) {
        status = EXIT_NO_NEW_PRIVILEGES;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(status, errno ? errno : EPERM);
    }
    /* 9. execve(2); $SYSTEMD_EXEC_PID & co. carry the child's own PID */
    status = EXIT_EXEC;
    if (q->exec_error) fail(status, q->exec_error);
    if (q->npid_slots) {
        char digits[12];
        int k = 0;
        long pid = syscall(SYS_getpid);
        do digits[k++] = (char)('0' + pid % 10); while ((pid /= 10) > 0);
        for (int s = 0; s < q->npid_slots; s++) {
            for (int i = 0; i < k; i++) q->pid_slots[s][i] = digits[k - 1 - i];
            q->pid_slots[s][k] = 0;
        }
    }
    if (q->nfilters) load_filters(q);
    execve(q->path, q->argv, q->envp);
    fail_errno(status);
}

/* ---- the helper's loop ------------------------------------------------------------ */

static void reply(int64_t pid, int32_t err) {
    unsigned char b[12];
    memcpy(b, &pid, 8); /* struct "=qi": native order, no padding */
    memcpy(b + 8, &err, 4);
    while (send(SOCK_FD, b, sizeof b, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

/* Every disposition SIG_DFL. glibc's sigaction() refuses its two internal signals (32 and
 * 33: EINVAL), and its posix_spawn(3), which starts the helpers, leaves them ignored in the
 * child; an ignored disposition survives execve (signal(7)), so services would start with
 * them ignored (systemd's children, forked by a PID 1 that never ignored them, do not): the
 * system call sets those two. */
static void default_dispositions(void) {
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        if (sigaction(sig, &dfl, NULL) < 0 && errno == EINVAL) {
            struct {
                void (*handler)(int);
                unsigned long flags;
                void (*restorer)(void);
                unsigned long mask;
            } kernel_dfl = {.handler = SIG_DFL};
            syscall(SYS_rt_sigaction, sig, &kernel_dfl, NULL, sizeof kernel_dfl.mask);
        }
    }
}

int main(int argc, char **argv) {
    if (argc > 2 && strcmp(argv[1], "--exec") == 0) {
        /* The Python helper's start (linux.spawn_cgroup): the same dispositions, then it. */
        default_dispositions();
        execv(argv[2], argv + 2);
        return 127;
    }
    strncpy(daemon_comm, argc > 1 ? argv[1] : "pidone", sizeof daemon_comm - 1);
    prctl(PR_SET_NAME, (unsigned long)"pidone-spawn", 0, 0, 0);
    if (syscall(SYS_close_range, SOCK_FD + 1, ~0u, 0) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = SOCK_FD + 1; fd < max; fd++) close((int)fd);
    }
    /* Every disposition SIG_DFL, the mask empty (posix_spawn did the mask; a helper started
     * some other way gets the same), so each child starts from the defaults. */
    default_dispositions();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    unsigned char *buffer = malloc(MAX_REQUEST);
    if (!buffer) return 1;
    union {
        struct cmsghdr align;
        char data[CMSG_SPACE(MAX_FDS * sizeof(int))];
    } control;
    for (;;) {
        struct iovec iov = {buffer, MAX_REQUEST};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.data,
                             .msg_controllen = sizeof control.data};
        ssize_t size = recvmsg(SOCK_FD, &msg, MSG_CMSG_CLOEXEC);
        if (size < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        int got[MAX_FDS], ngot = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < k && ngot < MAX_FDS; i++)
                memcpy(&got[ngot++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        }
        if (size == 0 && ngot == 0) { /* EOF: the daemon closed its end */
            free(buffer);
            return 0;
        }
        Request q = {0};
        int64_t pid = 0;
        int32_t err = 0;
        int parsed = (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ? -1
                                                                : parse(buffer, (size_t)size, &q);
        if (parsed == 0 && q.nfds != ngot) parsed = -1;
        if (parsed != 0) {
            err = parsed == -2 ? ENOMEM : EPROTO;
        } else {
            struct clone_args args = {
                .flags = CLONE_PARENT | (q.flags & F_INTO_CGROUP ? CLONE_INTO_CGROUP : 0),
                .cgroup = q.flags & F_INTO_CGROUP ? (uint64_t)got[0] : 0,
            };
            long r = syscall(SYS_clone3, &args, sizeof args);
            if (r == 0) child(&q, got);
            pid = r > 0 ? r : 0;
            err = r < 0 ? errno : 0;
        }
        free_request(&q);
        /* Reply first: the daemon waits for it; the child has its own copy of the fds. */
        reply(pid, err);
        for (int i = 0; i < ngot; i++) close(got[i]);
    }
}
