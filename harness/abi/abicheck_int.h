/*
 * abicheck_int.h - what the parts of abi-check share (not an API).
 *
 * The checker (abicheck.h) is one module in several files:
 *   abicheck.c         the public entry points: life cycle, adding files,
 *                      memory images and dependencies, accessors,
 *                      marking by source file, status
 *   abicheck_util.c    strings, paths, messages, the hash index
 *   abicheck_table.c   the type table: keys, layouts, units, files
 *   abicheck_die.c     DIE attributes, type spelling, one layout from a DIE
 *                      and the key it is filed under
 *   abicheck_walk.c    the walk over units (split DWARF, type units)
 *   abicheck_syms.c    each object's dynamic symbols and the types their
 *                      declarations mention
 *   abicheck_elf.c     ELF input: checks, archives, libdwfl, reading a path
 *   abicheck_debug.c   the debug-file search (libdwfl's, extended)
 *   abicheck_pid.c     the objects mapped into a running process
 *   abicheck_cross.c   which same-named layouts are conflicts
 *   abicheck_output.c  text, JSON and the command line's messages
 * Beside it, with headers of their own: ldsearch.c (the dynamic loader's
 * library search, used by lh_abicheck_add_deps), ldcache.c (its cache
 * file) and abiconflicts.c (running processes' conflicts for a hunt).
 * Functions shared between the files are prefixed abi_; everything else is
 * static.
 */
#ifndef LH_ABICHECK_INT_H
#define LH_ABICHECK_INT_H

#include "abicheck.h"

#include "buf.h"
#include "error.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <libelf.h>
#include <stdint.h>
#include <sys/types.h>

#define ABI_MAX_DIE_DEPTH 64
#define ABI_MAX_TYPE_DEPTH 12
#define ABI_MAX_TYPE_NAME 512
#define ABI_MAX_DECL_FILES 8
#define ABI_MSG_MAX 1024
#define ABI_STATIC_GROUP ((size_t)-1)
#define ABI_NONE ((size_t)-1)

/* ---------------------------------------------------------- hash index */

/*
 * An open-addressing index of items held elsewhere (an array): each slot
 * holds an item number + 1, 0 when empty.  The caller hashes and compares;
 * the index only places numbers.  Used for the type keys, the symbol
 * names of each object and the sets of visited DIEs.
 */
typedef struct abi_index {
    size_t *slots;
    size_t nslots; /* a power of two, or 0 */
    size_t count;
} abi_index;

/* The first slot for hash h and the next one after slot s. */
static inline size_t abi_index_first(const abi_index *x, uint64_t h)
{
    return (size_t)h & (x->nslots - 1);
}
static inline size_t abi_index_next(const abi_index *x, size_t s)
{
    return (s + 1) & (x->nslots - 1);
}

/* Makes room for one more item (rehashing with hash_of(item, ctx)).
 * 0 or LH_ENOMEM. */
int abi_index_reserve(abi_index *x, uint64_t (*hash_of)(size_t, const void *),
                      const void *ctx);
/* Places item `item` of hash h (after abi_index_reserve). */
void abi_index_put(abi_index *x, uint64_t h, size_t item);
void abi_index_free(abi_index *x);

/* ------------------------------------------------------------ symbols */

/* One dynamic symbol of an object (or global symbol of an object file). */
struct abi_sym {
    char *name;
    unsigned char defined;   /* the object defines it */
    unsigned char undefined; /* the object refers to it without defining */
    unsigned char mentioned; /* its declaration's types are collected */
    size_t *types;           /* type table indexes its declaration
                                mentions (directly, through pointers,
                                members, parameters) */
    size_t ntypes;
};

/* ------------------------------------------------------- files, checker */

struct abi_file {
    lh_abi_file pub;  /* path, soname, origin, status, units, ... */
    size_t group;     /* itself for an executable or shared object;
                         ABI_STATIC_GROUP for object files and archives,
                         which are linked into one object */
    dev_t dev;
    ino_t ino;
    int has_interp;   /* a PT_INTERP: a dynamically linked program */
    int fatal;        /* its errors make the check incomplete (named) */
    int debug_mismatch; /* its debuglink's file has another CRC */
    struct abi_sym *syms;
    size_t nsyms, syms_cap;
    abi_index sym_index;
};

struct lh_abicheck {
    lh_abi_type **types; /* every key, with or without layouts */
    size_t ntypes, types_cap;
    abi_index type_index;
    size_t *shown;       /* types with at least one layout, in order */
    size_t nshown, shown_cap;
    lh_abi_unit *units;
    size_t nunits, units_cap;
    char **errors;
    size_t nerrors, errors_cap;
    char **warnings;
    size_t nwarnings, warnings_cap;
    struct abi_file *files;
    size_t nfiles, files_cap;
    size_t fatal;        /* failures of named inputs and processes */
    size_t marked_lists; /* lh_abicheck_mark_files calls */
    char *search_dir;    /* directory of the file being read, or NULL */
    size_t cur_file;     /* file being read (index in files) */
    char *debuginfo_path;      /* libdwfl's search string */
    Dwfl_Callbacks callbacks;  /* offline reporting, our debug search */
};

/* ---------------------------------------------------------- utilities */

uint64_t abi_fnv1a(const char *s, uint64_t h);
#define ABI_FNV_BASIS 1469598103934665603ULL
int abi_buf_puts(lh_buf *b, const char *s);
int abi_buf_printf(lh_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *abi_buf_strdup(const lh_buf *b);
char *abi_path_norm(const char *dir, const char *name);
int abi_is_source_file(const char *path);
const char *abi_base_name(const char *path);

/* Frees n strings and the array holding them. */
void abi_free_strings(char **v, size_t n);

/* Records a message (formatted with lh_set_why).  A message that cannot
 * be stored for lack of memory is dropped. */
void abi_push_msg(char ***list, size_t *n, size_t *cap, const char *msg);
#define abi_error(ac, ...)                                                     \
    do {                                                                       \
        char abi_why_[ABI_MSG_MAX];                                            \
        lh_set_why(abi_why_, sizeof abi_why_, __VA_ARGS__);                    \
        abi_push_msg(&(ac)->errors, &(ac)->nerrors, &(ac)->errors_cap,         \
                     abi_why_);                                                \
    } while (0)
#define abi_warning(ac, ...)                                                   \
    do {                                                                       \
        char abi_why_[ABI_MSG_MAX];                                            \
        lh_set_why(abi_why_, sizeof abi_why_, __VA_ARGS__);                    \
        abi_push_msg(&(ac)->warnings, &(ac)->nwarnings, &(ac)->warnings_cap,   \
                     abi_why_);                                                \
    } while (0)

/* ---------------------------------------------------------- the table */

void abi_layout_release(lh_abi_layout *l);
void abi_type_free(lh_abi_type *t);
/* Finds or creates the type of a key.  0 and *index, or LH_ENOMEM. */
int abi_type_get(lh_abicheck *ac, int is_typedef, int is_local,
                 const char *name, const char *header, size_t *index);
/* Adds a layout to type `ti` (taking l's contents) or a unit to the
 * same layout already there.  `decl` may be NULL. */
int abi_type_add_layout(lh_abicheck *ac, size_t ti, lh_abi_layout *l,
                        size_t unit, const char *decl);
/* Returns the existing layout of type ti equal to canon/hash, or NULL. */
lh_abi_layout *abi_type_find_layout(lh_abicheck *ac, size_t ti,
                                    const char *canon, uint64_t hash);
int abi_layout_add_unit(lh_abi_layout *l, size_t unit);
int abi_layout_add_decl(lh_abi_layout *l, const char *path);
/* Registers a unit of the file being read; its index in *unit. */
int abi_unit_add(lh_abicheck *ac, const char *cu, const char *path,
                 const char *display, size_t *unit);
/* Adds a file record (status error until read); its index in *at. */
int abi_file_add(lh_abicheck *ac, const char *path, lh_abi_origin origin,
                 size_t *at);

/* ----------------------------------------------------- DIEs, the walk */

/* What we know while walking one unit. */
struct abi_tu_track;
struct abi_walk {
    struct abi_tu_track *track; /* NULL: no type units to attribute */
    lh_abicheck *ac;
    struct abi_file *file;      /* the file whose symbols are matched */
    size_t unit;                /* index in ac->units */
    const char *comp_dir;       /* may be NULL */
    char *cu_path;              /* normalised path of the unit's source */
    Dwarf_Files *files;         /* the unit's file table, or NULL ... */
    Dwarf_CU *files_cu;         /* ... of this unit */
    size_t nfiles;
    int big_endian;
    int resolve;                /* type spelling sees through typedefs */
};

int abi_next_sibling(Dwarf_Die *die, Dwarf_Die *next);
int abi_die_udata(Dwarf_Die *die, unsigned name, Dwarf_Word *out);
int abi_die_flag(Dwarf_Die *die, unsigned name);
int abi_die_type(Dwarf_Die *die, Dwarf_Die *out);
const char *abi_die_string(Dwarf_Die *die, unsigned name);
const char *abi_tag_kind(int tag);
/* The type table index of the key of a definition or declaration: `def`
 * the struct/union/enum DIE, `namer` the DIE that names it (itself, or a
 * typedef of an anonymous one).  *decl (may be NULL; freed by the caller)
 * is its declaring file. */
int abi_type_key(struct abi_walk *w, Dwarf_Die *def, Dwarf_Die *namer,
                 const char *name, int is_typedef, size_t *index,
                 char **decl);
/* Records a definition (see abi_type_key). */
int abi_add_def(struct abi_walk *w, Dwarf_Die *def, Dwarf_Die *namer,
                const char *name, int is_typedef);
/* Reads every unit of a Dwarf into the checker. */
int abi_read_dwarf(lh_abicheck *ac, Dwarf *dw, const char *display,
                   int big_endian, size_t *nunits);

/* ---------------------------------------------------- symbols, types */

/* Reads the dynamic symbols (or an object file's global symbols) of an
 * ELF image into the file being read. */
int abi_syms_read(lh_abicheck *ac, struct abi_file *f, Elf *elf);
/* At a function or variable DIE of the walk: collects the types its
 * declaration mentions when the file's symbols name it. */
int abi_syms_visit(struct abi_walk *w, Dwarf_Die *die, int tag);
void abi_syms_release(struct abi_file *f);

/* --------------------------------------------------------- ELF input */

/* Reads an opened Elf handle (file when `path` is set, else memory) of
 * the file record ac->files[ac->cur_file] and settles its status. */
int abi_read_any(lh_abicheck *ac, Elf *elf, int fd, Elf_Cmd cmd,
                 const char *display, const char *path);
/* The libdwfl callbacks of a checker (its debug search).  0 or
 * LH_ENOMEM. */
int abi_debug_init(lh_abicheck *ac);
/* Reads the file at `open_path` (shown as `display`) as a new file of
 * the given origin, unless an object with its device and inode was read
 * already.  *at is its index (ABI_NONE when skipped). */
int abi_read_path(lh_abicheck *ac, const char *display, const char *open_path,
                  lh_abi_origin origin, size_t *at);

/* --------------------------------------------------------- the verdict */

/* Did an input the check is about (a named file, a mapped object) have
 * debug info?  Dependencies alone do not make a check. */
int abi_checked_something(const lh_abicheck *ac);

/* Decides, after every addition, which types are conflicts. */
int abi_settle(lh_abicheck *ac);

#endif
