/*
 * switchcmd.h - the user's command that switches a watched service's
 * stages (hunt --switch-cmd 'CMD {stages}', docs/protocol.md section 9).
 *
 * The command is a user's command line, unlike leak-hunt's own processes
 * (never a shell): it runs through `sh -c`, with every {stages} replaced
 * by the wanted list shell-quoted (names comma-separated, `''` for no
 * stage), in leak-hunt's working directory, in a process group of its
 * own, with its output appended to a log file, LEAKHUNT_STAGES set to the
 * list.  It must exit 0 within LH_SWITCHCMD_TIMEOUT_S.
 */
#ifndef LH_SWITCHCMD_H
#define LH_SWITCHCMD_H

#include <stddef.h>

#define LH_SWITCHCMD_TIMEOUT_S 20.0

/*
 * The command line run for `list` (comma list, "" for none): cmd with
 * every {stages} replaced by the list in single quotes.  A string to
 * free with lh_free, or NULL when out of memory.
 */
char *lh_switchcmd_line(const char *cmd, const char *list);

/*
 * Runs cmd for `list`, its output appended to log_path (or NULL), for up
 * to timeout_s (0: LH_SWITCHCMD_TIMEOUT_S).  0 when it exited 0; else
 * LH_EIO with why: "switch command `LINE` failed: exit status 1; its
 * last lines: ..." (or "did not finish in 20 s"), LH_ENOMEM.
 */
int lh_switchcmd_run(const char *cmd, const char *list, const char *log_path,
                     double timeout_s, char *why, size_t cap);

#endif
