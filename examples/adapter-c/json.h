/* A small JSON reader for one protocol line: objects, arrays, strings, unsigned integers
 * (read exactly into uint64_t, never through a double), true, false and null.
 *
 * The whole line is parsed into a fixed pool of nodes; a value that is not JSON, or that this
 * reader does not take (a negative number, a fraction, an exponent, an integer above
 * 2^64-1, more than JSON_MAX_NODES values), makes json_parse return NULL with a reason.
 */
#ifndef ADAPTER_JSON_H
#define ADAPTER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_NODES 256

enum json_type { JSON_NULL, JSON_BOOL, JSON_INT, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    enum json_type type;
    bool boolean;
    uint64_t integer;
    char *string;         /* JSON_STRING: decoded UTF-8, NUL-terminated (in the line's buffer) */
    const char *key;      /* the member name, when this value is an object member */
    struct json *child;   /* JSON_ARRAY / JSON_OBJECT: the first element or member */
    struct json *next;    /* the next element or member of the parent */
};

struct json_doc {
    struct json nodes[JSON_MAX_NODES];
    size_t used;
    const char *error; /* why json_parse failed */
};

/* Parse `text` (NUL-terminated; decoded strings are written over it). */
struct json *json_parse(struct json_doc *doc, char *text);

/* The member `key` of an object, or NULL. */
struct json *json_get(const struct json *object, const char *key);

#endif
