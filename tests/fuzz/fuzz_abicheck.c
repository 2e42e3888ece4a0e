/*
 * fuzz_abicheck.c - libFuzzer target: arbitrary bytes as abi-check inputs.
 *
 * The bytes go through lh_abicheck_add_memory, the same path as a file
 * (ELF or ar archive check, libdwfl, the DIE walk, the dynamic symbols and
 * the types their declarations mention, the cross-object verdicts), then
 * every writer and the marking by source file, so a corrupt header,
 * section table, symbol table, DWARF unit, type cycle or string reaches
 * every part of the module.  The same bytes are also read as a loader
 * cache (ldcache.h) and as /proc/PID/maps lines.  It must never crash,
 * hang or leak; any outcome (types, errors, warnings) is acceptable.
 */
#include "abicheck.h"
#include "json.h"
#include "ldcache.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void as_checker_input(FILE *sink, const uint8_t *data, size_t size)
{
    static const char *const files[] = {"a.c", "/x/b.c", "../c/d.c"};
    lh_abicheck *ac = NULL;
    lh_json j;

    if (lh_abicheck_new(&ac) != 0)
        return;
    lh_abicheck_add_memory(ac, "fuzz-input", data, size);
    lh_abicheck_mark_files(ac, files, 3);
    if (sink) {
        lh_abicheck_write_text(ac, sink);
        lh_abicheck_write_json(ac, sink);
        lh_abicheck_write_messages(ac, sink, "fuzz: ");
        lh_json_init(&j, sink, 1);
        lh_abicheck_json_conflicts(ac, &j);
    }
    (void)lh_abicheck_status(ac);
    lh_abicheck_free(ac);
}

static void as_loader_cache(const uint8_t *data, size_t size)
{
    lh_ldcache *c = NULL;
    char why[128];
    size_t i;

    if (lh_ldcache_parse(&c, data, size, why, sizeof why) != 0)
        return;
    for (i = 0; i < 4; i++)
        (void)lh_ldcache_find(c, "libc.so.6", i);
    lh_ldcache_free(c);
}

static void as_maps_lines(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *line, *next;
    lh_abi_mapping m;

    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    for (line = text; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        (void)lh_abicheck_maps_line(line, &m);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;

    if (!sink)
        sink = fopen("/dev/null", "w");
    as_checker_input(sink, data, size);
    as_loader_cache(data, size);
    as_maps_lines(data, size);
    return 0;
}
