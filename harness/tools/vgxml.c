/*
 * vgxml.c - valgrind memcheck XML (protocol 4) and vgdb leak text.
 *
 * Design notes.
 *
 * XML.  expat drives a small state machine: a stack of element ids for the
 * known elements (at most 6 deep: valgrindoutput/error/stack/frame/ip), and
 * a skip counter for unknown elements, whose whole subtree is ignored.  Each
 * known element is only known under its parent (a table below), so <line>
 * means a frame's line only inside <frame>.  Text is collected for leaves
 * only, into one lh_buf reset at every leaf start.  An <error> is built in
 * a scratch lh_vgxml_error and appended to the report at </error>; so an
 * input cut inside an error loses that error and nothing else.
 *
 * Truncation.  The input is fed to expat with isFinal = 0: expat then never
 * complains about an unfinished document, only about a malformed one.  If
 * the root closed, a final empty call checks for trailing junk; if it did
 * not, the report is marked truncated.  A valgrind killed mid-write leaves
 * exactly that shape (no </valgrindoutput>, often a partial tag).
 *
 * The encoding is fixed to UTF-8: valgrind writes nothing else, and a file
 * that declares another encoding is not valgrind's.
 *
 * expat allocates through lh_malloc/lh_realloc/lh_free (XML_ParserCreate_MM),
 * so allocation-failure tests reach inside the XML parser too.  DOCTYPE and
 * entity declarations are refused: valgrind writes neither, and refusing
 * them closes the entity-expansion attacks on a parser that reads files a
 * target process could influence.
 *
 * Text.  vgdb output is line oriented: "==PID== " then a loss record header
 * ("N (+D) [(N (+D) direct, N (+D) indirect) ]bytes in N (+D) blocks are
 * KIND in loss record I of T"), frame lines ("at 0xIP: FN (FILE:LINE)" or
 * "(in OBJ)"), a blank "==PID== " line, and the LEAK SUMMARY lines.  Numbers
 * carry thousands separators ("4,096"); deltas are " (+N)" or " (-N)"
 * (memcheck's snprintf_delta) and absent without `increased`.  Function
 * names may contain spaces and parentheses (C++), so the location is taken
 * from the last " (" of a frame line, and only when it has the shape of a
 * location.
 */
#include "vgxml.h"

#include "allocators.h"
#include "input.h"

#include <errno.h>
#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "error.h"

/* ------------------------------------------------------------------------ */
/* Shared helpers                                                           */

static const char *const kind_names[LH_VG_KIND_COUNT_] = {
    [LH_VG_OTHER] = "other",
#define LH_VG_KIND_STR_(name, str) [LH_VG_##name] = str,
    LH_VG_KIND_MAP(LH_VG_KIND_STR_)
#undef LH_VG_KIND_STR_
};

const char *lh_vgxml_kind_name(lh_vgxml_kind kind)
{
    if ((int)kind < 0 || kind >= LH_VG_KIND_COUNT_)
        return "other";
    return kind_names[kind];
}

int lh_vgxml_kind_is_leak(lh_vgxml_kind kind)
{
    return kind == LH_VG_LEAK_DEFINITELY_LOST ||
           kind == LH_VG_LEAK_INDIRECTLY_LOST ||
           kind == LH_VG_LEAK_POSSIBLY_LOST ||
           kind == LH_VG_LEAK_STILL_REACHABLE;
}

static lh_vgxml_kind kind_from_name(const char *s)
{
    for (int k = 1; k < LH_VG_KIND_COUNT_; k++) {
        if (strcmp(kind_names[k], s) == 0)
            return (lh_vgxml_kind)k;
    }
    return LH_VG_OTHER;
}

static void stack_clear(lh_vgxml_stack *s)
{
    for (size_t i = 0; i < s->nframes; i++) {
        lh_free(s->frames[i].obj);
        lh_free(s->frames[i].fn);
        lh_free(s->frames[i].dir);
        lh_free(s->frames[i].file);
    }
    lh_free(s->frames);
    s->frames = NULL;
    s->nframes = 0;
}

static void error_clear(lh_vgxml_error *e)
{
    lh_free(e->kind_name);
    lh_free(e->what);
    stack_clear(&e->stack);
    for (size_t i = 0; i < e->naux; i++) {
        lh_free(e->aux[i].text);
        stack_clear(&e->aux[i].stack);
    }
    lh_free(e->aux);
    memset(e, 0, sizeof *e);
}

void lh_vgxml_report_free(lh_vgxml_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nerrors; i++)
        error_clear(&r->errors[i]);
    lh_free(r->errors);
    for (size_t i = 0; i < r->nsupps; i++)
        lh_free(r->supps[i].name);
    lh_free(r->supps);
    lh_free(r->tool);
    lh_free(r->fatal_signame);
    lh_free(r);
}

/* Grows an array of `size`-byte items by one zeroed item; *n counts them.
 * Returns the new item, or NULL (array unchanged) when out of memory. */
static void *push(void **arr, size_t *n, size_t size)
{
    if (*n >= SIZE_MAX / size - 1)
        return NULL;
    char *p = lh_realloc(*arr, (*n + 1) * size);
    if (p == NULL)
        return NULL;
    *arr = p;
    memset(p + *n * size, 0, size);
    return p + (*n)++ * size;
}

/* Strict unsigned decimal with optional surrounding blanks; 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (digits == 0 || *s != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Strict "0x" hexadecimal with optional surrounding blanks; 0 or -1. */
static int parse_hex(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -1;
    for (s += 2;; s++, digits++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (*s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            break;
        if (digits >= 16)
            return -1;
        v = v << 4 | d;
    }
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (digits == 0 || *s != '\0')
        return -1;
    *out = v;
    return 0;
}

const lh_vgxml_frame *lh_vgxml_site_ex(const lh_vgxml_stack *stack,
                                       const char *const *extra_allocators)
{
    if (stack == NULL || stack->nframes == 0)
        return NULL;
    for (size_t i = 0; i < stack->nframes; i++) {
        const lh_vgxml_frame *f = &stack->frames[i];
        int preload = f->obj != NULL && strstr(f->obj, "/vgpreload_") != NULL;
        if (!preload && !lh_allocator_fn(f->fn, extra_allocators))
            return f;
    }
    return &stack->frames[stack->nframes - 1];
}

const lh_vgxml_frame *lh_vgxml_site(const lh_vgxml_stack *stack)
{
    return lh_vgxml_site_ex(stack, NULL);
}

/* ------------------------------------------------------------------------ */
/* XML                                                                      */

enum el {
    EL_NONE = 0,
    EL_ROOT,
    EL_PROTOVER,
    EL_PROTOTOOL,
    EL_PID,
    EL_PPID,
    EL_TOOL,
    EL_STATUS,
    EL_STATE,
    EL_ERROR,
    EL_UNIQUE,
    EL_TID,
    EL_KIND,
    EL_WHAT,
    EL_XWHAT,
    EL_TEXT,
    EL_LEAKEDBYTES,
    EL_LEAKEDBLOCKS,
    EL_STACK,
    EL_FRAME,
    EL_IP,
    EL_OBJ,
    EL_FN,
    EL_DIR,
    EL_FILE,
    EL_LINE,
    EL_AUXWHAT,
    EL_XAUXWHAT,
    EL_ERRORCOUNTS,
    EL_SUPPCOUNTS,
    EL_PAIR,
    EL_COUNT,
    EL_NAME,
    EL_FATAL,
    EL_SIGNO,
    EL_SIGNAME,
};

/* Which element is known under which parent, and whether it is a leaf whose
 * text we keep. */
static const struct {
    enum el parent;
    const char *name;
    enum el id;
    int leaf;
} grammar[] = {
    {EL_NONE, "valgrindoutput", EL_ROOT, 0},
    {EL_ROOT, "protocolversion", EL_PROTOVER, 1},
    {EL_ROOT, "protocoltool", EL_PROTOTOOL, 1},
    {EL_ROOT, "pid", EL_PID, 1},
    {EL_ROOT, "ppid", EL_PPID, 1},
    {EL_ROOT, "tool", EL_TOOL, 1},
    {EL_ROOT, "status", EL_STATUS, 0},
    {EL_STATUS, "state", EL_STATE, 1},
    {EL_ROOT, "error", EL_ERROR, 0},
    {EL_ERROR, "unique", EL_UNIQUE, 1},
    {EL_ERROR, "tid", EL_TID, 1},
    {EL_ERROR, "kind", EL_KIND, 1},
    {EL_ERROR, "what", EL_WHAT, 1},
    {EL_ERROR, "xwhat", EL_XWHAT, 0},
    {EL_XWHAT, "text", EL_TEXT, 1},
    {EL_XWHAT, "leakedbytes", EL_LEAKEDBYTES, 1},
    {EL_XWHAT, "leakedblocks", EL_LEAKEDBLOCKS, 1},
    {EL_ERROR, "stack", EL_STACK, 0},
    {EL_STACK, "frame", EL_FRAME, 0},
    {EL_FRAME, "ip", EL_IP, 1},
    {EL_FRAME, "obj", EL_OBJ, 1},
    {EL_FRAME, "fn", EL_FN, 1},
    {EL_FRAME, "dir", EL_DIR, 1},
    {EL_FRAME, "file", EL_FILE, 1},
    {EL_FRAME, "line", EL_LINE, 1},
    {EL_ERROR, "auxwhat", EL_AUXWHAT, 1},
    {EL_ERROR, "xauxwhat", EL_XAUXWHAT, 0},
    {EL_XAUXWHAT, "text", EL_TEXT, 1},
    {EL_ROOT, "errorcounts", EL_ERRORCOUNTS, 0},
    {EL_ERRORCOUNTS, "pair", EL_PAIR, 0},
    {EL_ROOT, "suppcounts", EL_SUPPCOUNTS, 0},
    {EL_SUPPCOUNTS, "pair", EL_PAIR, 0},
    {EL_PAIR, "count", EL_COUNT, 1},
    {EL_PAIR, "unique", EL_UNIQUE, 1},
    {EL_PAIR, "name", EL_NAME, 1},
    {EL_ROOT, "fatal_signal", EL_FATAL, 0},
    {EL_FATAL, "signo", EL_SIGNO, 1},
    {EL_FATAL, "signame", EL_SIGNAME, 1},
};

#define MAX_DEPTH 8

struct pairacc { /* an <errorcounts> pair, applied after the parse */
    uint64_t count, unique;
};

struct xstate {
    XML_Parser xp;
    lh_vgxml_report *r;
    enum el path[MAX_DEPTH];
    int depth; /* entries used in path */
    long skip; /* >0: inside an unknown subtree */
    int root_seen, root_closed, saw_version, saw_tool;
    lh_buf text;
    lh_vgxml_error cur;        /* the <error> being read */
    lh_vgxml_stack *cur_stack; /* the <stack> being read */
    lh_vgxml_frame cur_frame;  /* the <frame> being read */
    int frame_has_ip;
    uint64_t pair_count, pair_unique;
    char *pair_name;
    int pair_has_count, pair_has_key;
    struct pairacc *counts;
    size_t ncounts;
    int err; /* first failure, 0 while fine */
    char why[160];
};

static void fail(struct xstate *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct xstate *s, int err, const char *fmt, ...)
{
    va_list ap;

    if (s->err != 0)
        return;
    s->err = err;
    if (err == LH_ENOMEM) {
        snprintf(s->why, sizeof s->why, "out of memory");
    } else {
        int n = snprintf(s->why, sizeof s->why, "line %lu: ",
                         (unsigned long)XML_GetCurrentLineNumber(s->xp));
        if (n < 0)
            n = 0;
        va_start(ap, fmt);
        vsnprintf(s->why + n, sizeof s->why - (size_t)n, fmt, ap);
        va_end(ap);
    }
    XML_StopParser(s->xp, XML_FALSE);
}

/* The collected text as a new string, or NULL (failure recorded). */
static char *take_text(struct xstate *s)
{
    char *t =
        lh_strndup((const char *)lh_buf_peek(&s->text), lh_buf_len(&s->text));
    if (t == NULL)
        fail(s, LH_ENOMEM, "out of memory");
    return t;
}

/* Replaces *slot with the collected text. */
static void set_text(struct xstate *s, char **slot)
{
    char *t = take_text(s);
    if (t == NULL)
        return;
    lh_free(*slot);
    *slot = t;
}

/* The collected text with NUL, for number parsing; NULL on no memory. */
static const char *text_cstr(struct xstate *s)
{
    if (lh_buf_append(&s->text, "", 1) != 0) {
        fail(s, LH_ENOMEM, "out of memory");
        return NULL;
    }
    return (const char *)lh_buf_peek(&s->text);
}

static int text_u64(struct xstate *s, const char *what, uint64_t *out)
{
    const char *t = text_cstr(s);
    if (t == NULL)
        return -1;
    if (parse_u64(t, out) != 0) {
        fail(s, LH_EPARSE, "bad number in <%s>: \"%.40s\"", what, t);
        return -1;
    }
    return 0;
}

static int text_hex(struct xstate *s, const char *what, uint64_t *out)
{
    const char *t = text_cstr(s);
    if (t == NULL)
        return -1;
    if (parse_hex(t, out) != 0) {
        fail(s, LH_EPARSE, "bad hex number in <%s>: \"%.40s\"", what, t);
        return -1;
    }
    return 0;
}

/* A new aux entry of the current error, or NULL (failure recorded). */
static lh_vgxml_aux *new_aux(struct xstate *s)
{
    lh_vgxml_aux *a = push((void **)&s->cur.aux, &s->cur.naux, sizeof *a);
    if (a == NULL)
        fail(s, LH_ENOMEM, "out of memory");
    return a;
}

/* A <stack> opens: the first stack is the error's; a stack after an aux
 * text is that aux's; any other stack gets an aux of its own without
 * text. */
static void start_stack(struct xstate *s)
{
    lh_vgxml_error *e = &s->cur;

    if (e->naux == 0 && e->stack.nframes == 0) {
        s->cur_stack = &e->stack;
    } else if (e->naux > 0 && e->aux[e->naux - 1].stack.nframes == 0) {
        s->cur_stack = &e->aux[e->naux - 1].stack;
    } else {
        lh_vgxml_aux *a = new_aux(s);
        if (a != NULL)
            s->cur_stack = &a->stack;
    }
}

/* A known element opens: what it starts is made ready. */
static void start_part(struct xstate *s, enum el id)
{
    switch (id) {
    case EL_ROOT:
        s->root_seen = 1;
        break;
    case EL_ERROR:
        if (!s->saw_version || !s->saw_tool) {
            fail(s, LH_EPARSE, "<error> before the protocol version and tool");
            return;
        }
        error_clear(&s->cur);
        break;
    case EL_STACK:
        start_stack(s);
        break;
    case EL_FRAME:
        memset(&s->cur_frame, 0, sizeof s->cur_frame);
        s->frame_has_ip = 0;
        break;
    case EL_XAUXWHAT:
        new_aux(s);
        break;
    case EL_PAIR:
        s->pair_count = s->pair_unique = 0;
        s->pair_has_count = s->pair_has_key = 0;
        lh_free(s->pair_name);
        s->pair_name = NULL;
        break;
    default:
        break;
    }
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
                             const XML_Char **attrs)
{
    struct xstate *s = ud;
    enum el parent = s->depth > 0 ? s->path[s->depth - 1] : EL_NONE;
    enum el id = EL_NONE;
    int leaf = 0;

    (void)attrs;
    if (s->err != 0)
        return;
    if (s->skip > 0) {
        s->skip++;
        return;
    }
    for (size_t i = 0; i < sizeof grammar / sizeof grammar[0]; i++) {
        if (grammar[i].parent == parent && strcmp(grammar[i].name, name) == 0) {
            id = grammar[i].id;
            leaf = grammar[i].leaf;
            break;
        }
    }
    if (parent == EL_NONE && id != EL_ROOT) {
        fail(s, LH_EPARSE, "root element is <%.40s>, want <valgrindoutput>",
             name);
        return;
    }
    if (id == EL_NONE || s->depth >= MAX_DEPTH) {
        s->skip = 1;
        return;
    }
    s->path[s->depth++] = id;
    if (leaf)
        lh_buf_reset(&s->text);
    start_part(s, id);
}

static void end_frame(struct xstate *s)
{
    lh_vgxml_stack *st = s->cur_stack;
    lh_vgxml_frame *f;

    if (!s->frame_has_ip) {
        fail(s, LH_EPARSE, "<frame> without <ip>");
        return;
    }
    f = push((void **)&st->frames, &st->nframes, sizeof *f);
    if (f == NULL) {
        fail(s, LH_ENOMEM, "out of memory");
        return;
    }
    *f = s->cur_frame;
    memset(&s->cur_frame, 0, sizeof s->cur_frame);
}

static void end_error(struct xstate *s)
{
    lh_vgxml_report *r = s->r;
    lh_vgxml_error *e;

    if (s->cur.kind_name == NULL) {
        fail(s, LH_EPARSE, "<error> without <kind>");
        return;
    }
    e = push((void **)&r->errors, &r->nerrors, sizeof *e);
    if (e == NULL) {
        fail(s, LH_ENOMEM, "out of memory");
        return;
    }
    s->cur.is_leak = lh_vgxml_kind_is_leak(s->cur.kind);
    if (s->cur.is_leak) {
        s->cur.count = 1;
        s->cur.direct_bytes = s->cur.leaked_bytes;
    }
    *e = s->cur;
    memset(&s->cur, 0, sizeof s->cur);
}

static void end_pair(struct xstate *s, enum el container)
{
    if (!s->pair_has_count || !s->pair_has_key) {
        fail(s, LH_EPARSE, "<pair> without <count> and %s",
             container == EL_ERRORCOUNTS ? "<unique>" : "<name>");
        return;
    }
    if (container == EL_ERRORCOUNTS) {
        struct pairacc *p = push((void **)&s->counts, &s->ncounts, sizeof *p);
        if (p == NULL) {
            fail(s, LH_ENOMEM, "out of memory");
            return;
        }
        p->count = s->pair_count;
        p->unique = s->pair_unique;
    } else {
        lh_vgxml_suppcount *p =
            push((void **)&s->r->supps, &s->r->nsupps, sizeof *p);
        if (p == NULL) {
            fail(s, LH_ENOMEM, "out of memory");
            return;
        }
        p->name = s->pair_name;
        p->count = s->pair_count;
        s->pair_name = NULL;
    }
}

/* The protocol version and tool, which must come before any error. */
static void end_protocol(struct xstate *s, enum el id)
{
    uint64_t v;

    if (id == EL_PROTOVER) {
        if (text_u64(s, "protocolversion", &v) != 0)
            return;
        if (v != 4) {
            fail(s, LH_EBADVERSION, "protocol version %llu, want 4",
                 (unsigned long long)v);
            return;
        }
        s->r->protocol = 4;
        s->saw_version = 1;
        return;
    }
    const char *t = text_cstr(s);
    if (t == NULL)
        return;
    if (strcmp(t, "memcheck") != 0) {
        fail(s, LH_EUNSUPPORTED, "protocol tool is %.40s, want memcheck", t);
        return;
    }
    s->saw_tool = 1;
}

/* <pid>, <ppid> and <state>: the process the report is about. */
static void end_process(struct xstate *s, enum el id)
{
    lh_vgxml_report *r = s->r;
    uint64_t v;

    if (id == EL_STATE) {
        const char *t = text_cstr(s);
        if (t == NULL)
            return;
        if (strcmp(t, "RUNNING") == 0)
            r->status = LH_VG_STATUS_RUNNING;
        else if (strcmp(t, "FINISHED") == 0)
            r->status = LH_VG_STATUS_FINISHED;
        else
            fail(s, LH_EPARSE, "unknown state \"%.40s\"", t);
        return;
    }
    if (text_u64(s, id == EL_PID ? "pid" : "ppid", &v) != 0)
        return;
    if (v > LONG_MAX) {
        fail(s, LH_EPARSE, "pid out of range");
        return;
    }
    if (id == EL_PID)
        r->pid = (long)v;
    else
        r->ppid = (long)v;
}

/* The end of an element of the document itself (the root and its leaves,
 * the fatal signal).  0 when id is none of those. */
static int end_document_part(struct xstate *s, enum el id)
{
    lh_vgxml_report *r = s->r;
    uint64_t v;

    switch (id) {
    case EL_ROOT:
        s->root_closed = 1;
        if (!s->saw_version || !s->saw_tool)
            fail(s, LH_EPARSE, "no <protocolversion> and <protocoltool>");
        break;
    case EL_PROTOVER:
    case EL_PROTOTOOL:
        end_protocol(s, id);
        break;
    case EL_TOOL:
        set_text(s, &r->tool);
        break;
    case EL_SIGNO:
        if (text_u64(s, "signo", &v) == 0)
            r->fatal_signo = v > INT_MAX ? INT_MAX : (int)v;
        break;
    case EL_SIGNAME:
        set_text(s, &r->fatal_signame);
        break;
    case EL_PID:
    case EL_PPID:
    case EL_STATE:
        end_process(s, id);
        break;
    default:
        return 0;
    }
    return 1;
}

/* The end of a <stack>, a <frame> or one of the frame's leaves.  0 when
 * id is none of those. */
static int end_stack_part(struct xstate *s, enum el id)
{
    uint64_t v;

    switch (id) {
    case EL_STACK:
        s->cur_stack = NULL;
        break;
    case EL_FRAME:
        end_frame(s);
        break;
    case EL_IP:
        if (text_hex(s, "ip", &s->cur_frame.ip) == 0)
            s->frame_has_ip = 1;
        break;
    case EL_OBJ:
        set_text(s, &s->cur_frame.obj);
        break;
    case EL_FN:
        set_text(s, &s->cur_frame.fn);
        break;
    case EL_DIR:
        set_text(s, &s->cur_frame.dir);
        break;
    case EL_FILE:
        set_text(s, &s->cur_frame.file);
        break;
    case EL_LINE:
        if (text_u64(s, "line", &v) == 0)
            s->cur_frame.line = v > UINT_MAX ? UINT_MAX : (unsigned)v;
        break;
    default:
        return 0;
    }
    return 1;
}

/* The end of a <pair> (of <errorcounts> or <suppcounts>) or of one of its
 * leaves.  0 when id is none of those. */
static int end_pair_part(struct xstate *s, enum el id, enum el parent)
{
    uint64_t v;

    switch (id) {
    case EL_PAIR:
        end_pair(s, parent);
        break;
    case EL_COUNT:
        if (text_u64(s, "count", &s->pair_count) == 0)
            s->pair_has_count = 1;
        break;
    case EL_NAME:
        set_text(s, &s->pair_name);
        if (s->pair_name != NULL)
            s->pair_has_key = 1;
        break;
    case EL_UNIQUE:
        if (parent != EL_PAIR)
            return 0;
        if (text_hex(s, "unique", &v) == 0) {
            s->pair_unique = v;
            s->pair_has_key = 1;
        }
        break;
    default:
        return 0;
    }
    return 1;
}

/* The end of an <error> or of one of its own elements. */
static void end_error_part(struct xstate *s, enum el id, enum el parent)
{
    lh_vgxml_error *e = &s->cur;
    uint64_t v;

    switch (id) {
    case EL_ERROR:
        end_error(s);
        break;
    case EL_UNIQUE:
        if (text_hex(s, "unique", &v) == 0)
            e->unique = v;
        break;
    case EL_TID:
        if (text_u64(s, "tid", &v) == 0)
            e->tid = v > UINT_MAX ? UINT_MAX : (unsigned)v;
        break;
    case EL_KIND:
        set_text(s, &e->kind_name);
        if (e->kind_name != NULL)
            e->kind = kind_from_name(e->kind_name);
        break;
    case EL_WHAT:
        set_text(s, &e->what);
        break;
    case EL_TEXT:
        if (parent == EL_XWHAT)
            set_text(s, &e->what);
        else if (e->naux > 0)
            set_text(s, &e->aux[e->naux - 1].text);
        break;
    case EL_LEAKEDBYTES:
        text_u64(s, "leakedbytes", &e->leaked_bytes);
        break;
    case EL_LEAKEDBLOCKS:
        text_u64(s, "leakedblocks", &e->leaked_blocks);
        break;
    case EL_AUXWHAT: {
        lh_vgxml_aux *a = new_aux(s);
        if (a != NULL)
            set_text(s, &a->text);
        break;
    }
    default:
        break;
    }
}

/* An element closes: its part of the report is complete (each part of the
 * grammar has its own function above). */
static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    struct xstate *s = ud;
    enum el id, parent;

    (void)name;
    if (s->err != 0)
        return;
    if (s->skip > 0) {
        s->skip--;
        return;
    }
    id = s->path[--s->depth];
    parent = s->depth > 0 ? s->path[s->depth - 1] : EL_NONE;
    if (!end_document_part(s, id) && !end_stack_part(s, id) &&
        !end_pair_part(s, id, parent))
        end_error_part(s, id, parent);
}

static void XMLCALL on_chars(void *ud, const XML_Char *t, int len)
{
    struct xstate *s = ud;

    if (s->err != 0 || s->skip > 0 || len <= 0)
        return;
    if (lh_buf_append(&s->text, t, (size_t)len) != 0)
        fail(s, LH_ENOMEM, "out of memory");
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name,
                               const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    fail(ud, LH_EPARSE, "DOCTYPE not allowed in valgrind XML");
}

static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
                              const XML_Char *value, int value_length,
                              const XML_Char *base, const XML_Char *sysid,
                              const XML_Char *pubid, const XML_Char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_length, (void)base;
    (void)sysid, (void)pubid, (void)notation;
    fail(ud, LH_EPARSE, "entity declaration not allowed in valgrind XML");
}

/* Maps an expat failure to our code and reason, unless ours came first. */
static void expat_failed(struct xstate *s)
{
    enum XML_Error code = XML_GetErrorCode(s->xp);

    if (s->err != 0)
        return;
    if (code == XML_ERROR_NO_MEMORY) {
        s->err = LH_ENOMEM;
        snprintf(s->why, sizeof s->why, "out of memory");
        return;
    }
    s->err = LH_EPARSE;
    snprintf(s->why, sizeof s->why, "line %lu: %s",
             (unsigned long)XML_GetCurrentLineNumber(s->xp),
             XML_ErrorString(code));
}

static void apply_counts(struct xstate *s)
{
    for (size_t i = 0; i < s->ncounts; i++) {
        for (size_t j = 0; j < s->r->nerrors; j++) {
            lh_vgxml_error *e = &s->r->errors[j];
            if (!e->is_leak && e->unique == s->counts[i].unique)
                e->count = s->counts[i].count;
        }
    }
}

int lh_vgxml_parse(const char *data, size_t len, lh_vgxml_report **out,
                   char *why, size_t whylen)
{
    static const XML_Memory_Handling_Suite mm = {lh_malloc, lh_realloc,
                                                 lh_free};
    struct xstate s;
    int rc;

    if (out == NULL || (data == NULL && len > 0)) {
        lh_set_why(why, whylen, "invalid argument");
        return LH_EINVAL;
    }
    memset(&s, 0, sizeof s);
    s.text = (lh_buf)LH_BUF_INIT;
    s.r = lh_calloc(1, sizeof *s.r);
    if (s.r == NULL) {
        rc = LH_ENOMEM;
        snprintf(s.why, sizeof s.why, "out of memory");
        goto out;
    }
    s.xp = XML_ParserCreate_MM("UTF-8", &mm, NULL);
    if (s.xp == NULL) {
        rc = LH_ENOMEM;
        snprintf(s.why, sizeof s.why, "out of memory");
        goto out;
    }
    XML_SetUserData(s.xp, &s);
    XML_SetElementHandler(s.xp, on_start, on_end);
    XML_SetCharacterDataHandler(s.xp, on_chars);
    XML_SetStartDoctypeDeclHandler(s.xp, on_doctype);
    XML_SetEntityDeclHandler(s.xp, on_entity);

    /* One call per gigabyte: expat takes an int length.  Within one call
     * every complete token is reported, whatever reparse deferral does. */
    for (size_t off = 0; off < len && s.err == 0;) {
        size_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
        if (XML_Parse(s.xp, data + off, (int)n, 0) != XML_STATUS_OK)
            expat_failed(&s);
        off += n;
    }
    if (s.err == 0 && s.root_closed) {
        if (XML_Parse(s.xp, NULL, 0, 1) != XML_STATUS_OK)
            expat_failed(&s);
    }
    rc = s.err;
    if (rc != 0)
        goto out;
    s.r->truncated = !s.root_closed;
    apply_counts(&s);
    *out = s.r;
    s.r = NULL;
out:
    if (rc != 0)
        lh_set_why(why, whylen, "%s", s.why);
    if (s.xp != NULL)
        XML_ParserFree(s.xp);
    error_clear(&s.cur);
    lh_free(s.cur_frame.obj);
    lh_free(s.cur_frame.fn);
    lh_free(s.cur_frame.dir);
    lh_free(s.cur_frame.file);
    lh_free(s.pair_name);
    lh_free(s.counts);
    lh_buf_free(&s.text);
    lh_vgxml_report_free(s.r);
    return rc;
}

/* Reads a whole file into a new buffer. */
int lh_vgxml_load(const char *path, lh_vgxml_report **out, char *why,
                  size_t whylen)
{
    lh_buf b = LH_BUF_INIT;
    int rc = lh_input_read(path, &b, why, whylen);

    if (rc == 0)
        rc = lh_vgxml_parse((const char *)lh_buf_peek(&b), lh_buf_len(&b), out,
                            why, whylen);
    lh_buf_free(&b);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* vgdb leak text                                                           */

struct tstate {
    lh_vgxml_report *r;
    lh_vgxml_error cur;
    int in_record;  /* reading the frames of cur */
    int in_summary; /* between "LEAK SUMMARY:" and its closing blank line */
    unsigned lineno;
    char why[160];
};

/* Reads "1,234" (thousands separators allowed) at *p; advances *p. */
static int scan_count(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int digits = 0;

    for (;; s++) {
        if (*s == ',' && digits > 0 && s[1] >= '0' && s[1] <= '9')
            continue;
        if (*s < '0' || *s > '9')
            break;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
        digits++;
    }
    if (digits == 0)
        return -1;
    *out = v;
    *p = s;
    return 0;
}

/* Reads an optional " (+N)" or " (-N)" at *p; 0 when absent. */
static int scan_delta(const char **p, int64_t *out)
{
    const char *s = *p;
    uint64_t v;
    int neg;

    *out = 0;
    if (strncmp(s, " (+", 3) != 0 && strncmp(s, " (-", 3) != 0)
        return 0;
    neg = s[2] == '-';
    s += 3;
    if (scan_count(&s, &v) != 0 || *s != ')' || v > INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    *p = s + 1;
    return 0;
}

static int scan_lit(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

static const struct {
    const char *phrase;
    lh_vgxml_kind kind;
} leak_phrases[] = {
    {"definitely lost", LH_VG_LEAK_DEFINITELY_LOST},
    {"indirectly lost", LH_VG_LEAK_INDIRECTLY_LOST},
    {"possibly lost", LH_VG_LEAK_POSSIBLY_LOST},
    {"still reachable", LH_VG_LEAK_STILL_REACHABLE},
};

/* Parses a loss record header into e (strings not yet set).  0 when the
 * line is a well-formed header, 1 when it is not a header at all (some
 * other message), -1 when it looks like one but is malformed. */
static int scan_record(const char *s, lh_vgxml_error *e)
{
    const char *p = s;
    uint64_t rec, total;
    int64_t d;
    int found = 0;

    if (strstr(s, " in loss record ") == NULL)
        return 1;
    if (scan_count(&p, &e->leaked_bytes) != 0 ||
        scan_delta(&p, &e->delta_bytes) != 0)
        return -1;
    e->direct_bytes = e->leaked_bytes;
    if (strncmp(p, " (", 2) == 0) {
        p += 2;
        if (scan_count(&p, &e->direct_bytes) != 0 || scan_delta(&p, &d) != 0 ||
            scan_lit(&p, " direct, ") != 0 ||
            scan_count(&p, &e->indirect_bytes) != 0 ||
            scan_delta(&p, &d) != 0 || scan_lit(&p, " indirect)") != 0)
            return -1;
    }
    if (scan_lit(&p, " bytes in ") != 0 ||
        scan_count(&p, &e->leaked_blocks) != 0 ||
        scan_delta(&p, &e->delta_blocks) != 0 ||
        scan_lit(&p, " blocks are ") != 0)
        return -1;
    for (size_t i = 0; i < sizeof leak_phrases / sizeof leak_phrases[0]; i++) {
        if (scan_lit(&p, leak_phrases[i].phrase) == 0) {
            e->kind = leak_phrases[i].kind;
            found = 1;
            break;
        }
    }
    if (!found || scan_lit(&p, " in loss record ") != 0 ||
        scan_count(&p, &rec) != 0 || scan_lit(&p, " of ") != 0 ||
        scan_count(&p, &total) != 0 || *p != '\0' || rec == 0 || rec > total)
        return -1;
    e->unique = rec;
    e->is_leak = 1;
    e->count = 1;
    return 0;
}

/* "at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck.so)"
 * or "by 0x10920B: lose_one (leaky.c:28)".  0, LH_EPARSE when malformed,
 * LH_ENOMEM. */
static int scan_frame(const char *s, lh_vgxml_frame *f)
{
    const char *p = s + 3; /* past "at " or "by " */
    const char *fn, *fn_end, *loc;
    uint64_t ip = 0;
    int digits = 0;

    if (p[0] != '0' || p[1] != 'x')
        return LH_EPARSE;
    for (p += 2;; p++, digits++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (digits >= 16)
            return LH_EPARSE;
        ip = ip << 4 | d;
    }
    if (digits == 0 || p[0] != ':' || p[1] != ' ')
        return LH_EPARSE;
    f->ip = ip;
    fn = p + 2;
    fn_end = fn + strlen(fn);
    /* The location is the last " (...)" and must end the line. */
    loc = NULL;
    if (fn_end > fn && fn_end[-1] == ')') {
        for (const char *q = fn_end - 1; q > fn; q--) {
            if (q[0] == '(' && q[-1] == ' ') {
                loc = q;
                break;
            }
        }
    }
    if (loc != NULL) {
        const char *in = loc + 1;
        size_t inlen = (size_t)(fn_end - 1 - in);
        if (inlen > 3 && strncmp(in, "in ", 3) == 0) {
            f->obj = lh_strndup(in + 3, inlen - 3);
            if (f->obj == NULL)
                return LH_ENOMEM;
            fn_end = loc - 1;
        } else {
            /* FILE:LINE, LINE all digits */
            const char *colon = NULL;
            for (const char *q = in; q < in + inlen; q++) {
                if (*q == ':')
                    colon = q;
            }
            if (colon != NULL && colon > in && colon + 1 < in + inlen) {
                uint64_t line = 0;
                int ok = 1;
                for (const char *q = colon + 1; q < in + inlen; q++) {
                    if (*q < '0' || *q > '9' || line > UINT_MAX / 10) {
                        ok = 0;
                        break;
                    }
                    line = line * 10 + (unsigned)(*q - '0');
                }
                if (ok) {
                    f->file = lh_strndup(in, (size_t)(colon - in));
                    if (f->file == NULL)
                        return LH_ENOMEM;
                    f->line = (unsigned)line;
                    fn_end = loc - 1;
                }
            }
        }
    }
    if (fn_end > fn && !(fn_end - fn == 3 && strncmp(fn, "???", 3) == 0)) {
        f->fn = lh_strndup(fn, (size_t)(fn_end - fn));
        if (f->fn == NULL)
            return LH_ENOMEM;
    }
    return 0;
}

static int finish_record(struct tstate *t)
{
    lh_vgxml_error *e;

    if (!t->in_record)
        return 0;
    t->in_record = 0;
    e = push((void **)&t->r->errors, &t->r->nerrors, sizeof *e);
    if (e == NULL)
        return LH_ENOMEM;
    *e = t->cur;
    memset(&t->cur, 0, sizeof t->cur);
    return 0;
}

/* "   definitely lost: 416 (+416) bytes in 13 (+13) blocks" */
static int scan_summary(struct tstate *t, const char *s)
{
    static const char *const names[] = {"definitely lost", "indirectly lost",
                                        "possibly lost", "still reachable",
                                        "suppressed"};
    lh_vgxml_leak_total *slots[] = {
        &t->r->definitely_lost, &t->r->indirectly_lost, &t->r->possibly_lost,
        &t->r->still_reachable, &t->r->suppressed};
    lh_vgxml_leak_total v;
    const char *p = s;

    while (*p == ' ')
        p++;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strncmp(p, names[i], strlen(names[i])) != 0 ||
            p[strlen(names[i])] != ':')
            continue;
        p += strlen(names[i]) + 1;
        while (*p == ' ')
            p++;
        memset(&v, 0, sizeof v);
        if (scan_count(&p, &v.bytes) != 0 ||
            scan_delta(&p, &v.delta_bytes) != 0 ||
            scan_lit(&p, " bytes in ") != 0 || scan_count(&p, &v.blocks) != 0 ||
            scan_delta(&p, &v.delta_blocks) != 0 ||
            scan_lit(&p, " blocks") != 0 || (*p != '\0' && *p != '.'))
            return -1;
        *slots[i] = v;
        return 0;
    }
    return 0; /* "of which reachable via heuristic:" and the like */
}

static int text_line(struct tstate *t, const char *line)
{
    const char *p = line;
    uint64_t pid;
    int rc;

    /* "==PID== " prefix; anything else is not valgrind's. */
    if (strncmp(p, "==", 2) != 0)
        return 0;
    p += 2;
    if (scan_count(&p, &pid) != 0 || strncmp(p, "==", 2) != 0)
        return 0;
    p += 2;
    if (t->r->pid == 0 && pid <= LONG_MAX)
        t->r->pid = (long)pid;
    if (*p == ' ')
        p++;

    if (*p == '\0') { /* blank: ends a record or the summary */
        if (t->in_summary) {
            t->in_summary = 0;
            t->r->has_summary = 1;
        }
        return finish_record(t);
    }
    if (t->in_summary)
        return scan_summary(t, p) == 0 ? 0 : LH_EPARSE;
    if (strcmp(p, "LEAK SUMMARY:") == 0) {
        rc = finish_record(t);
        t->in_summary = 1;
        return rc;
    }
    if (t->in_record) {
        const char *q = p;
        while (*q == ' ')
            q++;
        if (strncmp(q, "at 0x", 5) == 0 || strncmp(q, "by 0x", 5) == 0) {
            lh_vgxml_frame f;
            lh_vgxml_frame *slot;
            memset(&f, 0, sizeof f);
            rc = scan_frame(q, &f);
            if (rc == 0) {
                slot = push((void **)&t->cur.stack.frames,
                            &t->cur.stack.nframes, sizeof *slot);
                if (slot != NULL) {
                    *slot = f;
                    return 0;
                }
                rc = LH_ENOMEM;
            }
            lh_free(f.obj);
            lh_free(f.fn);
            lh_free(f.file);
            return rc == LH_ENOMEM ? LH_ENOMEM : LH_EPARSE;
        }
        rc = finish_record(t);
        if (rc != 0)
            return rc;
    }
    {
        lh_vgxml_error e;
        memset(&e, 0, sizeof e);
        rc = scan_record(p, &e);
        if (rc < 0)
            return LH_EPARSE;
        if (rc > 0)
            return 0; /* some other message */
        e.kind_name = lh_strdup(lh_vgxml_kind_name(e.kind));
        e.what = lh_strdup(p);
        if (e.kind_name == NULL || e.what == NULL) {
            error_clear(&e);
            return LH_ENOMEM;
        }
        t->cur = e;
        t->in_record = 1;
    }
    return 0;
}

int lh_vgxml_parse_leak_text(const char *text, size_t len,
                             lh_vgxml_report **out, char *why, size_t whylen)
{
    struct tstate t;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;

    if (out == NULL || (text == NULL && len > 0)) {
        lh_set_why(why, whylen, "invalid argument");
        return LH_EINVAL;
    }
    memset(&t, 0, sizeof t);
    t.r = lh_calloc(1, sizeof *t.r);
    if (t.r == NULL) {
        rc = LH_ENOMEM;
        goto out;
    }
    for (size_t off = 0; off < len;) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t n = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
        size_t keep = n;
        t.lineno++;
        if (keep > 0 && text[off + keep - 1] == '\r')
            keep--;
        if (keep + 1 > cap) {
            char *nb = lh_realloc(line, keep + 1);
            if (nb == NULL) {
                rc = LH_ENOMEM;
                goto out;
            }
            line = nb;
            cap = keep + 1;
        }
        memcpy(line, text + off, keep);
        line[keep] = '\0';
        if (memchr(line, '\0', keep) != NULL) {
            rc = LH_EPARSE;
            snprintf(t.why, sizeof t.why, "line %u: NUL byte", t.lineno);
            goto out;
        }
        rc = text_line(&t, line);
        if (rc != 0) {
            if (rc == LH_EPARSE)
                snprintf(t.why, sizeof t.why,
                         "line %u: malformed leak record: \"%.60s\"", t.lineno,
                         line);
            goto out;
        }
        off += n + (nl != NULL);
    }
    /* A record cut before its blank line still counts if it has frames. */
    if (t.in_record) {
        t.r->truncated = 1;
        if (t.cur.stack.nframes > 0) {
            rc = finish_record(&t);
            if (rc != 0)
                goto out;
        }
    }
    if (t.in_summary)
        t.r->truncated = 1;
    *out = t.r;
    t.r = NULL;
out:
    if (rc == LH_ENOMEM)
        snprintf(t.why, sizeof t.why, "out of memory");
    if (rc != 0)
        lh_set_why(why, whylen, "%s", t.why);
    error_clear(&t.cur);
    lh_free(line);
    lh_vgxml_report_free(t.r);
    return rc;
}
