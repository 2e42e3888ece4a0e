/*
 * fuzz_frame.c - libFuzzer target for the frame reader (and writer).
 *
 * Input: byte 0 picks the reader's maximum payload (0: the default, else
 * 16 * byte so that LH_ETOOBIG is reachable), byte 1 bounds the chunk
 * sizes the rest is fed in (chunk lengths come from a small generator
 * seeded by byte 1), and the rest is the stream.
 *
 * The reader's output for the chunked feed is compared with a one-shot
 * reference parse of the whole stream written here: same frames in the
 * same order, the same error (or none), and the frames re-queued through
 * lh_frame_writer reproduce the stream's bytes up to that point.  Feeding
 * after an error must return the same sticky error.
 */
#include "byteorder.h"
#include "error.h"
#include "frame.h"

#define FUZZ_TARGET "fuzz_frame"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reference: walks stream[0..len) frame by frame.  Returns the number of
 * whole frames before the first bad header or the incomplete tail; *err is
 * the error for that bad header or 0; *used is the bytes they occupy. */
static size_t reference(const uint8_t *s, size_t len, uint32_t max, int *err,
                        size_t *used)
{
    size_t off = 0, frames = 0;
    *err = 0;
    while (len - off >= LH_FRAME_HEADER_SIZE) {
        const uint8_t *h = s + off;
        uint32_t plen = lh_get_le32(h + 4);
        if (h[0] != 0x48 || h[1] != 0x4c) {
            *err = LH_EBADMAGIC;
            break;
        }
        if (h[2] != LH_FRAME_VERSION) {
            *err = LH_EBADVERSION;
            break;
        }
        if (plen > max) {
            *err = LH_ETOOBIG;
            break;
        }
        if (len - off - LH_FRAME_HEADER_SIZE < plen)
            break;
        off += LH_FRAME_HEADER_SIZE + plen;
        frames++;
    }
    *used = off;
    return frames;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t max = data[0] ? 16u * data[0] : LH_FRAME_DEFAULT_MAX;
    uint32_t rng = 0x9e3779b9u ^ data[1];
    size_t chunk_max = (size_t)data[1] + 1;
    const uint8_t *s = data + 2;
    size_t len = size - 2;

    int ref_err;
    size_t ref_used;
    size_t ref_frames = reference(s, len, max, &ref_err, &ref_used);

    lh_frame_reader r;
    lh_frame_reader_init(&r, data[0] ? max : 0);
    CHECK(r.max_payload == max);
    lh_frame_writer w;
    lh_frame_writer_init(&w);

    size_t fed = 0, frames = 0;
    int err = 0;
    while (fed < len && err == 0) {
        rng = rng * 1103515245u + 12345u;
        size_t chunk = 1 + (rng >> 8) % chunk_max;
        if (chunk > len - fed)
            chunk = len - fed;
        int rc = lh_frame_reader_feed(&r, s + fed, chunk);
        CHECK(rc == 0);
        fed += chunk;
        for (;;) {
            uint8_t type;
            const uint8_t *p;
            uint32_t plen;
            rc = lh_frame_reader_next(&r, &type, &p, &plen);
            if (rc == 0)
                break;
            if (rc < 0) {
                err = rc;
                break;
            }
            CHECK(rc == 1);
            CHECK(plen <= max);
            CHECK(lh_frame_writer_put(&w, type, p, plen) == 0);
            frames++;
        }
    }

    CHECK(frames == ref_frames);
    CHECK(err == ref_err);
    CHECK(lh_frame_writer_pending(&w) == ref_used);
    CHECK(ref_used == 0 || memcmp(lh_buf_peek(&w.out), s, ref_used) == 0);
    if (err != 0) {
        CHECK(lh_frame_reader_feed(&r, s, len) == err);
        CHECK(r.error == err);
    } else {
        /* Whatever is left is an incomplete frame, still buffered. */
        CHECK(lh_buf_len(&r.in) == len - ref_used);
    }
    lh_frame_writer_free(&w);
    lh_frame_reader_free(&r);
    return 0;
}
