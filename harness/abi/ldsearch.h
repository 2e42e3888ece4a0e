/*
 * ldsearch.h - the shared libraries a program needs, found the way the
 * dynamic loader (glibc's ld.so) finds them.
 *
 * abi-check PROGRAM reads what PROGRAM will load, so it resolves every
 * DT_NEEDED entry of every object, breadth first from the program, in the
 * loader's order (ld.so(8)):
 *   1. a name with a slash is a path ($ORIGIN expanded), used as it is;
 *   2. DT_RPATH, when the object that needs the library has no DT_RUNPATH:
 *      its own DT_RPATH, then that of the object that loaded it, and so on
 *      up to the program's (an ancestor with DT_RUNPATH is passed over):
 *      DT_RPATH is inherited;
 *   3. LD_LIBRARY_PATH (':' or ';' separated);
 *   4. the needing object's own DT_RUNPATH (never inherited);
 *   5. the loader's cache (ldcache.h), unless the object is DF_1_NODEFLIB;
 *   6. the default directories (Debian: /lib/<triplet>, /usr/lib/<triplet>,
 *      then /lib64, /usr/lib64 for 64-bit, /lib, /usr/lib), same exception.
 * In search paths an empty element is the current directory and $ORIGIN
 * (or ${ORIGIN}) is the directory of the object that holds the path (of the
 * program for LD_LIBRARY_PATH); an element with another substitution ($LIB,
 * $PLATFORM) is skipped.  A candidate must be an ELF file of the program's
 * class and machine, else the search goes on, as in the loader.
 *
 * Each object is read once: a name that matches a name already resolved,
 * or the DT_SONAME of an object already in the set, is that object, and a
 * file found again under another name (same device and inode) is not
 * added twice.  Roots after the first behave like LD_PRELOAD objects: they
 * are in the set before any dependency, so a DT_NEEDED that names their
 * soname resolves to them.  The program's PT_INTERP (the loader itself) is
 * added last unless already present.  A name not found is kept in the list
 * with path NULL and the directories tried.
 *
 * Not modelled: glibc-hwcaps and legacy hwcap subdirectories, $LIB and
 * $PLATFORM, secure-execution (setuid) restrictions, dlopen.
 */
#ifndef LH_LDSEARCH_H
#define LH_LDSEARCH_H

#include <libelf.h>
#include <stddef.h>
#include <sys/types.h>

#define LH_LD_NONE ((size_t)-1)

/* Where the search looks; a zeroed struct means "nowhere but the
 * objects' own paths" except as noted. */
typedef struct lh_ldsearch_env {
    const char *ld_library_path;     /* NULL or "": not set */
    const char *cache_path;          /* NULL: /etc/ld.so.cache; "": none */
    const char *const *default_dirs; /* NULL-terminated list; NULL: the
                                        system's, by the program's machine */
} lh_ldsearch_env;

/* How an object was found. */
typedef enum lh_ld_how {
    LH_LD_ROOT,         /* given by the caller */
    LH_LD_SLASH,        /* DT_NEEDED holding a '/': a path */
    LH_LD_RPATH,        /* DT_RPATH of the needing object or an ancestor */
    LH_LD_LIBRARY_PATH, /* LD_LIBRARY_PATH */
    LH_LD_RUNPATH,      /* DT_RUNPATH of the needing object */
    LH_LD_CACHE,        /* the loader's cache */
    LH_LD_DEFAULT,      /* a default directory */
    LH_LD_INTERP,       /* the program's PT_INTERP */
    LH_LD_MISSING       /* not found */
} lh_ld_how;

typedef struct lh_ld_object {
    char *name;       /* the DT_NEEDED string, or the root's path */
    char *path;       /* the file found; NULL when missing */
    char *soname;     /* its DT_SONAME, or NULL */
    size_t needed_by; /* index of the object that needed it first;
                         LH_LD_NONE for a root */
    lh_ld_how how;
    char *searched;   /* LH_LD_MISSING: directories tried, ':'-joined */
    /* private: from the object's ELF headers (a root that is not a
     * dynamic ELF object has none) */
    int dynamic;      /* an ELF executable or shared object was read */
    char **needed;
    size_t nneeded;
    char *rpath, *runpath, *interp, *origin;
    int nodeflib;
    unsigned char elf_class;
    unsigned elf_machine;
    dev_t dev;
    ino_t ino;
    size_t loader;    /* whose DT_RPATH this one inherits */
} lh_ld_object;

typedef struct lh_ldsearch {
    lh_ld_object *objects; /* roots first, in the order given, then the
                              dependencies breadth first */
    size_t count;
    /* private */
    size_t cap;
    size_t main;           /* the first root that is a dynamic object */
    struct lh_ldcache *cache;
    int cache_tried;
    const lh_ldsearch_env *env;
} lh_ldsearch;

/*
 * Resolves the dependencies of `roots` (paths; the first dynamic one is the
 * program).  0 with the list in *s (to be freed with lh_ldsearch_free, also
 * on failure), or LH_ENOMEM.  A root that cannot be read or is not a
 * dynamic ELF object stays in the list with no dependencies; the caller,
 * which reads every object, reports why.
 */
int lh_ldsearch_run(lh_ldsearch *s, const char *const *roots, size_t nroots,
                    const lh_ldsearch_env *env);

/* Releases what the search holds; accepts a zeroed struct. */
void lh_ldsearch_free(lh_ldsearch *s);

/*
 * Reads the loader's view of an open ELF image into the private part of
 * `o` (zeroed by the caller): o->dynamic set for an executable or shared
 * object, with its soname, DT_NEEDED, paths, PT_INTERP, class and machine.
 * 0 whatever the image is, or LH_ENOMEM.  Release with
 * lh_ld_object_release.
 */
int lh_ld_object_read(lh_ld_object *o, Elf *elf);
void lh_ld_object_release(lh_ld_object *o);

/* "RUNPATH", "ld.so.cache", ...: how an object was found, for messages. */
const char *lh_ldsearch_how_name(lh_ld_how how);

#endif
