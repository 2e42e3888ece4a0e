/*
 * role_up.c - placeholder until the role is written.
 */
#include "roles.h"

#include <stdio.h>

int lh_role_up(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "selfheal: role up not built yet\n");
    return 2;
}
