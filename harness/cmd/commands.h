/*
 * commands.h - the leak-hunt subcommands.
 *
 * Each subcommand lives in its own file, harness/cmd_<name>.c, and defines
 * one entry point.  argv[0] is the subcommand's name ("hunt"), argv[1..]
 * its arguments; the return value is the process exit status (docs/protocol.md
 * section 7): 0 no leak / no conflict, 1 leak found (or soak over budget, or
 * ABI conflicts), 2 usage or environment error, 3 inconclusive or target
 * failure.  A command prints its own messages, prefixed "leak-hunt: ".
 *
 * main.c dispatches on the name; CMake defines LH_HAVE_CMD_<NAME> for every
 * cmd_<name>.c present, and a declared command without its file answers
 * "not built yet" with status 2.
 */
#ifndef LH_COMMANDS_H
#define LH_COMMANDS_H

int lh_cmd_hunt(int argc, char **argv);
int lh_cmd_run(int argc, char **argv);
int lh_cmd_soak(int argc, char **argv);
int lh_cmd_abicheck(int argc, char **argv);
int lh_cmd_doctor(int argc, char **argv);
int lh_cmd_heapwrap(int argc, char **argv);

#endif
