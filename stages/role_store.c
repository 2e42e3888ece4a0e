/*
 * role_store.c - placeholder until the role is written.
 */
#include "roles.h"

#include <stdio.h>

int lh_role_store(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "selfheal: role store not built yet\n");
    return 2;
}
