/*
 * abicheck_debug.c - where separate debug files are looked for.
 *
 * libdwfl already implements the distributions' conventions
 * (dwfl_standard_find_debuginfo): the build ID under every absolute root
 * (ROOT/.build-id/xx/rest.debug), then the .gnu_debuglink name beside the
 * file, in its .debug/ subdirectory and under every root plus the file's
 * directory, with the debuglink's CRC checked when the file has no build
 * ID.  We only extend its search string: "+:.debug:DIR...:/usr/lib/debug",
 * where each --debug-dir DIR is a root ("+" keeps the CRC check on).
 *
 * When the standard search finds nothing for a file with a debuglink, it
 * runs once more with the CRC check off ("-" instead of "+"): a file found
 * then is one whose CRC does not match.  It is not used, and a warning
 * says so - the same search, asked twice, instead of a second search.
 */
#include "abicheck_int.h"

#include "alloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_ROOT "/usr/lib/debug"

/* The callback libdwfl calls for a module without DWARF of its own. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata,
                          const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    lh_abicheck *ac = *userdata;
    char *checked, *name = NULL;
    int fd;

    fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
                                      debuglink_file, debuglink_crc,
                                      debuginfo_file_name);
    if (fd >= 0 || !debuglink_file || !ac || !ac->debuginfo_path)
        return fd;
    checked = ac->debuginfo_path;
    checked[0] = '-';
    fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
                                      debuglink_file, debuglink_crc, &name);
    checked[0] = '+';
    if (fd < 0)
        return -1;
    close(fd);
    ac->files[ac->cur_file].debug_mismatch = 1;
    abi_warning(ac,
                "%s: its separate debug file %s (.gnu_debuglink) does not "
                "match it (CRC differs: another build's?); ignored",
                ac->files[ac->cur_file].pub.path, name ? name : debuglink_file);
    free(name); /* allocated by libdwfl */
    return -1;
}

/* The search string with no root added: "+:.debug:/usr/lib/debug". */
int abi_debug_init(lh_abicheck *ac)
{
    ac->callbacks.find_debuginfo = find_debuginfo;
    ac->callbacks.section_address = dwfl_offline_section_address;
    ac->callbacks.debuginfo_path = &ac->debuginfo_path;
    ac->debuginfo_path = lh_strdup("+:.debug:" DEFAULT_ROOT);
    return ac->debuginfo_path ? 0 : LH_ENOMEM;
}

/* Inserts a root before DEFAULT_ROOT, after the roots added before. */
static int insert_root(lh_abicheck *ac, const char *root)
{
    const char *old = ac->debuginfo_path;
    size_t keep = strlen(old) - strlen(":" DEFAULT_ROOT);
    lh_buf b = LH_BUF_INIT;
    char *s = NULL;
    int rc;

    rc = lh_buf_append(&b, old, keep);
    if (!rc)
        rc = abi_buf_puts(&b, ":");
    if (!rc)
        rc = abi_buf_puts(&b, root);
    if (!rc)
        rc = abi_buf_puts(&b, ":" DEFAULT_ROOT);
    if (!rc)
        s = abi_buf_strdup(&b);
    lh_buf_free(&b);
    if (!s)
        return LH_ENOMEM;
    lh_free(ac->debuginfo_path);
    ac->debuginfo_path = s;
    return 0;
}

int lh_abicheck_add_debug_dir(lh_abicheck *ac, const char *dir)
{
    char cwd[4096];
    char *abs;
    int rc;

    if (strchr(dir, ':'))
        return LH_EINVAL; /* the separator of libdwfl's search string */
    if (dir[0] == '/') {
        abs = abi_path_norm(NULL, dir);
    } else {
        if (!getcwd(cwd, sizeof cwd))
            return LH_EIO;
        abs = abi_path_norm(cwd, dir);
    }
    if (!abs)
        return LH_ENOMEM;
    rc = insert_root(ac, abs);
    lh_free(abs);
    return rc;
}
