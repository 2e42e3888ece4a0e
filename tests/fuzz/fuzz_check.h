/*
 * fuzz_check.h - what the libFuzzer targets of core and the RPC framework
 * share: the entry point's prototype and CHECK, which aborts (libFuzzer
 * reports that as a finding) naming the target, the condition and the
 * line.  Define FUZZ_TARGET ("fuzz_event") before including it.
 */
#ifndef LH_FUZZ_CHECK_H
#define LH_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "%s: check failed: %s (line %d)\n", FUZZ_TARGET,  \
                    #cond, __LINE__);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

#endif
