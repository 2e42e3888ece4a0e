/* main.c - fixture: the programs of the loader-search tests; what they
 * need and where they look is set at link time (tests/abicheck). */
int main(void)
{
    return 0;
}
