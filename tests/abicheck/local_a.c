/* local_a.c - fixture: a struct local to this file, named like the one in
 * local_b.c but laid out differently.  Not a conflict: they never meet. */
struct state {
    int a;
};

int local_a(struct state *s);
int local_a(struct state *s)
{
    return s->a;
}
