#include "json.h"

#include <math.h>

void lh_json_init(lh_json *j, FILE *f, int pretty)
{
    j->f = f;
    j->depth = 0;
    j->first[0] = 1;
    j->after_key = 0;
    j->pretty = pretty;
}

static void indent(lh_json *j)
{
    if (!j->pretty)
        return;
    fputc('\n', j->f);
    for (int i = 0; i < j->depth; i++)
        fputs("  ", j->f);
}

/* Called before every value or key. */
static void sep(lh_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = 0;
    if (j->depth > 0)
        indent(j);
}

static void open_(lh_json *j, char c)
{
    sep(j);
    fputc(c, j->f);
    if (j->depth < LH_JSON_MAX_DEPTH - 1)
        j->depth++;
    j->first[j->depth] = 1;
}

static void close_(lh_json *j, char c)
{
    int empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty)
        indent(j);
    fputc(c, j->f);
    if (j->depth == 0 && j->pretty)
        fputc('\n', j->f);
}

void lh_json_begin_object(lh_json *j)
{
    open_(j, '{');
}

void lh_json_end_object(lh_json *j)
{
    close_(j, '}');
}

void lh_json_begin_array(lh_json *j)
{
    open_(j, '[');
}

void lh_json_end_array(lh_json *j)
{
    close_(j, ']');
}

static void write_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void lh_json_key(lh_json *j, const char *key)
{
    sep(j);
    write_string(j->f, key);
    fputs(j->pretty ? ": " : ":", j->f);
    j->after_key = 1;
}

void lh_json_string(lh_json *j, const char *s)
{
    sep(j);
    write_string(j->f, s);
}

void lh_json_number(lh_json *j, double v)
{
    sep(j);
    if (!isfinite(v))
        fputs("null", j->f);
    else if (v == (double)(long long)v && fabs(v) < 1e15)
        fprintf(j->f, "%lld", (long long)v);
    else
        fprintf(j->f, "%.6g", v);
}

void lh_json_int(lh_json *j, long long v)
{
    sep(j);
    fprintf(j->f, "%lld", v);
}

void lh_json_bool(lh_json *j, int v)
{
    sep(j);
    fputs(v ? "true" : "false", j->f);
}

void lh_json_null(lh_json *j)
{
    sep(j);
    fputs("null", j->f);
}

void lh_json_kv_string(lh_json *j, const char *key, const char *s)
{
    lh_json_key(j, key);
    lh_json_string(j, s);
}

void lh_json_kv_number(lh_json *j, const char *key, double v)
{
    lh_json_key(j, key);
    lh_json_number(j, v);
}

void lh_json_kv_int(lh_json *j, const char *key, long long v)
{
    lh_json_key(j, key);
    lh_json_int(j, v);
}
