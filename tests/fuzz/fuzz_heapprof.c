/*
 * fuzz_heapprof.c - libFuzzer target for the gperftools heap-profile parser
 * and the diff (harness/tools/heapprof.c).  Symbolisation is left out: it opens
 * the files a profile names, which a fuzzer should not steer.
 *
 * Besides memory safety (the input is not NUL-terminated), it checks:
 *   - a refusal is one of the documented codes and leaves *out NULL;
 *   - an accepted profile's records add up to its header;
 *   - a profile diffed against itself has no growth, and against nothing
 *     its growth adds up to the header.
 */
#include "error.h"
#include "heapprof.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lh_heapprof *p = NULL;
    lh_heapprof_delta *d = NULL;
    size_t nd = 0;
    int64_t objs = 0, bytes = 0;
    char why[160] = "";
    int rc = lh_heapprof_parse((const char *)data, size, &p, why, sizeof why);

    if (rc != 0) {
        if ((rc != LH_EPARSE && rc != LH_ETRUNC && rc != LH_EBADMAGIC &&
             rc != LH_EUNSUPPORTED) ||
            p != NULL || why[0] == '\0')
            abort();
        return 0;
    }
    for (size_t i = 0; i < p->nrecords; i++) {
        const lh_heapprof_record *r = &p->records[i];
        if (r->naddrs > LH_HEAPPROF_MAX_DEPTH ||
            r->inuse_bytes > r->alloc_bytes || r->inuse_objs > r->alloc_objs)
            abort();
        objs += r->inuse_objs;
        bytes += r->inuse_bytes;
    }
    if (objs != p->total.inuse_objs || bytes != p->total.inuse_bytes)
        abort();
    if (lh_heapprof_diff(p, p, &d, &nd) != 0 || nd != 0)
        abort();
    lh_free(d);
    if (lh_heapprof_diff(NULL, p, &d, &nd) != 0)
        abort();
    bytes = 0;
    for (size_t i = 0; i < nd; i++) {
        bytes += d[i].inuse_bytes;
        if (i > 0 && d[i].inuse_bytes > d[i - 1].inuse_bytes)
            abort();
    }
    if (bytes != p->total.inuse_bytes)
        abort();
    lh_free(d);
    lh_heapprof_free(p);
    return 0;
}
