/*
 * Design: every measured configuration gets a directory of its own under
 * the report directory (runs/NN-tool-stages/), so the raw data of a hunt
 * is laid out in the order it was taken.  Without --report the runs go to
 * a temporary directory that is removed at the end.  SIGINT and SIGTERM
 * kill the target's process group at once (the measurement then sees its
 * target gone) and mark the runner interrupted; an atexit hook kills any
 * group still alive, so no process is ever left behind.
 */
#include "runner.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"
#include "measure.h"
#include "target.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
    lh_target_kill_all();
}

int lh_runner_interrupted(void)
{
    return got_signal != 0;
}

static void install_handlers(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    atexit(lh_target_kill_all);
}

/* nftw's callback: removes what it is given (depth first). */
static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    return remove(path);
}

/* Fails (errno set) when the file at path could not be written later; a
 * file created by the probe is removed again, an existing one is left as it
 * is.  Checked before any target runs, so a bad --json path costs nothing. */
static int probe_writable(const char *path)
{
    int existed = access(path, F_OK) == 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    close(fd);
    if (!existed)
        unlink(path);
    return 0;
}

/* --report DIR: created if needed, checked writable, and its runs/ of a
 * command before removed.  0, or 2 after printing an error. */
static int open_report_dir(lh_runner *r, const char *dir)
{
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    if (mkdir(r->dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "leak-hunt: cannot create report directory %s: "
                        "%s\n", r->dir, strerror(errno));
        return 2;
    }
    char probe[1100];
    snprintf(probe, sizeof probe, "%s/.write-test", r->dir);
    FILE *f = fopen(probe, "w");
    if (f == NULL) {
        fprintf(stderr, "leak-hunt: cannot write to report directory "
                        "%s: %s\n", r->dir, strerror(errno));
        return 2;
    }
    fclose(f);
    unlink(probe);
    /* A report directory used before keeps the last command's runs
     * under runs/; a run reads every valgrind XML and heap profile in
     * its own folder, so a folder left from then would mix the old
     * run's figures into the new one's.  runs/ is leak-hunt's own. */
    char old[1100];
    snprintf(old, sizeof old, "%s/runs", r->dir);
    struct stat st;
    if (lstat(old, &st) == 0 && S_ISDIR(st.st_mode))
        nftw(old, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* Without --report: a temporary directory, removed at the end.  0, or 2
 * after printing an error. */
static int make_temp_dir(lh_runner *r)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(r->dir, sizeof r->dir, "%s/leak-hunt.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(r->dir) == NULL) {
        fprintf(stderr, "leak-hunt: cannot create a temporary directory "
                        "in %s: %s\n", tmp && *tmp ? tmp : "/tmp",
                strerror(errno));
        return 2;
    }
    r->own_dir = 1;
    return 0;
}

int lh_runner_init(lh_runner *r, const lh_cli *cli)
{
    memset(r, 0, sizeof *r);
    r->cli = cli;
    r->start = (double)lh_now_us() / 1e6;
    install_handlers();
    if (cli->json_path && probe_writable(cli->json_path) < 0) {
        fprintf(stderr, "leak-hunt: cannot write %s: %s\n", cli->json_path,
                strerror(errno));
        return 2;
    }
    if (cli->report_dir && open_report_dir(r, cli->report_dir) != 0)
        return 2;
    /* Last of the checks that can fail, so that no error path above has
     * anything to free. */
    r->argv = lh_cli_target_argv(cli);
    if (r->argv == NULL) {
        fprintf(stderr, "leak-hunt: out of memory\n");
        return 2;
    }
    size_t len = 0;
    for (size_t i = 0; r->argv[i] && len < sizeof r->command; i++)
        len += (size_t)snprintf(r->command + len, sizeof r->command - len,
                                "%s%s", i ? " " : "", r->argv[i]);
    if (cli->watch)
        snprintf(r->command, sizeof r->command, "watch %.1000s",
                 cli->metrics);
    if (cli->metrics) {
        r->metrics_opts = (lh_poller_opts){
            .url = cli->metrics,
            .work_metric = cli->work_metric,
            .memory_metric = cli->memory_metric,
        };
        r->metrics = &r->metrics_opts;
    }
    if (!cli->report_dir && make_temp_dir(r) != 0) {
        lh_cli_free_argv(r->argv);
        r->argv = NULL;
        return 2;
    }
    return 0;
}

double lh_runner_default_work(const lh_runner *r)
{
    const lh_cli *c = r->cli;
    if (c->work > 0)
        return c->work;
    if (c->duration > 0 || !c->builtin)
        return 0;
    return 1500000; /* ~30 s of the pipeline at 50k events/s */
}

lh_run_result *lh_runner_measure(lh_runner *r, const char *enabled,
                                 const lh_tool *tool)
{
    return lh_runner_measure_plan(r, enabled, tool, NULL);
}

/* The run's budget: the plan's work, else the command's (with the tool's
 * share of a work budget of the built-in pipeline), else its duration
 * (20 s when it gives neither).  *duration 0 when measured by work. */
static double run_budget(const lh_runner *r, const lh_tool *tool,
                         const lh_run_plan *plan, double *duration)
{
    const lh_cli *c = r->cli;
    double work = lh_runner_default_work(r);
    *duration = c->duration;
    if (work <= 0 && *duration <= 0)
        *duration = 20;
    /* A tool that slows the pipeline down gets its share of a work
     * budget (the default's or --work's: lh_tool.budget_divisor), so that
     * its run takes about as long as the others. */
    if (c->builtin && work > 0)
        work = lh_tool_work_budget(tool, work);
    if (plan->work > 0)
        work = plan->work;
    if (plan->duration > 0) { /* a time budget instead */
        work = 0;
        *duration = plan->duration;
    }
    if (work > 0)
        *duration = 0;
    return work;
}

/* What a measurement that ended in an error leaves: the error said on
 * stderr, the run marked ERROR (and the runner tool_failed when the tool
 * could not run); a signal received says so instead. */
static void note_failure(lh_runner *r, lh_run_result *res, int rc)
{
    if (rc == LH_ETOOL && !got_signal) {
        r->tool_failed = 1;
        res->verdict = LH_RUN_ERROR;
        fprintf(stderr, "leak-hunt: %s\n", res->error);
    } else if (rc < 0 || res->verdict == LH_RUN_ERROR) {
        /* (a live switch that went wrong stays inconclusive: live.h) */
        if (res->verdict != LH_RUN_INCONCLUSIVE || rc != LH_EIO || got_signal)
            res->verdict = LH_RUN_ERROR;
        if (got_signal)
            snprintf(res->error, sizeof res->error,
                     "interrupted by signal %d (%s): %s", (int)got_signal,
                     strsignal((int)got_signal),
                     r->cli->watch ? "measurement stopped"
                                   : "target stopped");
        fprintf(stderr, "leak-hunt: %s\n", res->error);
    }
    if (res->usage_error)
        r->env_failed = 1; /* metrics that cannot be used: exit 2 */
    if (got_signal)
        r->interrupted = 1;
}

void lh_runner_go_live(lh_runner *r, const lh_tool *tool, const char *note)
{
    r->live_tool = tool;
    r->mode = "live";
    snprintf(r->mode_note, sizeof r->mode_note, "%s", note ? note : "");
}

void lh_runner_restart(lh_runner *r, const char *why)
{
    r->live_tool = NULL;
    r->mode = "restart";
    snprintf(r->mode_note, sizeof r->mode_note, "%s", why ? why : "");
}

void lh_runner_watch(lh_runner *r)
{
    r->live_tool = NULL;
    r->mode = "watch";
    snprintf(r->mode_note, sizeof r->mode_note, "nothing started: the "
             "service at %.400s measured as it runs", r->cli->metrics);
}

void lh_runner_end_live(lh_runner *r)
{
    if (r->live == NULL)
        return;
    lh_series_free(&r->live_series);
    lh_live_close(r->live, &r->live_series);
    r->live = NULL;
}

double lh_runner_time_left(const lh_runner *r)
{
    double t = r->cli->timeout;
    if (r->live_tool)
        t -= (double)lh_now_us() / 1e6 - r->start;
    return t > 1 ? t : 1;
}

/* A new live run, started with `first`, its raw data in the directory
 * of its first segment, `dir` (a target that cannot switch leaves it laid
 * out as a run of its own's).  0, or an error with res->error set (the
 * control file: env_failed). */
static int open_live(lh_runner *r, const char *first, const char *dir,
                     lh_run_result *res)
{
    const lh_cli *c = r->cli;
    r->nlive++;
    lh_live_opts lo = {
        .argv = r->argv,
        .target_wraps = c->target_wraps,
        .tool = r->live_tool,
        .dir = dir,
        .bindir = c->bindir,
        .supp = c->supp[0] ? c->supp : NULL,
        .stage_map = c->stage_map,
        .first = first,
        .metrics = c->watch ? r->metrics : NULL,
        .switch_cmd = c->switch_cmd,
        .quiet = c->quiet,
        .interrupted = lh_runner_interrupted,
    };
    int rc = lh_live_open(&lo, &r->live, res->error, sizeof res->error);
    if (rc == LH_ESYS)
        r->env_failed = 1;
    if (rc == LH_EINVAL) /* watch mode: the metrics cannot be used */
        res->usage_error = 1;
    return rc == LH_ETOOL || rc == LH_ESYS || rc == LH_ENOMEM ? rc : rc < 0
                                                                   ? LH_EIO
                                                                   : 0;
}

/* The target turned out unable to switch (lh_live_find_mode): its run
 * stands as a run of its own, and every later configuration gets one;
 * said once. */
static void fall_back(lh_runner *r, lh_run_result *res)
{
    res->live = 0;
    lh_runner_end_live(r);
    lh_series_free(&r->live_series);
    lh_runner_restart(r, "the target showed no stages= within 2 s of its "
                         "first stats line: it cannot switch live "
                         "(docs/protocol.md section 5), so each "
                         "configuration runs in a target of its own");
    if (!r->live_said && !r->cli->quiet)
        fprintf(stderr, "%sleak-hunt: %s\n", isatty(2) ? "\r\033[K" : "",
                r->mode_note);
    r->live_said = 1;
}

/* Configuration o->enabled as a segment of the live run (started if
 * none is under way).  lh_live_measure's codes; a live run that failed
 * is ended. */
static int measure_live(lh_runner *r, lh_measure_opts *o,
                        lh_run_result *res)
{
    int first = r->live == NULL;
    if (first) {
        int rc = open_live(r, o->enabled, o->dir, res);
        if (rc < 0) {
            snprintf(res->enabled, sizeof res->enabled, "%s", o->enabled);
            res->tool = o->tool->name;
            res->verdict = LH_RUN_ERROR;
            return rc;
        }
    }
    o->timeout = lh_runner_time_left(r);
    int rc = lh_live_measure(r->live, o, res);
    res->live = r->nlive;
    if (rc == LH_ESYS)
        r->env_failed = 1;
    if (rc == LH_EIO && res->verdict == LH_RUN_INCONCLUSIVE)
        r->live_failed = 1;
    if (rc == 0 && first && lh_live_find_mode(r->live) == 0)
        fall_back(r, res);
    if (rc < 0)
        lh_runner_end_live(r);
    return rc;
}

lh_run_result *lh_runner_measure_plan(lh_runner *r, const char *enabled,
                                      const lh_tool *tool,
                                      const lh_run_plan *plan)
{
    static const lh_run_plan none;
    if (plan == NULL)
        plan = &none;
    if (lh_grow((void **)&r->runs, &r->cap, r->nruns + 1, sizeof *r->runs,
                16) < 0)
        return NULL;
    lh_run_result *res = &r->runs[r->nruns++];
    memset(res, 0, sizeof *res);
    const lh_cli *c = r->cli;
    char dir[1100], label[600];
    snprintf(dir, sizeof dir, "%s/runs/%02zu-%s-%s", r->dir, r->nruns,
             tool->name, enabled[0] ? enabled : "none");
    for (char *p = dir + strlen(r->dir); *p; p++)
        if (*p == ',')
            *p = '+';
    snprintf(label, sizeof label, "%s", enabled[0] ? enabled : "(none)");
    double duration;
    double work = run_budget(r, tool, plan, &duration);
    lh_measure_opts o = {
        .argv = r->argv,
        .target_wraps = c->target_wraps,
        .enabled = enabled,
        .tool = tool,
        .work = work,
        .duration = duration,
        .timeout = c->timeout,
        .threshold = c->threshold,
        .max_extend = plan->extend > 0 ? plan->extend - 1 : c->max_extend,
        .dir = dir,
        .bindir = c->bindir,
        .supp = c->supp[0] ? c->supp : NULL,
        .stage_map = c->stage_map,
        .quiet = c->quiet,
        .label = label,
        .progress = r->progress,
        .progress_arg = r->progress_arg,
        .progress_every = r->progress_every,
        .before_stop = r->before_stop,
        .before_stop_arg = r->before_stop_arg,
        .look_every = plan->look_every,
        .look_seconds = plan->look_seconds,
        .tool_points = plan->tool_points,
        .metrics = r->metrics,
        .interrupted = lh_runner_interrupted,
    };
    int rc;
    if (got_signal) { /* told to stop between two runs: start nothing */
        snprintf(res->enabled, sizeof res->enabled, "%s", enabled);
        res->tool = tool->name;
        res->verdict = LH_RUN_ERROR;
        rc = LH_EIO;
    } else if (r->live_tool && tool == r->live_tool) {
        rc = measure_live(r, &o, res);
    } else {
        /* a run of its own: the live run's target does not share the
         * CPUs with it */
        res->separate = r->live_tool != NULL;
        lh_runner_end_live(r);
        if (res->separate)
            o.timeout = lh_runner_time_left(r);
        rc = lh_measure(&o, res);
    }
    note_failure(r, res, rc);
    return res;
}

static double cpu_seconds(const struct rusage *u)
{
    return (double)(u->ru_utime.tv_sec + u->ru_stime.tv_sec) +
           (double)(u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e6;
}

void lh_runner_report(const lh_runner *r, lh_report *rep)
{
    rep->command = r->cli->cmd;
    if (rep->verdict == NULL)
        rep->verdict = "inconclusive";
    rep->runs = r->runs;
    rep->nruns = r->nruns;
    rep->elapsed_seconds = (double)lh_now_us() / 1e6 - r->start;
    rep->target = r->command;
    rep->mode = r->mode ? r->mode : "restart";
    rep->mode_note = r->mode_note;
    rep->live_series = r->live_series.n ? &r->live_series : NULL;
    rep->live_run = r->nlive;
    if (rep->unit == NULL) {
        /* measured by time: the first run that was measured at all did
         * work equal to its seconds */
        const lh_run_result *x = r->runs;
        while (x && x < r->runs + r->nruns && x->verdict == LH_RUN_ERROR)
            x++;
        rep->unit = r->cli->builtin ? "event" : "unit";
        if (x && x < r->runs + r->nruns && x->signal && x->signal[0] &&
            !r->cli->builtin && x->work == x->seconds)
            rep->unit = "second";
    }
    struct rusage self, kids;
    if (getrusage(RUSAGE_SELF, &self) == 0 &&
        getrusage(RUSAGE_CHILDREN, &kids) == 0) {
        rep->has_rusage = 1;
        rep->harness_cpu_seconds = cpu_seconds(&self);
        rep->harness_max_rss_kb = self.ru_maxrss;
        rep->target_cpu_seconds = cpu_seconds(&kids);
        rep->target_max_rss_kb = kids.ru_maxrss;
    }
}

int lh_runner_write(lh_runner *r, const lh_report *rep)
{
    int rc = 0;
    if (r->cli->json_path &&
        lh_report_write_json(rep, r->cli->json_path) < 0) {
        fprintf(stderr, "leak-hunt: cannot write %s: %s\n", r->cli->json_path,
                strerror(errno));
        rc = LH_EIO;
    }
    if (!r->own_dir) {
        char path[1100];
        snprintf(path, sizeof path, "%s/report.json", r->dir);
        if (lh_report_write_json(rep, path) < 0) {
            fprintf(stderr, "leak-hunt: cannot write %s: %s\n", path,
                    strerror(errno));
            rc = LH_EIO;
        }
        snprintf(path, sizeof path, "%s/report.html", r->dir);
        if (lh_report_write_html(rep, path) < 0) {
            fprintf(stderr, "leak-hunt: cannot write %s: %s\n", path,
                    strerror(errno));
            rc = LH_EIO;
        }
    }
    return rc;
}

void lh_runner_free(lh_runner *r)
{
    lh_runner_end_live(r);
    lh_series_free(&r->live_series);
    for (size_t i = 0; i < r->nruns; i++)
        lh_run_result_free(&r->runs[i]);
    lh_free(r->runs);
    lh_cli_free_argv(r->argv);
    if (r->own_dir && r->dir[0])
        nftw(r->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    memset(r, 0, sizeof *r);
}
