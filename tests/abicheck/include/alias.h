/* alias.h - fixture: under -DALIAS_V2 a member is spelled through another
 * typedef of the same type.  The layout does not change: not a conflict. */
#ifndef ALIAS_H
#define ALIAS_H

typedef unsigned long alias_len_t;
typedef unsigned long alias_other_len_t;

struct span {
#ifdef ALIAS_V2
    alias_other_len_t len;
#else
    alias_len_t len;
#endif
    char *ptr;
};

#endif
