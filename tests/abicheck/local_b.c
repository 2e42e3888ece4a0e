/* local_b.c - fixture: see local_a.c. */
struct state {
    double b;
    char name[8];
};

double local_b(struct state *s);
double local_b(struct state *s)
{
    return s->b;
}
