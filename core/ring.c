/*
 * Design: the ring is one array of points (hash, node) kept sorted by hash,
 * plus a small sorted array of the node ids present.  A node owns `vnodes`
 * points, the hashes of (node id, replica index) encoded as 8 little-endian
 * bytes, so a node's points depend only on its id: the ring a set of nodes
 * builds is the same whatever order they were added in, which is what makes
 * movement minimal (adding a node only inserts its points; removing one only
 * deletes them).  Points that collide on the hash are ordered by node id for
 * the same reason.
 *
 * A lookup is a binary search for the first point at or after the key's
 * hash, wrapping to the first point.  lh_ring_add grows both arrays before
 * it changes anything, so a failed add leaves the ring as it was; it then
 * appends the new points and re-sorts (adds are rare; lookups are hot).
 *
 * The hash is FNV-1a 64 over the bytes followed by a 64-bit finaliser
 * (xor-shift-multiply rounds).  FNV-1a alone mixes short keys poorly into
 * the high bits, which are the bits that decide a point's place on the
 * ring; the finaliser spreads every input bit over the whole word.
 */
#include "ring.h"

#include "alloc.h"
#include "error.h"

#include <stdlib.h>

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull
#define MAX_VNODES 65536u

struct point {
    uint64_t hash;
    uint32_t node;
};

struct lh_ring {
    unsigned vnodes;
    struct point *points; /* sorted by (hash, node) */
    size_t npoints;
    size_t points_cap;
    uint32_t *nodes; /* sorted node ids */
    size_t nnodes;
    size_t nodes_cap;
};

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t lh_ring_hash(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = FNV64_OFFSET;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV64_PRIME;
    }
    return mix64(h ^ (uint64_t)len);
}

static uint64_t point_hash(uint32_t node, uint32_t replica)
{
    unsigned char b[8];
    for (int i = 0; i < 4; i++) {
        b[i] = (unsigned char)(node >> (8 * i));
        b[4 + i] = (unsigned char)(replica >> (8 * i));
    }
    return lh_ring_hash(b, sizeof b);
}

static int point_cmp(const void *a, const void *b)
{
    const struct point *x = a;
    const struct point *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return 0;
}

/* Index of the first node id >= node in ring->nodes. */
static size_t node_slot(const lh_ring *ring, uint32_t node)
{
    size_t lo = 0;
    size_t hi = ring->nnodes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring->nodes[mid] < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int lh_ring_new(unsigned vnodes, lh_ring **out)
{
    if (vnodes == 0)
        vnodes = LH_RING_DEFAULT_VNODES;
    if (vnodes > MAX_VNODES)
        return LH_EINVAL;
    lh_ring *ring = lh_calloc(1, sizeof *ring);
    if (ring == NULL)
        return LH_ENOMEM;
    ring->vnodes = vnodes;
    *out = ring;
    return 0;
}

void lh_ring_free(lh_ring *ring)
{
    if (ring == NULL)
        return;
    lh_free(ring->points);
    lh_free(ring->nodes);
    lh_free(ring);
}

/* Makes room for one more node and its points; nothing else changes. */
static int reserve(lh_ring *ring)
{
    void *nodes = ring->nodes, *points = ring->points;
    int rc = lh_grow(&nodes, &ring->nodes_cap, ring->nnodes + 1,
                     sizeof *ring->nodes, 4);
    ring->nodes = nodes;
    if (rc == 0)
        rc = lh_grow(&points, &ring->points_cap,
                     ring->npoints + ring->vnodes, sizeof *ring->points,
                     ring->vnodes);
    ring->points = points;
    return rc;
}

int lh_ring_add(lh_ring *ring, uint32_t node)
{
    size_t slot = node_slot(ring, node);
    if (slot < ring->nnodes && ring->nodes[slot] == node)
        return LH_EEXIST;
    int err = reserve(ring);
    if (err)
        return err;
    for (size_t i = ring->nnodes; i > slot; i--)
        ring->nodes[i] = ring->nodes[i - 1];
    ring->nodes[slot] = node;
    ring->nnodes++;
    for (uint32_t r = 0; r < ring->vnodes; r++) {
        struct point *p = &ring->points[ring->npoints++];
        p->hash = point_hash(node, r);
        p->node = node;
    }
    qsort(ring->points, ring->npoints, sizeof *ring->points, point_cmp);
    return 0;
}

int lh_ring_remove(lh_ring *ring, uint32_t node)
{
    size_t slot = node_slot(ring, node);
    if (slot == ring->nnodes || ring->nodes[slot] != node)
        return LH_ENOTFOUND;
    for (size_t i = slot + 1; i < ring->nnodes; i++)
        ring->nodes[i - 1] = ring->nodes[i];
    ring->nnodes--;
    /* Filtering in place keeps the order, so no re-sort is needed. */
    size_t kept = 0;
    for (size_t i = 0; i < ring->npoints; i++) {
        if (ring->points[i].node != node)
            ring->points[kept++] = ring->points[i];
    }
    ring->npoints = kept;
    return 0;
}

int lh_ring_lookup(const lh_ring *ring, const void *key, size_t len,
                   uint32_t *node)
{
    if (ring->npoints == 0)
        return LH_EEMPTY;
    uint64_t h = lh_ring_hash(key, len);
    size_t lo = 0;
    size_t hi = ring->npoints;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring->points[mid].hash < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == ring->npoints)
        lo = 0;
    *node = ring->points[lo].node;
    return 0;
}

size_t lh_ring_size(const lh_ring *ring)
{
    return ring->nnodes;
}
