/*
 * Design: the program is read the way the loader will load it
 * (ldsearch.h: its DT_NEEDED closure, with the LD_PRELOAD entries that are
 * paths as extra roots), and judged on facts of its files, never on its
 * behaviour: a sanitizer's runtime library in the closure, or a
 * sanitizer's init function named by the program (a runtime linked in,
 * clang's default); a definition of malloc in the program (its symbol
 * tables) or in any object of the closure but the C library and the
 * loader; no program interpreter (statically linked, so the loader that
 * honours LD_PRELOAD never runs).
 */
#include "preload.h"

#include "alloc.h"
#include "error.h"
#include "ldsearch.h"

#include <fcntl.h>
#include <stdarg.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ROOTS 16

typedef struct sanitizer {
    const char *name;     /* for messages */
    const char *libs[2];  /* prefixes of its runtime's file names */
    const char *init;     /* the function every instrumented program calls */
} sanitizer;

static const sanitizer sanitizers[] = {
    {"AddressSanitizer", {"libasan.so", "libclang_rt.asan"}, "__asan_init"},
    {"ThreadSanitizer", {"libtsan.so", "libclang_rt.tsan"}, "__tsan_init"},
    {"MemorySanitizer", {"libmsan.so", "libclang_rt.msan"}, "__msan_init"},
    {"HWAddressSanitizer", {"libhwasan.so", "libclang_rt.hwasan"},
     "__hwasan_init"},
    {"LeakSanitizer", {"liblsan.so", "libclang_rt.lsan"}, "__lsan_init"},
};
#define NSANITIZERS (sizeof sanitizers / sizeof sanitizers[0])

/* Allocators known by name, for LD_PRELOAD entries that are not paths
 * (the loader finds them; their symbols are not read). */
static const char *const allocator_names[] = {
    "jemalloc", "tcmalloc", "mimalloc", "hoard", "scudo",
    "snmalloc", "rpmalloc", "tbbmalloc", "malloc_debug",
};

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int executable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

int lh_preload_resolve(const char *cmd, char *path, size_t cap)
{
    if (cmd == NULL || *cmd == '\0')
        return LH_ENOTFOUND;
    if (strchr(cmd, '/')) {
        if ((size_t)snprintf(path, cap, "%s", cmd) >= cap)
            return LH_ENOTFOUND;
        return 0;
    }
    const char *dirs = getenv("PATH");
    if (dirs == NULL)
        dirs = "/bin:/usr/bin"; /* execvp's default */
    while (*dirs) {
        size_t len = strcspn(dirs, ":");
        int n = snprintf(path, cap, "%.*s%s%s", (int)len, dirs,
                         len ? "/" : "", cmd);
        if (n > 0 && (size_t)n < cap && executable_file(path))
            return 0;
        dirs += len;
        if (*dirs == ':')
            dirs++;
    }
    return LH_ENOTFOUND;
}

/* A script's interpreter into `path` (replaced): the program after "#!",
 * or the program `#!/usr/bin/env NAME` runs.  0 when path is not a script
 * or its interpreter was found, LH_ENOTFOUND otherwise. */
static int interpreter(char *path, size_t cap)
{
    char head[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n < 2 || head[0] != '#' || head[1] != '!')
        return 0;
    head[n] = '\0';
    char *save = NULL;
    char *interp = strtok_r(head + 2, " \t\r\n", &save);
    if (interp == NULL)
        return LH_ENOTFOUND;
    if (strcmp(base_name(interp), "env") == 0) {
        char *arg;
        while ((arg = strtok_r(NULL, " \t\r\n", &save)) && arg[0] == '-')
            ;
        if (arg != NULL && strchr(arg, '=') == NULL)
            return lh_preload_resolve(arg, path, cap);
    }
    if ((size_t)snprintf(path, cap, "%s", interp) >= cap)
        return LH_ENOTFOUND;
    return executable_file(path) ? 0 : LH_ENOTFOUND;
}

/* What an object's symbol tables say. */
typedef struct symbols {
    int defines_malloc;
    const sanitizer *instrumented; /* names a sanitizer's init function */
} symbols;

static void scan_table(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh,
                       symbols *out)
{
    Elf_Data *data = elf_getdata(scn, NULL);
    if (data == NULL || sh->sh_entsize == 0)
        return;
    size_t n = sh->sh_size / sh->sh_entsize;
    for (size_t i = 1; i < n; i++) {
        GElf_Sym sym;
        if (gelf_getsym(data, (int)i, &sym) == NULL)
            continue;
        const char *name = elf_strptr(elf, sh->sh_link, sym.st_name);
        if (name == NULL || name[0] == '\0')
            continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (strcmp(name, "malloc") == 0 && sym.st_shndx != SHN_UNDEF &&
            (type == STT_FUNC || type == STT_GNU_IFUNC))
            out->defines_malloc = 1;
        for (size_t k = 0; k < NSANITIZERS && !out->instrumented; k++)
            if (strcmp(name, sanitizers[k].init) == 0)
                out->instrumented = &sanitizers[k];
    }
}

/* Reads the dynamic symbols of the file at path (and its full symbol
 * table with `all`).  Nothing found when it cannot be read. */
static symbols read_symbols(const char *path, int all)
{
    symbols out = {0, NULL};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return out;
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    Elf_Scn *scn = NULL;
    while (elf && (scn = elf_nextscn(elf, scn)) != NULL) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) &&
            (sh.sh_type == SHT_DYNSYM || (all && sh.sh_type == SHT_SYMTAB)))
            scan_table(elf, scn, &sh, &out);
    }
    if (elf)
        elf_end(elf);
    close(fd);
    return out;
}

static const sanitizer *runtime_of(const char *file)
{
    const char *base = base_name(file);
    for (size_t k = 0; k < NSANITIZERS; k++)
        for (size_t j = 0; j < 2; j++)
            if (starts_with(base, sanitizers[k].libs[j]))
                return &sanitizers[k];
    return NULL;
}

__attribute__((format(printf, 3, 4))) static void
set(lh_preload_check *out, lh_preload_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out->kind = kind;
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
}

/* A sanitizer's runtime in the closure, or its init function named by
 * the program.  1 when found (out filled). */
static int judge_sanitizer(const lh_ldsearch *s, const symbols *program,
                           lh_preload_check *out)
{
    for (size_t i = 0; i < s->count; i++) {
        const lh_ld_object *o = &s->objects[i];
        const sanitizer *z = o->path ? runtime_of(o->path) : NULL;
        if (z != NULL) {
            snprintf(out->runtime, sizeof out->runtime, "%s", o->path);
            set(out, LH_PRELOAD_SANITIZER, "built with %s (%s)", z->name,
                base_name(o->path));
            return 1;
        }
    }
    if (program->instrumented) {
        set(out, LH_PRELOAD_SANITIZER, "built with %s (its runtime linked "
            "in)", program->instrumented->name);
        return 1;
    }
    return 0;
}

static int c_library(const lh_ld_object *o)
{
    const char *name = o->soname ? o->soname : base_name(o->path);
    return starts_with(name, "libc.so") || o->how == LH_LD_INTERP;
}

/* malloc defined by the program or by an object of the closure other
 * than the C library, the loader and `ours`.  1 when found. */
static int judge_allocator(const lh_ldsearch *s, const symbols *program,
                           const char *ours, lh_preload_check *out)
{
    if (program->defines_malloc) {
        set(out, LH_PRELOAD_ALLOCATOR, "has an allocator of its own (it "
            "defines malloc)");
        return 1;
    }
    for (size_t i = 1; i < s->count; i++) {
        const lh_ld_object *o = &s->objects[i];
        if (o->path == NULL || c_library(o) ||
            (ours && o->soname && strcmp(o->soname, ours) == 0))
            continue;
        if (read_symbols(o->path, 0).defines_malloc) {
            set(out, LH_PRELOAD_ALLOCATOR,
                "has an allocator of its own (%s defines malloc)",
                base_name(o->path));
            return 1;
        }
    }
    return 0;
}

/* LD_PRELOAD entries: paths become roots of the search (rooted after the
 * program, as the loader puts them first); a bare name is judged by its
 * name.  1 when a bare name decides (out filled). */
static int preload_entries(char *list, const char **roots, size_t *nroots,
                           const char *ours, lh_preload_check *out)
{
    char *save = NULL;
    for (char *e = strtok_r(list, ": ", &save); e;
         e = strtok_r(NULL, ": ", &save)) {
        if (strchr(e, '/')) {
            if (*nroots < MAX_ROOTS)
                roots[(*nroots)++] = e;
            continue;
        }
        const sanitizer *z = runtime_of(e);
        if (z != NULL) {
            set(out, LH_PRELOAD_SANITIZER, "runs with %s (LD_PRELOAD=%s)",
                z->name, e);
            return 1;
        }
        for (size_t k = 0; k < sizeof allocator_names / sizeof *allocator_names;
             k++)
            if (strstr(e, allocator_names[k]) &&
                !(ours && strcmp(e, ours) == 0)) {
                set(out, LH_PRELOAD_ALLOCATOR,
                    "has an allocator of its own (LD_PRELOAD=%s)", e);
                return 1;
            }
    }
    return 0;
}

/* Reads the closure of the program at out->program (with the LD_PRELOAD
 * paths in roots) and judges it. */
static int judge_closure(const char **roots, size_t nroots, const char *ours,
                         lh_preload_check *out)
{
    lh_ldsearch s;
    lh_ldsearch_env env = {.ld_library_path = getenv("LD_LIBRARY_PATH")};
    int rc = lh_ldsearch_run(&s, roots, nroots, &env);
    if (rc == 0) {
        const lh_ld_object *p = &s.objects[0];
        symbols program = read_symbols(out->program, 1);
        if (!p->dynamic)
            set(out, LH_PRELOAD_UNKNOWN, "not an ELF program");
        else if (p->interp == NULL)
            set(out, LH_PRELOAD_STATIC,
                "is statically linked (LD_PRELOAD has no effect)");
        else if (!judge_sanitizer(&s, &program, out))
            judge_allocator(&s, &program, ours, out);
    }
    lh_ldsearch_free(&s);
    return rc;
}

/* Judges the program at out->program, with its LD_PRELOAD entries. */
static int judge(const char *ld_preload, const char *ours,
                 lh_preload_check *out)
{
    const char *roots[MAX_ROOTS + 1] = {out->program};
    size_t nroots = 1;
    char *list = lh_strdup(ld_preload ? ld_preload : "");
    if (list == NULL)
        return LH_ENOMEM;
    int rc = 0;
    if (!preload_entries(list, roots, &nroots, ours, out))
        rc = judge_closure(roots, nroots, ours, out);
    lh_free(list);
    return rc;
}

int lh_preload_check_program(const char *cmd, const char *ld_preload,
                             const char *ours, lh_preload_check *out)
{
    memset(out, 0, sizeof *out);
    if (lh_preload_resolve(cmd, out->program, sizeof out->program) < 0 ||
        access(out->program, R_OK) != 0) {
        set(out, LH_PRELOAD_UNKNOWN, "%s: not found or not readable", cmd);
        return 0;
    }
    if (interpreter(out->program, sizeof out->program) < 0) {
        set(out, LH_PRELOAD_UNKNOWN, "%s: its interpreter was not found",
            cmd);
        return 0;
    }
    return judge(ld_preload, ours, out);
}

int lh_preload_valgrind_refuses(const char *cmd, char *why, size_t cap)
{
    lh_preload_check chk;
    if (lh_preload_check_program(cmd, getenv("LD_PRELOAD"), NULL, &chk) < 0 ||
        chk.kind != LH_PRELOAD_SANITIZER)
        return 0;
    snprintf(why, cap, "cannot use the memcheck tool: %s is %s, and "
             "valgrind cannot run a program built with a sanitizer (the "
             "sanitizer's runtime and valgrind both replace malloc); fix: "
             "measure it with --tool rss or --tool heap, or build it without "
             "the sanitizer for memcheck", chk.program, chk.why);
    return 1;
}
