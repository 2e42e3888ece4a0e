/*
 * role_b.c - placeholder until the role is written.
 */
#include "roles.h"

#include <stdio.h>

int lh_role_b(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "selfheal: role b not built yet\n");
    return 2;
}
