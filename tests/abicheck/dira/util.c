/* dira/util.c - fixture: same base name as dirb/util.c, different local
 * struct of the same name.  Not a conflict. */
struct util_state {
    long count;
};

long util_a(struct util_state *s);
long util_a(struct util_state *s)
{
    return s->count;
}
