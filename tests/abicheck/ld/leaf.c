/* leaf.c - fixture: libleaf.so.1, built into several directories so the
 * loader-search tests can tell which copy the search chose. */
int leaf_value(void);
int leaf_value(void)
{
    return 1;
}
