/*
 * role_broker.c - `selfheal broker`: the embedded Kafka cluster.
 *
 * Starts the librdkafka mock cluster (lh_kbroker_start), prints its
 * bootstrap servers as one flushed line on stdout, and, with --port-file,
 * writes the same line to a file: first to FILE.tmp, then renamed, so a
 * reader polling for the file never sees half a line.  Serves until SIGTERM
 * or SIGINT, then stops the cluster and exits 0.
 */
#include "kafka.h"
#include "roles.h"

#include "error.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: selfheal broker [--partitions N] [--brokers-count N] "
            "[--topic T] [--port-file F]\n"
            "  --partitions N     partitions of the topic (default %d)\n"
            "  --brokers-count N  brokers in the mock cluster (default 1)\n"
            "  --topic T          topic to create (default %s)\n"
            "  --port-file F      also write the bootstrap servers to F\n",
            LH_KAFKA_DEFAULT_PARTITIONS, LH_KAFKA_DEFAULT_TOPIC);
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

/* Writes line + "\n" to path through path.tmp and rename. */
static int write_port_file(const char *path, const char *line)
{
    char tmp[PATH_MAX];
    FILE *f;
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);

    if (n < 0 || (size_t)n >= sizeof tmp)
        return LH_ETOOBIG;
    f = fopen(tmp, "w");
    if (!f)
        return LH_ESYS;
    fprintf(f, "%s\n", line);
    if (fclose(f) != 0) {
        unlink(tmp);
        return LH_ESYS;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return LH_ESYS;
    }
    return 0;
}

int lh_role_broker(int argc, char **argv)
{
    int partitions = LH_KAFKA_DEFAULT_PARTITIONS, brokers = 1;
    const char *topic = LH_KAFKA_DEFAULT_TOPIC, *port_file = NULL;
    char servers[1024];
    lh_kbroker *b = NULL;
    struct sigaction sa;
    int rc;

    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "selfheal broker: unknown option or missing "
                            "value: %s\n", a);
            return 2;
        }
        if (strcmp(a, "--partitions") == 0)
            rc = parse_count(v, 10000, &partitions);
        else if (strcmp(a, "--brokers-count") == 0)
            rc = parse_count(v, 64, &brokers);
        else if (strcmp(a, "--topic") == 0 && *v) {
            topic = v;
            rc = 0;
        } else if (strcmp(a, "--port-file") == 0 && *v) {
            port_file = v;
            rc = 0;
        } else {
            rc = LH_EINVAL;
        }
        if (rc < 0) {
            fprintf(stderr, "selfheal broker: bad option %s %s\n", a, v);
            return 2;
        }
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    rc = lh_kbroker_start(brokers, topic, partitions, &b, servers,
                          sizeof servers);
    if (rc < 0) {
        fprintf(stderr, "selfheal broker: cannot start the mock cluster: %s\n",
                lh_strerror(rc));
        return 1;
    }
    printf("%s\n", servers);
    fflush(stdout);
    if (port_file) {
        rc = write_port_file(port_file, servers);
        if (rc < 0) {
            fprintf(stderr, "selfheal broker: cannot write %s: %s\n",
                    port_file, strerror(errno));
            lh_kbroker_stop(b);
            return 1;
        }
    }
    while (!stop_flag)
        usleep(50000);
    lh_kbroker_stop(b);
    return 0;
}
