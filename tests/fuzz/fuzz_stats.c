/*
 * fuzz_stats.c - libFuzzer target for lh_stats_parse.
 *
 * Besides memory safety (the input is not NUL-terminated, so any read past
 * len shows under ASan), it checks two properties on every input:
 *   - a refused line leaves the output untouched;
 *   - an accepted line formats without error and parses back to the same
 *     fields (parse . format . parse == parse).
 */
#include "error.h"
#include "stats.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const lh_stats_line *a, const lh_stats_line *b)
{
    return a->has == b->has && a->work == b->work && a->queue == b->queue &&
           a->heap == b->heap && a->pid == b->pid &&
           strcmp(a->role, b->role) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lh_stats_line line, copy;
    memset(&line, 0x3c, sizeof line);
    memcpy(&copy, &line, sizeof line);
    int err = lh_stats_parse((const char *)data, size, &line);
    if (err != 0) {
        if (err != LH_EPARSE || memcmp(&line, &copy, sizeof line) != 0)
            abort();
        return 0;
    }
    char buf[LH_STATS_LINE_MAX];
    int n = lh_stats_format(&line, buf, sizeof buf);
    if (n <= 0)
        abort();
    lh_stats_line again;
    memset(&again, 0, sizeof again);
    if (lh_stats_parse(buf, (size_t)n, &again) != 0 || !same(&line, &again))
        abort();
    return 0;
}
