/*
 * bench_produce - how fast `selfheal produce` makes changes: store PUTs over
 * the RPC framework, then the change events to Kafka.
 *
 *   bench_produce [--events N] [--partitions P] [--value-size S] [--no-store]
 *
 * Starts a mock cluster (default 64 partitions, so the mock keeps all
 * events) and a store stand-in served by the real RPC framework on a thread
 * (it decodes each PUT and answers OK), then runs the produce role in this
 * process with --max-lag 0 (no consumer) and prints the role's summary line
 * (its rate), plus how many events the broker kept.
 */
#include "kafka.h"
#include "kafka_broker.h"
#include "roles.h"
#include "rpc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t puts_seen, puts_bad;

static uint8_t handler(void *arg, uint8_t method, const uint8_t *body,
                       uint32_t len, rpc_out *out)
{
    rpc_value v;

    (void)arg;
    (void)out;
    if (method != RPC_METHOD_PUT || rpc_value_decode(body, len, &v) < 0) {
        puts_bad++;
        return RPC_STATUS_BADREQ;
    }
    puts_seen++;
    return RPC_STATUS_OK;
}

int main(int argc, char **argv)
{
    const char *events = "500000", *vsize = "64";
    int partitions = 64, use_store = 1, rc;
    char servers[512], store[32];
    lh_kbroker *b = NULL;
    lh_klag *lag = NULL;
    rpc_server *srv = NULL;
    rpc_server_thread *th = NULL;
    uint16_t port = 0;
    int64_t kept = -1;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(argv[i], "--no-store") == 0) {
            use_store = 0;
            continue;
        }
        if (!v) {
            fprintf(stderr, "usage: bench_produce [--events N] "
                            "[--partitions P] [--value-size S] "
                            "[--no-store]\n");
            return 2;
        }
        if (strcmp(argv[i], "--events") == 0)
            events = v;
        else if (strcmp(argv[i], "--partitions") == 0)
            partitions = atoi(v);
        else if (strcmp(argv[i], "--value-size") == 0)
            vsize = v;
        i++;
    }
    if (lh_kbroker_start(1, LH_KAFKA_DEFAULT_TOPIC, partitions, &b, servers,
                         sizeof servers) < 0)
        return 1;
    if (use_store) {
        if (rpc_server_new("127.0.0.1", 0, NULL, handler, NULL, &srv,
                           &port) < 0 ||
            rpc_server_thread_start(srv, &th) != 0) {
            rpc_server_free(srv);
            lh_kbroker_stop(b);
            return 1;
        }
    }
    snprintf(store, sizeof store, "127.0.0.1:%u", port);
    {
        char *pargv[] = {"produce", "--brokers", servers,
                         "--events", (char *)events,
                         "--value-size", (char *)vsize,
                         "--max-lag", "0",
                         use_store ? "--store" : NULL, store, NULL};
        int pargc = use_store ? 11 : 9;

        rc = lh_role_produce(pargc, pargv);
    }
    if (use_store) {
        rpc_server_thread_stop(th);
        rpc_server_free(srv);
        printf("bench_produce: store puts=%" PRIu64 " bad=%" PRIu64 "\n",
               puts_seen, puts_bad);
    }
    if (lh_klag_new(servers, "bench-nobody", LH_KAFKA_DEFAULT_TOPIC, &lag) ==
            0 &&
        lh_klag_get(lag, 10000, &kept) == 0)
        printf("bench_produce: broker keeps %" PRId64 " events\n", kept);
    lh_klag_free(lag);
    lh_kbroker_stop(b);
    return rc;
}
