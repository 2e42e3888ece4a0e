/*
 * abicheck_elf.c - ELF input: files, archives, memory images, through
 * libelf and libdwfl.
 *
 * Reading.  Every ELF image (a file, or one member of an ar archive) goes
 * through libdwfl's offline mode rather than plain dwarf_begin_elf: object
 * files (ET_REL) keep their DWARF string and line-table offsets in
 * relocations, and libdw alone reads them unrelocated (every name would be
 * the first string of .debug_str); libdwfl applies them.  Archives are
 * walked with libelf (elf_begin on the archive, elf_next per member); each
 * member's bytes are copied and handed to dwfl_report_offline_memory, since
 * relocation writes into the image.  A whole ELF file is reported by path,
 * so libdw can find split-DWARF .dwo files relative to it and libdwfl its
 * separate debug file (abicheck_debug.c).
 *
 * Robustness.  Before libdwfl sees an image we check its ELF header, the
 * section header table and every section's extent against the image size:
 * a truncated file is reported as such instead of being half-read.
 * libFuzzer (tests/fuzz/fuzz_abicheck.c) drives arbitrary bytes through
 * lh_abicheck_add_memory.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The section named `name` (or one of two names), or NULL. */
static Elf_Scn *section_named(Elf *elf, const char *a, const char *b,
                              GElf_Shdr *sh)
{
    Elf_Scn *scn = NULL;
    size_t shstrndx;

    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return NULL;
    for (;;) {
        const char *n;

        scn = elf_nextscn(elf, scn);
        if (!scn)
            return NULL;
        if (!gelf_getshdr(scn, sh))
            continue;
        n = elf_strptr(elf, shstrndx, sh->sh_name);
        if (n && (strcmp(n, a) == 0 || (b && strcmp(n, b) == 0)))
            return scn;
    }
}

static int has_debug_section(Elf *elf)
{
    GElf_Shdr sh;

    return section_named(elf, ".debug_info", ".zdebug_info", &sh) ||
           section_named(elf, ".debug_info.dwo", NULL, &sh);
}

/* The file name in a stripped file's .gnu_debuglink, or NULL. */
static const char *debuglink(Elf *elf)
{
    GElf_Shdr sh;
    Elf_Scn *scn = section_named(elf, ".gnu_debuglink", NULL, &sh);
    Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

    if (!d || !d->d_buf || d->d_size < 2 ||
        !memchr(d->d_buf, '\0', d->d_size) || !((char *)d->d_buf)[0])
        return NULL;
    return d->d_buf;
}

/*
 * Does a relocatable object keep DWARF units in COMDAT section groups?
 * GCC's -fdebug-types-section puts each type unit in its own group; libdw
 * reads only the ungrouped sections of an object (the linker merges the
 * groups, so linked programs and libraries are complete).
 */
static int has_grouped_debug(Elf *elf)
{
    GElf_Ehdr eh;
    Elf_Scn *scn = NULL;
    size_t shstrndx;

    if (!gelf_getehdr(elf, &eh) || eh.e_type != ET_REL ||
        elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    for (;;) {
        GElf_Shdr sh;
        const char *n;

        scn = elf_nextscn(elf, scn);
        if (!scn)
            return 0;
        if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_GROUP))
            continue;
        n = elf_strptr(elf, shstrndx, sh.sh_name);
        if (n && (strcmp(n, ".debug_info") == 0 ||
                  strcmp(n, ".debug_types") == 0))
            return 1;
    }
}

/* Every section's extent against the image size. */
static int check_sections(lh_abicheck *ac, Elf *elf, const char *display,
                          size_t shnum, size_t shstrndx, size_t rawsize)
{
    size_t i;

    for (i = 1; i < shnum; i++) {
        Elf_Scn *scn = elf_getscn(elf, i);
        GElf_Shdr sh;

        if (!scn || !gelf_getshdr(scn, &sh)) {
            abi_error(ac, "%s: corrupt ELF section header %zu: %s", display,
                      i, elf_errmsg(-1));
            return LH_EPARSE;
        }
        if (sh.sh_type != SHT_NOBITS && sh.sh_size &&
            (sh.sh_offset > rawsize || sh.sh_size > rawsize - sh.sh_offset)) {
            const char *n = elf_strptr(elf, shstrndx, sh.sh_name);

            abi_error(ac,
                      "%s: truncated ELF: section %s ends past the end of the "
                      "file (%zu bytes)",
                      display, n ? n : "?", rawsize);
            return LH_EPARSE;
        }
    }
    return 0;
}

/*
 * Checks an ELF image's header, section header table and section extents
 * against its size.  0, or LH_EPARSE with the reason recorded.
 */
static int check_elf(lh_abicheck *ac, Elf *elf, const char *display)
{
    GElf_Ehdr eh;
    size_t rawsize = 0, shnum = 0, shstrndx = 0;

    if (!elf_rawfile(elf, &rawsize)) {
        abi_error(ac, "%s: cannot read ELF image: %s", display,
                  elf_errmsg(-1));
        return LH_EPARSE;
    }
    if (!gelf_getehdr(elf, &eh)) {
        abi_error(ac, "%s: corrupt ELF header: %s", display, elf_errmsg(-1));
        return LH_EPARSE;
    }
    if (elf_getshdrnum(elf, &shnum) != 0) {
        abi_error(ac, "%s: corrupt ELF section header table: %s", display,
                  elf_errmsg(-1));
        return LH_EPARSE;
    }
    /* libelf quietly reports no sections when the table lies past the end,
     * so the header's own fields are checked (e_shnum 0 with e_shoff set is
     * extended numbering: at least entry 0 must be there). */
    if (eh.e_shnum && !shnum)
        shnum = eh.e_shnum;
    if ((shnum || eh.e_shoff) &&
        (eh.e_shoff > rawsize || eh.e_shentsize == 0 ||
         (shnum ? shnum : 1) > (rawsize - eh.e_shoff) / eh.e_shentsize)) {
        abi_error(ac,
                  "%s: truncated ELF: the section header table ends past the "
                  "end of the file (%zu bytes)",
                  display, rawsize);
        return LH_EPARSE;
    }
    if (shnum && elf_getshdrstrndx(elf, &shstrndx) != 0) {
        abi_error(ac, "%s: corrupt ELF section names: %s", display,
                  elf_errmsg(-1));
        return LH_EPARSE;
    }
    return check_sections(ac, elf, display, shnum, shstrndx, rawsize);
}

/* Remembers the separate debug file libdwfl read, if any. */
static int note_debug_file(struct abi_file *f, Dwfl_Module *mod)
{
    const char *mainfile = NULL, *debugfile = NULL;

    dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile,
                     &debugfile);
    if (!debugfile || (mainfile && strcmp(mainfile, debugfile) == 0) ||
        f->pub.debug_file)
        return 0;
    f->pub.debug_file = lh_strdup(debugfile);
    return f->pub.debug_file ? 0 : LH_ENOMEM;
}

/* The DWARF of a reported module, read into the checker. */
static int read_module(lh_abicheck *ac, Dwfl_Module *mod, Elf *elf,
                       const char *display, size_t *nunits)
{
    struct abi_file *f = &ac->files[ac->cur_file];
    const char *ident;
    Dwarf_Addr bias;
    Dwarf *dw;
    int rc;

    dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw) {
        if (has_debug_section(elf)) {
            abi_error(ac, "%s: cannot read DWARF: %s", display,
                      dwfl_errmsg(-1));
            return LH_EPARSE;
        }
        return 0; /* no debug info: the caller warns */
    }
    rc = note_debug_file(f, mod);
    if (!rc)
        rc = abi_syms_read(ac, f, elf);
    if (rc)
        return rc;
    ident = elf_getident(elf, NULL);
    return abi_read_dwarf(ac, dw, display,
                          ident && ident[EI_DATA] == ELFDATA2MSB, nunits);
}

/*
 * Reads the DWARF of one checked ELF image through libdwfl: by path when
 * `path` is set, else from `image` (writable, `size` bytes; relocation
 * writes into it).  `elf` is our own handle on the same image, for the
 * no-debug-info test and the symbols.  *nunits counts the units read.
 */
static int read_image(lh_abicheck *ac, Elf *elf, const char *display,
                      const char *path, char *image, size_t size,
                      size_t *nunits)
{
    Dwfl *dwfl;
    Dwfl_Module *mod;
    void **userdata = NULL;
    int rc = 0;

    dwfl = dwfl_begin(&ac->callbacks);
    if (!dwfl)
        return LH_ENOMEM;
    if (path)
        mod = dwfl_report_offline(dwfl, display, path, -1);
    else
        mod = dwfl_report_offline_memory(dwfl, display, display, image, size);
    if (!mod || dwfl_report_end(dwfl, NULL, NULL) != 0) {
        abi_error(ac, "%s: cannot read: %s", display, dwfl_errmsg(-1));
        rc = LH_EPARSE;
        goto out;
    }
    if (dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL) &&
        userdata)
        *userdata = ac; /* for the debug search's notes */
    rc = read_module(ac, mod, elf, display, nunits);
    if (rc != LH_ENOMEM && has_grouped_debug(elf)) {
        abi_error(ac,
                  "%s: type units in COMDAT section groups "
                  "(-fdebug-types-section) cannot be read in an object file; "
                  "check the linked program or library instead",
                  display);
        if (!rc)
            rc = LH_EUNSUPPORTED;
    }
out:
    dwfl_end(dwfl);
    return rc;
}

/* What the loader would see of a whole file: its soname, PT_INTERP, and
 * whether it is an object of its own. */
static int note_object(lh_abicheck *ac, Elf *elf)
{
    struct abi_file *f = &ac->files[ac->cur_file];
    lh_ld_object o;
    int rc;

    memset(&o, 0, sizeof o);
    rc = lh_ld_object_read(&o, elf);
    if (!rc && o.dynamic) {
        f->group = ac->cur_file;
        f->has_interp = o.interp != NULL;
        if (o.soname && !f->pub.soname) {
            f->pub.soname = o.soname;
            o.soname = NULL;
        }
    }
    lh_ld_object_release(&o);
    return rc;
}

/* Reads one ELF image (a whole file when whole is set: path, or memory). */
static int read_elf(lh_abicheck *ac, Elf *elf, const char *display,
                    const char *path, int whole, size_t *nunits)
{
    char *raw, *copy = NULL;
    size_t size = 0;
    int rc;

    rc = check_elf(ac, elf, display);
    if (!rc && whole)
        rc = note_object(ac, elf);
    if (rc)
        return rc;
    if (path)
        return read_image(ac, elf, display, path, NULL, 0, nunits);
    raw = elf_rawfile(elf, &size);
    copy = lh_malloc(size ? size : 1);
    if (!copy)
        return LH_ENOMEM;
    memcpy(copy, raw, size);
    rc = read_image(ac, elf, display, NULL, copy, size, nunits);
    lh_free(copy);
    return rc;
}

/* "archive(member)", or NULL for lack of memory. */
static char *member_name(const char *display, const char *member)
{
    lh_buf name = LH_BUF_INIT;
    char *s = NULL;

    if (!abi_buf_puts(&name, display) && !abi_buf_puts(&name, "(") &&
        !abi_buf_puts(&name, member) && !abi_buf_puts(&name, ")"))
        s = abi_buf_strdup(&name);
    lh_buf_free(&name);
    return s;
}

/* Reads one member of an archive (skipping the symbol and name tables). */
static int read_member(lh_abicheck *ac, Elf *m, const char *display,
                       size_t *nunits)
{
    Elf_Arhdr *h = elf_getarhdr(m);
    char *member;
    int rc = 0;

    if (!h || !h->ar_name || h->ar_name[0] == '/')
        return 0;
    member = member_name(display, h->ar_name);
    if (!member)
        return LH_ENOMEM;
    if (elf_kind(m) == ELF_K_ELF)
        rc = read_elf(ac, m, member, NULL, 0, nunits);
    else
        abi_warning(ac, "%s: not an ELF object; skipped", member);
    lh_free(member);
    return rc;
}

/* Reads every member of an archive; errors in one member do not stop the
 * others.  Returns the first error, LH_ENOMEM at once. */
static int read_archive(lh_abicheck *ac, Elf *ar, int fd, Elf_Cmd cmd,
                        const char *display, size_t *nunits)
{
    int ret = 0, rc;

    for (;;) {
        Elf *m = elf_begin(fd, cmd, ar);

        if (!m)
            break;
        rc = read_member(ac, m, display, nunits);
        if (rc && !ret)
            ret = rc;
        if (rc == LH_ENOMEM) {
            elf_end(m);
            break;
        }
        cmd = elf_next(m);
        elf_end(m);
    }
    return ret;
}

/* Neither ELF nor an archive libelf reads: a thin archive, or not ELF. */
static int read_other(lh_abicheck *ac, Elf *elf, const char *display)
{
    size_t size = 0;
    const char *raw = elf_rawfile(elf, &size);

    if (raw && size >= 8 && memcmp(raw, "!<thin>\n", 8) == 0) {
        abi_error(ac,
                  "%s: thin archive: libelf cannot read it; pass its members "
                  "instead (ar t lists them)",
                  display);
        return LH_EUNSUPPORTED;
    }
    abi_error(ac, "%s: not an ELF file or ar archive", display);
    return LH_EBADMAGIC;
}

/* The warning for a named file read without debug info. */
static void warn_no_debug(lh_abicheck *ac, Elf *elf, const char *display)
{
    const char *link = elf_kind(elf) == ELF_K_ELF ? debuglink(elf) : NULL;

    if (link && ac->files[ac->cur_file].debug_mismatch)
        abi_warning(ac,
                    "%s: no debug info (its separate debug file %s does not "
                    "match it); skipped",
                    display, link);
    else if (link)
        abi_warning(ac,
                    "%s: no debug info, and its separate debug file %s "
                    "(.gnu_debuglink) was not found beside it, in .debug/ "
                    "or under the debug roots (/usr/lib/debug, --debug-dir); "
                    "skipped",
                    display, link);
    else
        abi_warning(ac, "%s: no debug info (built without -g?); skipped",
                    display);
}

int abi_read_any(lh_abicheck *ac, Elf *elf, int fd, Elf_Cmd cmd,
                 const char *display, const char *path)
{
    size_t nerr = ac->nerrors, nunits = 0;
    int rc;

    switch (elf_kind(elf)) {
    case ELF_K_ELF:
        rc = read_elf(ac, elf, display, path, 1, &nunits);
        break;
    case ELF_K_AR:
        rc = read_archive(ac, elf, fd, cmd, display, &nunits);
        break;
    default:
        rc = read_other(ac, elf, display);
        break;
    }
    /* ac->files may not have moved: no file is added while one is read */
    ac->files[ac->cur_file].pub.units = nunits;
    if (rc || ac->nerrors != nerr)
        ac->files[ac->cur_file].pub.status = LH_ABI_FILE_ERROR;
    else if (nunits == 0)
        ac->files[ac->cur_file].pub.status = LH_ABI_FILE_NO_DEBUG;
    else
        ac->files[ac->cur_file].pub.status = LH_ABI_FILE_OK;
    if (rc == 0 && nunits == 0 && ac->nerrors == nerr &&
        ac->files[ac->cur_file].pub.origin == LH_ABI_NAMED)
        warn_no_debug(ac, elf, display);
    return rc;
}

/* Is an object with this device and inode already read? */
static int already_read(const lh_abicheck *ac, dev_t dev, ino_t ino)
{
    size_t i;

    for (i = 0; i < ac->nfiles; i++)
        if (ac->files[i].dev == dev && ac->files[i].ino == ino)
            return 1;
    return 0;
}

/* The directory of the file, for .dwo files moved with it. */
static int set_search_dir(lh_abicheck *ac, const char *path)
{
    char *slash;

    ac->search_dir = abi_path_norm(NULL, path);
    if (!ac->search_dir)
        return LH_ENOMEM;
    slash = strrchr(ac->search_dir, '/');
    if (slash)
        slash[slash == ac->search_dir ? 1 : 0] = '\0';
    else
        strcpy(ac->search_dir, ".");
    return 0;
}

/* Opens an added file record's file; 1 when it is a duplicate. */
static int open_input(lh_abicheck *ac, const char *display,
                      const char *open_path, int *fd)
{
    struct abi_file *f = &ac->files[ac->cur_file];
    struct stat st;

    *fd = open(open_path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        abi_error(ac, "%s: cannot open: %s", display, strerror(errno));
        return LH_EIO;
    }
    if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        abi_error(ac, "%s: not a regular file", display);
        return LH_EIO;
    }
    if (already_read(ac, st.st_dev, st.st_ino))
        return 1;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    return 0;
}

/* Reads an opened input file into its record. */
static int read_opened(lh_abicheck *ac, int fd, const char *display,
                       const char *open_path)
{
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    struct stat st;
    int rc;

    if (!elf) {
        abi_error(ac, "%s: cannot read: %s", display, elf_errmsg(-1));
        return fstat(fd, &st) == 0 && st.st_size == 0 ? LH_EBADMAGIC : LH_EIO;
    }
    rc = set_search_dir(ac, open_path);
    if (!rc)
        rc = abi_read_any(ac, elf, fd, ELF_C_READ_MMAP, display, open_path);
    lh_free(ac->search_dir);
    ac->search_dir = NULL;
    elf_end(elf);
    return rc;
}

int abi_read_path(lh_abicheck *ac, const char *display, const char *open_path,
                  lh_abi_origin origin, size_t *at)
{
    int fd = -1, rc;

    *at = ABI_NONE;
    rc = abi_file_add(ac, display, origin, &ac->cur_file);
    if (rc)
        return rc;
    *at = ac->cur_file;
    rc = open_input(ac, display, open_path, &fd);
    if (rc == 1) { /* the same object again: forget the record */
        ac->nfiles--;
        lh_free(ac->files[ac->nfiles].pub.path);
        *at = ABI_NONE;
        rc = 0;
    } else if (rc == 0) {
        rc = read_opened(ac, fd, display, open_path);
    }
    if (fd >= 0)
        close(fd);
    if (*at != ABI_NONE && ac->files[*at].pub.status == LH_ABI_FILE_ERROR &&
        ac->files[*at].fatal)
        ac->fatal++;
    return rc;
}
