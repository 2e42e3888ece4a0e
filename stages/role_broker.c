/*
 * role_broker.c - `selfheal broker`: the embedded Kafka cluster, and the
 * faults it can be told to have.
 *
 * Starts the librdkafka mock cluster (lh_kbroker_start), prints its
 * bootstrap servers as one flushed line on stdout, and, with --port-file,
 * writes the same line to a file: first to FILE.tmp, then renamed, so a
 * reader polling for the file never sees half a line.  Serves until SIGTERM
 * or SIGINT, then stops the cluster and exits 0; like every role, within
 * the stop deadline (roleutil.h: 2 s, or LH_STOP_DEADLINE_MS), after
 * which it exits 1 whatever librdkafka still waits for.
 *
 * Faults (for the fault tests, issue 8).  A fault plan is a list of steps
 * (kafka.h, lh_kfault_parse: request errors pushed on the brokers' error
 * stacks, brokers down and up, response delays, sleeps between them) run
 * in order by this role's main loop, which wakes every 10 ms.  Plans come
 * from --faults (run from the start) and from --control FILE: the loop
 * looks for FILE every 50 ms; when it is there, its text is one plan, FILE
 * is removed and the plan's steps are queued after those still pending.
 * Writers should create FILE by rename, so that it is never read half
 * written.  A plan that does not parse is refused as a whole (logged,
 * counted in bad_plans).  With --control, progress is written to
 * FILE.status (through FILE.status.tmp and rename) every 100 ms:
 *
 *   steps_done N     steps applied (sleeps included)
 *   steps_pending N  steps queued and not yet applied
 *   step_errors N    steps the cluster refused (e.g. an unknown broker)
 *   errors_pushed N  request errors pushed, over all brokers
 *   errors_left N    of those, not yet consumed by a request
 *   downs N          down steps applied
 *   ups N            up steps applied
 *   down_ms N        time during which some broker was down
 *   down 0|1         some broker is down now
 *   bad_plans N      plans refused
 *   errors_left_API N  errors_left for one request (Produce, ...), one
 *                    line per request named in a pushed error
 *
 * so a test can tell that the errors it asked for were met by real
 * requests (errors_pushed - errors_left of them) and how long the outage
 * lasted.  Each step applied is also logged on stderr.
 */
#include "kafka.h"
#include "kafka_broker.h"
#include "roles.h"
#include "roleutil.h"

#include "alloc.h"
#include "clock.h"
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STEPS 256
#define MAX_PLAN_BYTES 4096
#define TICK_US 10000
#define CONTROL_PERIOD_US 50000
#define STATUS_PERIOD_US 100000
#define MAX_API_KEY 128
#define MAX_TRACKED_BROKERS 64

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    lh_role_stop_started();
}

/* The fault plan being run and what it did. */
typedef struct faults {
    lh_kfault steps[MAX_STEPS];
    size_t nsteps, next;
    int64_t wake_us;      /* a sleep step holds the plan until then */
    const char *control;  /* NULL: no control file */
    char status[PATH_MAX];
    int64_t control_us, status_us;
    uint8_t api_used[MAX_API_KEY]; /* API keys errors were pushed for */
    uint64_t down_mask;   /* brokers down now (bit id; bit 0: id > 63) */
    int64_t down_since;
    uint64_t steps_done, step_errors, errors_pushed, downs, ups, down_us;
    uint64_t bad_plans;
} faults;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: selfheal broker [--partitions N] [--brokers-count N] "
            "[--topic T] [--group G]\n"
            "                       [--port-file F] [--faults SPEC] "
            "[--control FILE]\n"
            "  --partitions N     partitions of the topic (default %d)\n"
            "  --brokers-count N  brokers in the mock cluster (default 1)\n"
            "  --topic T          topic to create (default %s)\n"
            "  --group G          the consumer group whose coordinator "
            "fails over (default %s)\n"
            "  --port-file F      also write the bootstrap servers to F\n"
            "  --faults SPEC      run a fault plan from the start\n"
            "  --control FILE     run the plan written to FILE whenever it "
            "appears (FILE is\n"
            "                     then removed; write it by rename); "
            "progress in FILE.status\n"
            "A fault plan: steps separated by commas, run in order:\n"
            "  sleep:MS                         wait before the next step\n"
            "  err:API:ERROR[:COUNT[:BROKER]]   the next COUNT (default 1) "
            "requests of API\n"
            "                                   fail with ERROR (on each "
            "broker by default)\n"
            "  down[:BROKER], up[:BROKER]       a broker (default all) "
            "stops serving / serves;\n"
            "                                   one broker down hands its "
            "partitions and the\n"
            "                                   group's coordinator to a "
            "broker still up\n"
            "  rtt:MS[:BROKER]                  delay responses by MS\n"
            "API: Produce, Fetch, ListOffsets, Metadata, OffsetCommit, "
            "OffsetFetch,\n"
            "FindCoordinator, JoinGroup, Heartbeat, LeaveGroup, SyncGroup, "
            "ApiVersions,\n"
            "InitProducerId or a number; ERROR: a librdkafka error name "
            "(NOT_COORDINATOR,\n"
            "_TRANSPORT, ...) or a number.  Brokers are 1..N.  Example:\n"
            "  --faults sleep:5000,err:Produce:NOT_LEADER_FOR_PARTITION:20,"
            "down,sleep:3000,up\n",
            LH_KAFKA_DEFAULT_PARTITIONS, LH_KAFKA_DEFAULT_TOPIC,
            LH_KAFKA_DEFAULT_GROUP);
}

/* Parses a positive int no larger than max; 0 or LH_EINVAL. */
static int parse_count(const char *s, int max, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > max)
        return LH_EINVAL;
    *out = (int)v;
    return 0;
}

/* Writes text to path through path.tmp and rename. */
static int write_atomic(const char *path, const char *text)
{
    char tmp[PATH_MAX];
    FILE *f;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int bad;

    if (n < 0 || (size_t)n >= sizeof tmp)
        return LH_ETOOBIG;
    f = fopen(tmp, "we");
    if (!f)
        return LH_ESYS;
    fputs(text, f);
    bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return LH_ESYS;
    }
    return 0;
}

/* Queues the steps of `spec` after those pending.  0 or LH_EINVAL /
 * LH_ETOOBIG (logged, counted; nothing queued). */
static int queue_plan(faults *fs, const char *spec, const char *from)
{
    char err[256];
    size_t n = 0;
    int rc;

    /* Steps already applied make room for new ones. */
    if (fs->next > 0) {
        memmove(fs->steps, fs->steps + fs->next,
                (fs->nsteps - fs->next) * sizeof fs->steps[0]);
        fs->nsteps -= fs->next;
        fs->next = 0;
    }
    rc = lh_kfault_parse(spec, fs->steps + fs->nsteps,
                         MAX_STEPS - fs->nsteps, &n, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "selfheal broker: fault plan from %s refused: %s\n",
                from, err);
        fs->bad_plans++;
        return rc;
    }
    if (fs->nsteps == fs->next && fs->wake_us < lh_now_us())
        fs->wake_us = 0;
    fs->nsteps += n;
    return 0;
}

/* The set of brokers a step names, as a mask (bit 0 stands for ids that
 * do not fit). */
static uint64_t broker_bits(const lh_kbroker *b, int id)
{
    if (id > 0)
        return id < MAX_TRACKED_BROKERS ? (uint64_t)1 << id : 1;
    uint64_t m = 0;
    for (int i = 1; i <= lh_kbroker_count(b); i++)
        m |= i < MAX_TRACKED_BROKERS ? (uint64_t)1 << i : 1;
    return m;
}

static void apply_step(faults *fs, lh_kbroker *b, const lh_kfault *f,
                       int64_t now)
{
    static const char *const kinds[] = {"sleep", "err", "down", "up", "rtt"};
    char who[32];
    int rc;

    if (f->broker > 0)
        snprintf(who, sizeof who, "broker %d", f->broker);
    else
        snprintf(who, sizeof who, "every broker");
    rc = lh_kbroker_apply(b, f);
    fs->steps_done++;
    if (f->kind == LH_KFAULT_SLEEP) {
        fs->wake_us = now + (int64_t)f->ms * 1000;
        return;
    }
    if (f->kind == LH_KFAULT_ERRORS)
        fprintf(stderr, "selfheal broker: fault: the next %d %s request(s) "
                "to %s fail with %s%s%s\n", f->count,
                lh_kafka_api_name(f->api_key), who,
                lh_kafka_err_name(f->error), rc ? ": " : "",
                rc ? lh_strerror(rc) : "");
    else
        fprintf(stderr, "selfheal broker: fault: %s %s%s%s%s\n",
                kinds[f->kind], who,
                f->kind == LH_KFAULT_RTT ? " (rtt set)" : "",
                rc ? ": " : "", rc ? lh_strerror(rc) : "");
    if (rc != 0) {
        fs->step_errors++;
        return;
    }
    switch (f->kind) {
    case LH_KFAULT_ERRORS: {
        int nb = f->broker > 0 ? 1 : lh_kbroker_count(b);
        fs->errors_pushed += (uint64_t)f->count * (uint64_t)nb;
        if (f->api_key >= 0 && f->api_key < MAX_API_KEY)
            fs->api_used[f->api_key] = 1;
        break;
    }
    case LH_KFAULT_DOWN:
        fs->downs++;
        if (fs->down_mask == 0)
            fs->down_since = now;
        fs->down_mask |= broker_bits(b, f->broker);
        break;
    case LH_KFAULT_UP:
        fs->ups++;
        if (fs->down_mask != 0) {
            fs->down_mask &= ~broker_bits(b, f->broker);
            if (fs->down_mask == 0)
                fs->down_us += (uint64_t)(now - fs->down_since);
        }
        break;
    default:
        break;
    }
}

/* Applies the steps that are due. */
static void run_steps(faults *fs, lh_kbroker *b)
{
    int64_t now = lh_now_us();

    while (fs->next < fs->nsteps && now >= fs->wake_us) {
        lh_kfault f = fs->steps[fs->next++];
        apply_step(fs, b, &f, now);
    }
}

/* Takes a plan from the control file when one is there. */
static void check_control(faults *fs)
{
    char buf[MAX_PLAN_BYTES + 1];
    FILE *f = fopen(fs->control, "re");
    size_t n;

    if (f == NULL)
        return;
    n = fread(buf, 1, MAX_PLAN_BYTES, f);
    int too_long = n == MAX_PLAN_BYTES && fgetc(f) != EOF;
    fclose(f);
    unlink(fs->control);
    buf[n] = '\0';
    /* One plan; line breaks and blanks around steps are allowed. */
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' &&
            buf[i] != '\t')
            buf[w++] = buf[i];
    buf[w] = '\0';
    if (too_long) {
        fprintf(stderr, "selfheal broker: fault plan from %s refused: "
                "longer than %d bytes\n", fs->control, MAX_PLAN_BYTES);
        fs->bad_plans++;
        return;
    }
    queue_plan(fs, buf, fs->control);
}

static void write_status(faults *fs, lh_kbroker *b, int64_t now)
{
    char text[4096], per_api[2048];
    size_t len = 0;
    uint64_t left = 0, down_us = fs->down_us;

    per_api[0] = '\0';
    for (int k = 0; k < MAX_API_KEY; k++) {
        uint64_t l = 0;
        if (!fs->api_used[k] || lh_kbroker_errors_left(b, k, &l) != 0)
            continue;
        left += l;
        if (len < sizeof per_api)
            len += (size_t)snprintf(per_api + len, sizeof per_api - len,
                                    "errors_left_%s %" PRIu64 "\n",
                                    lh_kafka_api_name(k), l);
    }
    if (fs->down_mask != 0)
        down_us += (uint64_t)(now - fs->down_since);
    snprintf(text, sizeof text,
             "steps_done %" PRIu64 "\nsteps_pending %zu\nstep_errors %" PRIu64
             "\nerrors_pushed %" PRIu64 "\nerrors_left %" PRIu64
             "\ndowns %" PRIu64 "\nups %" PRIu64 "\ndown_ms %" PRIu64
             "\ndown %d\nbad_plans %" PRIu64 "\n%s",
             fs->steps_done, fs->nsteps - fs->next, fs->step_errors,
             fs->errors_pushed, left, fs->downs, fs->ups, down_us / 1000,
             fs->down_mask != 0, fs->bad_plans, per_api);
    if (write_atomic(fs->status, text) != 0 && fs->status_us == 0)
        fprintf(stderr, "selfheal broker: cannot write %s: %s\n", fs->status,
                strerror(errno));
    fs->status_us = now;
}

typedef struct broker_opts {
    int partitions, brokers;
    const char *topic, *group, *port_file;
    const char *spec;    /* --faults */
    const char *control; /* --control */
} broker_opts;

/* Takes the value v of option a.  0 or LH_EINVAL. */
static int take_opt(broker_opts *o, const char *a, const char *v)
{
    if (strcmp(a, "--partitions") == 0)
        return parse_count(v, 10000, &o->partitions);
    if (strcmp(a, "--brokers-count") == 0)
        return parse_count(v, 64, &o->brokers);
    if (strcmp(a, "--topic") == 0 && *v)
        o->topic = v;
    else if (strcmp(a, "--group") == 0 && *v)
        o->group = v;
    else if (strcmp(a, "--port-file") == 0 && *v)
        o->port_file = v;
    else if (strcmp(a, "--faults") == 0)
        o->spec = v;
    else if (strcmp(a, "--control") == 0 && *v && strlen(v) < PATH_MAX - 16)
        o->control = v;
    else
        return LH_EINVAL;
    return 0;
}

/* 0; 1 after --help (usage printed); 2 after a one-line message. */
static int parse_args(int argc, char **argv, broker_opts *o)
{
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (!v) {
            fprintf(stderr, "selfheal broker: unknown option or missing "
                            "value: %s\n", a);
            return 2;
        }
        if (take_opt(o, a, v) < 0) {
            fprintf(stderr, "selfheal broker: bad option %s %s\n", a, v);
            return 2;
        }
    }
    return 0;
}

/* Starts the cluster and says where it is: a flushed line on stdout, and
 * the port file.  0, or the exit status. */
static int broker_start(const broker_opts *o, lh_kbroker **b)
{
    char servers[1024];
    int rc = lh_kbroker_start(o->brokers, o->topic, o->partitions, b, servers,
                              sizeof servers);
    if (rc < 0) {
        fprintf(stderr, "selfheal broker: cannot start the mock cluster: %s\n",
                lh_strerror(rc));
        return 1;
    }
    rc = lh_kbroker_set_group(*b, o->group);
    if (rc < 0) {
        fprintf(stderr, "selfheal broker: cannot place the coordinator of "
                "group %s: %s\n", o->group, lh_strerror(rc));
        return 1;
    }
    printf("%s\n", servers);
    fflush(stdout);
    if (o->port_file) {
        char line[sizeof servers + 1];
        snprintf(line, sizeof line, "%s\n", servers);
        rc = write_atomic(o->port_file, line);
        if (rc < 0) {
            fprintf(stderr, "selfheal broker: cannot write %s: %s\n",
                    o->port_file, strerror(errno));
            return 1;
        }
    }
    return 0;
}

/* Runs the fault plans until a stop signal: every TICK_US, the control
 * file when due, the steps due, the status file when due. */
static void serve(faults *fs, lh_kbroker *b)
{
    fs->wake_us = 0;
    while (!stop_flag) {
        int64_t now = lh_now_us();
        if (fs->control != NULL && now - fs->control_us >= CONTROL_PERIOD_US) {
            fs->control_us = now;
            check_control(fs);
        }
        run_steps(fs, b);
        if (fs->control != NULL && now - fs->status_us >= STATUS_PERIOD_US)
            write_status(fs, b, now);
        lh_sleep_us(TICK_US);
    }
    if (fs->control != NULL)
        write_status(fs, b, lh_now_us());
}

int lh_role_broker(int argc, char **argv)
{
    broker_opts o = {.partitions = LH_KAFKA_DEFAULT_PARTITIONS,
                     .brokers = 1,
                     .topic = LH_KAFKA_DEFAULT_TOPIC,
                     .group = LH_KAFKA_DEFAULT_GROUP};
    lh_kbroker *b = NULL;
    struct sigaction sa;
    int status = parse_args(argc, argv, &o);

    if (status != 0)
        return status == 1 ? 0 : status;
    faults *fs = lh_calloc(1, sizeof *fs);
    if (fs == NULL)
        return 1;
    if (o.control != NULL) {
        fs->control = o.control;
        snprintf(fs->status, sizeof fs->status, "%s.status", fs->control);
        unlink(fs->control); /* a plan left from an earlier run is stale */
    }
    if (o.spec != NULL && queue_plan(fs, o.spec, "--faults") != 0) {
        lh_free(fs);
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* It was the only role without a bound on its stop: a hang in the
     * mock cluster's teardown (its cause: kafka_broker.c's note on
     * signals) held up's stop for its whole grace, 60 s under valgrind,
     * and ended in a SIGKILL that left no valgrind summary. */
    if (lh_role_stop_deadline("broker") != 0) {
        lh_free(fs);
        return 2;
    }
    status = broker_start(&o, &b);
    if (status == 0)
        serve(fs, b);
    lh_kbroker_stop(b);
    lh_free(fs);
    return status;
}
