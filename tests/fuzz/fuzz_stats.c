/*
 * fuzz_stats.c - libFuzzer target for lh_stats_parse.
 *
 * Besides memory safety (the input is not NUL-terminated, so any read past
 * len shows under ASan), it checks two properties on every input:
 *   - a refused line leaves the output untouched;
 *   - an accepted line formats without error and parses back to the same
 *     fields (parse . format . parse == parse);
 *   - an accepted stage list is the same set as itself, and as the list
 *     reversed (lh_stats_stages_same).
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
           strcmp(a->role, b->role) == 0 && strcmp(a->stages, b->stages) == 0;
}

/* The items of list in reverse order into out (cap >= strlen + 1). */
static void reverse_list(const char *list, char *out)
{
    size_t len = strlen(list), pos = 0;
    size_t end = len;
    while (end > 0) {
        size_t start = end;
        while (start > 0 && list[start - 1] != ',')
            start--;
        if (pos > 0)
            out[pos++] = ',';
        memcpy(out + pos, list + start, end - start);
        pos += end - start;
        end = start > 0 ? start - 1 : 0;
    }
    out[pos] = '\0';
}

/* The set properties of an accepted stage list. */
static void check_stages(const lh_stats_line *line)
{
    char rev[LH_STATS_LINE_MAX];
    if (!(line->has & LH_STATS_HAS_STAGES))
        return;
    reverse_list(line->stages, rev);
    if (!lh_stats_stages_valid(rev, strlen(rev)) ||
        !lh_stats_stages_same(line->stages, line->stages) ||
        !lh_stats_stages_same(line->stages, rev) ||
        !lh_stats_stages_same(rev, line->stages))
        abort();
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
    char buf[LH_STATS_LINE_MAX + 1];
    int n = lh_stats_format(&line, buf, sizeof buf);
    if (n <= 0 || n > LH_STATS_LINE_MAX)
        abort();
    check_stages(&line);
    lh_stats_line again;
    memset(&again, 0, sizeof again);
    if (lh_stats_parse(buf, (size_t)n, &again) != 0 || !same(&line, &again))
        abort();
    return 0;
}
