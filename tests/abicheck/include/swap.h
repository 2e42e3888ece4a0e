/* swap.h - fixture: two members swap places under -DSWAP_V2; the size
 * stays the same, only the offsets tell. */
#ifndef SWAP_H
#define SWAP_H

struct obj {
#ifdef SWAP_V2
    unsigned flags;
    int refcount;
#else
    int refcount;
    unsigned flags;
#endif
    void *data;
};

#endif
