/*
 * json.h - a small streaming JSON writer (writing JSON by hand is fine;
 * reading it is not, and leak-hunt reads no JSON).
 *
 * Commas and nesting are tracked for the caller; strings are escaped
 * (control characters, quotes, backslashes; bytes >= 0x80 pass through, so
 * UTF-8 input stays UTF-8).  Non-finite numbers are written as null.
 */
#ifndef LH_JSON_H
#define LH_JSON_H

#include <stdio.h>

#define LH_JSON_MAX_DEPTH 32

typedef struct lh_json {
    FILE *f;
    int depth;
    int first[LH_JSON_MAX_DEPTH]; /* no element written yet at this level */
    int after_key;
    int pretty;
} lh_json;

void lh_json_init(lh_json *j, FILE *f, int pretty);
void lh_json_begin_object(lh_json *j);
void lh_json_end_object(lh_json *j);
void lh_json_begin_array(lh_json *j);
void lh_json_end_array(lh_json *j);
void lh_json_key(lh_json *j, const char *key);
void lh_json_string(lh_json *j, const char *s);
void lh_json_number(lh_json *j, double v);
void lh_json_int(lh_json *j, long long v);
void lh_json_bool(lh_json *j, int v);
void lh_json_null(lh_json *j);

/* key + value shorthands */
void lh_json_kv_string(lh_json *j, const char *key, const char *s);
void lh_json_kv_number(lh_json *j, const char *key, double v);
void lh_json_kv_int(lh_json *j, const char *key, long long v);

#endif
