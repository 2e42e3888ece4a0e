/*
 * fuzz_event.c - libFuzzer target for the untrusted event decoder.
 *
 * Properties checked on every input (a violation aborts, which libFuzzer
 * reports as a finding):
 * - decoding never reads outside the input (ASan) and returns either a
 *   documented error or a size within the input;
 * - a decoded event respects the format's limits and points into the input;
 * - encoding the decoded event reproduces the input's first n bytes exactly
 *   (the format has no slack), and encoding into one byte less is
 *   LH_ETRUNC;
 * - the checksum check runs on any decoded payload.
 */
#include "error.h"
#include "event.h"

#define FUZZ_TARGET "fuzz_event"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lh_event ev;
    memset(&ev, 0xa5, sizeof ev);
    lh_event before = ev;
    int n = lh_event_decode(data, size, &ev);
    if (n < 0) {
        CHECK(n == LH_ETRUNC || n == LH_EBADMAGIC || n == LH_EBADVERSION ||
              n == LH_EPARSE || n == LH_EBADLEN);
        CHECK(memcmp(&ev, &before, sizeof ev) == 0);
        return 0;
    }
    CHECK((size_t)n <= size);
    CHECK((size_t)n == lh_event_encoded_size(&ev));
    CHECK(ev.key_len >= 1 && ev.key_len <= LH_EVENT_MAX_KEY);
    CHECK(ev.payload_len <= LH_EVENT_MAX_PAYLOAD);
    CHECK(ev.key == data + LH_EVENT_HEADER_SIZE);
    CHECK(ev.payload == ev.key + ev.key_len);
    (void)lh_event_checksum_ok(&ev);

    uint8_t *out = malloc((size_t)n);
    CHECK(out != NULL);
    CHECK(lh_event_encode(&ev, out, (size_t)n) == n);
    CHECK(memcmp(out, data, (size_t)n) == 0);
    CHECK(lh_event_encode(&ev, out, (size_t)n - 1) == LH_ETRUNC);
    free(out);
    return 0;
}
