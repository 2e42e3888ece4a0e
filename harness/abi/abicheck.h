/*
 * abicheck.h - find types with more than one layout in one program.
 *
 * The article's root cause was an ABI mismatch inside one binary: code
 * compiled against an old header of a library, linked with the new one.
 * The checker reads DWARF (elfutils libdw/libdwfl) from executables, shared
 * libraries, static archives (each member) and object files, collects
 * every struct, union and enum definition, and reports every type that has
 * more than one distinct layout across compilation units.
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
 * version agree.
 *
 * Inputs: split DWARF (-gsplit-dwarf) is followed to its .dwo files (next to
 * the input or under the unit's DW_AT_comp_dir); a missing .dwo is an error
 * that names it, the other units are still read.  A stripped file is read
 * through its separate debug file (.gnu_debuglink or build id, the libdwfl
 * standard search).  Type units (-fdebug-types-section) are read in linked
 * files and named by signature ("type unit 0x..."); a layout from one also
 * lists the compilation units that refer to it directly (a unit that
 * reaches it only through another type unit is not listed: the linker keeps
 * one copy per signature, which may point to another unit's version).  In
 * object files type units sit in COMDAT groups that libdw does not read,
 * which is an error, as is a thin archive.  A file without debug info is a warning, not an error.  A
 * file that is not ELF, or is truncated or corrupt, is an error naming the
 * file; the checker never crashes on it.
 *
 * Memory: the checker owns everything it returns.  A type pointer stays
 * valid until lh_abicheck_free; layout and unit pointers until the next
 * lh_abicheck_add_* call.  Not thread-safe: one checker per thread.
 */
#ifndef LH_ABICHECK_H
#define LH_ABICHECK_H

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

/* A compilation unit: its source name (DW_AT_name) and where it was read
 * ("prog", "liba.a(a.o)"). */
typedef struct lh_abi_unit {
    char *cu;
    char *file;
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
    /* private */
    char *canon;
    uint64_t hash;
    size_t units_cap;
} lh_abi_layout;

/* A type (one key) and its layouts; a conflict when nlayouts > 1. */
typedef struct lh_abi_type {
    char *name;
    char *header;   /* the key's file: base name of a header, or the full
                       path of a .c file for a local type (plus "(included
                       in UNIT)" for a .c file included by another) */
    int is_typedef; /* named through `typedef struct {...} name` */
    int is_local;   /* declared in the unit's own source file */
    lh_abi_layout *layouts;
    size_t nlayouts;
    /* private */
    size_t layouts_cap;
    uint64_t hash;
} lh_abi_type;

/* Creates an empty checker.  0 and *out, or LH_ENOMEM. */
int lh_abicheck_new(lh_abicheck **out);

/* Releases the checker and everything it returned; accepts NULL. */
void lh_abicheck_free(lh_abicheck *ac);

/*
 * Reads one file: an ELF executable, shared library or object file, or an
 * ar archive of them.  Returns 0 when the file was read, including a file
 * without debug info (a warning is recorded) and an archive some members
 * of which carry none.  Otherwise a negative code, with a message naming
 * the file recorded in the error list: LH_EIO (cannot open or read it),
 * LH_EBADMAGIC (not ELF and not an archive), LH_EPARSE (truncated or
 * corrupt ELF, or DWARF that libdw rejects), LH_ENOTFOUND (a split-DWARF
 * .dwo file is missing; the file's other units were read), LH_EUNSUPPORTED
 * (an object file keeps type units in COMDAT groups, -fdebug-types-section:
 * libdw reads none of them there; linked files are fine; or a thin
 * archive, which libelf cannot read), LH_ENOMEM (the
 * checker holds part of the file's types; free it).
 */
int lh_abicheck_add_file(lh_abicheck *ac, const char *path);

/*
 * Like lh_abicheck_add_file on `len` bytes held in memory (copied; the
 * caller keeps `data`); `name` names the input in messages and units.  Split
 * DWARF is looked up under the units' DW_AT_comp_dir only.
 */
int lh_abicheck_add_memory(lh_abicheck *ac, const char *name,
                           const void *data, size_t len);

/* Types seen (every key, conflicting or not), in first-seen order. */
size_t lh_abicheck_type_count(const lh_abicheck *ac);
const lh_abi_type *lh_abicheck_type(const lh_abicheck *ac, size_t i);

/* The first type named `name` (tag or typedef name), or NULL. */
const lh_abi_type *lh_abicheck_find(const lh_abicheck *ac, const char *name);

/* Number of types with more than one layout. */
size_t lh_abicheck_conflict_count(const lh_abicheck *ac);

/* Compilation units read, in reading order. */
size_t lh_abicheck_unit_count(const lh_abicheck *ac);
const lh_abi_unit *lh_abicheck_unit(const lh_abicheck *ac, size_t i);

/* Messages recorded while reading, in order: errors (a file or unit could
 * not be read) and warnings (a file carries no debug info). */
size_t lh_abicheck_error_count(const lh_abicheck *ac);
const char *lh_abicheck_error(const lh_abicheck *ac, size_t i);
size_t lh_abicheck_warning_count(const lh_abicheck *ac);
const char *lh_abicheck_warning(const lh_abicheck *ac, size_t i);

/*
 * The exit status the checker's findings call for (DESIGN section 5):
 * 2 when an error was recorded or no file read so far had debug info (or
 * none was read), else 1 when a type has more than one layout, else 0.
 * Errors win over conflicts: a check that could not read everything is not
 * a verdict, though the conflicts it did find are still reported.
 */
int lh_abicheck_status(const lh_abicheck *ac);

/* Writes the conflicts, one block per type, readable; ends with a summary
 * line.  0, or LH_EIO when writing failed. */
int lh_abicheck_write_text(const lh_abicheck *ac, FILE *out);

/*
 * Writes the findings as one JSON object:
 *   {"conflicts":[{"kind","name","header","typedef","layouts":[{"kind",
 *     "size","members":[{"name","offset","bit_offset","bit_size","type"}],
 *     "enumerators":[{"name","value"}],"decl_files":[...],
 *     "units":[{"cu","file"}]}]}],
 *    "files":[{"path","status","units"}], "errors":[...],
 *    "warnings":[...], "status":N}
 * where a file's status is "ok", "no-debug-info" or "error".  0, or LH_EIO.
 */
int lh_abicheck_write_json(const lh_abicheck *ac, FILE *out);

#endif
