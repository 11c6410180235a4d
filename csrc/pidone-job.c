/* pidone-job.c: the compiled twin of the job verbs (`pidone start|stop|restart|try-restart|
 * reload|reload-or-restart UNIT...`, and `systemctl` of the same verbs plus condrestart)
 * and of the two one-request queries `is-active` and `is-failed`.
 *
 * Why: a CLI call through the Python half pays the interpreter's start-up (12-18 ms here)
 * before the daemon sees anything; this code sends the same request in well under 1 ms.
 * It is linked into the compiled `pidone` command (csrc/pidone.c), which calls job_main()
 * for those verbs, and does exactly what src/pidone/cli/main.py, cli/systemctl.py,
 * cli/jobs.py (_job_main, run, report), cli/query.py (_states) and cli/client.py do for
 * them: same argv parsing, same unit-name completion, same request bytes, same output,
 * exit codes and error texts.
 *
 * Hand-over: anything it does not reproduce exactly (an option it does not know, --help,
 * --version, no unit, a parse error, non-UTF-8 arguments, a socket path too long for
 * sockaddr_un...) is decided BEFORE connecting, and then it runs the Python path instead
 * (launch_python(), csrc/pidone.c: an exec, as bin/pidone would). A request is never sent
 * twice.
 *
 * Wire format (core/protocol.py, docs/daemon.md): frames of a 4-byte big-endian length
 * and that many bytes of UTF-8 JSON holding one object; Hello and the first Request in one
 * write; the reply is read with a strict JSON reader that validates the whole frame the
 * way cli/client.py's loads() (CPython's _json scanner, strict=True, NaN/Infinity
 * accepted, no whitespace around the top-level value) does, then looks members up by
 * re-scanning the validated text (last duplicate key wins, as in a dict).
 *
 * Only libc; C11; built with csrc/pidone.c (setup.py): cc -O2 -o pidone csrc/pidone*.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pidone.h"

#define PROTOCOL_VERSION 1        /* == core.protocol.PROTOCOL_VERSION */
#define MAX_FRAME (64u << 20)     /* == core.protocol.MAX_CLIENT_FRAME */
#define MAX_DEPTH 512             /* nesting bound of the JSON reader */
#define MAX_INT_DIGITS 4300       /* CPython 3.11's int_max_str_digits: more is a ValueError */
#define DEFAULT_RUNTIME_DIR "/run/pidone"

static const char NO_SYSTEMD[] =
    "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
    "Failed to connect to bus: Host is down\n";

/* ---- growable byte buffer ------------------------------------------------------------ */

typedef struct {
    char *data;
    size_t len, cap;
} Buf;

static void die_oom(void) {
    static const char msg[] = "pidone: out of memory\n";
    if (write(2, msg, sizeof msg - 1) < 0) { /* nothing more to do */
    }
    _exit(1);
}

static void buf_reserve(Buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra) {
        if (cap > SIZE_MAX / 2) die_oom();
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) die_oom();
    b->data = p;
    b->cap = cap;
}

static void buf_add(Buf *b, const void *p, size_t n) {
    if (n == 0) return; /* memcpy() with a NULL pointer is undefined even for 0 bytes */
    buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void buf_str(Buf *b, const char *s) { buf_add(b, s, strlen(s)); }

static void buf_printf(Buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- output: everything the Python path writes goes to stderr ------------------------ */

static Buf out, std_out; /* stderr's text, and stdout's (is-active's states) */

static void flush_fd(int fd, Buf *b) {
    size_t done = 0;
    while (done < b->len) {
        ssize_t n = write(fd, b->data + done, b->len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break; /* closed or a broken pipe: nothing to report it on */
        done += (size_t)n;
    }
    b->len = 0;
}

static int finish(int code) {
    flush_fd(1, &std_out);
    flush_fd(2, &out);
    return code & 0xFF; /* pidone-py: posix._exit(code & 0xFF) */
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (as Python's strict decoder accepts it:
 * no overlong forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t avail, uint32_t *cp) {
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t n;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) n = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) n = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) n = 4, v = c & 0x07, min = 0x10000;
    else return 0;
    if (avail < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

static int utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    uint32_t cp;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i, &cp);
        if (!n) return 0;
        i += n;
    }
    return 1;
}

static void put_utf8(Buf *b, uint32_t cp) {
    char t[4];
    size_t n;
    if (cp < 0x80) t[0] = (char)cp, n = 1;
    else if (cp < 0x800) t[0] = (char)(0xC0 | (cp >> 6)), t[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    else if (cp < 0x10000)
        t[0] = (char)(0xE0 | (cp >> 12)), t[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
        t[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    else
        t[0] = (char)(0xF0 | (cp >> 18)), t[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), t[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    buf_add(b, t, n);
}

/* ---- JSON writer: _json.make_encoder(..., encode_basestring, ":", ",", ...) ---------- */

static void json_string(Buf *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': buf_add(b, "\\\"", 2); break;
        case '\\': buf_add(b, "\\\\", 2); break;
        case '\b': buf_add(b, "\\b", 2); break;
        case '\f': buf_add(b, "\\f", 2); break;
        case '\n': buf_add(b, "\\n", 2); break;
        case '\r': buf_add(b, "\\r", 2); break;
        case '\t': buf_add(b, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
                buf_add(b, e, 6);
            } else {
                buf_add(b, p, 1); /* ensure_ascii=False: UTF-8 as it is */
            }
        }
    }
    buf_add(b, "\"", 1);
}

static void frame_end(Buf *b, size_t start) {
    uint32_t n = (uint32_t)(b->len - start - 4);
    unsigned char h[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
    memcpy(b->data + start, h, 4);
}

/* ---- JSON reader ---------------------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t len;
} Text;

enum { J_BAD = 0, J_OBJ, J_ARR, J_STR, J_INT, J_FLOAT, J_TRUE, J_FALSE, J_NULL };

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t skip_ws(Text t, size_t i) {
    while (i < t.len && is_ws(t.s[i])) i++;
    return i;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex4(Text t, size_t i, uint32_t *v) {
    if (i > t.len || t.len - i < 4) return 0;
    uint32_t r = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hexval(t.s[i + k]);
        if (h < 0) return 0;
        r = (r << 4) | (uint32_t)h;
    }
    *v = r;
    return 1;
}

/* The string starting at t.s[i] == '"'. Returns the index after its closing quote, or 0.
 * With `into`, appends its value: UTF-8, a lone surrogate (legal in a Python str) as the
 * text backslashreplace gives it on output ("\ud800"). Raw control characters are errors
 * (strict=True). */
static size_t scan_string(Text t, size_t i, Buf *into) {
    i++;
    while (i < t.len) {
        unsigned char c = (unsigned char)t.s[i];
        if (c == '"') return i + 1;
        if (c < 0x20) return 0;
        if (c != '\\') {
            size_t j = i + 1; /* the frame is valid UTF-8: copy up to the next special */
            while (j < t.len && t.s[j] != '"' && t.s[j] != '\\' && (unsigned char)t.s[j] >= 0x20)
                j++;
            if (into) buf_add(into, t.s + i, j - i);
            i = j;
            continue;
        }
        if (++i >= t.len) return 0;
        char e = t.s[i++];
        char lit = 0;
        switch (e) {
        case '"': lit = '"'; break;
        case '\\': lit = '\\'; break;
        case '/': lit = '/'; break;
        case 'b': lit = '\b'; break;
        case 'f': lit = '\f'; break;
        case 'n': lit = '\n'; break;
        case 'r': lit = '\r'; break;
        case 't': lit = '\t'; break;
        case 'u': break;
        default: return 0;
        }
        if (e != 'u') {
            if (into) buf_add(into, &lit, 1);
            continue;
        }
        uint32_t cp, lo;
        if (!hex4(t, i, &cp)) return 0;
        i += 4;
        /* a high surrogate directly followed by \u and a low one is one code point */
        if (cp >= 0xD800 && cp <= 0xDBFF && t.len - i >= 6 && t.s[i] == '\\' &&
            t.s[i + 1] == 'u' && hex4(t, i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
        }
        if (!into) continue;
        if (cp >= 0xD800 && cp <= 0xDFFF) buf_printf(into, "\\u%04x", (unsigned)cp);
        else put_utf8(into, cp);
    }
    return 0;
}

/* A number as _json's scanner matches it; *kind is J_INT or J_FLOAT. Returns end or 0. */
static size_t scan_number(Text t, size_t i, int *kind) {
    size_t start = i;
    if (i < t.len && t.s[i] == '-') i++;
    if (i >= t.len) return 0;
    if (t.s[i] == '0') i++;
    else if (t.s[i] >= '1' && t.s[i] <= '9')
        while (i < t.len && t.s[i] >= '0' && t.s[i] <= '9') i++;
    else return 0;
    size_t digits = i - start - (t.s[start] == '-');
    *kind = J_INT;
    if (i + 1 < t.len && t.s[i] == '.' && t.s[i + 1] >= '0' && t.s[i + 1] <= '9') {
        i += 2;
        while (i < t.len && t.s[i] >= '0' && t.s[i] <= '9') i++;
        *kind = J_FLOAT;
    }
    if (i < t.len && (t.s[i] == 'e' || t.s[i] == 'E')) {
        size_t j = i + 1;
        if (j < t.len && (t.s[j] == '+' || t.s[j] == '-')) j++;
        if (j < t.len && t.s[j] >= '0' && t.s[j] <= '9') {
            while (j < t.len && t.s[j] >= '0' && t.s[j] <= '9') j++;
            i = j;
            *kind = J_FLOAT;
        }
    }
    if (*kind == J_INT && digits > MAX_INT_DIGITS) return 0; /* int() refuses it */
    return i;
}

static int has_word(Text t, size_t i, const char *w) {
    size_t n = strlen(w);
    return t.len - i >= n && memcmp(t.s + i, w, n) == 0;
}

/* Validates the value at i; returns its end (0 on any defect) and its kind. */
static size_t scan_value(Text t, size_t i, int depth, int *kind) {
    int k;
    if (i >= t.len) return 0;
    switch (t.s[i]) {
    case '"':
        *kind = J_STR;
        return scan_string(t, i, NULL);
    case '{':
    case '[': {
        char close = t.s[i] == '{' ? '}' : ']';
        *kind = close == '}' ? J_OBJ : J_ARR;
        if (depth >= MAX_DEPTH) return 0;
        i = skip_ws(t, i + 1);
        if (i < t.len && t.s[i] == close) return i + 1;
        for (;;) {
            if (close == '}') {
                if (i >= t.len || t.s[i] != '"') return 0;
                if (!(i = scan_string(t, i, NULL))) return 0;
                i = skip_ws(t, i);
                if (i >= t.len || t.s[i] != ':') return 0;
                i = skip_ws(t, i + 1);
            }
            if (!(i = scan_value(t, i, depth + 1, &k))) return 0;
            i = skip_ws(t, i);
            if (i >= t.len) return 0;
            if (t.s[i] == close) return i + 1;
            if (t.s[i] != ',') return 0;
            i = skip_ws(t, i + 1);
        }
    }
    case 't': *kind = J_TRUE; return has_word(t, i, "true") ? i + 4 : 0;
    case 'f': *kind = J_FALSE; return has_word(t, i, "false") ? i + 5 : 0;
    case 'n': *kind = J_NULL; return has_word(t, i, "null") ? i + 4 : 0;
    case 'N': *kind = J_FLOAT; return has_word(t, i, "NaN") ? i + 3 : 0;
    case 'I': *kind = J_FLOAT; return has_word(t, i, "Infinity") ? i + 8 : 0;
    case '-':
        if (has_word(t, i, "-Infinity")) {
            *kind = J_FLOAT;
            return i + 9;
        }
        return scan_number(t, i, kind);
    default:
        return scan_number(t, i, kind);
    }
}

/* A value inside text that has been validated: position, end and kind. */
typedef struct {
    size_t at, end;
    int kind;
} Val;

static Val val_at(Text t, size_t i) {
    Val v = {i, 0, J_BAD};
    v.end = scan_value(t, i, 0, &v.kind);
    return v;
}

/* The last member named `key` of the object v (a dict keeps the last duplicate). */
static int obj_get(Text t, Val obj, const char *key, Val *found) {
    int hit = 0;
    Buf name = {0};
    size_t i = skip_ws(t, obj.at + 1);
    if (t.s[i] == '}') return 0;
    for (;;) {
        name.len = 0;
        size_t j = scan_string(t, i, &name);
        j = skip_ws(t, j);
        j = skip_ws(t, j + 1); /* ':' */
        Val v = val_at(t, j);
        if (name.len == strlen(key) && memcmp(name.data, key, name.len) == 0) {
            *found = v;
            hit = 1;
        }
        i = skip_ws(t, v.end);
        if (t.s[i] == '}') break;
        i = skip_ws(t, i + 1);
    }
    free(name.data);
    return hit;
}

/* Iterates an array: *pos starts at 0; returns 0 when there are no more elements. */
static int arr_next(Text t, Val arr, size_t *pos, Val *item) {
    size_t i;
    if (*pos == 0) {
        i = skip_ws(t, arr.at + 1);
        if (t.s[i] == ']') return 0;
    } else {
        i = skip_ws(t, *pos);
        if (t.s[i] == ']') return 0;
        i = skip_ws(t, i + 1);
    }
    *item = val_at(t, i);
    *pos = item->end;
    return 1;
}

static void str_value(Text t, Val v, Buf *into) {
    into->len = 0;
    scan_string(t, v.at, into);
}

static int str_equals(Text t, Val v, const char *want) {
    if (v.kind != J_STR) return 0;
    Buf b = {0};
    str_value(t, v, &b);
    int same = b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;
    free(b.data);
    return same;
}

/* Python's `value == n` for a JSON value and a small integer n (bool is an int, 1.0 == 1). */
static int num_equals(Text t, Val v, int n) {
    if (v.kind == J_TRUE) return n == 1;
    if (v.kind == J_FALSE) return n == 0;
    if (v.kind == J_INT) {
        const char *s = t.s + v.at;
        size_t len = v.end - v.at;
        if (*s == '-') s++, len--;
        if (n == 0) return len == 1 && *s == '0';
        return t.s[v.at] != '-' && len == 1 && *s == '0' + n;
    }
    if (v.kind == J_FLOAT) {
        if (t.s[v.at] == 'N' || t.s[v.at] == 'I' || t.s[v.at + 1] == 'I') return 0;
        char tmp[64];
        size_t len = v.end - v.at;
        if (len >= sizeof tmp) {
            char *big = strndup(t.s + v.at, len);
            if (!big) die_oom();
            double d = strtod(big, NULL);
            free(big);
            return d == (double)n;
        }
        memcpy(tmp, t.s + v.at, len);
        tmp[len] = 0;
        return strtod(tmp, NULL) == (double)n;
    }
    return 0;
}

/* Python's str(value) for the cases a reply can reasonably hold: strings, ints, None and
 * bools exactly; anything else as its JSON text (Python would print its repr). */
static void py_str(Text t, Val v, int present, Buf *into) {
    into->len = 0;
    if (!present || v.kind == J_NULL) buf_str(into, "None");
    else if (v.kind == J_STR) str_value(t, v, into);
    else if (v.kind == J_TRUE) buf_str(into, "True");
    else if (v.kind == J_FALSE) buf_str(into, "False");
    else if (v.kind == J_INT) {
        const char *s = t.s + v.at;
        if (v.end - v.at == 2 && s[0] == '-' && s[1] == '0') buf_str(into, "0");
        else buf_add(into, s, v.end - v.at);
    } else buf_add(into, t.s + v.at, v.end - v.at);
}

/* repr(value) for "speaks protocol X": as py_str, with an ASCII string quoted as repr does. */
static void py_repr(Text t, Val v, int present, Buf *into) {
    if (present && v.kind == J_STR) {
        Buf s = {0};
        str_value(t, v, &s);
        int ascii = 1;
        for (size_t i = 0; i < s.len; i++) ascii &= (unsigned char)s.data[i] < 0x80;
        if (!ascii) {
            into->len = 0;
            buf_add(into, t.s + v.at, v.end - v.at);
            free(s.data);
            return;
        }
        int dq = memchr(s.data, '\'', s.len) && !memchr(s.data, '"', s.len);
        char q = dq ? '"' : '\'';
        into->len = 0;
        buf_add(into, &q, 1);
        for (size_t i = 0; i < s.len; i++) {
            unsigned char c = (unsigned char)s.data[i];
            if (c == '\\' || c == (unsigned char)q) buf_printf(into, "\\%c", c);
            else if (c == '\n') buf_str(into, "\\n");
            else if (c == '\r') buf_str(into, "\\r");
            else if (c == '\t') buf_str(into, "\\t");
            else if (c < 0x20 || c == 0x7F) buf_printf(into, "\\x%02x", c);
            else buf_add(into, &c, 1);
        }
        buf_add(into, &q, 1);
        free(s.data);
        return;
    }
    py_str(t, v, present, into);
}

/* bool(value) of a JSON value. */
static int truthy(Text t, Val v) {
    switch (v.kind) {
    case J_NULL:
    case J_FALSE: return 0;
    case J_TRUE: return 1;
    case J_STR: return v.end - v.at > 2;
    case J_OBJ:
    case J_ARR: return t.s[skip_ws(t, v.at + 1)] != (v.kind == J_OBJ ? '}' : ']');
    case J_INT: return !num_equals(t, v, 0);
    default: return !num_equals(t, v, 0); /* NaN is true */
    }
}

/* int(value) & 0xFF and int(value) != 0, for an exit code; 0 when Python's int() would
 * not give a number (the reply is then reported as malformed). */
static int exit_code_of(Text t, Val v, int *code, int *nonzero) {
    if (v.kind == J_TRUE || v.kind == J_FALSE) {
        *code = *nonzero = v.kind == J_TRUE;
        return 1;
    }
    if (v.kind != J_INT) return 0; /* floats and strings: not what the daemon sends */
    const char *s = t.s + v.at, *e = t.s + v.end;
    int neg = *s == '-';
    unsigned mod = 0;
    *nonzero = 0;
    for (s += neg; s < e; s++) {
        mod = (mod * 10 + (unsigned)(*s - '0')) & 0xFF;
        *nonzero |= *s != '0';
    }
    *code = (int)(neg ? (256 - mod) & 0xFF : mod);
    return 1;
}

/* ---- argv: cli.main / cli.systemctl / cli.jobs.parse ---------------------------------- */

typedef struct {
    const char *verb;         /* as typed ("try-restart" for condrestart) */
    int query;                /* is-active or is-failed: cli/query.py, not cli/jobs.py */
    const char **units;       /* completed names */
    int n_units;
    int no_block;
    int quiet;                /* -q, --quiet: is-active prints nothing */
    const char *mode;         /* --job-mode or "replace" */
    const char *runtime_dir;  /* --runtime-dir (last), or NULL */
    int systemctl;            /* the `systemctl` face */
} Plan;

static const char *const JOB_VERBS[] = {"start", "stop", "restart", "try-restart", "reload",
                                        "reload-or-restart", NULL};
/* cli/query.py: one "is-active" request; the states on stdout */
static const char *const QUERY_VERBS[] = {"is-active", "is-failed", NULL};
static const char *const SUFFIXES[] = {".service", ".socket", ".target", ".timer", ".mount",
                                       ".automount", ".swap", ".path", ".slice", ".scope",
                                       ".device", NULL};
/* cli.main.VERBS: a verb anywhere else is some other module's; here only "is it a verb". */
/* cli.main.VALUE_OPTIONS and cli.systemctl.VALUE_OPTIONS, as far as this program accepts
 * options at all: every option it accepts before the verb is listed in both or in neither
 * (--runtime-dir, --root, --job-mode take a value in both; the flags in neither). */
static const char *const VALUE_OPTS[] = {"--runtime-dir", "--root", "--job-mode", NULL};
static const char *const FLAGS[] = {"-q", "--quiet", "-a", "--all", "--no-block",
                                    "--no-pager", "--no-legend", "--full", "-l",
                                    "--no-ask-password", "--system", "--plain", NULL};

static int in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return 1;
    return 0;
}

static int starts(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* unit_name(): `foo` -> `foo.service`; globs and typed names stay as they are. */
static const char *unit_name(const char *arg) {
    if (strpbrk(arg, "*?[")) return arg;
    size_t n = strlen(arg);
    for (const char *const *s = SUFFIXES; *s; s++) {
        size_t k = strlen(*s);
        if (n >= k && strcmp(arg + n - k, *s) == 0) return arg;
    }
    char *full = malloc(n + sizeof ".service");
    if (!full) die_oom();
    memcpy(full, arg, n);
    memcpy(full + n, ".service", sizeof ".service");
    return full;
}

/* An option name (before any '=') this program understands: 1 flag, 2 value, 0 not. */
static int option_kind(const char *arg, size_t name_len) {
    char name[32];
    if (name_len >= sizeof name) return 0;
    memcpy(name, arg, name_len);
    name[name_len] = 0;
    if (in_list(name, FLAGS)) return 1;
    if (in_list(name, VALUE_OPTS)) return 2;
    return 0;
}

/* cli.jobs.parse() + _job_main() on `args` (argv without the verb). 0: hand over. */
static int parse_job_args(char **args, int n, Plan *plan) {
    plan->units = calloc((size_t)n + 1, sizeof *plan->units);
    if (!plan->units) die_oom();
    plan->mode = NULL;
    for (int i = 0; i < n; i++) {
        const char *arg = args[i];
        if (strcmp(arg, "--") == 0) {
            for (i++; i < n; i++) plan->units[plan->n_units++] = unit_name(args[i]);
            break;
        }
        if (arg[0] != '-' || strcmp(arg, "-") == 0) {
            plan->units[plan->n_units++] = unit_name(arg);
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        int kind = option_kind(arg, name_len);
        if (kind == 0) return 0; /* unknown, or one whose value Python checks: its message */
        if (kind == 1) {
            if (name_len == 10 && strncmp(arg, "--no-block", 10) == 0) plan->no_block = 1;
            if ((name_len == 2 && strncmp(arg, "-q", 2) == 0) ||
                (name_len == 7 && strncmp(arg, "--quiet", 7) == 0))
                plan->quiet = 1;
            continue;
        }
        const char *value;
        if (eq) value = eq + 1;
        else if (i + 1 < n) value = args[++i];
        else return 0; /* "option 'X' requires an argument" */
        if (starts(arg, "--runtime-dir")) plan->runtime_dir = value;
        else if (starts(arg, "--job-mode")) plan->mode = value;
        /* --root: parsed and unused by the job verbs */
    }
    if (plan->n_units == 0) return 0; /* "Too few arguments." (after systemctl's check) */
    if (!plan->mode || !*plan->mode) plan->mode = "replace"; /* `or "replace"` */
    return 1;
}

/* cli.main.main() for the `pidone` face. */
static int plan_pidone(char **args, int n, Plan *plan) {
    if (n == 0 || strcmp(args[0], "-h") == 0 || strcmp(args[0], "--help") == 0 ||
        strcmp(args[0], "help") == 0 || strcmp(args[0], "--version") == 0)
        return 0;
    int index = -1;
    for (int i = 0; i < n; i++) { /* _find_verb */
        if (strcmp(args[i], "--") == 0) return 0;
        if (args[i][0] == '-') {
            const char *eq = strchr(args[i], '=');
            size_t name_len = eq ? (size_t)(eq - args[i]) : strlen(args[i]);
            if (strcmp(args[i], "-") != 0 && option_kind(args[i], name_len) == 0) return 0;
            if (in_list(args[i], VALUE_OPTS)) i++;
            continue;
        }
        index = i;
        break;
    }
    if (index < 0) return 0;
    plan->query = in_list(args[index], QUERY_VERBS);
    if (!plan->query && !in_list(args[index], JOB_VERBS)) return 0;
    plan->verb = args[index];
    char **rest = malloc(sizeof *rest * (size_t)n);
    if (!rest) die_oom();
    int m = 0;
    for (int i = 0; i < n; i++)
        if (i != index) rest[m++] = args[i];
    return parse_job_args(rest, m, plan);
}

/* cli.systemctl._option_value(argv, ("--runtime-dir",)): the first one, either form. */
static const char *sysctl_runtime_dir(char **args, int n) {
    for (int i = 0; i < n; i++) {
        if (strcmp(args[i], "--runtime-dir") == 0 && i + 1 < n) return args[i + 1];
        if (starts(args[i], "--runtime-dir=")) return args[i] + 14;
    }
    return NULL;
}

/* cli.systemctl.main() for the `systemctl` face. */
static int plan_systemctl(char **args, int n, Plan *plan) {
    plan->systemctl = 1;
    int index = -1;
    for (int i = 0; i < n; i++) {
        if (strcmp(args[i], "--version") == 0 || strcmp(args[i], "-h") == 0 ||
            strcmp(args[i], "--help") == 0)
            return 0;
        /* --root/--image anywhere: "Verb 'X' cannot be used with --root= or --image=." */
        if (strcmp(args[i], "--root") == 0 || strcmp(args[i], "--image") == 0 ||
            starts(args[i], "--root=") || starts(args[i], "--image="))
            return 0;
    }
    for (int i = 0; i < n; i++) { /* split_verb */
        if (strcmp(args[i], "--") == 0) return 0;
        if (args[i][0] == '-' && args[i][1]) {
            const char *eq = strchr(args[i], '=');
            size_t name_len = eq ? (size_t)(eq - args[i]) : strlen(args[i]);
            if (option_kind(args[i], name_len) == 0) return 0;
            if (in_list(args[i], VALUE_OPTS)) i++;
            continue;
        }
        index = i;
        break;
    }
    if (index < 0) return 0;
    if (strcmp(args[index], "condrestart") == 0) plan->verb = "try-restart";
    else if (in_list(args[index], JOB_VERBS)) plan->verb = args[index];
    else if (in_list(args[index], QUERY_VERBS)) plan->verb = args[index], plan->query = 1;
    else return 0;
    char **rest = malloc(sizeof *rest * (size_t)n);
    if (!rest) die_oom();
    int m = 0;
    for (int i = 0; i < n; i++)
        if (i != index) rest[m++] = args[i];
    if (!parse_job_args(rest, m, plan)) return 0;
    /* the daemon check and the job may only use the same runtime directory */
    const char *first = sysctl_runtime_dir(args, n);
    if ((first == NULL) != (plan->runtime_dir == NULL)) return 0;
    if (first && strcmp(first, plan->runtime_dir) != 0) return 0;
    return 1;
}

/* ---- the call ------------------------------------------------------------------------- */

static void on_sigint(int sig) {
    (void)sig;
    _exit(130); /* cli.main: KeyboardInterrupt -> 130; nothing was printed yet */
}

typedef struct {
    int fd;
    const char *path;
    Buf in;
    size_t used; /* bytes of `in` already consumed */
    int hung_up;
} Conn;

static int fail(Conn *c, const char *fmt) {
    buf_printf(&out, fmt, c->path);
    return finish(1);
}

static int lost(Conn *c, int err) {
    buf_printf(&out, "Connection to pidone at %s lost: %s\n", c->path, strerror(err));
    return finish(1);
}

/* Makes `count` unread bytes available; 0 ok, else the exit code (message written). */
static int need(Conn *c, size_t count, int *rc) {
    if (c->used) { /* the frames before are done with: keep only the unread bytes */
        memmove(c->in.data, c->in.data + c->used, c->in.len - c->used);
        c->in.len -= c->used;
        c->used = 0;
    }
    while (c->in.len < count) {
        size_t want = count - c->in.len;
        if (want < 65536) want = 65536;
        buf_reserve(&c->in, want);
        ssize_t n = recv(c->fd, c->in.data + c->in.len, want, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == ECONNRESET) n = 0; /* what came before the reset was read */
        if (n < 0) {
            *rc = lost(c, errno);
            return -1;
        }
        if (n == 0) {
            *rc = fail(c, c->hung_up ? "pidone at %s hung up on us before replying\n"
                                     : "pidone at %s closed the connection before replying\n");
            return -1;
        }
        c->in.len += (size_t)n;
    }
    return 0;
}

/* Reads the next frame into *t (valid UTF-8, one JSON object) and its object value. */
static int read_message(Conn *c, Text *t, Val *msg, int *rc) {
    if (need(c, 4, rc)) return -1;
    const unsigned char *h = (const unsigned char *)c->in.data + c->used;
    uint32_t length = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    c->used += 4;
    if (length > MAX_FRAME) {
        buf_printf(&out, "pidone at %s sent an oversized frame (%u bytes)\n", c->path,
                   (unsigned)length);
        *rc = finish(1);
        return -1;
    }
    if (need(c, length, rc)) return -1;
    t->s = c->in.data + c->used;
    t->len = length;
    c->used += length;
    int kind = J_BAD;
    size_t end = length && utf8_valid(t->s, length) ? scan_value(*t, 0, 0, &kind) : 0;
    if (end != length || !end) {
        *rc = fail(c, "pidone at %s sent malformed JSON\n");
        return -1;
    }
    if (kind != J_OBJ) {
        *rc = fail(c, "pidone at %s sent a malformed message\n");
        return -1;
    }
    *msg = val_at(*t, 0);
    return 0;
}

/* Client._result for a failed Response; always ends the call. */
static int remote_error(Conn *c, Text t, Val msg, const Plan *plan) {
    Val err, v;
    if (!obj_get(t, msg, "error", &err) || err.kind != J_OBJ)
        return fail(c, "Malformed error reply from pidone at %s\n");
    Buf code = {0}, text = {0};
    int has = obj_get(t, err, "code", &v);
    if (has) py_str(t, v, 1, &code);
    has = obj_get(t, err, "message", &v);
    if (has) py_str(t, v, 1, &text);
    if (!plan->query && code.len == 13 && memcmp(code.data, "access-denied", 13) == 0) {
        buf_printf(&out, "Failed to %s %s: Access denied\n", plan->verb, plan->units[0]);
        return finish(4);
    }
    if (text.len) buf_add(&out, text.data, text.len);
    buf_add(&out, "\n", 1);
    return finish(1);
}

/* report(): the per-unit lines to stderr; the first non-zero exit code wins. -1: malformed. */
static int report_lines(Text t, Val holder) {
    Val lines, line;
    if (!obj_get(t, holder, "lines", &lines)) return 0;
    if (lines.kind != J_ARR) return -1;
    Buf s = {0};
    size_t pos = 0;
    while (arr_next(t, lines, &pos, &line)) {
        if (line.kind != J_STR) {
            free(s.data);
            return -1;
        }
        str_value(t, line, &s);
        buf_add(&out, s.data, s.len);
        buf_add(&out, "\n", 1);
    }
    free(s.data);
    return 0;
}

static int report(Conn *c, Text t, Val msg) {
    Val result, results, entry, v;
    int code = 0, have = 0, value, nonzero;
    if (!obj_get(t, msg, "result", &result) || result.kind != J_OBJ) return finish(0);
    if (obj_get(t, result, "results", &results)) {
        if (results.kind != J_ARR) goto malformed;
        size_t pos = 0;
        while (arr_next(t, results, &pos, &entry)) {
            if (entry.kind != J_OBJ || report_lines(t, entry) < 0) goto malformed;
            if (obj_get(t, entry, "exit_code", &v) && truthy(t, v) && !have) {
                if (!exit_code_of(t, v, &value, &nonzero)) goto malformed;
                code = value, have = nonzero;
            }
        }
    }
    if (report_lines(t, result) < 0) goto malformed;
    if (!have && obj_get(t, result, "exit_code", &v) && truthy(t, v)) {
        if (!exit_code_of(t, v, &value, &nonzero)) goto malformed;
        code = value;
    }
    return finish(code);
malformed:
    return fail(c, "pidone at %s sent a malformed reply\n");
}

/* cli/query.py _states(): one ActiveState word per unit on stdout (unless --quiet);
 * is-active exits 0 if any is active or reloading, else 3; is-failed 0 if any failed, else 1. */
static int report_states(Conn *c, Text t, Val msg, const Plan *plan) {
    Val result, states, state;
    int any = 0;
    Buf s = {0};
    /* result.get("states", []): a reply without an object result is a traceback there */
    if (!obj_get(t, msg, "result", &result) || result.kind != J_OBJ) goto malformed;
    if (obj_get(t, result, "states", &states)) {
        if (states.kind != J_ARR) goto malformed;
        size_t pos = 0;
        while (arr_next(t, states, &pos, &state)) {
            if (state.kind == J_OBJ || state.kind == J_ARR || state.kind == J_FLOAT)
                goto malformed; /* str() of those: Python's repr, not reproduced */
            py_str(t, state, 1, &s);
            if (!plan->quiet) {
                buf_add(&std_out, s.data, s.len);
                buf_add(&std_out, "\n", 1);
            }
            if (state.kind != J_STR) continue;
            if (strcmp(plan->verb, "is-failed") == 0)
                any |= s.len == 6 && memcmp(s.data, "failed", 6) == 0;
            else
                any |= (s.len == 6 && memcmp(s.data, "active", 6) == 0) ||
                       (s.len == 9 && memcmp(s.data, "reloading", 9) == 0);
        }
    }
    free(s.data);
    if (strcmp(plan->verb, "is-failed") == 0) return finish(any ? 0 : 1);
    return finish(any ? 0 : 3);
malformed:
    free(s.data);
    std_out.len = 0; /* Python printed nothing before failing */
    return fail(c, "pidone at %s sent a malformed reply\n");
}

static int call(const Plan *plan, const char *path) {
    Conn c = {.fd = -1, .path = path};
    int rc = 0;
    /* request: Hello and Request(id 1) in one write, as cli/client.py sends them */
    Buf req = {0};
    buf_add(&req, "\0\0\0\0", 4);
    buf_printf(&req, "{\"type\":\"hello\",\"version\":%d,\"software\":\"pidone-cli\"}",
               PROTOCOL_VERSION);
    frame_end(&req, 0);
    size_t second = req.len;
    buf_add(&req, "\0\0\0\0", 4);
    buf_str(&req, "{\"type\":\"request\",\"id\":1,\"verb\":");
    json_string(&req, plan->query ? "is-active" : plan->verb); /* is-failed asks is-active */
    buf_str(&req, ",\"args\":{\"units\":[");
    for (int i = 0; i < plan->n_units; i++) {
        if (i) buf_add(&req, ",", 1);
        json_string(&req, plan->units[i]);
    }
    if (plan->query) {
        buf_str(&req, "]}}");
    } else {
        buf_str(&req, plan->no_block ? "],\"no_block\":true,\"mode\":"
                                     : "],\"no_block\":false,\"mode\":");
        json_string(&req, plan->mode);
        buf_str(&req, "}}");
    }
    frame_end(&req, second);

    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t plen = strlen(path);
    memcpy(addr.sun_path, path, plen); /* length checked by the caller */
    c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0 ||
        connect(c.fd, (struct sockaddr *)&addr, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen)) < 0) {
        int err = errno;
        if (plan->systemctl) { /* cli.systemctl.daemon_answers() said no */
            buf_str(&out, NO_SYSTEMD);
            return finish(1);
        }
        buf_printf(&out, "Failed to connect to pidone at %s: %s\n", path, strerror(err));
        return finish(1);
    }
    for (size_t done = 0; done < req.len;) {
        ssize_t n = send(c.fd, req.data + done, req.len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
            c.hung_up = 1; /* its last words may still be queued for us */
            break;
        }
        if (n < 0) return lost(&c, errno);
        done += (size_t)n;
    }
    free(req.data);
    for (;;) {
        Text t;
        Val msg, v = {0, 0, J_BAD};
        if (read_message(&c, &t, &msg, &rc)) return rc;
        int has_type = obj_get(t, msg, "type", &v);
        if (has_type && str_equals(t, v, "hello")) {
            int has = obj_get(t, msg, "version", &v);
            if (!has || !(num_equals(t, v, 1) && (v.kind == J_INT || v.kind == J_TRUE))) {
                Buf r = {0};
                py_repr(t, v, has, &r);
                buf_printf(&out, "pidone at %s speaks protocol %.*s\n", path, (int)r.len,
                           r.data ? r.data : "");
                return finish(1);
            }
            continue;
        }
        if (!has_type || !str_equals(t, v, "response")) continue; /* events, others */
        int has_id = obj_get(t, msg, "id", &v);
        int id0 = has_id && num_equals(t, v, 0), id1 = has_id && num_equals(t, v, 1);
        if (!id0 && !id1) continue;
        int ok = obj_get(t, msg, "ok", &v) && v.kind == J_TRUE;
        if (!ok) return remote_error(&c, t, msg, plan);
        if (id1) return plan->query ? report_states(&c, t, msg, plan) : report(&c, t, msg);
        /* an id-0 success is no answer to our request: read on */
    }
}

int job_main(const char *launcher, char **args, int n) {
    const char *prog = strrchr(launcher, '/');
    prog = prog ? prog + 1 : launcher;
    Plan plan = {0};
    int ok;
    if (strcmp(prog, "systemctl") == 0) ok = plan_systemctl(args, n, &plan);
    else if (strcmp(prog, "journalctl") == 0) ok = 0;
    else ok = plan_pidone(args, n, &plan);
    const char *dir = plan.runtime_dir;
    if (!dir || !*dir) dir = getenv("PIDONE_RUNTIME_DIR");
    if (!dir || !*dir) dir = DEFAULT_RUNTIME_DIR;
    Buf path = {0};
    buf_str(&path, dir);
    buf_str(&path, path.data[path.len - 1] == '/' ? "control.sock" : "/control.sock");
    buf_add(&path, "", 1);
    /* Python encodes every string it sends or prints as UTF-8: anything else is its call */
    for (int i = 0; ok && i < plan.n_units; i++)
        ok = utf8_valid(plan.units[i], strlen(plan.units[i]));
    ok = ok && utf8_valid(plan.mode, strlen(plan.mode)) && utf8_valid(path.data, path.len - 1);
    /* CPython refuses a path longer than sun_path ("AF_UNIX path too long") */
    ok = ok && path.len - 1 <= sizeof(((struct sockaddr_un *)0)->sun_path);
    if (!ok) launch_python(args, n); /* hand over: no return */
    signal(SIGINT, on_sigint);
    signal(SIGPIPE, SIG_IGN); /* as CPython: a closed stderr is an error, not a signal */
    return call(&plan, path.data);
}
