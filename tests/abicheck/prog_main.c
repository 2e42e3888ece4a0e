/* prog_main.c - fixture: the main of the linked fixture programs. */
int main(void)
{
    return 0;
}
