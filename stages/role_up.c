/*
 * role_up.c - `selfheal up`: starts the whole local topology, supervises
 * it, sums its counters, stops it cleanly.
 *
 * Design:
 * - Children are this same binary (/proc/self/exe) in their roles,
 *   started by core's process layer (process.h), each in a process group
 *   of its own (a SIGTERM to up's group reaches up only, which then stops
 *   the children in order), dying with up (SIGKILL: PR_SET_PDEATHSIG),
 *   and their stdout sent to stderr (up's stdout carries only the
 *   summary).
 * - Start order: broker (unless --brokers), store, the B nodes, A, the
 *   producer; each waits for the port file of what it needs.  B nodes get
 *   ports up picks in advance (bound at once, then released), because each
 *   B must know every peer's address at start; a restarted B takes the
 *   same port again.
 * - B nodes run under LEAKHUNT_WRAP (a command prefix split on spaces),
 *   and, with --scenario abi-mismatch, with LD_LIBRARY_PATH at library A
 *   v2.  LEAKHUNT_STAGES, LEAKHUNT_STATS and LEAKHUNT_CONTROL pass through
 *   the environment; --stages sets LEAKHUNT_STAGES.  With LEAKHUNT_CONTROL
 *   the A's and B nodes switch stages live (docs/protocol.md section 5):
 *   every A gets --nodes whatever the starting stages, and the summary
 *   counts the run's end in events finished or dropped.
 * - Supervision every 50 ms: a B or A that dies is started again (its
 *   counters so far are kept and added to the new instance's); a broker
 *   or store that dies ends the run with an error.
 * - The run ends when --events N events were produced and every consumed
 *   event was finished (A's acked + dropped reach N), or after
 *   --duration S, or on SIGTERM/SIGINT, or when nothing moved for
 *   --stall-timeout seconds (an error).  Children are stopped in order:
 *   producer, A, B nodes, store, broker; each gets SIGTERM and a grace
 *   period (longer under a wrapper such as valgrind), then SIGKILL.
 * - No orphans: whatever kills up (SIGKILL included) kills its children
 *   at once: their death signal is SIGKILL, armed before exec with every
 *   handler of up's put back to its default first, then checked against
 *   getppid() (up may have died between fork and prctl; the orphan is
 *   then re-parented to a subreaper, not necessarily pid 1).  The death
 *   signal was SIGTERM, and a child that up's death reached between
 *   fork and exec ran up's handler, which ate it: the role then ran on,
 *   orphaned (seen with strace delaying the child;
 *   tests/integration/orphans.sh checks that a SIGKILLed up leaves
 *   nothing).  Exec keeps the death signal (a
 *   wrapper such as valgrind execs); the roles still bound their own stop
 *   (roleutil.h's stop deadline, 2 s unless LH_STOP_DEADLINE_MS says
 *   otherwise; wrapped children get 3/4 of the grace period instead, so
 *   that they end by themselves before up's SIGKILL) for up's
 *   ordinary stop.
 * - --ledger: produce, A and the B nodes write the event ledger
 *   (ledger.h) into the run directory, one file per process instance
 *   (a restarted B or A writes a new one); stale ledger files there are
 *   removed first.  After the children stopped, up merges them: produced
 *   (key, version) pairs, finished ones, lost (produced, never finished)
 *   and duplicates (finished more than once), in the summary and as
 *   "lost", "duplicates" and "ledger_events" (and ledger_*) in --json.
 *   A run that ended by reaching --events with lost > 0 fails (exit 1).
 *   Off by default: it costs 32 bytes of disk per record, two records
 *   per event, which long soaks do not want.
 */
#include "roles.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "clock.h"
#include "counters.h"
#include "error.h"
#include "inject.h"
#include "kafka.h"
#include "kafka_broker.h"
#include "ledger.h"
#include "net.h"
#include "process.h"
#include "registry.h"
#include "roleutil.h"
#include "up.h"

#ifndef LH_LIBA_V2_DIR
#define LH_LIBA_V2_DIR ""
#endif

/* ---- children ---- */

__attribute__((format(printf, 2, 0)))
static int add_argv(child *c, const char *fmt, va_list ap)
{
    char buf[2048];
    if (c->argc >= MAX_ARGS - 1)
        return LH_ETOOBIG;
    vsnprintf(buf, sizeof buf, fmt, ap);
    c->argv[c->argc] = lh_strdup(buf);
    if (c->argv[c->argc] == NULL)
        return LH_ENOMEM;
    c->argc++;
    c->argv[c->argc] = NULL;
    return 0;
}

static int add_arg(child *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int add_arg(child *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = add_argv(c, fmt, ap);
    va_end(ap);
    return rc;
}

/* Adds option `opt` and its value. */
static int add_opt(child *c, const char *opt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_opt(child *c, const char *opt, const char *fmt, ...)
{
    va_list ap;
    int rc = add_arg(c, "%s", opt);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    rc = add_argv(c, fmt, ap);
    va_end(ap);
    return rc;
}

static void child_free(child *c)
{
    for (int i = 0; i < c->argc; i++)
        lh_free(c->argv[i]);
    c->argc = 0;
}

/* The stop grace period of children, in ms. */
static int grace_ms(const up *u)
{
    return (int)(u->o.grace_s ? u->o.grace_s * 1000
                              : (u->nwrap ? 60000 : 10000));
}

/* Starts child c (core/process.h): a process group of its own, so that a
 * SIGTERM to up's group (how leak-hunt stops a target) reaches up alone,
 * which then stops the children in order (the broker last, so A can
 * commit and the producer can flush); SIGKILL when up dies, however it
 * dies (nobody reads the children's counters then); its stdout on up's
 * stderr.  0 or LH_ESYS (said). */
static int spawn(up *u, child *c)
{
    char *argv[MAX_ARGS + 32];
    char deadline[48], libpath[sizeof LH_LIBA_V2_DIR + 32];
    const char *set[3];
    int n = 0, k = 0;

    if (c->wrap)
        for (size_t i = 0; i < u->nwrap && n < 32; i++)
            argv[n++] = u->wrap[i];
    for (int i = 0; i < c->argc; i++)
        argv[n++] = c->argv[i];
    argv[n] = NULL;
    if (c->v2) {
        snprintf(libpath, sizeof libpath, "LD_LIBRARY_PATH=%s",
                 LH_LIBA_V2_DIR);
        set[k++] = libpath;
    }
    /* A wrapped child (valgrind) may stop slowly, but its own deadline
     * comes before up's SIGKILL (3/4 of the grace): it then exits by
     * itself, says why, and valgrind still writes its summary. */
    if (c->wrap && u->nwrap > 0) {
        snprintf(deadline, sizeof deadline, "LH_STOP_DEADLINE_MS=%d",
                 grace_ms(u) / 4 * 3);
        set[k++] = deadline;
    }
    set[k] = NULL;
    char **env = lh_spawn_env(set);
    lh_spawn_opts so = {.argv = argv,
                        .env = env,
                        .out = STDERR_FILENO,
                        .own_group = 1,
                        .die_with_parent = 1,
                        .exec_error = "selfheal up: cannot run "};
    lh_proc p;
    fflush(NULL);
    int rc = env ? lh_spawn(&so, &p) : LH_ENOMEM;
    lh_free(env);
    if (rc != 0) {
        fprintf(stderr, "selfheal up: cannot start %s: %s\n", c->name,
                lh_strerror(rc));
        return LH_ESYS;
    }
    c->pid = p.pid;
    c->started = (double)lh_wall_us() / 1e6;
    c->exited = 0;
    return 0;
}

/* 1 when role `role` is in the comma list (default "b"). */
static int in_list(const char *list, const char *role)
{
    size_t len = strlen(role);
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == len && memcmp(p, role, n) == 0)
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* A new child running `selfheal ROLE` (its first two arguments), whose
 * counters file, all but the broker's, is DIR/NAME.cnt.  *rc is ORed with
 * the arguments' errors. */
static child *new_child(up *u, enum kind k, const char *name, int *rc)
{
    static const char *const roles[] = {"broker", "store", "b", "a",
                                        "produce"};
    child *c = &u->kids[u->nkids++];
    memset(c, 0, sizeof *c);
    c->kind = k;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->wrap = in_list(u->o.wrap_roles ? u->o.wrap_roles : "b", roles[k]);
    if (k != K_BROKER)
        snprintf(c->counters_path, sizeof c->counters_path, "%s/%s.cnt",
                 u->dir, name);
    *rc |= add_arg(c, "%s", u->self);
    *rc |= add_arg(c, "%s", roles[k]);
    return c;
}

/* 1 (and a message) when c exited; its status is then kept. */
static int exited_early(child *c)
{
    int st;
    if (c == NULL || c->pid <= 0 || waitpid(c->pid, &st, WNOHANG) != c->pid)
        return 0;
    c->pid = 0;
    c->exited = 1;
    c->status = st;
    fprintf(stderr, "selfheal up: %s exited during start-up\n", c->name);
    return 1;
}

/* Waits `us`, serving /metrics meanwhile when it is on. */
static void pause_serving(up *u, int64_t us)
{
    int64_t end = lh_now_us() + us;

    if (u->metrics == NULL) {
        lh_sleep_us(us);
        return;
    }
    for (int64_t now = lh_now_us(); now < end && !lh_role_stop;
         now = lh_now_us()) {
        struct pollfd pfd = {.fd = lh_metrics_fd(u->metrics),
                             .events = POLLIN};
        int ms = (int)((end - now + 999) / 1000);
        int most = lh_metrics_wait_ms(u->metrics);
        if (most < ms)
            ms = most;
        if (poll(&pfd, 1, ms) >= 0)
            lh_metrics_run(u->metrics);
    }
}

/* Waits up to timeout_ms for a port file; 0 and *port, or LH_ETIMEOUT.
 * Fails early when `c` exits meanwhile. */
static int wait_port(up *u, child *c, const char *path, int timeout_ms,
                     unsigned *port)
{
    int64_t end = lh_now_us() + (int64_t)timeout_ms * 1000;
    while (lh_now_us() < end && !lh_role_stop) {
        if (lh_port_file_read(path, port) == 0)
            return 0;
        if (exited_early(c))
            return LH_ECLOSED;
        pause_serving(u, 10000);
    }
    fprintf(stderr, "selfheal up: %s did not start in time (%s)\n",
            c ? c->name : "child", path);
    return LH_ETIMEOUT;
}

static int wait_text_file(up *u, child *c, const char *path, int timeout_ms,
                          char *out, size_t cap)
{
    int64_t end = lh_now_us() + (int64_t)timeout_ms * 1000;
    while (lh_now_us() < end && !lh_role_stop) {
        FILE *f = fopen(path, "re");
        if (f != NULL) {
            int ok = fgets(out, (int)cap, f) != NULL;
            fclose(f);
            if (ok) {
                out[strcspn(out, "\r\n")] = '\0';
                if (out[0])
                    return 0;
            }
        }
        if (exited_early(c))
            return LH_ECLOSED;
        pause_serving(u, 10000);
    }
    fprintf(stderr, "selfheal up: %s did not start in time\n", c->name);
    return LH_ETIMEOUT;
}

static void read_counters(child *c)
{
    lh_counters now;
    if (c->counters_path[0] &&
        lh_counters_read(c->counters_path, &now, NULL, 0) == 0)
        c->last = now;
}

static void sum_all(up *u, lh_counters *sum)
{
    memset(sum, 0, sizeof *sum);
    for (int i = 0; i < u->nkids; i++) {
        lh_counters t;
        lh_up_total_of(&u->kids[i], &t);
        lh_counters_add(sum, &t);
    }
}

/* Reads the counter files of the children still running and sums every
 * child's counts into *sum. */
static void poll_counters(up *u, lh_counters *sum)
{
    for (int i = 0; i < u->nkids; i++)
        if (u->kids[i].pid > 0)
            read_counters(&u->kids[i]);
    sum_all(u, sum);
}

/* Stops a child: SIGTERM, grace, SIGKILL. */
static void stop_child(child *c, int grace_ms)
{
    int st;
    if (c->pid <= 0)
        return;
    kill(c->pid, SIGTERM);
    int64_t end = lh_now_us() + (int64_t)grace_ms * 1000;
    for (;;) {
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid || (r < 0 && errno == ECHILD))
            break;
        if (lh_now_us() >= end) {
            fprintf(stderr, "selfheal up: %s did not stop in %d ms; "
                    "killing it\n", c->name, grace_ms);
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &st, 0);
            break;
        }
        lh_sleep_us(5000);
    }
    c->pid = 0;
    c->exited = 1;
    c->status = st;
}

/* ---- building the topology ---- */

static int pick_ports(up *u)
{
    int fds[MAX_NODES];
    size_t len = 0;
    int rc = 0;
    uint64_t n = u->o.nodes;

    for (uint64_t i = 0; i < n; i++)
        fds[i] = -1;
    for (uint64_t i = 0; i < n; i++) {
        uint16_t port = 0;
        fds[i] = lh_net_listen("127.0.0.1", 0, &port);
        if (fds[i] < 0) {
            rc = fds[i];
            fds[i] = -1;
            break;
        }
        len += (size_t)snprintf(u->peers + len, sizeof u->peers - len,
                                "%s127.0.0.1:%u", i ? "," : "", port);
    }
    for (uint64_t i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return rc;
}

static int build_b(up *u, uint32_t id)
{
    char name[16];
    int rc = 0;
    snprintf(name, sizeof name, "b%u", id);
    child *c = new_child(u, K_B, name, &rc);
    c->v2 = u->o.scenario != NULL;
    rc |= add_opt(c, "--id", "%u", id);
    rc |= add_opt(c, "--peers", "%s", u->peers);
    rc |= add_opt(c, "--store", "%s", u->store_addr);
    rc |= add_opt(c, "--delay-ms", "%" PRIu64, u->o.delay_ms);
    rc |= add_opt(c, "--counters", "%s", c->counters_path);
    rc |= add_opt(c, "--port-file", "%s/b%u.port", u->dir, id);
    if (u->o.ledger)
        rc |= add_opt(c, "--ledger", "%s", u->dir);
    for (int i = 0; i < u->o.ninject; i++)
        rc |= add_opt(c, "--inject", "%s", u->o.inject[i]);
    return rc ? LH_ENOMEM : 0;
}

/* The broker (unless --brokers), up when its address file is there. */
static int start_broker(up *u, int startup_ms)
{
    char path[PATH_MAX + 32];
    int rc = 0;

    if (u->o.brokers != NULL) {
        snprintf(u->brokers, sizeof u->brokers, "%s", u->o.brokers);
        return 0;
    }
    child *c = new_child(u, K_BROKER, "broker", &rc);
    rc |= add_opt(c, "--partitions", "%" PRIu64, u->o.partitions);
    rc |= add_opt(c, "--brokers-count", "%" PRIu64, u->o.brokers_count);
    rc |= add_opt(c, "--topic", "%s", u->o.topic);
    rc |= add_opt(c, "--group", "%s", u->o.group);
    rc |= add_opt(c, "--port-file", "%s/broker.addr", u->dir);
    /* fault plans mid-run (tests) */
    rc |= add_opt(c, "--control", "%s/broker.ctl", u->dir);
    if (u->o.broker_faults != NULL)
        rc |= add_opt(c, "--faults", "%s", u->o.broker_faults);
    if (rc || spawn(u, c) != 0)
        return LH_ESYS;
    snprintf(path, sizeof path, "%s/broker.addr", u->dir);
    return wait_text_file(u, c, path, startup_ms, u->brokers,
                          sizeof u->brokers);
}

/* The store, up when its port file is there. */
static int start_store(up *u, int startup_ms)
{
    char path[PATH_MAX + 32];
    unsigned port;
    int rc = 0;

    child *s = new_child(u, K_STORE, "store", &rc);
    rc |= add_opt(s, "--port-file", "%s/store.port", u->dir);
    rc |= add_opt(s, "--counters", "%s", s->counters_path);
    rc |= add_opt(s, "--corrupt-rate", "%g", u->o.corrupt_rate);
    if (u->o.store_delay_us > 0)
        rc |= add_opt(s, "--delay-us", "%" PRIu64, u->o.store_delay_us);
    if (rc || spawn(u, s) != 0)
        return LH_ESYS;
    snprintf(path, sizeof path, "%s/store.port", u->dir);
    rc = wait_port(u, s, path, startup_ms, &port);
    if (rc != 0)
        return rc;
    snprintf(u->store_addr, sizeof u->store_addr, "127.0.0.1:%u", port);
    return 0;
}

/* The B nodes, on ports picked first; up when their port files are
 * there.  They run even with forward off (they then receive nothing: the
 * article's "B doing nothing"), so a wrapper sees the same processes in
 * every configuration. */
static int start_b_nodes(up *u, int startup_ms)
{
    char path[PATH_MAX + 32];
    unsigned port;
    int rc = pick_ports(u);

    if (rc != 0) {
        fprintf(stderr, "selfheal up: cannot pick ports: %s\n",
                lh_strerror(rc));
        return rc;
    }
    int first_b = u->nkids;
    for (uint32_t id = 0; id < u->o.nodes; id++) {
        rc = build_b(u, id);
        if (rc != 0 || spawn(u, &u->kids[u->nkids - 1]) != 0)
            return LH_ESYS;
    }
    for (uint32_t id = 0; id < u->o.nodes; id++) {
        snprintf(path, sizeof path, "%s/b%u.port", u->dir, id);
        rc = wait_port(u, &u->kids[first_b + (int)id], path, startup_ms, &port);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The topic, the group and the -X properties of a Kafka client role. */
static int add_kafka_opts(up *u, child *c)
{
    int rc = add_opt(c, "--topic", "%s", u->o.topic);
    rc |= add_opt(c, "--group", "%s", u->o.group);
    for (int i = 0; i < u->o.nprops; i++)
        rc |= add_opt(c, "-X", "%s", u->o.props[i]);
    return rc;
}

/* The A's (--consumers of them, one group), each told every B node
 * whether forward is on or off: it may be switched (LEAKHUNT_CONTROL). */
static int start_consumers(up *u)
{
    for (uint64_t k = 0; k < u->o.consumers; k++) {
        char name[16];
        int rc = 0;
        if (u->o.consumers == 1)
            snprintf(name, sizeof name, "a");
        else
            snprintf(name, sizeof name, "a%u", (unsigned)k);
        child *a = new_child(u, K_A, name, &rc);
        rc |= add_opt(a, "--name", "%s", name);
        rc |= add_opt(a, "--brokers", "%s", u->brokers);
        rc |= add_kafka_opts(u, a);
        rc |= add_opt(a, "--nodes", "%s", u->peers);
        rc |= add_opt(a, "--window", "%" PRIu64, u->o.window);
        rc |= add_opt(a, "--counters", "%s", a->counters_path);
        if (u->o.ledger)
            rc |= add_opt(a, "--ledger", "%s", u->dir);
        if (rc || spawn(u, a) != 0)
            return LH_ESYS;
    }
    return 0;
}

/* Waits until every A from kids[first_a] on holds partitions (the first
 * join takes seconds), so that events then flow at the producer's pace
 * instead of piling up in Kafka and arriving in one burst.  (More A's
 * than partitions: some never get any; the wait then ends at its time
 * limit.)  0, or LH_ECLOSED when an A exited. */
static int wait_joined(up *u, int first_a, int startup_ms)
{
    int64_t until = lh_now_us() + (int64_t)startup_ms * 1000;
    while (!lh_role_stop && lh_now_us() < until) {
        int joined = 0;
        for (int k = first_a; k < u->nkids; k++) {
            child *a = &u->kids[k];
            read_counters(a);
            joined += a->last.v[LH_C_assigned] > 0;
            if (exited_early(a))
                return LH_ECLOSED;
        }
        if (joined == u->nkids - first_a)
            break;
        pause_serving(u, 20000);
    }
    return 0;
}

static int start_producer(up *u)
{
    int rc = 0;
    child *p = new_child(u, K_PRODUCE, "produce", &rc);
    rc |= add_opt(p, "--brokers", "%s", u->brokers);
    rc |= add_kafka_opts(u, p);
    rc |= add_opt(p, "--store", "%s", u->store_addr);
    rc |= add_opt(p, "--events", "%" PRIu64,
                  u->o.events ? u->o.events : (uint64_t)1000000000000);
    rc |= add_opt(p, "--keys", "%" PRIu64, u->o.keys);
    rc |= add_opt(p, "--value-size", "%" PRIu64, u->o.value_size);
    rc |= add_opt(p, "--rate", "%" PRIu64, u->o.rate);
    rc |= add_opt(p, "--max-lag", "%" PRIu64, u->o.max_lag);
    rc |= add_opt(p, "--counters", "%s", p->counters_path);
    if (u->o.ledger)
        rc |= add_opt(p, "--ledger", "%s", u->dir);
    if (rc || spawn(u, p) != 0)
        return LH_ESYS;
    return 0;
}

/* Starts the topology in order, each part once what it needs is up:
 * broker, store, B nodes, A's, then (once they joined) the producer. */
static int start_all(up *u)
{
    int startup_ms = u->nwrap > 0 ? 120000 : 20000;
    int rc = start_broker(u, startup_ms);
    if (rc == 0)
        rc = start_store(u, startup_ms);
    if (rc == 0)
        rc = start_b_nodes(u, startup_ms);
    int first_a = u->nkids;
    if (rc == 0)
        rc = start_consumers(u);
    if (rc == 0)
        rc = wait_joined(u, first_a, startup_ms);
    if (rc == 0)
        rc = start_producer(u);
    return rc;
}

/* ---- supervision ---- */

static child *find_pid(up *u, pid_t pid)
{
    for (int i = 0; i < u->nkids; i++)
        if (u->kids[i].pid == pid)
            return &u->kids[i];
    return NULL;
}

/* Reaps exited children; restarts A and B nodes.  0, or LH_EIO when a
 * child we cannot do without died. */
static int reap(up *u)
{
    int st;
    pid_t pid;
    for (;;) {
        pid = waitpid(-1, &st, WNOHANG);
        if (pid <= 0)
            break;
        child *c = find_pid(u, pid);
        if (c == NULL)
            continue;
        c->pid = 0;
        c->exited = 1;
        c->status = st;
        read_counters(c);
        if (lh_role_stop)
            continue; /* stopping anyway: no restarts, no alarm */
        if (c->kind == K_PRODUCE) {
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "selfheal up: the producer failed (status "
                        "%d)\n", st);
                return LH_EIO;
            }
            continue;
        }
        if (c->kind == K_BROKER || c->kind == K_STORE) {
            fprintf(stderr, "selfheal up: %s died (status %d)\n", c->name, st);
            return LH_EIO;
        }
        fprintf(stderr, "selfheal up: %s died (status %d); starting it "
                "again\n", c->name, st);
        lh_counters_add(&c->base, &c->last);
        memset(&c->last, 0, sizeof c->last);
        unlink(c->counters_path);
        c->restarts++;
        if (spawn(u, c) != 0)
            return LH_EIO;
    }
    return 0;
}

/* 1 when the consumer group has committed everything in the topic (A
 * commits only what B nodes finished). */
static int group_caught_up(up *u)
{
    int64_t lag = -1;
    if (u->klag == NULL &&
        lh_klag_new(u->brokers, u->o.group, u->o.topic, &u->klag) != 0)
        return 0;
    return lh_klag_get(u->klag, 1000, &lag) == 0 && lag == 0;
}

/* 1 when every A runs and has nothing in flight. */
static int consumers_idle(const up *u)
{
    for (int i = 0; i < u->nkids; i++) {
        const child *c = &u->kids[i];
        if (c->kind == K_A && (c->pid <= 0 || c->last.v[LH_C_outstanding]))
            return 0;
    }
    return 1;
}

/* ---- options ---- */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: selfheal up [--events N | --duration S] [--nodes N] "
        "[--stages LIST]\n"
        "                   [--inject STAGE:KIND:BYTES[:EVERY]]... "
        "[--scenario abi-mismatch]\n"
        "                   [--brokers LIST] [--json FILE] "
        "[--corrupt-rate F] [--keys K]\n"
        "                   [--value-size S] [--rate R] [--max-lag L] "
        "[--delay-ms MS]\n"
        "                   [--window N] [--partitions P] [--stall-timeout "
        "S] [--grace S]\n"
        "                   [--dir DIR] [--keep] [--ledger] [--wrap-roles "
        "LIST] [--consumers N]\n"
        "                   [--auth-token TOKEN] [--broker-faults SPEC] "
        "[--store-delay-us US]\n"
        "                   [--topic T] [--group G] [-X NAME=VALUE]... "
        "[--brokers-count N]\n"
        "                   [--metrics-port PORT] [--metrics-port-file "
        "FILE]\n"
        "Starts broker (unless --brokers), store, producer, A (--consumers "
        "of them in one\n"
        "consumer group, default 1) and N B nodes (default 3),\n"
        "stops after N events (all produced and finished) or S seconds, "
        "and prints\n"
        "the summary.  Defaults: --events 100000 (when neither is given), "
        "--corrupt-rate\n"
        "0.01, --keys 1000000, --value-size 64, --delay-ms 1000, --window "
        "131072,\n"
        "--partitions 32, --max-lag 400000, --stall-timeout 60.\n"
        "LEAKHUNT_WRAP prefixes the B nodes' command (--wrap-roles: the "
        "roles it\n"
        "prefixes, of broker,store,b,a,produce; default b); "
        "LEAKHUNT_STAGES,\n"
        "LEAKHUNT_STATS and LEAKHUNT_CONTROL (live switching: "
        "docs/protocol.md) pass\n"
        "through to the children.  --auth-token (or "
        "LH_AUTH_TOKEN):\n"
        "a token every connection between the processes must carry (given "
        "to the\n"
        "children in LH_AUTH_TOKEN, not on their command lines).\n"
        "--ledger: count loss by (key, version): every event produced and "
        "finished is\n"
        "recorded in the run directory and the summary (and --json) adds "
        "lost and\n"
        "duplicates; a run that reached --events with an event lost "
        "fails.  It costs\n"
        "about 64 bytes per event on disk, and in up's memory when the run "
        "ends: for\n"
        "bounded runs, not long soaks.\n"
        "Faults (tests): --broker-faults SPEC runs that fault plan in the "
        "broker (selfheal\n"
        "broker --help); a plan written to DIR/broker.ctl (by rename) runs "
        "when it\n"
        "appears, progress in DIR/broker.ctl.status.  --store-delay-us: the "
        "store\n"
        "takes that long over each request (selfheal store --help).\n"
        "Kafka: --topic (default changes) and --group (default selfheal) "
        "go to the\n"
        "broker, produce and the A's; -X NAME=VALUE (repeatable) is a "
        "librdkafka property\n"
        "for produce, the A's and up's own lag reader, as kcat takes it "
        "(security.protocol,\n"
        "sasl.*, ssl.*, ...); with --brokers the topic must exist unless "
        "-X\n"
        "allow.auto.create.topics=true.  --brokers-count N: brokers in the "
        "embedded\n"
        "cluster (default 1); a broker taken down (--broker-faults "
        "down:ID) hands its\n"
        "partitions and the group's coordinator to a broker still up.\n"
        "--metrics-port PORT: Prometheus /metrics of every child (labels "
        "role, node)\n"
        "and per-role sums (selfheal_role_*); 0: a port the kernel picks, "
        "written to\n"
        "--metrics-port-file FILE and said on stderr (docs/selfheal.md, "
        "Metrics).\n");
}

static int take_prop(void *opts, const char *val)
{
    up_opts *o = opts;
    if (o->nprops == MAX_PROPS) {
        fprintf(stderr, "selfheal up: at most %d -X\n", MAX_PROPS);
        return 2;
    }
    if (lh_opt_kafka_prop("up", val) != 0)
        return 2;
    o->props[o->nprops++] = val;
    return 0;
}

static int take_inject(void *opts, const char *val)
{
    up_opts *o = opts;
    if (o->ninject == MAX_INJECT) {
        fprintf(stderr, "selfheal up: at most %d --inject\n", MAX_INJECT);
        return 2;
    }
    o->inject[o->ninject++] = val;
    return 0;
}


/* In the order of the usage text. */
static const lh_opt up_options[] = {
    LH_OPT_N(up_opts, "--events", events, 0, UINT64_MAX / 2),
    LH_OPT_D(up_opts, "--duration", duration, 0),
    LH_OPT_N(up_opts, "--nodes", nodes, 1, MAX_NODES),
    LH_OPT_S(up_opts, "--stages", stages),
    LH_OPT_C("--inject", take_inject),
    LH_OPT_S(up_opts, "--scenario", scenario),
    LH_OPT_S(up_opts, "--brokers", brokers),
    LH_OPT_S(up_opts, "--json", json),
    LH_OPT_D(up_opts, "--corrupt-rate", corrupt_rate, 1.0),
    LH_OPT_N(up_opts, "--keys", keys, 1, 100000000),
    LH_OPT_N(up_opts, "--value-size", value_size, 0, 65536),
    LH_OPT_N(up_opts, "--rate", rate, 0, 100000000),
    LH_OPT_N(up_opts, "--max-lag", max_lag, 0, UINT64_MAX / 2),
    LH_OPT_N(up_opts, "--delay-ms", delay_ms, 0, 86400000),
    LH_OPT_N(up_opts, "--window", window, 1, 1u << 24),
    LH_OPT_N(up_opts, "--partitions", partitions, 1, 10000),
    LH_OPT_N(up_opts, "--stall-timeout", stall_s, 0, 86400),
    LH_OPT_N(up_opts, "--grace", grace_s, 0, 3600),
    LH_OPT_S(up_opts, "--dir", dir),
    LH_OPT_F(up_opts, "--keep", keep),
    LH_OPT_F(up_opts, "--ledger", ledger),
    LH_OPT_S(up_opts, "--wrap-roles", wrap_roles),
    LH_OPT_N(up_opts, "--consumers", consumers, 1, MAX_CONSUMERS),
    LH_OPT_S(up_opts, "--auth-token", auth_token),
    LH_OPT_S(up_opts, "--broker-faults", broker_faults),
    LH_OPT_N(up_opts, "--store-delay-us", store_delay_us, 0, 10000000),
    LH_OPT_S(up_opts, "--topic", topic),
    LH_OPT_S(up_opts, "--group", group),
    LH_OPT_C("-X", take_prop),
    LH_OPT_N(up_opts, "--brokers-count", brokers_count, 1, 64),
    LH_OPT_N(up_opts, "--metrics-port", metrics_port, 0, 65535),
    LH_OPT_S(up_opts, "--metrics-port-file", metrics_port_file),
};


/* --broker-faults: the embedded broker's, and a plan that parses.  0 or
 * 2. */
static int check_faults(const up_opts *o)
{
    lh_kfault steps[256];
    size_t nsteps;
    char ferr[256];

    if (o->broker_faults == NULL)
        return 0;
    if (o->brokers != NULL) {
        fprintf(stderr, "selfheal up: --broker-faults needs the embedded "
                "broker (not --brokers)\n");
        return 2;
    }
    if (lh_kfault_parse(o->broker_faults, steps, 256, &nsteps, ferr,
                        sizeof ferr) != 0) {
        fprintf(stderr, "selfheal up: --broker-faults: %s\n", ferr);
        return 2;
    }
    return 0;
}

/* --scenario: known, and library A v2 built.  0 or 2. */
static int check_scenario(const up_opts *o)
{
    char lib[sizeof LH_LIBA_V2_DIR + 16];

    if (o->scenario == NULL)
        return 0;
    if (strcmp(o->scenario, "abi-mismatch") != 0) {
        fprintf(stderr, "selfheal up: unknown scenario '%s' (known: "
                "abi-mismatch)\n", o->scenario);
        return 2;
    }
    snprintf(lib, sizeof lib, "%s/liba.so.1", LH_LIBA_V2_DIR);
    if (LH_LIBA_V2_DIR[0] == '\0' || access(lib, R_OK) != 0) {
        fprintf(stderr, "selfheal up: scenario abi-mismatch: library A "
                "v2 not found (%s); build target a_v2\n",
                LH_LIBA_V2_DIR[0] ? lib : "this build has none");
        return 2;
    }
    return 0;
}

/* Reads the options.  0; -1 after --help (said: exit 0); 2 after a
 * one-line message. */
static int parse(int argc, char **argv, up_opts *o)
{
    *o = (up_opts){.nodes = 3, .keys = 1000000, .value_size = 64,
                   .max_lag = 400000, .delay_ms = 1000, .window = 131072,
                   .partitions = 32, .stall_s = 60, .grace_s = 0,
                   .consumers = 1,
                   .corrupt_rate = 0.01,
                   .topic = LH_KAFKA_DEFAULT_TOPIC,
                   .group = LH_KAFKA_DEFAULT_GROUP,
                   .brokers_count = 1,
                   .metrics_port = UINT64_MAX};
    int rc = lh_opts_parse("up", argc, argv, up_options,
                           sizeof up_options / sizeof up_options[0], o);
    if (rc == 1) {
        usage(stdout);
        return -1;
    }
    if (rc != 0)
        return rc;
    if (o->events == 0 && o->duration <= 0)
        o->events = 100000;
    if (o->nodes == 0 || o->nodes > MAX_NODES) {
        fprintf(stderr, "selfheal up: --nodes must be 1..%d\n", MAX_NODES);
        return 2;
    }
    if (o->consumers == 0 || o->consumers > MAX_CONSUMERS) {
        fprintf(stderr, "selfheal up: --consumers must be 1..%d\n",
                MAX_CONSUMERS);
        return 2;
    }
    if (o->duration > 1e7) {
        fprintf(stderr, "selfheal up: --duration must be 0..10000000\n");
        return 2;
    }
    if (lh_auth_token("up", o->auth_token, &o->auth_token) != 0)
        return 2;
    if (check_faults(o) != 0)
        return 2;
    if (o->topic[0] == '\0' || o->group[0] == '\0') {
        fprintf(stderr, "selfheal up: --topic and --group must not be "
                "empty\n");
        return 2;
    }
    if (o->brokers != NULL && o->brokers_count != 1) {
        fprintf(stderr, "selfheal up: --brokers-count is the embedded "
                "broker's (not with --brokers)\n");
        return 2;
    }
    return check_scenario(o);
}

static int check_injects(const up_opts *o)
{
    /* Parsed here too, so a bad spec fails before anything starts. */
    char err[256];
    lh_inject *inj = NULL;
    int rc = lh_inject_new(&inj);
    for (int i = 0; rc == 0 && i < o->ninject; i++) {
        rc = lh_inject_add(inj, o->inject[i], err, sizeof err);
        if (rc == LH_EINVAL)
            fprintf(stderr, "selfheal up: %s\n", err);
    }
    lh_inject_free(inj);
    return rc == 0 ? 0 : 2;
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"broker.addr", "store.port",
                                        "store.cnt", "a.cnt", "produce.cnt",
                                        "broker.ctl", "broker.ctl.status"};
    char path[PATH_MAX + 32];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    for (int id = 0; id < MAX_CONSUMERS; id++) {
        snprintf(path, sizeof path, "%s/a%d.cnt", dir, id);
        unlink(path);
    }
    for (int id = 0; id < MAX_NODES; id++) {
        snprintf(path, sizeof path, "%s/b%d.cnt", dir, id);
        unlink(path);
        snprintf(path, sizeof path, "%s/b%d.port", dir, id);
        unlink(path);
    }
    lh_ledger_remove(dir);
    rmdir(dir);
}

/* The run directory: --dir, else a new one under TMPDIR; old ledger files
 * removed.  0, or the exit status. */
static int make_dir(up *u)
{
    if (u->o.dir != NULL) {
        snprintf(u->dir, sizeof u->dir, "%s", u->o.dir);
        if (mkdir(u->dir, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "selfheal up: cannot create %s: %s\n", u->dir,
                    strerror(errno));
            return 1;
        }
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(u->dir, sizeof u->dir, "%s/selfheal-up.XXXXXX",
                 t && t[0] ? t : "/tmp");
        if (mkdtemp(u->dir) == NULL) {
            fprintf(stderr, "selfheal up: cannot create a work directory: "
                    "%s\n", strerror(errno));
            return 1;
        }
        u->made_dir = 1;
    }
    if (u->o.ledger && lh_ledger_remove(u->dir) != 0) {
        fprintf(stderr, "selfheal up: cannot remove the old ledger files in "
                "%s: %s\n", u->dir, strerror(errno));
        return 1;
    }
    return 0;
}

/* The environment the children inherit, the stages, the wrapper, this
 * binary's path, the run directory.  0, or the exit status. */
static int setup(up *u)
{
    char err[256];

    if (u->o.stages != NULL)
        setenv("LEAKHUNT_STAGES", u->o.stages, 1);
    if (u->o.auth_token != NULL) /* the children take it from there */
        setenv("LH_AUTH_TOKEN", u->o.auth_token, 1);
    if (lh_stages_select(NULL, &u->stages, err, sizeof err) != 0) {
        fprintf(stderr, "selfheal up: %s\n", err);
        return 2;
    }
    lh_stages_format(u->stages, u->stage_names, sizeof u->stage_names);
    const char *wrap = getenv("LEAKHUNT_WRAP");
    if (wrap != NULL && wrap[0] &&
        lh_strv_split(wrap, ' ', &u->wrap, &u->nwrap) != 0)
        return 1;
    ssize_t sl = readlink("/proc/self/exe", u->self, sizeof u->self - 1);
    if (sl <= 0) {
        fprintf(stderr, "selfheal up: cannot find my own binary: %s\n",
                strerror(errno));
        return 1;
    }
    u->self[sl] = '\0';
    return make_dir(u);
}

/* How the run went, as the supervision saw it. */
typedef struct progress {
    lh_counters sum;
    uint64_t target;  /* --events, 0: none */
    int64_t t_start;  /* the topology was up */
    int64_t t10, t90; /* 10% and 90% of the target finished */
    int64_t last_move;
    uint64_t last_work;
    int reached; /* the run ended by reaching --events */
    int failed;
} progress;

/* Events at the end of the pipeline: finished by a B node, or dropped by
 * A (forward off); forward may be switched during the run. */
static uint64_t finished_or_dropped(const lh_counters *sum)
{
    return sum->v[LH_C_finished] + sum->v[LH_C_dropped];
}

/* One look at the running topology (every 50 ms): restarts, counters, the
 * throughput window, the end.  0 to go on, 1 to stop. */
static int watch_step(up *u, progress *pg)
{
    lh_counters *sum = &pg->sum;
    uint64_t target = pg->target;

    if (reap(u) != 0) {
        pg->failed = 1;
        return 1;
    }
    poll_counters(u, sum);
    int64_t now = lh_now_us();
    uint64_t done = sum->v[LH_C_acked] + sum->v[LH_C_dropped];
    uint64_t work = done + sum->v[LH_C_produced] + sum->v[LH_C_consumed];
    if (work != pg->last_work) {
        pg->last_work = work;
        pg->last_move = now;
    }
    uint64_t measure = finished_or_dropped(sum);
    if (target > 0) {
        if (pg->t10 == 0 && measure >= target / 10)
            pg->t10 = now;
        if (pg->t90 == 0 && measure >= target - target / 10)
            pg->t90 = now;
    }
    /* Done: all produced, as many finished, and the group's committed
     * offsets at the end of the topic (acks count an event consumed
     * again after a restart twice; the committed offsets do not). */
    if (target > 0 && sum->v[LH_C_produced] >= target && done >= target &&
        consumers_idle(u) && group_caught_up(u)) {
        pg->reached = 1;
        return 1;
    }
    if (u->o.duration > 0 &&
        now - pg->t_start >= (int64_t)(u->o.duration * 1e6))
        return 1;
    if (u->o.stall_s > 0 &&
        now - pg->last_move > (int64_t)u->o.stall_s * 1000000) {
        fprintf(stderr, "selfheal up: nothing moved for %" PRIu64
                " s; stopping\n", u->o.stall_s);
        pg->failed = 1;
        return 1;
    }
    return 0;
}

/* Supervises until the run ends (watch_step) or a stop signal. */
static void watch(up *u, progress *pg)
{
    while (!pg->failed && !lh_role_stop) {
        pause_serving(u, 50000);
        if (lh_role_stop || watch_step(u, pg))
            break;
    }
    /* A's acks can reach the target before the B nodes' finished counts
     * are on file (each child writes its counters every 100 ms): the run
     * above then ends with finished still short of 90% and the window
     * without its end (2 runs in 5 reported no rate).  Read the files
     * again for up to 500 ms. */
    for (int tries = 0; pg->reached && pg->t10 > 0 && pg->t90 == 0 &&
                        tries < 10;
         tries++) {
        lh_sleep_us(50000);
        poll_counters(u, &pg->sum);
        if (finished_or_dropped(&pg->sum) >= pg->target - pg->target / 10)
            pg->t90 = lh_now_us();
    }
}

/* Stops the children in order (producer, A, B nodes, store, broker) and
 * sums their final counts into *sum. */
static void stop_all(up *u, lh_counters *sum)
{
    static const enum kind order[] = {K_PRODUCE, K_A, K_B, K_STORE, K_BROKER};
    int grace = grace_ms(u);

    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        for (int i = 0; i < u->nkids; i++)
            if (u->kids[i].kind == order[k] && u->kids[i].pid > 0)
                kill(u->kids[i].pid, SIGTERM);
        for (int i = 0; i < u->nkids; i++)
            if (u->kids[i].kind == order[k]) {
                stop_child(&u->kids[i], grace);
                read_counters(&u->kids[i]);
            }
    }
    sum_all(u, sum);
    for (int i = 0; i < u->nkids; i++)
        sum->v[LH_C_restarts] += (uint64_t)u->kids[i].restarts;
}

/* 1 when the run counts as a success: no failure, the target produced,
 * and with --ledger, when it reached the target, no event lost by key and
 * version (said when not). */
static int run_ok(up *u, const progress *pg)
{
    const lh_counters *sum = &pg->sum;
    uint64_t target = pg->target;
    int ok = !pg->failed && (target == 0 || lh_role_stop ||
                             (sum->v[LH_C_produced] >= target));
    if (!u->o.ledger || !pg->reached || !ok)
        return ok;
    /* Every produced event was finished by the counters: the ledger must
     * agree, pair by pair. */
    if (!u->led_ok || sum->v[LH_C_ledger_errors] > 0) {
        fprintf(stderr, "selfheal up: the ledger is incomplete (%" PRIu64
                " records lost to failed writes); loss not checked\n",
                sum->v[LH_C_ledger_errors]);
        return 0;
    }
    if (u->led.lost > 0) {
        fprintf(stderr, "selfheal up: %" PRIu64 " produced events were "
                "never finished (by key and version; %" PRIu64
                " of them failed)\n", u->led.lost, u->led.failed);
        return 0;
    }
    return 1;
}

/* Starts the topology, supervises it, stops it, reports.  The exit
 * status. */
static int run(up *u)
{
    progress pg;
    double rate = 0;

    memset(&pg, 0, sizeof pg);
    lh_role_signals();
    int status = lh_role_metrics_start("up", u->o.metrics_port,
                                       u->o.metrics_port_file,
                                       lh_up_render_metrics, u, &u->metrics);
    if (status != 0)
        return status;
    pg.failed = start_all(u) != 0;
    pg.t_start = lh_now_us();
    pg.last_move = pg.t_start;
    pg.target = u->o.events;
    watch(u, &pg);
    double secs = (double)(lh_now_us() - pg.t_start) / 1e6;
    lh_klag_free(u->klag); /* before the broker goes */
    u->klag = NULL;
    if (pg.t10 > 0 && pg.t90 > pg.t10)
        rate = (double)(pg.target - pg.target / 10 - pg.target / 10) /
               ((double)(pg.t90 - pg.t10) / 1e6);
    stop_all(u, &pg.sum);
    if (u->o.ledger) {
        int rc = lh_ledger_merge(u->dir, &u->led, stderr, 20);
        u->led_ok = rc == 0;
        if (rc != 0)
            fprintf(stderr, "selfheal up: cannot read the ledger in %s: %s\n",
                    u->dir, lh_strerror(rc));
    }
    lh_up_print_summary(u, &pg.sum, secs, rate);
    int ok = run_ok(u, &pg);
    if (u->o.json != NULL &&
        lh_up_write_json(u, &pg.sum, secs, rate, ok) != 0)
        ok = 0;
    return ok ? 0 : 1;
}

static void teardown(up *u)
{
    lh_metrics_stop(u->metrics);
    for (int i = 0; i < u->nkids; i++)
        child_free(&u->kids[i]);
    if (u->made_dir && !u->o.keep)
        remove_dir(u->dir);
    lh_klag_free(u->klag);
    lh_strv_free(u->wrap);
    lh_free(u);
    lh_kafka_props_clear();
}

int lh_role_up(int argc, char **argv)
{
    up *u = lh_calloc(1, sizeof *u);
    int status;

    if (u == NULL)
        return 1;
    status = parse(argc, argv, &u->o);
    if (status == 0)
        status = check_injects(&u->o);
    if (status == 0)
        status = setup(u);
    if (status == 0 && u->o.brokers != NULL) /* before anything starts */
        status = lh_role_topic_check("up", u->o.brokers, u->o.topic);
    if (status == 0)
        status = run(u);
    teardown(u);
    return status < 0 ? 0 : status;
}
