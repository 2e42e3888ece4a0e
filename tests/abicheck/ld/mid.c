/* mid.c - fixture: libmid.so.1 / libmid2.so.1, which need libleaf.so.1
 * and carry no search path of their own (DT_RPATH is inherited from the
 * program, DT_RUNPATH is not). */
int leaf_value(void);

#ifndef MID_FN
#define MID_FN mid_value
#endif

int MID_FN(void);
int MID_FN(void)
{
    return leaf_value() + 1;
}
