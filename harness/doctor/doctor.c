/*
 * doctor: is each tool the harness drives really usable here, and if not,
 * what one thing fixes it.
 *
 * Each check runs the real thing rather than inferring from files: the
 * valgrind check runs memcheck on /bin/true (that is how the story's
 * broken install showed itself: "failed to start tool 'memcheck' for
 * platform 'amd64-linux'", the launcher not finding its tool directory);
 * the ptrace check has vgdb send a monitor command to a valgrind'd
 * /bin/sleep that is blocked in a system call, which is exactly the case
 * where vgdb must ptrace a process it did not start; the heap profiler
 * check makes a tcmalloc'd /bin/sleep dump a profile on the signal the heap
 * tool uses.  Children run in their own process group with their output
 * captured and a deadline; on the deadline the group is killed.  They are
 * started by core's process layer (process.h): nothing goes through a
 * shell, so PATH and the environment are taken as given (the integration
 * tests rely on that to hide valgrind or break VALGRIND_LIB).
 */
#include "doctor.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "process.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define CAP_SYS_PTRACE_BIT 19
/* Deadlines only bound a hang: a healthy check takes well under a second,
 * but a loaded machine (two cores, valgrind suites beside us) can take
 * seconds to start valgrind. */
#define RUN_TIMEOUT_MS 10000
#define WAIT_US 8000000

__attribute__((format(printf, 4, 5))) static int
set(lh_doctor_check *out, int ok, const char *fix, const char *fmt, ...)
{
    va_list ap;

    out->ok = ok;
    va_start(ap, fmt);
    vsnprintf(out->text, sizeof out->text, fmt, ap);
    va_end(ap);
    snprintf(out->fix, sizeof out->fix, "%s", ok || !fix ? "" : fix);
    return ok ? 0 : LH_ETOOL;
}

/* First line of text (without the newline) into line. */
static void first_line(const char *text, char *line, size_t n)
{
    size_t len = strcspn(text, "\n");

    if (len >= n)
        len = n - 1;
    memcpy(line, text, len);
    line[len] = '\0';
}

/* The first line of text that contains `needle`, or the first line. */
static void line_with(const char *text, const char *needle, char *line,
                      size_t n)
{
    const char *p = strstr(text, needle);

    if (p == NULL) {
        first_line(text, line, n);
        return;
    }
    while (p > text && p[-1] != '\n')
        p--;
    first_line(p, line, n);
}

/* Resolves a program name like execvp does: a name with a slash is taken
 * as it is, otherwise each PATH entry is tried.  0 or LH_ENOTFOUND. */
static int find_in_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    const char *p;

    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0)
            return LH_ENOTFOUND;
        snprintf(out, n, "%s", name);
        return 0;
    }
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    p = path;
    for (;;) {
        size_t len = strcspn(p, ":");
        struct stat sb;

        if (len == 0)
            snprintf(out, n, "./%s", name);
        else
            snprintf(out, n, "%.*s/%s", (int)len, p, name);
        if (access(out, X_OK) == 0 && stat(out, &sb) == 0 &&
            S_ISREG(sb.st_mode))
            return 0;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    out[0] = '\0';
    return LH_ENOTFOUND;
}

/* Runs path (argv, our environment with `setv` applied: lh_spawn_env) in
 * a process group of its own and captures stdout and stderr into buf
 * (NUL-terminated, truncated to cap - 1).  *status gets the wait status.
 * 0, LH_ETIMEOUT (group killed), LH_ENOMEM or LH_ESYS. */
static int run_capture(const char *path, char *const argv[],
                       const char *const *setv, char *buf, size_t cap,
                       int timeout_ms, int *status)
{
    char **env = setv ? lh_spawn_env(setv) : NULL;
    lh_spawn_opts o = {.argv = argv, .path = path, .env = env,
                       .own_group = 1};
    int rc;

    buf[0] = '\0';
    *status = 0;
    if (setv && env == NULL)
        return LH_ENOMEM;
    rc = lh_spawn_capture(&o, buf, cap, timeout_ms, status);
    lh_free(env);
    return rc;
}

/* Starts path (argv, environment env or ours) in a process group of its
 * own, its output to /dev/null.  0, or LH_ESYS (errno set). */
static int start(const char *path, char *const argv[], char **env,
                 lh_proc *p)
{
    lh_spawn_opts o = {.argv = argv, .path = path, .env = env,
                       .own_group = 1};

    return lh_spawn(&o, p);
}

static int exited_zero(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A fresh directory under $TMPDIR (or /tmp).  0 or LH_ESYS. */
static int make_tmpdir(char *dir, size_t n)
{
    const char *tmp = getenv("TMPDIR");

    if (tmp == NULL || *tmp == '\0')
        tmp = "/tmp";
    snprintf(dir, n, "%s/leak-hunt-doctor.XXXXXX", tmp);
    return mkdtemp(dir) ? 0 : LH_ESYS;
}

/* Removes dir and the files directly in it. */
static void remove_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        return;
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        char path[PATH_MAX + 300];

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* 1 if dir holds an entry whose name starts with prefix (copied to name). */
static int dir_has(const char *dir, const char *prefix, char *name, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int found = 0;

    if (d == NULL)
        return 0;
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            found = 1;
            if (name)
                snprintf(name, n, "%s", e->d_name);
            break;
        }
    }
    closedir(d);
    return found;
}

/* ---- pure helpers ---------------------------------------------------- */

int lh_doctor_parse_version(const char *text, char *ver, size_t n)
{
    const char *p = strstr(text, "valgrind-");
    size_t len;

    ver[0] = '\0';
    if (p == NULL)
        return LH_ENOTFOUND;
    p += strlen("valgrind-");
    len = strspn(p, "0123456789.");
    if (len == 0)
        return LH_ENOTFOUND;
    len += strcspn(p + len, " \t\r\n"); /* suffixes like .GIT or -rc1 */
    if (len >= n)
        len = n - 1;
    memcpy(ver, p, len);
    ver[len] = '\0';
    return 0;
}

/* Copies the quoted word at p (just after the opening quote) into out;
 * returns a pointer after the closing quote, or NULL. */
static const char *quoted(const char *p, char *out, size_t n)
{
    const char *end = strchr(p, '\'');
    size_t len;

    if (end == NULL || end == p || memchr(p, '\n', (size_t)(end - p)))
        return NULL;
    len = (size_t)(end - p);
    if (len >= n)
        return NULL;
    memcpy(out, p, len);
    out[len] = '\0';
    return end + 1;
}

int lh_doctor_parse_start_failure(const char *text, char *tool, size_t tn,
                                  char *platform, size_t pn)
{
    static const char a[] = "failed to start tool '";
    static const char b[] = " for platform '";
    const char *p = strstr(text, a);

    tool[0] = '\0';
    platform[0] = '\0';
    if (p == NULL)
        return LH_ENOTFOUND;
    p = quoted(p + strlen(a), tool, tn);
    if (p == NULL || strncmp(p, b, strlen(b)) != 0 ||
        quoted(p + strlen(b), platform, pn) == NULL) {
        tool[0] = '\0';
        platform[0] = '\0';
        return LH_ENOTFOUND;
    }
    return 0;
}

int lh_doctor_cap_effective(const char *status, int cap)
{
    const char *p = strstr(status, "CapEff:");
    unsigned long long mask;
    char *end;

    if (p == NULL || cap < 0 || cap > 63)
        return LH_EPARSE;
    p += strlen("CapEff:");
    errno = 0;
    mask = strtoull(p, &end, 16);
    if (end == p || errno != 0)
        return LH_EPARSE;
    return (int)((mask >> cap) & 1);
}

void lh_doctor_ptrace_policy(int scope, int cap_sys_ptrace,
                             lh_doctor_check *out)
{
    static const char relax[] =
        "sysctl -w kernel.yama.ptrace_scope=0 (as root; keep it in "
        "/etc/sysctl.d/10-ptrace.conf), or run leak-hunt with CAP_SYS_PTRACE "
        "(root, or in a container --cap-add=SYS_PTRACE)";

    switch (scope) {
    case -1:
        set(out, 1, NULL,
            "ptrace: no Yama restriction, vgdb may ptrace the "
            "processes of its user");
        return;
    case 0:
        set(out, 1, NULL,
            "ptrace: kernel.yama.ptrace_scope is 0, vgdb may "
            "ptrace the processes of its user");
        return;
    case 1:
    case 2:
        if (cap_sys_ptrace) {
            set(out, 1, NULL,
                "ptrace: kernel.yama.ptrace_scope is %d, but CAP_SYS_PTRACE "
                "lets vgdb ptrace the processes under test",
                scope);
            return;
        }
        set(out, 0, relax,
            "ptrace: kernel.yama.ptrace_scope is %d: %s, and vgdb is not the "
            "ancestor of the valgrind'd process (leak-hunt starts both), so "
            "vgdb cannot wake a process blocked in a system call and the "
            "leak searches during a run get no answer",
            scope,
            scope == 1 ? "only a process's ancestors may ptrace it"
                       : "only CAP_SYS_PTRACE may ptrace");
        return;
    default:
        set(out, 0,
            "scope 3 cannot be lowered until the next boot: boot with "
            "kernel.yama.ptrace_scope=0 (/etc/sysctl.d), or measure with "
            "--tool heap or --tool rss meanwhile",
            "ptrace: kernel.yama.ptrace_scope is %d: no process may ptrace "
            "another, so vgdb cannot wake a process blocked in a system call",
            scope);
        return;
    }
}

/* ---- valgrind -------------------------------------------------------- */

/* Finds a directory that holds `file` (memcheck-amd64-linux): the
 * installation prefix of the valgrind launcher first, then the usual
 * places.  0 or LH_ENOTFOUND. */
static int find_tool_dir(const char *launcher, const char *file, char *out,
                         size_t n)
{
    static const char *const rel[] = {"libexec/valgrind", "lib/valgrind",
                                      "lib/x86_64-linux-gnu/valgrind",
                                      "lib64/valgrind"};
    static const char *const fixed[] = {
        "/usr/libexec/valgrind", "/usr/lib/valgrind",
        "/usr/lib/x86_64-linux-gnu/valgrind", "/usr/local/libexec/valgrind",
        "/usr/local/lib/valgrind"};
    char real[PATH_MAX], prefix[PATH_MAX], path[PATH_MAX * 2];

    if (realpath(launcher, real) != NULL) {
        char *slash = strrchr(real, '/');

        if (slash)
            *slash = '\0'; /* .../bin */
        slash = strrchr(real, '/');
        if (slash)
            *slash = '\0'; /* the prefix */
        snprintf(prefix, sizeof prefix, "%s", real);
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(path, sizeof path, "%s/%s/%s", prefix, rel[i], file);
            if (access(path, X_OK) == 0) {
                snprintf(out, n, "%s/%s", prefix, rel[i]);
                return 0;
            }
        }
    }
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", fixed[i], file);
        if (access(path, X_OK) == 0) {
            snprintf(out, n, "%s", fixed[i]);
            return 0;
        }
    }
    out[0] = '\0';
    return LH_ENOTFOUND;
}

static int start_failure(lh_doctor_check *out, const char *launcher,
                         const char *name, const char *output)
{
    char tool[64], platform[64], file[160], dir[PATH_MAX + 64], line[300];
    char fix[sizeof out->fix], where[PATH_MAX + 80];
    const char *lib = getenv("VALGRIND_LIB");
    int found;

    if (lh_doctor_parse_start_failure(output, tool, sizeof tool, platform,
                                      sizeof platform) == 0)
        snprintf(file, sizeof file, "%s-%s", tool, platform);
    else
        snprintf(file, sizeof file, "memcheck-amd64-linux");
    line_with(output, "failed to start tool", line, sizeof line);
    found = find_tool_dir(launcher, file, dir, sizeof dir) == 0;
    if (found && lib)
        snprintf(fix, sizeof fix,
                 "VALGRIND_LIB='%s' holds no %s: unset VALGRIND_LIB, or set "
                 "VALGRIND_LIB=%s (where %s is)",
                 lib, file, dir, file);
    else if (found)
        snprintf(fix, sizeof fix,
                 "export VALGRIND_LIB=%s (%s is there), or reinstall "
                 "valgrind: apt-get install --reinstall valgrind",
                 dir, file);
    else
        snprintf(fix, sizeof fix,
                 "reinstall valgrind (apt-get install --reinstall valgrind), "
                 "or set VALGRIND_LIB to the directory holding %s",
                 file);
    if (lib)
        snprintf(where, sizeof where, "VALGRIND_LIB='%s'", lib);
    else
        snprintf(where, sizeof where, "its built-in directory");
    return set(out, 0, fix,
               "%s cannot start memcheck: %s (the tool directory is not "
               "where the launcher looks: %s is not in %s%s)",
               name, line, file, where,
               found ? "" : ", nor in any usual valgrind directory");
}

int lh_doctor_valgrind(lh_doctor_check *out)
{
    char path[PATH_MAX], buf[4096], ver[64], name[80], line[300];
    char *const vargv[] = {"valgrind", "--version", NULL};
    char *const targv[] = {"valgrind", "--tool=memcheck", "-q", "/bin/true",
                           NULL};
    int st, rc;

    if (find_in_path("valgrind", path, sizeof path) != 0)
        return set(out, 0, "apt-get install valgrind",
                   "valgrind not found on PATH");
    rc = run_capture(path, vargv, NULL, buf, sizeof buf, RUN_TIMEOUT_MS, &st);
    if (rc == 0)
        lh_doctor_parse_version(buf, ver, sizeof ver);
    else
        ver[0] = '\0';
    snprintf(name, sizeof name, "valgrind%s%s", ver[0] ? " " : "", ver);
    rc = run_capture(path, targv, NULL, buf, sizeof buf, RUN_TIMEOUT_MS, &st);
    if (rc == LH_ETIMEOUT)
        return set(out, 0,
                   "reinstall valgrind: apt-get install --reinstall valgrind",
                   "%s: 'valgrind --tool=memcheck -q /bin/true' did "
                   "not finish in %d s",
                   name, RUN_TIMEOUT_MS / 1000);
    if (rc != 0)
        return set(out, 0, "apt-get install valgrind", "cannot run %s: %s",
                   path, lh_strerror(rc));
    if (exited_zero(st))
        return set(out, 1, NULL, "%s starts memcheck (%s)", name, path);
    if (strstr(buf, "failed to start tool"))
        return start_failure(out, path, name, buf);
    first_line(buf, line, sizeof line);
    return set(out, 0,
               "reinstall valgrind: apt-get install --reinstall valgrind",
               "%s does not start memcheck on /bin/true (%s%s)", name,
               line[0] ? line : "no output, exit status ",
               line[0] ? "" : (WIFEXITED(st) ? "non-zero" : "killed"));
}

int lh_doctor_vgdb(lh_doctor_check *out)
{
    char path[PATH_MAX];

    if (find_in_path("vgdb", path, sizeof path) != 0)
        return set(out, 0, "apt-get install valgrind (vgdb comes with it)",
                   "vgdb not found on PATH (memcheck's leak searches during "
                   "a run go through it)");
    return set(out, 1, NULL, "vgdb present (%s)", path);
}

/* ---- ptrace ---------------------------------------------------------- */

static int read_small(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t got;

    buf[0] = '\0';
    if (f == NULL)
        return LH_ENOTFOUND;
    got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
    fclose(f);
    return 0;
}

/* State letter and CPU ticks (utime + stime) of pid from /proc/PID/stat.
 * 0 or LH_ENOTFOUND. */
static int proc_state(pid_t pid, char *state, unsigned long long *ticks)
{
    char path[64], text[1024];
    const char *p;
    unsigned long long utime, stime;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, text, sizeof text) != 0)
        return LH_ENOTFOUND;
    p = strrchr(text, ')'); /* the command name may hold spaces */
    if (p == NULL ||
        sscanf(p + 1, " %c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu",
               state, &utime, &stime) != 3)
        return LH_ENOTFOUND;
    *ticks = utime + stime;
    return 0;
}

/* 1 once pid sleeps and uses no CPU over 100 ms, 0 at the deadline. */
static int wait_blocked(pid_t pid)
{
    int64_t deadline = lh_now_us() + WAIT_US;
    unsigned long long before, after;
    char s1, s2;

    while (lh_now_us() < deadline) {
        if (proc_state(pid, &s1, &before) != 0)
            return 0;
        lh_sleep_us(100000);
        if (proc_state(pid, &s2, &after) != 0)
            return 0;
        if (s1 == 'S' && s2 == 'S' && before == after)
            return 1;
    }
    return 0;
}

/* Starts a valgrind'd /bin/sleep with its gdbserver (FIFOs under
 * `dir`), and waits until it is blocked in its system call: vgdb needs
 * ptrace only to wake a process blocked in a system call (a running one
 * polls its FIFO), so the check tests exactly that.  0, or LH_ETOOL with
 * the reason in why (*vg may be running: stop it). */
static int start_sleeper(const char *valgrind, const char *dir,
                         char *popt, lh_proc *vg, char *why, size_t n)
{
    char *const vargv[] = {"valgrind", "--tool=memcheck", "-q", "--vgdb=yes",
                           popt,       "/bin/sleep",      "30", NULL};
    int64_t deadline;

    if (start(valgrind, vargv, NULL, vg) != 0) {
        snprintf(why, n, "cannot start valgrind: %s", strerror(errno));
        return LH_ETOOL;
    }
    /* valgrind's gdbserver makes its FIFOs at start-up */
    deadline = lh_now_us() + WAIT_US;
    while (!dir_has(dir, "vgdb-from-vgdb-to-", NULL, 0)) {
        if (lh_proc_poll(vg) != 0) {
            snprintf(why, n, "valgrind --vgdb=yes /bin/sleep exited at once");
            return LH_ETOOL;
        }
        if (lh_now_us() > deadline) {
            snprintf(why, n, "valgrind --vgdb=yes made no vgdb FIFO in %d s",
                     WAIT_US / 1000000);
            return LH_ETOOL;
        }
        lh_sleep_us(20000);
    }
    if (!wait_blocked(vg->pid)) {
        snprintf(why, n,
                 "the valgrind'd /bin/sleep did not settle into its "
                 "system call in %d s",
                 WAIT_US / 1000000);
        return LH_ETOOL;
    }
    return 0;
}

/* Has vgdb ask the sleeper for its error count.  0, or LH_ETOOL with the
 * reason in why. */
static int ask_vgdb(const char *vgdb, char *popt, char *why, size_t n)
{
    char *const gargv[] = {"vgdb", popt, "v.info", "n_errs_found", NULL};
    char buf[4096], line[300];
    int st, rc;

    rc = run_capture(vgdb, gargv, NULL, buf, sizeof buf, WAIT_US / 1000, &st);
    if (rc == 0 && exited_zero(st) && strstr(buf, "n_errs_found"))
        return 0;
    if (rc != 0 && rc != LH_ETIMEOUT)
        snprintf(why, n, "cannot run vgdb: %s", lh_strerror(rc));
    else if (rc == LH_ETIMEOUT)
        snprintf(why, n,
                 "vgdb got no answer in %d s from a valgrind'd "
                 "process blocked in a system call",
                 WAIT_US / 1000000);
    else {
        line_with(buf, "rror", line, sizeof line);
        snprintf(why, n,
                 "vgdb could not reach a valgrind'd process "
                 "blocked in a system call (%s)",
                 line[0] ? line : "no output");
    }
    return LH_ETOOL;
}

/* Has vgdb send a monitor command to a valgrind'd /bin/sleep.  0, or
 * LH_ETOOL with the reason in why. */
static int vgdb_live(char *why, size_t n)
{
    char valgrind[PATH_MAX], vgdb[PATH_MAX], dir[PATH_MAX];
    char popt[PATH_MAX + 32];
    lh_proc vg = {.fd = -1};
    int rc;

    if (find_in_path("valgrind", valgrind, sizeof valgrind) != 0 ||
        find_in_path("vgdb", vgdb, sizeof vgdb) != 0) {
        snprintf(why, n, "valgrind or vgdb not found");
        return LH_ETOOL;
    }
    if (make_tmpdir(dir, sizeof dir) != 0) {
        snprintf(why, n, "cannot create a temporary directory: %s",
                 strerror(errno));
        return LH_ETOOL;
    }
    snprintf(popt, sizeof popt, "--vgdb-prefix=%s/vgdb", dir);
    rc = start_sleeper(valgrind, dir, popt, &vg, why, n);
    if (rc == 0)
        rc = ask_vgdb(vgdb, popt, why, n);
    lh_proc_stop(&vg, 0);
    remove_tmpdir(dir);
    return rc;
}

int lh_doctor_ptrace(int live, lh_doctor_check *out)
{
    char text[4096], why[400];
    int scope = -1, cap, root = geteuid() == 0;

    if (read_small("/proc/sys/kernel/yama/ptrace_scope", text, sizeof text) ==
        0)
        scope = atoi(text);
    read_small("/proc/self/status", text, sizeof text);
    cap = lh_doctor_cap_effective(text, CAP_SYS_PTRACE_BIT);
    if (cap < 0)
        cap = 0;
    lh_doctor_ptrace_policy(scope, cap, out);
    if (!live)
        return out->ok ? 0 : LH_ETOOL;
    if (vgdb_live(why, sizeof why) == 0) {
        if (scope < 0)
            snprintf(why, sizeof why, "no Yama restriction");
        else
            snprintf(why, sizeof why, "kernel.yama.ptrace_scope %d%s", scope,
                     scope > 0 && cap ? ", CAP_SYS_PTRACE" : "");
        return set(out, 1, NULL,
                   "ptrace: vgdb reached a valgrind'd process blocked in a "
                   "system call (%s)",
                   why);
    }
    if (!out->ok) {
        /* the policy explains it; add what the live test saw */
        size_t len = strlen(out->text);

        snprintf(out->text + len, sizeof out->text - len, "; %s", why);
        return LH_ETOOL;
    }
    return set(out, 0,
               root && !cap
                   ? "give leak-hunt CAP_SYS_PTRACE (in a container: "
                     "--cap-add=SYS_PTRACE, and a seccomp profile that "
                     "allows ptrace)"
                   : "allow ptrace between processes of one user (no "
                     "seccomp or LSM rule against ptrace; in a container: "
                     "--cap-add=SYS_PTRACE)",
               "ptrace: %s%s", why,
               root && !cap ? " (running as root without CAP_SYS_PTRACE)" : "");
}

/* ---- gperftools ------------------------------------------------------ */

int lh_doctor_tcmalloc(const char *so, lh_doctor_check *out)
{
    char pre[PATH_MAX + 20], buf[2048], line[400];
    char *const argv[] = {"true", NULL};
    const char *setv[] = {pre, NULL};
    int st, rc;

    if (so == NULL || *so == '\0' || access(so, R_OK) != 0)
        return set(out, 0,
                   "apt-get install libgoogle-perftools-dev (it brings "
                   "libtcmalloc.so.4), then rebuild leak-hunt",
                   "tcmalloc: %s not found (the heap tool preloads it)",
                   so && *so ? so : "(no path compiled in)");
    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", so);
    rc = run_capture("/bin/true", argv, setv, buf, sizeof buf, RUN_TIMEOUT_MS,
                     &st);
    if (rc != 0)
        return set(out, 0, "check that /bin/true runs",
                   "tcmalloc: cannot run /bin/true: %s", lh_strerror(rc));
    if (strstr(buf, "cannot be preloaded") || !exited_zero(st)) {
        line_with(buf, "LD_PRELOAD", line, sizeof line);
        return set(out, 0,
                   "reinstall it: apt-get install --reinstall "
                   "libgoogle-perftools4",
                   "tcmalloc: %s does not preload (%s)", so,
                   line[0] ? line : "exit status non-zero");
    }
    return set(out, 1, NULL, "tcmalloc preloads (%s)", so);
}

/* 1 if the SigCgt mask of pid has signal sig caught. */
static int catches(pid_t pid, int sig)
{
    char path[64], text[4096];
    const char *p;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small(path, text, sizeof text) != 0)
        return 0;
    p = strstr(text, "SigCgt:");
    if (p == NULL)
        return 0;
    return (int)((strtoull(p + strlen("SigCgt:"), NULL, 16) >> (sig - 1)) & 1);
}

/* Starts /bin/sleep with `so` preloaded and gperftools' heap profiler
 * set to dump into dir on SIGUSR2.  0, or -1 with out set. */
static int start_profiled(const char *so, const char *dir, lh_proc *p,
                          lh_doctor_check *out)
{
    char pre[PATH_MAX + 20], hp[PATH_MAX + 20], sig[40];
    const char *setv[] = {pre,
                          hp,
                          sig,
                          "HEAP_PROFILE_ALLOCATION_INTERVAL=0",
                          "HEAP_PROFILE_INUSE_INTERVAL=0",
                          NULL};
    char *const argv[] = {"sleep", "30", NULL};
    char **env;
    int rc;

    snprintf(pre, sizeof pre, "LD_PRELOAD=%s", so);
    snprintf(hp, sizeof hp, "HEAPPROFILE=%s/doctor", dir);
    snprintf(sig, sizeof sig, "HEAPPROFILESIGNAL=%d", SIGUSR2);
    env = lh_spawn_env(setv);
    if (env == NULL) {
        set(out, 0, "free some memory", "heap profiler: out of memory");
        return -1;
    }
    rc = start("/bin/sleep", argv, env, p);
    lh_free(env);
    if (rc != 0) {
        set(out, 0, "check that /bin/sleep runs",
            "heap profiler: cannot start /bin/sleep: %s", strerror(errno));
        return -1;
    }
    /* signal only once gperftools has its handler, or sleep would die */
    int64_t deadline = lh_now_us() + WAIT_US;
    while (!catches(p->pid, SIGUSR2)) {
        if (lh_proc_poll(p) != 0 || lh_now_us() > deadline) {
            set(out, 0,
                "use gperftools 2.10 or later (Debian 12: "
                "libgoogle-perftools4)",
                "heap profiler: HEAPPROFILESIGNAL=%d installs no handler in "
                "a process with %s preloaded",
                SIGUSR2, so);
            return -1;
        }
        lh_sleep_us(5000);
    }
    return 0;
}

/* Signals p until a profile appears in dir, and checks that it is one.
 * Sets out either way. */
static void dump_profile(lh_proc *p, const char *dir, lh_doctor_check *out)
{
    char name[300], path[PATH_MAX * 2], head[64];
    /* gperftools drops a signal that arrives while its lock is held (at
     * start-up, for one), so ask again until a profile appears */
    int64_t deadline = lh_now_us() + WAIT_US;

    for (int tries = 0; !dir_has(dir, "doctor.", name, sizeof name); tries++) {
        if (tries % 20 == 0)
            kill(p->pid, SIGUSR2);
        if (lh_now_us() > deadline) {
            set(out, 0,
                "check that the directory of HEAPPROFILE is writable and "
                "gperftools is 2.10 or later",
                "heap profiler: no profile written on signal %d in %d s",
                SIGUSR2, WAIT_US / 1000000);
            return;
        }
        lh_sleep_us(10000);
    }
    lh_sleep_us(50000); /* the dump is one write; let it land */
    snprintf(path, sizeof path, "%s/%s", dir, name);
    read_small(path, head, sizeof head);
    if (strncmp(head, "heap profile:", strlen("heap profile:")) != 0) {
        set(out, 0,
            "reinstall gperftools: apt-get install --reinstall "
            "libgoogle-perftools4",
            "heap profiler: %s does not look like a heap profile", name);
        return;
    }
    set(out, 1, NULL, "heap profiler dumps a profile on HEAPPROFILESIGNAL=%d",
        SIGUSR2);
}

int lh_doctor_heapprofile(const char *so, lh_doctor_check *out)
{
    char dir[PATH_MAX];
    lh_proc p = {.fd = -1};

    if (so == NULL || *so == '\0' || access(so, R_OK) != 0)
        return set(out, 0, "apt-get install libgoogle-perftools-dev",
                   "heap profiler: no tcmalloc to preload");
    if (make_tmpdir(dir, sizeof dir) != 0)
        return set(out, 0, "set TMPDIR to a writable directory",
                   "heap profiler: cannot create a temporary directory: %s",
                   strerror(errno));
    if (start_profiled(so, dir, &p, out) == 0)
        dump_profile(&p, dir, out);
    lh_proc_stop(&p, 0);
    remove_tmpdir(dir);
    return out->ok ? 0 : LH_ETOOL;
}

int lh_doctor_pprof(lh_doctor_check *out)
{
    char path[PATH_MAX], buf[2048], line[200];
    char *const argv[] = {"google-pprof", "--version", NULL};
    int st, rc;

    if (find_in_path("google-pprof", path, sizeof path) != 0 &&
        find_in_path("pprof", path, sizeof path) != 0)
        return set(out, 0, "apt-get install google-perftools",
                   "google-pprof not found on PATH (heap profiles are "
                   "symbolised and drawn with it)");
    rc = run_capture(path, argv, NULL, buf, sizeof buf, RUN_TIMEOUT_MS, &st);
    if (rc != 0 || !exited_zero(st)) {
        first_line(buf, line, sizeof line);
        return set(out, 0,
                   "reinstall it: apt-get install --reinstall "
                   "google-perftools (google-pprof is a perl script: perl "
                   "must be on PATH)",
                   "%s --version fails (%s)", path,
                   rc        ? lh_strerror(rc)
                   : line[0] ? line
                             : "no output");
    }
    first_line(buf, line, sizeof line);
    return set(out, 1, NULL, "google-pprof runs: %s (%s)", line, path);
}

/* ---- debug info ------------------------------------------------------ */

static const char no_g_fix[] =
    "rebuild it with -g (CMake: -DCMAKE_BUILD_TYPE=RelWithDebInfo or Debug) "
    "and do not strip it, or install its separate debug file (the -dbgsym "
    "package): without it allocation sites have no file:line";

/* The separate debug file named by a .gnu_debuglink or build-id, if one is
 * found.  0 or LH_ENOTFOUND. */
static int find_debug_file(const char *path, const char *link,
                           const char *buildid, char *out, size_t n)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');

    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    if (link && *link) {
        for (int i = 0; i < 3; i++) {
            char real[PATH_MAX];
            const char *d = dir;

            if (i == 2 && realpath(dir, real) != NULL)
                d = real;
            switch (i) {
            case 0:
                snprintf(out, n, "%s/%s", d, link);
                break;
            case 1:
                snprintf(out, n, "%s/.debug/%s", d, link);
                break;
            default:
                snprintf(out, n, "/usr/lib/debug%s/%s", d, link);
                break;
            }
            if (access(out, R_OK) == 0 && strcmp(out, path) != 0)
                return 0;
        }
    }
    if (buildid && strlen(buildid) > 2) {
        snprintf(out, n, "/usr/lib/debug/.build-id/%.2s/%s.debug", buildid,
                 buildid + 2);
        if (access(out, R_OK) == 0)
            return 0;
    }
    out[0] = '\0';
    return LH_ENOTFOUND;
}

/* Reads the sections of an ELF: whether it has DWARF, its debuglink name
 * and its build-id in hex. */
static int scan_elf(Elf *e, int *dwarf, char *link, size_t ln, char *id,
                    size_t idn)
{
    size_t shstrndx;
    Elf_Scn *scn = NULL;

    *dwarf = 0;
    link[0] = '\0';
    id[0] = '\0';
    if (elf_getshdrstrndx(e, &shstrndx) != 0)
        return LH_EPARSE;
    for (scn = elf_nextscn(e, NULL); scn != NULL; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        const char *name;
        Elf_Data *d;

        if (gelf_getshdr(scn, &sh) == NULL)
            return LH_EPARSE;
        name = elf_strptr(e, shstrndx, sh.sh_name);
        if (name == NULL)
            continue;
        if ((strcmp(name, ".debug_info") == 0 ||
             strcmp(name, ".zdebug_info") == 0) &&
            sh.sh_type != SHT_NOBITS && sh.sh_size > 0)
            *dwarf = 1;
        else if (strcmp(name, ".gnu_debuglink") == 0) {
            d = elf_getdata(scn, NULL);
            if (d && d->d_buf && d->d_size > 0 &&
                memchr(d->d_buf, '\0', d->d_size))
                snprintf(link, ln, "%s", (const char *)d->d_buf);
        } else if (sh.sh_type == SHT_NOTE) {
            size_t off, noff, doff;
            GElf_Nhdr nh;

            d = elf_getdata(scn, NULL);
            if (d == NULL)
                continue;
            for (off = gelf_getnote(d, 0, &nh, &noff, &doff); off > 0;
                 off = gelf_getnote(d, off, &nh, &noff, &doff)) {
                const unsigned char *b = (const unsigned char *)d->d_buf;

                if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                    memcmp(b + noff, "GNU", 4) == 0 &&
                    nh.n_descsz * 2 + 1 <= idn) {
                    for (size_t i = 0; i < nh.n_descsz; i++)
                        snprintf(id + 2 * i, 3, "%02x", b[doff + i]);
                }
            }
        }
    }
    return 0;
}

int lh_doctor_debuginfo(const char *target, lh_doctor_check *out)
{
    char path[PATH_MAX], link[256], id[129], dbg[PATH_MAX * 2];
    char magic[4] = {0};
    Elf *e = NULL;
    int fd = -1, dwarf = 0;
    ssize_t got;

    if (find_in_path(target, path, sizeof path) != 0)
        return set(out, 0, "build it first, or give the right path after --",
                   "debug info: %s not found (or not executable)", target);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return set(out, 0, "make it readable", "debug info: cannot open %s: %s",
                   path, strerror(errno));
    got = read(fd, magic, sizeof magic);
    if (got >= 2 && magic[0] == '#' && magic[1] == '!') {
        set(out, 1, NULL,
            "debug info: %s is a script, not checked (check the programs it "
            "runs: leak-hunt doctor -- PROGRAM)",
            path);
        goto out;
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        set(out, 0, "reinstall libelf1", "debug info: libelf is unusable");
        goto out;
    }
    e = elf_begin(fd, ELF_C_READ, NULL);
    if (e == NULL || elf_kind(e) != ELF_K_ELF) {
        set(out, 0, "give an ELF executable after --",
            "debug info: %s is not an ELF file", path);
        goto out;
    }
    if (scan_elf(e, &dwarf, link, sizeof link, id, sizeof id) != 0) {
        set(out, 0, "rebuild it",
            "debug info: cannot read the sections of "
            "%s: %s",
            path, elf_errmsg(-1));
        goto out;
    }
    if (dwarf) {
        set(out, 1, NULL, "debug info: %s has DWARF (.debug_info)", path);
        goto out;
    }
    if (find_debug_file(path, link, id, dbg, sizeof dbg) == 0) {
        set(out, 1, NULL, "debug info: %s has its DWARF in %s", path, dbg);
        goto out;
    }
    if (link[0])
        set(out, 0, no_g_fix,
            "debug info: %s has no .debug_info, and the debug file its "
            ".gnu_debuglink names (%s) is not found",
            path, link);
    else
        set(out, 0, no_g_fix,
            "debug info: %s has no DWARF (no .debug_info section, no "
            "separate debug file)",
            path);
out:
    if (e)
        elf_end(e);
    close(fd);
    return out->ok ? 0 : LH_ETOOL;
}
