/*
 * stats.h - the target protocol's stats lines (docs/protocol.md section 2).
 *
 * A target appends lines to the file named by LEAKHUNT_STATS:
 *
 *   work=<units done> [queue=<items held>] [heap=<live heap bytes>]
 *   [pid=<pid>] [role=<name>] [stages=<list>]
 *
 * fields separated by single spaces, `work` first, each key at most once,
 * values decimal without sign or leading '+', role made of [A-Za-z0-9_.-]
 * (1..LH_STATS_ROLE_MAX-1 characters), stages a comma list of distinct
 * stage names (each [A-Za-z0-9_.-], 1..LH_STATS_NAME_MAX-1 characters, and
 * not "-" alone) or "-" for none, terminated by '\n', at most
 * LH_STATS_LINE_MAX bytes with the '\n'.  The writer emits each line with
 * one write(2) on an O_APPEND descriptor, so several processes may share
 * one file without interleaving.  The parser is strict: anything else is
 * LH_EPARSE (the harness counts and reports such lines rather than
 * guessing at them).  `stages` is a live-switching target's
 * acknowledgement (docs/protocol.md sections 2 and 5).
 */
#ifndef LH_STATS_H
#define LH_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LH_STATS_ROLE_MAX 32
#define LH_STATS_NAME_MAX 32   /* a stage name and its NUL */
#define LH_STATS_LINE_MAX 1024 /* a whole line, with its '\n' */

enum {
    LH_STATS_HAS_QUEUE = 1u << 0,
    LH_STATS_HAS_HEAP = 1u << 1,
    LH_STATS_HAS_PID = 1u << 2,
    LH_STATS_HAS_ROLE = 1u << 3,
    LH_STATS_HAS_STAGES = 1u << 4,
};

typedef struct lh_stats_line {
    uint64_t work;
    uint64_t queue;
    uint64_t heap;
    int64_t pid;
    char role[LH_STATS_ROLE_MAX];
    char stages[LH_STATS_LINE_MAX]; /* "-" or "a,b" (as written) */
    unsigned has; /* LH_STATS_HAS_... bits for the optional fields */
} lh_stats_line;

/*
 * Formats a line, with its '\n', into buf[0..cap) and NUL-terminates it
 * (LH_STATS_LINE_MAX + 1 bytes always suffice).  Returns its length,
 * LH_EINVAL (a line the parser would refuse: role or stages malformed, a
 * value over 2^63-1, a negative pid, a line over LH_STATS_LINE_MAX), or
 * LH_ETRUNC (buf too small; buf is then "").  Fields are written in the
 * order work, queue, heap, pid, role, stages.
 */
int lh_stats_format(const lh_stats_line *line, char *buf, size_t cap);

/*
 * Parses one line of `len` bytes (a trailing '\n' is allowed, nothing after
 * it).  0 and *out filled, or LH_EPARSE (*out unchanged) for: missing or
 * misplaced work, an unknown or repeated key, an empty value, non-digits,
 * overflow past 2^63-1, a bad role, a bad stage list (an empty or
 * over-long name, a bad character, an empty item, "-" inside a list, a
 * name twice), extra or missing spaces, a line over LH_STATS_LINE_MAX.
 */
int lh_stats_parse(const char *text, size_t len, lh_stats_line *out);

/* 1 when s[0..len) is a stage list as a stats line carries it: "-", or
 * distinct names separated by single commas. */
int lh_stats_stages_valid(const char *s, size_t len);

/* 1 when two valid stage lists (lh_stats_stages_valid) name the same set
 * of stages, in any order ("-" is the empty set), else 0. */
int lh_stats_stages_same(const char *a, const char *b);

typedef struct lh_stats_writer lh_stats_writer;

/* Opens `path` for appending (created 0644 if missing).  0, LH_ESYS (errno
 * kept), or LH_ENOMEM. */
int lh_stats_writer_open(const char *path, lh_stats_writer **out);

/* Opens the file named by LEAKHUNT_STATS.  *out is NULL (and 0 returned)
 * when the variable is unset or empty. */
int lh_stats_writer_from_env(lh_stats_writer **out);

/* Appends one line.  0, LH_EINVAL, or LH_EIO. */
int lh_stats_writer_put(lh_stats_writer *w, const lh_stats_line *line);

/* Closes the file.  Accepts NULL. */
void lh_stats_writer_close(lh_stats_writer *w);

#endif
