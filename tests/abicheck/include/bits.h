/* bits.h - fixture: a bit-field widens under -DBITS_V2; the struct keeps
 * its size and every byte offset, only bit positions move. */
#ifndef BITS_H
#define BITS_H

#ifdef BITS_V2
#define BITS_MODE_WIDTH 5
#else
#define BITS_MODE_WIDTH 4
#endif

struct bits {
    unsigned ready : 1;
    unsigned mode : BITS_MODE_WIDTH;
    unsigned level : 3;
    signed delta : 6;
    int tail;
};

#endif
