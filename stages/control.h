/*
 * control.h - live switching (docs/protocol.md section 5): the stage list
 * in the file that LEAKHUNT_CONTROL names, as the selfheal processes that
 * run a stage read it: the B nodes, and A (which runs forward).
 *
 * The file holds one line: stage names, comma-separated, an empty line
 * for no stage (a final '\n' is optional).  Its writer replaces it by
 * rename, so a reader sees the old file or the new one, never half a line.
 * A reader looks every LH_CONTROL_PERIOD_US from its own poll loop (no
 * thread): one stat(2) of the path, and only when the file's identity
 * changed (device, inode, size, mtime) an open and a read.  A list is
 * checked as --stages is (known names, requirements); one that fails is
 * refused with a message on stderr naming the file, the list, why, and
 * the list the process keeps running:
 *
 *   selfheal b0: refusing stage list 'forward,rpc' from /run/ctl: stage
 *   'rpc' requires 'forward,verify'; keeping 'forward,hash'
 *
 * A process started (or restarted) while the file exists starts with its
 * list (lh_control_start), so a restarted node joins the configuration
 * the others run.
 */
#ifndef LH_CONTROL_H
#define LH_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define LH_CONTROL_PERIOD_US 50000 /* "at least every 100 ms", with margin */
#define LH_CONTROL_MAX 1024        /* bytes of list, as a stats line */

typedef struct lh_control {
    const char *path; /* NULL: live switching is off */
    const char *role; /* for messages: "b0", "a" */
    int64_t next_us;  /* the next look */
    int seen;         /* the identity below is the last file's read */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char text[LH_CONTROL_MAX + 2]; /* the last list read, for messages */
} lh_control;

/* Sets c up from LEAKHUNT_CONTROL (unset or empty: off).  `role` must
 * outlive c. */
void lh_control_init(lh_control *c, const char *role);

/* 1 when live switching is on (LEAKHUNT_CONTROL set). */
static inline int lh_control_on(const lh_control *c)
{
    return c->path != NULL;
}

/*
 * Looks at the file when a look is due (every LH_CONTROL_PERIOD_US; force:
 * now).  Returns 1 and *mask (LH_STAGE_BITs) when the file changed since
 * the last read and holds a valid list (possibly the one running now); 0
 * when there is nothing new (off, not due, not changed, no file); or
 * LH_EINVAL when the file changed and cannot be used (its list breaks the
 * rules, it cannot be read, it is longer than LH_CONTROL_MAX or not one
 * line): refused on stderr, with `keeping`, the stages the process goes
 * on with.
 */
int lh_control_poll(lh_control *c, int64_t now_us, int force,
                    unsigned keeping, unsigned *mask);

/* Milliseconds until the next look is due (0 when due), -1 when off: for
 * a poll loop's timeout. */
int lh_control_wait_ms(const lh_control *c, int64_t now_us);

/* Refuses the list last read (c->text) for a role's own reason `why`
 * (lh_control_poll checked names and requirements only), on stderr. */
void lh_control_refuse(const lh_control *c, const char *why,
                       unsigned keeping);

/* The starting stages of a process: *mask as its options and
 * LEAKHUNT_STAGES gave it, replaced by the control file's list when the
 * file is there and valid.  Returns 1 when the file's list was taken. */
int lh_control_start(lh_control *c, unsigned *mask);

/* "forward,hash", or "-" for no stage: the list as a stats line shows it
 * (docs/protocol.md section 2).  buf: at least 64 bytes. */
void lh_control_format(unsigned mask, char *buf, size_t cap);

#endif
