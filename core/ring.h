/*
 * ring.h - a consistent-hash ring with virtual nodes.
 *
 * Each node (a 32-bit id chosen by the caller, e.g. a B node's index) is
 * placed at `vnodes` points on a 64-bit ring; a key belongs to the first
 * point at or after the key's hash, wrapping around.  Adding a node moves
 * only the keys its new points take (about 1/(n+1) of them), removing a node
 * moves only that node's keys.  Lookups are a binary search: O(log(n*v)).
 *
 * The ring owns its memory.  It is not thread-safe: callers serialise.
 */
#ifndef LH_RING_H
#define LH_RING_H

#include <stddef.h>
#include <stdint.h>

#define LH_RING_DEFAULT_VNODES 1024u

typedef struct lh_ring lh_ring;

/* Creates an empty ring; vnodes 0 means LH_RING_DEFAULT_VNODES.  0 and *out
 * set, or LH_ENOMEM / LH_EINVAL (vnodes over 65536). */
int lh_ring_new(unsigned vnodes, lh_ring **out);

/* Frees the ring.  Accepts NULL. */
void lh_ring_free(lh_ring *ring);

/* Adds a node.  0, LH_EEXIST (already there), or LH_ENOMEM (ring unchanged). */
int lh_ring_add(lh_ring *ring, uint32_t node);

/* Removes a node.  0 or LH_ENOTFOUND. */
int lh_ring_remove(lh_ring *ring, uint32_t node);

/* Finds the node owning the key.  0 and *node set, or LH_EEMPTY. */
int lh_ring_lookup(const lh_ring *ring, const void *key, size_t len,
                   uint32_t *node);

/* Number of nodes on the ring. */
size_t lh_ring_size(const lh_ring *ring);

/* The 64-bit hash the ring uses for keys, well mixed in every bit: for
 * any table keyed by bytes (the store's index uses it too). */
uint64_t lh_ring_hash(const void *key, size_t len);

#endif
