/* anon_b.c - fixture: see anon_a.c. */
struct holder_b {
    union {
        double d;
        char c[16];
    } u;
    struct {
        long tag;
        long more;
    } s;
};

static struct {
    double a;
} anon_var_b;

int anon_b(struct holder_b *h);
int anon_b(struct holder_b *h)
{
    return (int)h->u.d + (int)h->s.tag + (int)anon_var_b.a;
}
