/* cfg_main.c - fixture: a program linking cfg_a and cfg_b, which each keep
 * a struct config of their own (never exchanged, not a conflict). */
int cfg_a_level(void);
int cfg_b_level(void);

int main(void)
{
    return cfg_a_level() + cfg_b_level() > 0 ? 0 : 1;
}
