/* anon_a.c - fixture: anonymous structs and unions (variables, members,
 * nested); anon_b.c has others, laid out differently.  Anonymous types
 * have no name to meet by: never a conflict. */
struct holder_a {
    union {
        int i;
        float f;
    } u;
    struct {
        char tag;
    } s;
};

static struct {
    int a;
    int b;
} anon_var_a;

int anon_a(struct holder_a *h);
int anon_a(struct holder_a *h)
{
    return h->u.i + h->s.tag + anon_var_a.a + anon_var_a.b;
}
