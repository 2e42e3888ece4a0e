/* dirb/util.c - fixture: see dira/util.c. */
struct util_state {
    short count;
    short spare;
};

short util_b(struct util_state *s);
short util_b(struct util_state *s)
{
    return s->count;
}
