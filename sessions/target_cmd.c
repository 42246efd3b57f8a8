/* sessions/target (cmd: targets): the NAME.target file, its search path, placeholder expansion and
 * running the command with a timeout (target.h describes the format). */
#include "sessions/target.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fsutil.h"
#include "base/paths.h"

#define TARGET_FILE_MAX (64 * 1024)
#define OUT_MAX (64 * 1024)

static int name_ok(const char *s)
{
    if (!*s || strlen(s) >= 64) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
    return 1;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
    return s;
}

/* {dir}: the directory of the target file, shell-quoted, so a bundled script runs from anywhere */
static const char *const PLACEHOLDERS[] = {"hidden", "input", "batch", "seq", "density", "pattern", "threads", "dir"};
#define N_PLACEHOLDERS ((int)(sizeof PLACEHOLDERS / sizeof PLACEHOLDERS[0]))

/* Index of the placeholder at p ("{name}"), its length in *len; -1 if p holds none. */
static int placeholder_at(const char *p, size_t *len)
{
    if (*p != '{') return -1;
    for (int i = 0; i < N_PLACEHOLDERS; i++) {
        size_t k = strlen(PLACEHOLDERS[i]);
        if (!strncmp(p + 1, PLACEHOLDERS[i], k) && p[1 + k] == '}') {
            *len = k + 2;
            return i;
        }
    }
    return -1;
}

TpStatus target_cmd_parse(TargetCmd *c, const char *name, const char *path, const char *text)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->path, sizeof c->path, "%s", path);
    c->timeout_s = 60;
    c->repeat = 3;
    int lineno = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        char line[2048];
        if (len >= sizeof line) return err_set(TP_EFORMAT, "%s:%d: line longer than %zu characters", path, lineno, sizeof line - 1);
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (nl ? 1 : 0);
        char *l = trim(line);
        if (!*l || *l == '#') continue;
        char *eq = strchr(l, '=');
        if (!eq) return err_set(TP_EFORMAT, "%s:%d: expected 'key = value', got '%.60s'", path, lineno, l);
        *eq = '\0';
        char *k = trim(l), *v = trim(eq + 1);
        char *end, *hash = strstr(v, " #");
        if (hash && (!strcmp(k, "timeout_s") || !strcmp(k, "repeat"))) { /* a number may carry a comment */
            *hash = '\0';
            v = trim(v);
        }
        if (!strcmp(k, "description")) snprintf(c->description, sizeof c->description, "%s", v);
        else if (!strcmp(k, "command") || !strcmp(k, "requires")) {
            char *dst = !strcmp(k, "command") ? c->command : c->requires;
            if (strlen(v) >= sizeof c->command)
                return err_set(TP_EFORMAT, "%s:%d: %s longer than %zu characters", path, lineno, k, sizeof c->command - 1);
            for (char *q = v; *q; q++)
                if (*q == '\t') *q = ' ';
            snprintf(dst, sizeof c->command, "%s", v);
        } else if (!strcmp(k, "timeout_s")) {
            errno = 0;
            c->timeout_s = strtod(v, &end);
            if (!*v || *end || errno || !(c->timeout_s > 0 && c->timeout_s <= 86400))
                return err_set(TP_EFORMAT, "%s:%d: timeout_s '%s': expected seconds in (0, 86400]", path, lineno, v);
        } else if (!strcmp(k, "repeat")) {
            errno = 0;
            long r = strtol(v, &end, 10);
            if (!*v || *end || errno || r < 1 || r > 1000)
                return err_set(TP_EFORMAT, "%s:%d: repeat '%s': expected a whole number 1..1000", path, lineno, v);
            c->repeat = (int)r;
        } else
            return err_set(TP_EFORMAT, "%s:%d: unknown key '%s' (expected description, command, timeout_s, repeat, requires)",
                           path, lineno, k);
    }
    if (!c->command[0]) return err_set(TP_EFORMAT, "%s: no 'command = ...' line", path);
    for (const char *q = c->command; *q; q++) {
        size_t len;
        if (*q != '{' || placeholder_at(q, &len) >= 0) continue;
        return err_set(TP_EFORMAT, "%s: command: unknown placeholder at '%.20s' (expected {hidden} {input} {batch} {seq} "
                       "{density} {pattern} {threads} {dir})", path, q);
    }
    return TP_OK;
}

/* The directories searched for NAME.target, in order. */
static int search_dirs(const char *session_dir, char dirs[][4096], int max)
{
    int n = 0;
    const char *env = getenv("TOPIARY_TARGETS");
    if (env && *env) {
        char copy[4096];
        snprintf(copy, sizeof copy, "%s", env);
        char *save = NULL;
        for (char *d = strtok_r(copy, ":", &save); d && n < max; d = strtok_r(NULL, ":", &save))
            snprintf(dirs[n++], 4096, "%s", d);
    }
    if (session_dir && n < max && path_join(dirs[n], 4096, session_dir, "targets") == TP_OK) n++;
    if (n < max) snprintf(dirs[n++], 4096, "targets");
    char exe[4096];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (k > 0 && n < max) { /* BUILD/topiary -> BUILD/../targets */
        exe[k] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            if (snprintf(dirs[n], 4096, "%s/../targets", exe) < 4096) n++;
        }
    }
    return n;
}

TpStatus target_cmd_load(TargetCmd *c, const char *name, const char *session_dir)
{
    if (!name_ok(name))
        return err_set(TP_EINVAL, "target cmd:%s: expected a name of letters, digits, '.', '-' and '_'", name);
    char dirs[8][4096], looked[2048] = "";
    int n = search_dirs(session_dir, dirs, 8);
    for (int i = 0; i < n; i++) {
        char file[4200];
        int w = snprintf(file, sizeof file, "%s/%s.target", dirs[i], name);
        size_t u = strlen(looked);
        if (u + 1 < sizeof looked && snprintf(looked + u, sizeof looked - u, "%s%s", i ? ", " : "", dirs[i]) < 0) looked[u] = '\0';
        if (w < 0 || (size_t)w >= sizeof file) continue;
        if (!fsutil_exists(file)) continue;
        void *data = NULL;
        size_t len = 0;
        TpStatus st = fsutil_read_file(file, TARGET_FILE_MAX, &data, &len);
        if (st != TP_OK) return err_wrap(st, "target cmd:%s: ", name);
        st = target_cmd_parse(c, name, file, data);
        free(data);
        return st == TP_OK ? TP_OK : err_wrap(st, "target cmd:%s: ", name);
    }
    return err_set(TP_ENOENT, "target cmd:%s: no %s.target in %s (or $TOPIARY_TARGETS)", name, name, looked);
}

static int word_ok(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s)) return 0;
    return 1;
}

TpStatus target_cmd_expand(const TargetCmd *c, const TargetQuery *q, char *buf, size_t n)
{
    if (q->hidden < 1 || q->input < 0 || q->batch < 1 || q->seq < 1 || q->threads < 0 || !(q->density > 0) ||
        q->density > 1 || !isfinite(q->density))
        return err_set(TP_EINVAL, "target cmd:%s: hidden %d, input %d, batch %d, seq %d, threads %d, density %g: out of range",
                       c->name, q->hidden, q->input, q->batch, q->seq, q->threads, q->density);
    if (!word_ok(q->pattern)) return err_set(TP_EINVAL, "target cmd:%s: pattern '%s': expected a lower-case word", c->name, q->pattern);
    size_t u = 0;
    for (const char *p = c->command; *p;) {
        size_t len = 1;
        int k = placeholder_at(p, &len);
        char val[4 * 4096 + 8];
        if (k < 0) {
            val[0] = *p;
            val[1] = '\0';
        } else if (k == 0) snprintf(val, sizeof val, "%d", q->hidden);
        else if (k == 1) snprintf(val, sizeof val, "%d", q->input ? q->input : q->hidden);
        else if (k == 2) snprintf(val, sizeof val, "%d", q->batch);
        else if (k == 3) snprintf(val, sizeof val, "%d", q->seq);
        else if (k == 4) snprintf(val, sizeof val, "%.6g", q->density);
        else if (k == 5) snprintf(val, sizeof val, "%s", q->pattern);
        else if (k == 6) snprintf(val, sizeof val, "%d", q->threads > 0 ? q->threads : 1);
        else { /* the file's directory in single quotes (' as '\'') */
            const char *slash = strrchr(c->path, '/');
            size_t dl = slash ? (size_t)(slash - c->path) : 0, v = 0;
            val[v++] = '\'';
            if (!slash) val[v++] = '.';
            else if (dl == 0) val[v++] = '/';
            for (size_t i = 0; i < dl; i++) {
                if (c->path[i] == '\'') {
                    memcpy(val + v, "'\\''", 4);
                    v += 4;
                } else
                    val[v++] = c->path[i];
            }
            val[v++] = '\'';
            val[v] = '\0';
        }
        size_t vl = strlen(val);
        if (u + vl + 1 > n) return err_set(TP_ERANGE, "target cmd:%s: the command is longer than %zu characters", c->name, n - 1);
        memcpy(buf + u, val, vl);
        u += vl;
        p += len;
    }
    buf[u] = '\0';
    return TP_OK;
}

/* Keep the last OUT_MAX - 1 bytes read from fd in b (*u used). */
static void slurp(int fd, char *b, size_t *u, int *eof)
{
    char tmp[4096];
    ssize_t k = read(fd, tmp, sizeof tmp);
    if (k <= 0) {
        if (k == 0 || (errno != EINTR && errno != EAGAIN)) *eof = 1;
        return;
    }
    if (*u + (size_t)k >= OUT_MAX) { /* drop the oldest half */
        size_t drop = *u / 2 + (size_t)k;
        if (drop > *u) drop = *u;
        memmove(b, b + drop, *u - drop);
        *u -= drop;
    }
    memcpy(b + *u, tmp, (size_t)k);
    *u += (size_t)k;
    b[*u] = '\0';
}

typedef struct {
    int exited, code, signaled, timed_out;
    char out[OUT_MAX], err[OUT_MAX];
} RunResult;

static TpStatus run_shell(const char *cmd, double timeout_s, RunResult *r)
{
    memset(r, 0, sizeof *r);
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC)) return err_set(TP_EIO, "pipe: %s", strerror(errno));
    if (pipe2(pe, O_CLOEXEC)) {
        close(po[0]), close(po[1]);
        return err_set(TP_EIO, "pipe: %s", strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        return err_set(TP_EIO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_DFL);
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0) dup2(in, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no race with the kill below */
    close(po[1]);
    close(pe[1]);
    size_t uo = 0, ue = 0;
    int eo = 0, ee = 0;
    double deadline = clock_now() + timeout_s;
    while (!eo || !ee) {
        double left = deadline - clock_now();
        if (left <= 0) {
            r->timed_out = 1;
            break;
        }
        struct pollfd f[2] = {{eo ? -1 : po[0], POLLIN, 0}, {ee ? -1 : pe[0], POLLIN, 0}};
        int k = poll(f, 2, (int)(left * 1000) + 1);
        if (k < 0 && errno != EINTR) break;
        if (k <= 0) continue;
        if (f[0].revents) slurp(po[0], r->out, &uo, &eo);
        if (f[1].revents) slurp(pe[0], r->err, &ue, &ee);
    }
    close(po[0]);
    close(pe[0]);
    int status = 0;
    pid_t w = 0;
    /* the outputs are closed: the command may still run (it closed them itself) until the deadline */
    while (!r->timed_out && (w = waitpid(pid, &status, WNOHANG)) == 0) {
        if (clock_now() >= deadline) r->timed_out = 1;
        else usleep(2000);
    }
    if (w != pid) {
        kill(-pid, SIGKILL); /* the whole group: sh and what it started */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    } else if (!eo || !ee)
        kill(-pid, SIGKILL); /* the shell is gone but something it started holds the outputs */
    if (WIFEXITED(status)) r->exited = 1, r->code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r->signaled = WTERMSIG(status);
    return TP_OK;
}

/* The last non-empty line of s (trimmed) into buf. */
static void last_line(const char *s, char *buf, size_t n)
{
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1])) len--;
    size_t b = len;
    while (b && s[b - 1] != '\n') b--;
    while (b < len && isspace((unsigned char)s[b])) b++;
    size_t k = len - b < n - 1 ? len - b : n - 1;
    memcpy(buf, s + b, k);
    buf[k] = '\0';
}

/* What a failed run said: the last line of stderr (else of stdout), quoted. */
static void said(const RunResult *r, char *buf, size_t n)
{
    char l[200];
    last_line(r->err[0] ? r->err : r->out, l, sizeof l);
    if (l[0]) snprintf(buf, n, "; it printed: %s%s", r->err[0] ? "(stderr) " : "", l);
    else snprintf(buf, n, "; it printed nothing");
}

static TpStatus run_checked(const TargetCmd *c, const char *what, const char *cmd, RunResult *r, TpStatus fail)
{
    TpStatus st = run_shell(cmd, c->timeout_s, r);
    if (st != TP_OK) return err_wrap(st, "target cmd:%s: %s: ", c->name, what);
    char s[300];
    said(r, s, sizeof s);
    if (r->timed_out)
        return err_set(fail == TP_ENOTAVAIL ? fail : TP_EIO, "target cmd:%s: %s `%s` did not finish within %g s (killed)%s",
                       c->name, what, cmd, c->timeout_s, s);
    if (r->signaled) return err_set(fail, "target cmd:%s: %s `%s` was killed by signal %d%s", c->name, what, cmd, r->signaled, s);
    if (r->code) return err_set(fail, "target cmd:%s: %s `%s` failed (exit status %d)%s", c->name, what, cmd, r->code, s);
    return TP_OK;
}

TpStatus target_cmd_check(const TargetCmd *c)
{
    if (!c->requires[0]) return TP_OK;
    RunResult *r = malloc(sizeof *r);
    if (!r) return err_set(TP_ENOMEM, "out of memory");
    TpStatus st = run_checked(c, "unavailable here: requires", c->requires, r, TP_ENOTAVAIL);
    free(r);
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(const double *v, int n, double q) /* sorted; linear as numpy */
{
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return v[n - 1];
    return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

TpStatus target_cmd_measure(const TargetCmd *c, const TargetQuery *q, double *med, double *p10, double *p90)
{
    char cmd[2048];
    TpStatus st = target_cmd_expand(c, q, cmd, sizeof cmd);
    if (st != TP_OK) return st;
    double *v = calloc((size_t)c->repeat, sizeof *v);
    RunResult *r = malloc(sizeof *r);
    if (!v || !r) st = err_set(TP_ENOMEM, "out of memory");
    for (int i = 0; i < c->repeat && st == TP_OK; i++) {
        if ((st = run_checked(c, "command", cmd, r, TP_EIO)) != TP_OK) break;
        char l[200], *end;
        last_line(r->out, l, sizeof l);
        errno = 0;
        double x = strtod(l, &end);
        if (!l[0] || *end || errno || !isfinite(x) || x <= 0)
            st = err_set(TP_EIO, "target cmd:%s: command `%s` printed %s%s%s on its last line of stdout, expected one positive "
                         "number (microseconds per step)", c->name, cmd, l[0] ? "'" : "nothing", l, l[0] ? "'" : "");
        v[i] = x;
    }
    if (st == TP_OK) {
        qsort(v, (size_t)c->repeat, sizeof *v, cmp_double);
        *med = quantile(v, c->repeat, 0.5);
        *p10 = quantile(v, c->repeat, 0.1);
        *p90 = quantile(v, c->repeat, 0.9);
    }
    free(v);
    free(r);
    return st;
}
