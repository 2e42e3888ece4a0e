/*
 * role_produce.c - placeholder until the role is written.
 */
#include "roles.h"

#include <stdio.h>

int lh_role_produce(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "selfheal: role produce not built yet\n");
    return 2;
}
