/*
 * selfheal - the reference self-healing pipeline (docs/selfheal.md).
 *
 * One binary, one subcommand per role; `up` starts the whole topology.
 */
#include "roles.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} roles[] = {
    {"broker", lh_role_broker, "embedded Kafka (librdkafka mock cluster)"},
    {"produce", lh_role_produce, "upstream system and load generator"},
    {"a", lh_role_a, "Kafka consumer forwarding events to B nodes"},
    {"b", lh_role_b, "B node: hash-forward, enqueue, verify, rpc"},
    {"store", lh_role_store, "downstream store behind the RPC framework"},
    {"up", lh_role_up, "start, supervise and stop the whole topology"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: selfheal ROLE [options]\n\nroles:\n");
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        fprintf(out, "  %-8s %s\n", roles[i].name, roles[i].help);
    fprintf(out, "\n'selfheal ROLE --help' lists a role's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(argv[1], roles[i].name) == 0)
            return roles[i].run(argc - 1, argv + 1);
    fprintf(stderr, "selfheal: unknown role '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
