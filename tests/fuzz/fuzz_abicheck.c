/*
 * fuzz_abicheck.c - libFuzzer target: arbitrary bytes as an abi-check input.
 *
 * The bytes go through lh_abicheck_add_memory, the same path as a file
 * (ELF or ar archive check, libdwfl, the DIE walk), and both reports are
 * written, so a corrupt header, section table, DWARF unit, type cycle or
 * string reaches every part of the module.  It must never crash, hang or
 * leak; any outcome (types, errors, warnings) is acceptable.
 */
#include "abicheck.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    lh_abicheck *ac = NULL;

    if (!sink)
        sink = fopen("/dev/null", "w");
    if (lh_abicheck_new(&ac) != 0)
        return 0;
    lh_abicheck_add_memory(ac, "fuzz-input", data, size);
    if (sink) {
        lh_abicheck_write_text(ac, sink);
        lh_abicheck_write_json(ac, sink);
    }
    (void)lh_abicheck_status(ac);
    lh_abicheck_free(ac);
    return 0;
}
