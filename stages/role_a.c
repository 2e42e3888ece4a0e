/*
 * role_a.c - placeholder until the role is written.
 */
#include "roles.h"

#include <stdio.h>

int lh_role_a(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "selfheal: role a not built yet\n");
    return 2;
}
