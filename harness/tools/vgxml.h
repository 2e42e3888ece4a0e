/*
 * vgxml.h - what valgrind's memcheck says, read strictly.
 *
 * Two inputs, one result shape:
 *   - the XML file of `valgrind --xml=yes --xml-file=F` (protocol version 4,
 *     tool memcheck), parsed with expat; a file valgrind is still writing, or
 *     one cut short because the target was killed, yields what is complete
 *     and the flag `truncated`, not an error;
 *   - the text vgdb prints for the monitor command `leak_check full
 *     reachable increased` (or `... kinds all increased`, or without
 *     `increased`): loss records with their deltas since the previous leak
 *     search, and the LEAK SUMMARY.
 *
 * The result is a plain read-only tree (lh_vgxml_report) that the caller owns
 * and releases with lh_vgxml_report_free.  Strings in it are NUL-terminated
 * and owned by the report; absent strings are NULL.
 *
 * Strictness: malformed XML (expat error), a root other than
 * <valgrindoutput>, a DOCTYPE or entity declaration, a protocol version
 * other than 4, a tool other than memcheck, an <error> without <kind>, and
 * malformed numbers (non-numeric <leakedbytes>, <line>, <count>, non-hex
 * <ip> or <unique>) are refused.  Elements this parser does not know
 * (<clientmsg>, <fatal_signal>, <suppression>, ...) are skipped whole, so a
 * newer valgrind that adds elements still parses.
 */
#ifndef LH_VGXML_H
#define LH_VGXML_H

#include <stddef.h>
#include <stdint.h>

/* memcheck's error kinds (<kind> in the XML).  A kind this list does not
 * name parses as LH_VG_OTHER; the raw string is kept in kind_name. */
#define LH_VG_KIND_MAP(X)                                                      \
    X(LEAK_DEFINITELY_LOST, "Leak_DefinitelyLost")                             \
    X(LEAK_INDIRECTLY_LOST, "Leak_IndirectlyLost")                             \
    X(LEAK_POSSIBLY_LOST, "Leak_PossiblyLost")                                 \
    X(LEAK_STILL_REACHABLE, "Leak_StillReachable")                             \
    X(UNINIT_VALUE, "UninitValue")                                             \
    X(UNINIT_CONDITION, "UninitCondition")                                     \
    X(INVALID_READ, "InvalidRead")                                             \
    X(INVALID_WRITE, "InvalidWrite")                                           \
    X(INVALID_FREE, "InvalidFree")                                             \
    X(MISMATCHED_FREE, "MismatchedFree")                                       \
    X(INVALID_JUMP, "InvalidJump")                                             \
    X(OVERLAP, "Overlap")                                                      \
    X(SYSCALL_PARAM, "SyscallParam")                                           \
    X(CLIENT_CHECK, "ClientCheck")                                             \
    X(INVALID_MEMPOOL, "InvalidMemPool")                                       \
    X(FISHY_VALUE, "FishyValue")                                               \
    X(REALLOC_SIZE_ZERO, "ReallocSizeZero")

typedef enum lh_vgxml_kind {
    LH_VG_OTHER = 0,
#define LH_VG_KIND_ENUM_(name, str) LH_VG_##name,
    LH_VG_KIND_MAP(LH_VG_KIND_ENUM_)
#undef LH_VG_KIND_ENUM_
        LH_VG_KIND_COUNT_
} lh_vgxml_kind;

/* The XML name of a kind ("Leak_StillReachable"); "other" for LH_VG_OTHER
 * and out-of-range values.  Never NULL. */
const char *lh_vgxml_kind_name(lh_vgxml_kind kind);

/* Non-zero for the four Leak_* kinds. */
int lh_vgxml_kind_is_leak(lh_vgxml_kind kind);

/* One stack frame.  From the XML every field valgrind wrote is set; from
 * vgdb text, dir is NULL and file is what valgrind printed (a base name, or
 * a path with --fullpath-after).  line is 0 when unknown. */
typedef struct lh_vgxml_frame {
    uint64_t ip;
    char *obj;  /* object file, or NULL */
    char *fn;   /* function, or NULL ("???") */
    char *dir;  /* source directory, or NULL */
    char *file; /* source file, or NULL */
    unsigned line;
} lh_vgxml_frame;

typedef struct lh_vgxml_stack {
    lh_vgxml_frame *frames; /* innermost first */
    size_t nframes;
} lh_vgxml_stack;

/* Auxiliary text with an optional stack: the origin of an uninitialised
 * value ("Uninitialised value was created by a stack allocation"), the
 * block an invalid access hit ("Address 0x... is 0 bytes after a block of
 * size 16 alloc'd"), and so on, in the order valgrind wrote them. */
typedef struct lh_vgxml_aux {
    char *text;
    lh_vgxml_stack stack; /* nframes == 0 when none followed */
} lh_vgxml_aux;

/* The fields below marked "text" are set only by lh_vgxml_parse_leak_text
 * (vgdb prints deltas since the previous leak search); from the XML they
 * are 0. */
typedef struct lh_vgxml_error {
    lh_vgxml_kind kind;
    char *kind_name; /* as written, e.g. "Leak_StillReachable" */
    uint64_t unique; /* <unique>; text: the loss record number */
    unsigned tid;    /* 0 when absent (leak errors have none in text) */
    char *what;      /* <what>, or <xwhat><text>, or the text record line */
    int is_leak;     /* kind is one of the Leak_* kinds */
    uint64_t leaked_bytes; /* direct + indirect, as valgrind counts them */
    uint64_t leaked_blocks;
    int64_t delta_bytes;     /* text: change since the previous search */
    int64_t delta_blocks;    /* text */
    uint64_t direct_bytes;   /* text: the "(N direct, M indirect)" split, */
    uint64_t indirect_bytes; /* or leaked_bytes and 0 when not printed */
    lh_vgxml_stack stack;
    lh_vgxml_aux *aux;
    size_t naux;
    uint64_t count; /* XML: from <errorcounts> (0 when not listed);
                       text and leak errors: 1 */
} lh_vgxml_error;

typedef struct lh_vgxml_suppcount {
    char *name;
    uint64_t count;
} lh_vgxml_suppcount;

/* One line of a LEAK SUMMARY (text only). */
typedef struct lh_vgxml_leak_total {
    uint64_t bytes, blocks;
    int64_t delta_bytes, delta_blocks;
} lh_vgxml_leak_total;

typedef enum lh_vgxml_status {
    LH_VG_STATUS_NONE = 0, /* no <status> seen */
    LH_VG_STATUS_RUNNING,
    LH_VG_STATUS_FINISHED
} lh_vgxml_status;

typedef struct lh_vgxml_report {
    unsigned protocol;      /* 4 from XML; 0 for text */
    char *tool;             /* "memcheck" from XML; NULL for text */
    long pid, ppid;         /* 0 when not seen (text: the ==PID== prefix) */
    lh_vgxml_status status; /* the last <status><state> seen */
    int fatal_signo;        /* XML <fatal_signal>: the signal that ended the */
    char *fatal_signame;    /* target ("SIGTERM"); 0 and NULL when none */
    int truncated;          /* input ended before </valgrindoutput> (XML), or
                               before the end of a LEAK SUMMARY (text) */
    lh_vgxml_error *errors; /* in file order */
    size_t nerrors;
    lh_vgxml_suppcount *supps;
    size_t nsupps;
    /* text only; has_summary says whether a LEAK SUMMARY was read */
    int has_summary;
    lh_vgxml_leak_total definitely_lost, indirectly_lost, possibly_lost,
        still_reachable, suppressed;
} lh_vgxml_report;

/*
 * Parses `len` bytes of valgrind XML.  On success stores a new report in
 * *out and returns 0; a cut-short input is a success with truncated set
 * (the errors closed before the cut are there; an unfinished <error> is
 * dropped).  Input that stops before the root element even opened (empty
 * file, valgrind not started yet) is a truncated, empty report.
 * On failure returns a negative code and leaves *out unchanged:
 *   LH_EPARSE        malformed XML, wrong root, DOCTYPE, bad numbers or
 *                    missing <kind>;
 *   LH_EBADVERSION   <protocolversion> is not 4;
 *   LH_EUNSUPPORTED  <protocoltool> is not memcheck;
 *   LH_ENOMEM, LH_EINVAL (NULL data with len > 0, or NULL out).
 * When `why` is not NULL, a one-line reason ("line 12: mismatched tag",
 * "protocol tool is helgrind, want memcheck") is written there (at most
 * whylen bytes, NUL-terminated) on failure.
 */
int lh_vgxml_parse(const char *data, size_t len, lh_vgxml_report **out,
                   char *why, size_t whylen);

/* lh_vgxml_parse on a file's contents.  Also LH_EIO (with errno's text in
 * why) when the file cannot be read. */
int lh_vgxml_load(const char *path, lh_vgxml_report **out, char *why,
                  size_t whylen);

/*
 * Parses vgdb's text output of `leak_check full ... [increased]`.  Lines
 * are "==PID== ..." ; other lines (vgdb's own "sending command ...") are
 * ignored.  Each loss record becomes an error with kind, bytes, blocks,
 * their deltas, the direct/indirect split and the stack; the LEAK SUMMARY
 * fills the report's totals.  Text without any record or summary is an
 * empty report (has_summary 0).  A record whose header line is malformed
 * (e.g. "x bytes in ...") is LH_EPARSE; input ending inside a record or
 * summary sets truncated.  Same ownership and failure rules as
 * lh_vgxml_parse.
 */
int lh_vgxml_parse_leak_text(const char *text, size_t len,
                             lh_vgxml_report **out, char *why, size_t whylen);

/* Releases a report; NULL is fine. */
void lh_vgxml_report_free(lh_vgxml_report *r);

/* The first frame of a stack that is not inside the allocator: not in
 * valgrind's preload object (vgpreload_*.so, where memcheck's malloc,
 * calloc, realloc, operator new ... live) and not one of the allocation
 * functions malloc, calloc, realloc, reallocarray, free, memalign,
 * posix_memalign, aligned_alloc, valloc, pvalloc, strdup, strndup (and
 * their __ / __libc_ names), operator new/delete, or our own wrappers
 * lh_malloc, lh_calloc, lh_realloc, lh_strdup, lh_strndup (core/alloc.h),
 * compiler clones included ("lh_malloc.part.0").
 * That frame is the allocation site; the frames after it are its callers.
 * A stack of allocator frames only gives its last frame; an empty stack
 * (or NULL) gives NULL. */
const lh_vgxml_frame *lh_vgxml_site(const lh_vgxml_stack *stack);

/* lh_vgxml_site, also skipping the functions named in extra_allocators
 * (NULL-terminated, may be NULL): a target's own xmalloc, say. */
const lh_vgxml_frame *lh_vgxml_site_ex(const lh_vgxml_stack *stack,
                                       const char *const *extra_allocators);

#endif
