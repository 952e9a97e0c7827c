/* The JSON reader of json.h: recursive descent over one line, strings decoded in place. */
#include "json.h"

#include <string.h>

struct reader {
    struct json_doc *doc;
    char *at;
};

static struct json *value(struct reader *r, int depth);

static void skip_space(struct reader *r)
{
    while (*r->at == ' ' || *r->at == '\t' || *r->at == '\n' || *r->at == '\r')
        r->at++;
}

static struct json *node(struct reader *r, enum json_type type)
{
    if (r->doc->used == JSON_MAX_NODES) {
        r->doc->error = "too many values";
        return NULL;
    }
    struct json *n = &r->doc->nodes[r->doc->used++];
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

/* Write code point `cp` as UTF-8 at `out`; the bytes written. */
static int put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at r->at (after its opening quote), decoded in place; NULL on a bad escape. */
static char *string(struct reader *r)
{
    char *out = r->at, *start = r->at;
    for (;;) {
        unsigned char c = (unsigned char)*r->at;
        if (c == '"') {
            r->at++;
            *out = '\0';
            return start;
        }
        if (c == '\0' || c < 0x20) {
            r->doc->error = "an unterminated string";
            return NULL;
        }
        if (c != '\\') {
            *out++ = *r->at++;
            continue;
        }
        char e = r->at[1];
        r->at += 2;
        switch (e) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '/': *out++ = '/'; break;
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u': {
            int hi = hex4(r->at);
            if (hi < 0) {
                r->doc->error = "a bad \\u escape";
                return NULL;
            }
            r->at += 4;
            unsigned long cp = (unsigned long)hi;
            if (hi >= 0xD800 && hi <= 0xDBFF && r->at[0] == '\\' && r->at[1] == 'u') {
                int lo = hex4(r->at + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) + ((unsigned long)lo - 0xDC00);
                    r->at += 6;
                }
            }
            /* The decoded form is never longer than the escape it replaces. */
            out += put_utf8(out, cp);
            break;
        }
        default:
            r->doc->error = "a bad escape";
            return NULL;
        }
    }
}

static struct json *number(struct reader *r)
{
    if (*r->at == '-') {
        r->doc->error = "a negative number";
        return NULL;
    }
    if (r->at[0] == '0' && r->at[1] >= '0' && r->at[1] <= '9') {
        r->doc->error = "a number with a leading zero";
        return NULL;
    }
    uint64_t v = 0;
    while (*r->at >= '0' && *r->at <= '9') {
        unsigned digit = (unsigned)(*r->at - '0');
        if (v > (UINT64_MAX - digit) / 10) {
            r->doc->error = "an integer above 2^64-1";
            return NULL;
        }
        v = v * 10 + digit;
        r->at++;
    }
    if (*r->at == '.' || *r->at == 'e' || *r->at == 'E') {
        r->doc->error = "a number that is not an integer";
        return NULL;
    }
    struct json *n = node(r, JSON_INT);
    if (n)
        n->integer = v;
    return n;
}

static bool literal(struct reader *r, const char *word)
{
    size_t len = strlen(word);
    if (strncmp(r->at, word, len) != 0)
        return false;
    r->at += len;
    return true;
}

/* The elements of an array or the members of an object, after its opening bracket. */
static struct json *container(struct reader *r, struct json *parent, char close, int depth)
{
    struct json **tail = &parent->child;
    skip_space(r);
    if (*r->at == close) {
        r->at++;
        return parent;
    }
    for (;;) {
        const char *key = NULL;
        if (close == '}') {
            skip_space(r);
            if (*r->at != '"') {
                r->doc->error = "an object member without a string name";
                return NULL;
            }
            r->at++;
            if (!(key = string(r)))
                return NULL;
            skip_space(r);
            if (*r->at++ != ':') {
                r->doc->error = "a member name without ':'";
                return NULL;
            }
        }
        struct json *item = value(r, depth + 1);
        if (!item)
            return NULL;
        item->key = key;
        *tail = item;
        tail = &item->next;
        skip_space(r);
        if (*r->at == ',') {
            r->at++;
            continue;
        }
        if (*r->at == close) {
            r->at++;
            return parent;
        }
        r->doc->error = close == '}' ? "an object without ',' or '}'" : "an array without ',' or ']'";
        return NULL;
    }
}

static struct json *value(struct reader *r, int depth)
{
    if (depth > 32) {
        r->doc->error = "values nested too deeply";
        return NULL;
    }
    skip_space(r);
    char c = *r->at;
    if (c == '{' || c == '[') {
        r->at++;
        struct json *n = node(r, c == '{' ? JSON_OBJECT : JSON_ARRAY);
        return n ? container(r, n, c == '{' ? '}' : ']', depth) : NULL;
    }
    if (c == '"') {
        r->at++;
        char *s = string(r);
        struct json *n = s ? node(r, JSON_STRING) : NULL;
        if (n)
            n->string = s;
        return n;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return number(r);
    if (literal(r, "true") || literal(r, "false")) {
        struct json *n = node(r, JSON_BOOL);
        if (n)
            n->boolean = c == 't';
        return n;
    }
    if (literal(r, "null"))
        return node(r, JSON_NULL);
    r->doc->error = "not a JSON value";
    return NULL;
}

struct json *json_parse(struct json_doc *doc, char *text)
{
    struct reader r = {doc, text};
    doc->used = 0;
    doc->error = NULL;
    struct json *root = value(&r, 0);
    if (!root)
        return NULL;
    skip_space(&r);
    if (*r.at != '\0') {
        doc->error = "text after the JSON value";
        return NULL;
    }
    return root;
}

struct json *json_get(const struct json *object, const char *key)
{
    if (!object || object->type != JSON_OBJECT)
        return NULL;
    for (struct json *m = object->child; m; m = m->next)
        if (strcmp(m->key, key) == 0)
            return m;
    return NULL;
}
