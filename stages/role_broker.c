/*
 * role_broker.c - placeholder until the role is written.
 */
#include "roles.h"

#include <stdio.h>

int lh_role_broker(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "selfheal: role broker not built yet\n");
    return 2;
}
