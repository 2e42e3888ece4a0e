/*
 * roles.h - the subcommands of the selfheal binary, one file each
 * (stages/role_<name>.c).  Each takes the arguments after its name
 * (argv[0] is the role name) and returns the process exit code:
 * 0 success, 1 runtime failure, 2 usage error.
 */
#ifndef LH_ROLES_H
#define LH_ROLES_H

int lh_role_broker(int argc, char **argv);
int lh_role_produce(int argc, char **argv);
int lh_role_a(int argc, char **argv);
int lh_role_b(int argc, char **argv);
int lh_role_store(int argc, char **argv);
int lh_role_up(int argc, char **argv);

#endif
