/*
 * abicheck.h - find types with more than one layout in one program.
 *
 * The article's root cause was an ABI mismatch: code compiled against an
 * old header of a library, run with the new library.  The checker reads
 * DWARF (elfutils libdw/libdwfl) from executables, shared libraries,
 * static archives (each member), object files and the objects mapped into
 * running processes, collects every struct, union and enum definition, and
 * reports the types that reach the program with more than one layout.
 *
 * Identity of a type (its key): the tag name, or for `typedef struct {...}
 * name_t` the typedef name, plus the file that declares it:
 *   - declared in a header: the header's base name ("a.h"), so the same
 *     header installed in two places (v1/include/a.h, v2/include/a.h) is one
 *     key - that is exactly the mismatch we look for;
 *   - declared in the unit's own .c file: the full path of that file, so
 *     same-named local structs of different .c files never meet; in a .c
 *     file that another .c file includes: that path plus the including
 *     unit's ("x.c (included in y.c)"), since each includer may build it
 *     differently on purpose.
 * Declarations without a definition (DW_AT_declaration) and anonymous types
 * without a typedef are skipped (an anonymous type nested in a member is
 * part of its parent's layout, rendered inline in the member's type).
 *
 * A layout is: kind (struct, union, enum, class), byte size, members (name,
 * type spelled C-like, byte offset, and for bit-fields the bit offset within
 * that byte and the width), enumerators (name, value).  Two layouts are the
 * same when all of that matches with member types seen through typedefs
 * (`size_t` and `__size_t` are one type) and base types taken as encoding
 * and size (GCC's "long unsigned int" is clang's "unsigned long"); the
 * spelling shown is the declared one.  Member positions are normalised
 * (DWARF 2/3 location blocks, DWARF 2-4 DW_AT_bit_offset, DWARF 4/5
 * DW_AT_data_bit_offset), so units of one header built with any DWARF
 * version agree.  A layout met again only gains a unit: the work and the
 * memory grow with the distinct layouts, not with the units.
 *
 * Objects and conflicts.  Executables and shared objects are objects of
 * their own; object files and archives are linked into one program, so
 * together they are one object.  A type with two layouts is a conflict
 *   - inside one object that the check is about ("primary": a file named
 *     by the caller, or a process's program): any two of its units
 *     disagree (the rule of a single program);
 *   - across two objects that share no layout of it, when it crosses the
 *     boundary between them: a function or variable that one imports and
 *     the other defines mentions the type in its declaration, in either
 *     object's DWARF (directly, through pointers or typedefs, through the
 *     members of the types it mentions, or in a function's parameters).
 * Other same-named layouts are "same name, never exchanged" (LH_ABI_APART):
 * listed, never counted; glibc's libm, for one, builds each of its FMA
 * variants against its own math_config.h.
 *
 * Inputs: split DWARF (-gsplit-dwarf) is followed to its .dwo files (next to
 * the input or under the unit's DW_AT_comp_dir); a missing .dwo is an error
 * that names it, the other units are still read.  Debug info is taken from
 * the file itself, else from a separate debug file found by libdwfl's
 * search (dwfl_standard_find_debuginfo): the build ID under each absolute
 * root (/usr/lib/debug/.build-id/xx/rest.debug), then the .gnu_debuglink
 * name beside the file, in its .debug/ subdirectory and under each root
 * plus the file's directory; lh_abicheck_add_debug_dir adds roots before
 * /usr/lib/debug.  A debuglink file whose CRC does not match is not used
 * (a warning says so).  Type units (-fdebug-types-section) are read in
 * linked files and named by signature ("type unit 0x..."); a layout from
 * one also lists the compilation units that refer to it directly.  In
 * object files type units sit in COMDAT groups that libdw does not read,
 * which is an error, as is a thin archive.  A file without debug info is
 * a warning when named, a line of the summary otherwise.  A file that is
 * not ELF, or is truncated or corrupt, is an error naming the file; the
 * checker never crashes on it.
 *
 * Memory: the checker owns everything it returns.  A type pointer stays
 * valid until lh_abicheck_free; layout, unit and file pointers until the
 * next lh_abicheck_add_* call.  Not thread-safe: one checker per thread.
 */
#ifndef LH_ABICHECK_H
#define LH_ABICHECK_H

#include "json.h"
#include "ldsearch.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct lh_abicheck lh_abicheck;

/* One member of a struct or union.  For a bit-field, offset is the byte
 * holding its first bit, bit_offset (0-7) the bit within that byte counted
 * from the least significant end, bit_size its width; for other members
 * bit_offset and bit_size are 0. */
typedef struct lh_abi_member {
    char *name; /* "" for an anonymous member */
    char *type; /* C-like: "unsigned int", "struct a_obj *", "char[16]" */
    uint64_t offset;
    unsigned bit_offset;
    unsigned bit_size;
    /* private: the type as compared - through typedefs, base types as
     * encoding and size */
    char *canon_type;
} lh_abi_member;

typedef struct lh_abi_enumerator {
    char *name;
    int64_t value;
} lh_abi_enumerator;

/* A compilation unit: its source name (DW_AT_name), that name made a
 * normalised path with DW_AT_comp_dir, where it was read ("prog",
 * "liba.a(a.o)") and the index of that file (lh_abicheck_file). */
typedef struct lh_abi_unit {
    char *cu;
    char *file;
    char *path;
    size_t file_index;
} lh_abi_unit;

/* One distinct layout of a type, and the units that define it so. */
typedef struct lh_abi_layout {
    const char *kind; /* "struct", "union", "enum", "class" */
    uint64_t size;
    lh_abi_member *members;
    size_t nmembers;
    lh_abi_enumerator *enumerators;
    size_t nenumerators;
    size_t *units; /* indexes for lh_abicheck_unit, in reading order */
    size_t nunits;
    char **decl_files; /* distinct declaring files seen, full paths */
    size_t ndecl_files;
    size_t *objects; /* the files holding it (lh_abicheck_file indexes) */
    size_t nobjects;
    /* private */
    char *canon;
    uint64_t hash;
    size_t units_cap, objects_cap;
} lh_abi_layout;

/* What the checker makes of a type's layouts (see "Objects and
 * conflicts" above). */
typedef enum lh_abi_verdict {
    LH_ABI_ONE_LAYOUT,    /* one layout everywhere */
    LH_ABI_INSIDE,        /* conflict: two layouts inside a primary object */
    LH_ABI_ACROSS,        /* conflict: exchanged between two objects that
                             share no layout of it */
    LH_ABI_APART          /* same name, never exchanged: not a conflict */
} lh_abi_verdict;

/* A type (one key) and its layouts. */
typedef struct lh_abi_type {
    char *name;
    char *header;   /* the key's file: base name of a header, or the full
                       path of a .c file for a local type (plus "(included
                       in UNIT)" for a .c file included by another) */
    int is_typedef; /* named through `typedef struct {...} name` */
    int is_local;   /* declared in the unit's own source file */
    lh_abi_layout *layouts;
    size_t nlayouts;
    lh_abi_verdict verdict;
    size_t object_a, object_b; /* INSIDE: the object (twice); ACROSS: the
                                  two objects; else unset */
    const char *via;  /* ACROSS: a function or variable that carries it */
    int marked;       /* lh_abicheck_mark_files found one of its units */
    /* private */
    size_t layouts_cap;
    uint64_t hash;
} lh_abi_type;

/* How an input came in. */
typedef enum lh_abi_origin {
    LH_ABI_NAMED,      /* lh_abicheck_add_file / add_memory */
    LH_ABI_DEPENDENCY, /* found by lh_abicheck_add_deps */
    LH_ABI_MAPPED      /* mapped into a process (lh_abicheck_add_pid) */
} lh_abi_origin;

typedef enum lh_abi_file_status {
    LH_ABI_FILE_OK,
    LH_ABI_FILE_NO_DEBUG,
    LH_ABI_FILE_ERROR
} lh_abi_file_status;

/* One input: a file, archive, memory image or missing dependency. */
typedef struct lh_abi_file {
    char *path;        /* as named, found or mapped */
    char *soname;      /* DT_SONAME, or NULL */
    char *debug_file;  /* the separate debug file read, or NULL */
    char *needed_by;   /* DEPENDENCY: path of the object that needs it */
    lh_abi_origin origin;
    lh_abi_file_status status;
    size_t units;      /* compilation units read */
    int primary;       /* two layouts inside it are a conflict */
} lh_abi_file;

/* Creates an empty checker.  0 and *out, or LH_ENOMEM. */
int lh_abicheck_new(lh_abicheck **out);

/* Releases the checker and everything it returned; accepts NULL. */
void lh_abicheck_free(lh_abicheck *ac);

/*
 * Adds `dir` as a root of the debug-file search (before /usr/lib/debug):
 * build IDs under dir/.build-id/, debuglink names under dir plus the
 * file's directory.  A relative dir is taken from the current directory.
 * Affects the files added afterwards.  0, LH_EINVAL (dir holds a ':', the
 * separator of libdwfl's search string), LH_EIO (the current directory is
 * unknown) or LH_ENOMEM.
 */
int lh_abicheck_add_debug_dir(lh_abicheck *ac, const char *dir);

/*
 * Reads one file: an ELF executable, shared library or object file, or an
 * ar archive of them, as a primary object (not its dependencies: see
 * lh_abicheck_add_deps).  A file already read (same device and inode) is
 * not read again.  Returns 0 when the file was read, including a file
 * without debug info (a warning is recorded) and an archive some members
 * of which carry none.  Otherwise a negative code, with a message naming
 * the file recorded in the error list: LH_EIO (cannot open or read it),
 * LH_EBADMAGIC (not ELF and not an archive), LH_EPARSE (truncated or
 * corrupt ELF, or DWARF that libdw rejects), LH_ENOTFOUND (a split-DWARF
 * .dwo file is missing; the file's other units were read), LH_EUNSUPPORTED
 * (an object file keeps type units in COMDAT groups, -fdebug-types-section:
 * libdw reads none of them there; linked files are fine; or a thin
 * archive, which libelf cannot read), LH_ENOMEM (the checker holds part of
 * the file's types; free it).
 */
int lh_abicheck_add_file(lh_abicheck *ac, const char *path);

/*
 * Like lh_abicheck_add_file on `len` bytes held in memory (copied; the
 * caller keeps `data`); `name` names the input in messages and units.  Split
 * DWARF is looked up under the units' DW_AT_comp_dir only.
 */
int lh_abicheck_add_memory(lh_abicheck *ac, const char *name,
                           const void *data, size_t len);

/*
 * Reads the shared libraries the files added so far need (ldsearch.h: the
 * loader's order, each object once, the named files first as if
 * preloaded), with `env` (NULL: this process's LD_LIBRARY_PATH, the
 * system's cache and directories).  A library that cannot be found is a
 * warning naming it, whoever needs it, and where it was looked for; a
 * library that cannot be read, or whose DWARF is corrupt, is an error
 * that does not stop the others and does not make the check incomplete.
 * 0, or LH_ENOMEM.
 */
int lh_abicheck_add_deps(lh_abicheck *ac, const lh_ldsearch_env *env);

/*
 * Reads the objects mapped into process `pid` (from /proc/PID/maps,
 * opened through /proc/PID/root), each object once across every call:
 * what was really loaded, whatever LD_LIBRARY_PATH or dlopen chose.  The
 * program (a mapped executable with a PT_INTERP and no DT_SONAME, else
 * /proc/PID/exe: under valgrind /proc/PID/exe is valgrind's tool) is
 * primary.  Mapped files that are not ELF are skipped; one deleted or
 * replaced since it was mapped is a warning.  0; LH_ENOTFOUND (no such
 * process) or LH_EIO (its maps cannot be read), with the reason recorded
 * as an error that makes the check incomplete; or LH_ENOMEM.
 */
int lh_abicheck_add_pid(lh_abicheck *ac, long pid);

/* One line of /proc/PID/maps (lh_abicheck_maps_line). */
typedef struct lh_abi_mapping {
    char range[64];           /* "start-end" of the mapping */
    unsigned long major, minor;
    unsigned long long inode; /* 0: not a file */
    const char *path;         /* into the line; NULL: anonymous */
    int deleted;              /* " (deleted)" was cut from the path */
} lh_abi_mapping;

/* Parses one line of /proc/PID/maps in place (the path is cut out of the
 * line: its newline and a " (deleted)" are removed).  0, or LH_EPARSE for
 * a line that is not a mapping. */
int lh_abicheck_maps_line(char *line, lh_abi_mapping *m);

/* Types seen (every key with a layout, conflicting or not), in first-seen
 * order. */
size_t lh_abicheck_type_count(const lh_abicheck *ac);
const lh_abi_type *lh_abicheck_type(const lh_abicheck *ac, size_t i);

/* The first type named `name` (tag or typedef name), or NULL. */
const lh_abi_type *lh_abicheck_find(const lh_abicheck *ac, const char *name);

/* Number of conflicts: types whose verdict is LH_ABI_INSIDE or _ACROSS. */
size_t lh_abicheck_conflict_count(const lh_abicheck *ac);

/* Compilation units read, in reading order. */
size_t lh_abicheck_unit_count(const lh_abicheck *ac);
const lh_abi_unit *lh_abicheck_unit(const lh_abicheck *ac, size_t i);

/* Inputs, in the order they were added (missing dependencies included,
 * with status LH_ABI_FILE_ERROR and no units). */
size_t lh_abicheck_file_count(const lh_abicheck *ac);
const lh_abi_file *lh_abicheck_file(const lh_abicheck *ac, size_t i);

/* Messages recorded while reading, in order: errors (a file or unit could
 * not be read) and warnings (a named file carries no debug info, a
 * dependency is missing, a debug file does not match). */
size_t lh_abicheck_error_count(const lh_abicheck *ac);
const char *lh_abicheck_error(const lh_abicheck *ac, size_t i);
size_t lh_abicheck_warning_count(const lh_abicheck *ac);
const char *lh_abicheck_warning(const lh_abicheck *ac, size_t i);

/*
 * Marks the conflicts one of whose units is one of the source files
 * `files` (an allocation stack's file names): an absolute name must be the
 * unit's path, a relative one ("rpc.c", "repro/rpc/rpc.c", "../x/y.c"
 * taken from its first component that is not "." or "..") its tail,
 * component-wise.  Clears earlier marks.  Returns how many are marked.
 */
size_t lh_abicheck_mark_files(lh_abicheck *ac, const char *const *files,
                              size_t nfiles);

/*
 * The exit status the checker's findings call for (docs/protocol.md section 7):
 * 2 when the check is incomplete (a named file could not be read, a
 * process could not be read) or no named file or mapped object had debug
 * info (dependencies alone are not the program), else 1
 * when there is a conflict, else 0.  Errors in dependencies and mapped
 * objects leave the status to the rest: they are reported, the others
 * checked.
 */
int lh_abicheck_status(const lh_abicheck *ac);

/* Writes the conflicts, one block per type, readable, then the types of
 * the same name never exchanged; ends with a summary line.  0, or LH_EIO
 * when writing failed. */
int lh_abicheck_write_text(const lh_abicheck *ac, FILE *out);

/*
 * Writes the findings as one JSON object:
 *   {"conflicts":[CONFLICT...],
 *    "files":[{"path","origin","status","units","soname","debug_file",
 *              "needed_by"}],
 *    "errors":[...], "warnings":[...],
 *    "apart":[{"kind","name","header","layouts":N,"objects":[...]}],
 *    "types":N, "units":N, "status":N}
 * where CONFLICT is as lh_abicheck_json_conflicts writes it, a file's
 * status is "ok", "no-debug-info" or "error", its origin "named",
 * "dependency" or "mapped".  0, or LH_EIO.
 */
int lh_abicheck_write_json(const lh_abicheck *ac, FILE *out);

/*
 * Writes the conflicts as one JSON array value at the writer's position:
 *   [{"kind","name","header","typedef","local","verdict":"inside"|"across",
 *     "objects":[path, path],"via":SYMBOL|null,["marked":bool,]
 *     "layouts":[{"kind","size","members":[{"name","offset","bit_offset",
 *       "bit_size","type"}],"enumerators":[{"name","value"}],
 *       "decl_files":[...],"objects":[path...],"units":[{"cu","file"}]}]}]
 * "marked" is written once lh_abicheck_mark_files was called.  Strings
 * that are not valid UTF-8 have the bad bytes replaced by U+FFFD.
 */
void lh_abicheck_json_conflicts(const lh_abicheck *ac, lh_json *j);

/*
 * Writes what a command line tells its user on stderr, each line starting
 * with `prefix` ("leak-hunt: abi-check: "): warnings, errors, one line
 * naming the dependencies and mapped objects without debug info, and when
 * nothing had debug info, how to get it.  0, or LH_EIO.
 */
int lh_abicheck_write_messages(const lh_abicheck *ac, FILE *err,
                               const char *prefix);

#endif
