/* A minimal vfio-harness/1 adapter in C: type1 DMA containers (map, unmap, queries).
 *
 * It reads one JSON-RPC request per line on stdin and writes one response per line on stdout.
 * It implements the DMA methods only and says so in its `initialize` answer, so the harness
 * skips every scenario that declares a device ("does not implement device"). The DMA rules are
 * the kernel's (drivers/vfio/vfio_iommu_type1.c): the checks of VFIO_IOMMU_MAP_DMA and
 * VFIO_IOMMU_UNMAP_DMA in the kernel's order, each failure a catalog id with the errno the
 * kernel returns. A real adapter would make the same calls on its VMM instead of on the small
 * table below; everything about the protocol would stay as it is.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_CONTAINERS 64
#define NAME_MAX_LEN 128

struct mapping {
    uint64_t iova, last, vaddr; /* last: the IOVA of the last byte (iova + size - 1) */
};

struct container {
    char name[NAME_MAX_LEN];
    uint64_t pgsize, limit, mapped;
    bool v2, x86_reserved;
    struct mapping *maps; /* sorted by iova, never overlapping */
    size_t count, capacity;
};

struct defaults {
    uint64_t pgsize, limit;
    bool v2, x86_reserved;
};

/* x86 interrupt remapping reserves the MSI window on every group (IOMMU_RESV_MSI). */
static const uint64_t MSI_FIRST = 0xFEE00000, MSI_LAST = 0xFEEFFFFF;

static struct container containers[MAX_CONTAINERS];
static size_t ncontainers;
static struct defaults run_defaults = {4096, 65535, true, true};

/* -- output --------------------------------------------------------------------------------- */

static void put_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void put_id(const struct json *id)
{
    if (id && id->type == JSON_INT)
        printf("%" PRIu64, id->integer);
    else
        fputs("null", stdout);
}

static void answer_null(const struct json *id)
{
    fputs("{\"jsonrpc\":\"2.0\",\"id\":", stdout);
    put_id(id);
    fputs(",\"result\":null}\n", stdout);
}

static void answer_int(const struct json *id, uint64_t value)
{
    fputs("{\"jsonrpc\":\"2.0\",\"id\":", stdout);
    put_id(id);
    printf(",\"result\":%" PRIu64 "}\n", value);
}

static void answer_bool(const struct json *id, bool value)
{
    fputs("{\"jsonrpc\":\"2.0\",\"id\":", stdout);
    put_id(id);
    printf(",\"result\":%s}\n", value ? "true" : "false");
}

/* An error answer; `error_id` (and `errno_value`, when not 0) go in `data` for code 1. */
static void answer_error(const struct json *id, int code, const char *message,
                         const char *error_id, int errno_value)
{
    fputs("{\"jsonrpc\":\"2.0\",\"id\":", stdout);
    put_id(id);
    printf(",\"error\":{\"code\":%d,\"message\":", code);
    put_string(message);
    if (error_id) {
        fputs(",\"data\":{\"id\":", stdout);
        put_string(error_id);
        if (errno_value)
            printf(",\"errno\":%d", errno_value);
        putchar('}');
    }
    fputs("}}\n", stdout);
}

/* -- parameters ----------------------------------------------------------------------------- */

struct call {
    const struct json *id, *params;
    const char *bad; /* the first parameter that is missing or of the wrong type */
};

static uint64_t get_int(struct call *c, const char *key)
{
    struct json *v = json_get(c->params, key);
    if (!v || v->type != JSON_INT) {
        if (!c->bad)
            c->bad = key;
        return 0;
    }
    return v->integer;
}

/* An optional integer: *present says whether it was sent. */
static uint64_t get_opt_int(struct call *c, const char *key, bool *present)
{
    struct json *v = json_get(c->params, key);
    *present = v != NULL;
    return v ? get_int(c, key) : 0;
}

static const char *get_str(struct call *c, const char *key, const char *fallback)
{
    struct json *v = json_get(c->params, key);
    if (!v && fallback)
        return fallback;
    if (!v || v->type != JSON_STRING) {
        if (!c->bad)
            c->bad = key;
        return "";
    }
    return v->string;
}

static bool bad_params(struct call *c)
{
    if (!c->bad)
        return false;
    char message[160];
    snprintf(message, sizeof message, "missing or malformed parameter '%s'", c->bad);
    answer_error(c->id, -32602, message, NULL, 0);
    return true;
}

static void read_defaults(const struct json *params)
{
    const struct json *d = json_get(params, "defaults");
    const struct json *v;
    if ((v = json_get(d, "pgsize")) && v->type == JSON_INT)
        run_defaults.pgsize = v->integer;
    if ((v = json_get(d, "limit")) && v->type == JSON_INT)
        run_defaults.limit = v->integer;
    if ((v = json_get(d, "mode")) && v->type == JSON_STRING)
        run_defaults.v2 = strcmp(v->string, "v1") != 0;
    if ((v = json_get(d, "reserved")) && v->type == JSON_STRING)
        run_defaults.x86_reserved = strcmp(v->string, "none") != 0;
}

static void reset_state(void)
{
    for (size_t i = 0; i < ncontainers; i++)
        free(containers[i].maps);
    memset(containers, 0, sizeof containers);
    ncontainers = 0;
}

/* The container the call names; answers the error itself and returns NULL if there is none. */
static struct container *find_container(struct call *c)
{
    const char *name = get_str(c, "container", NULL);
    if (bad_params(c))
        return NULL;
    for (size_t i = 0; i < ncontainers; i++)
        if (strcmp(containers[i].name, name) == 0)
            return &containers[i];
    answer_error(c->id, 1, "no such container", "scenario.error:unknown.name", 0);
    return NULL;
}

/* The mapping holding byte `x`, or NULL. */
static struct mapping *holding(struct container *k, uint64_t x)
{
    for (size_t i = 0; i < k->count; i++)
        if (k->maps[i].iova <= x && x <= k->maps[i].last)
            return &k->maps[i];
    return NULL;
}

/* -- methods -------------------------------------------------------------------------------- */

static void do_container(struct call *c)
{
    const char *name = get_str(c, "name", NULL);
    bool has_pgsize, has_limit, has_aw;
    uint64_t pgsize = get_opt_int(c, "pgsize", &has_pgsize);
    uint64_t limit = get_opt_int(c, "limit", &has_limit);
    get_opt_int(c, "aw", &has_aw);
    const char *mode = get_str(c, "mode", run_defaults.v2 ? "v2" : "v1");
    const char *reserved = get_str(c, "reserved", run_defaults.x86_reserved ? "x86" : "none");
    if (bad_params(c))
        return;
    if (has_aw) { /* error code 2: the method exists, these arguments cannot be honoured */
        answer_error(c->id, 2, "this adapter has no IOMMU address-width option", NULL, 0);
        return;
    }
    if (strlen(name) >= NAME_MAX_LEN || ncontainers == MAX_CONTAINERS) {
        answer_error(c->id, 2, "this adapter holds 64 containers of short names", NULL, 0);
        return;
    }
    struct container *k = &containers[ncontainers++];
    strcpy(k->name, name);
    k->pgsize = has_pgsize ? pgsize : run_defaults.pgsize;
    k->limit = has_limit ? limit : run_defaults.limit;
    k->v2 = strcmp(mode, "v1") != 0;
    k->x86_reserved = strcmp(reserved, "none") != 0;
    answer_null(c->id);
}

/* VFIO_IOMMU_MAP_DMA: the checks of vfio_dma_do_map, in its order. */
static void do_map(struct call *c)
{
    struct container *k = find_container(c);
    if (!k)
        return;
    uint64_t iova = get_int(c, "iova"), vaddr = get_int(c, "vaddr"), size = get_int(c, "size");
    const char *perm = get_str(c, "perm", "rw");
    if (bad_params(c))
        return;
    if (size == 0) {
        answer_error(c->id, 1, "map of size 0", "dma.map.failed:size.zero", EINVAL);
        return;
    }
    if (size - 1 > UINT64_MAX - iova || size - 1 > UINT64_MAX - vaddr) {
        answer_error(c->id, 1, "iova or vaddr + size passes 2^64-1", "dma.map.failed:overflow",
                     EOVERFLOW);
        return;
    }
    if (strcmp(perm, "none") == 0) {
        answer_error(c->id, 1, "neither read nor write", "dma.map.failed:no.access", EINVAL);
        return;
    }
    if ((iova | vaddr | size) & (k->pgsize - 1)) {
        answer_error(c->id, 1, "not page aligned", "dma.map.failed:misaligned", EINVAL);
        return;
    }
    uint64_t last = iova + (size - 1);
    for (size_t i = 0; i < k->count; i++)
        if (k->maps[i].iova <= last && iova <= k->maps[i].last) {
            answer_error(c->id, 1, "a byte of the range is mapped", "dma.map.failed:overlap",
                         EEXIST);
            return;
        }
    if (k->count >= k->limit) {
        answer_error(c->id, 1, "the container is full", "dma.map.failed:limit.exceeded", ENOSPC);
        return;
    }
    if (k->x86_reserved && MSI_FIRST <= last && iova <= MSI_LAST) {
        answer_error(c->id, 1, "the range meets the MSI window", "dma.map.failed:out.of.range",
                     EINVAL);
        return;
    }
    if (k->count == k->capacity) {
        size_t capacity = k->capacity ? 2 * k->capacity : 16;
        struct mapping *grown = realloc(k->maps, capacity * sizeof *grown);
        if (!grown) {
            answer_error(c->id, -32603, "out of memory", NULL, 0);
            return;
        }
        k->maps = grown;
        k->capacity = capacity;
    }
    size_t at = 0;
    while (at < k->count && k->maps[at].iova < iova)
        at++;
    memmove(&k->maps[at + 1], &k->maps[at], (k->count - at) * sizeof *k->maps);
    k->maps[at] = (struct mapping){iova, last, vaddr};
    k->count++;
    k->mapped += size;
    answer_null(c->id);
}

/* Remove every mapping whose first byte lies in [first, last]; the bytes removed. */
static uint64_t remove_starting_in(struct container *k, uint64_t first, uint64_t last)
{
    uint64_t removed = 0;
    size_t kept = 0;
    for (size_t i = 0; i < k->count; i++) {
        struct mapping m = k->maps[i];
        if (first <= m.iova && m.iova <= last)
            removed += m.last - m.iova + 1;
        else
            k->maps[kept++] = m;
    }
    k->count = kept;
    k->mapped -= removed;
    return removed;
}

/* VFIO_IOMMU_UNMAP_DMA of a range: the checks of vfio_dma_do_unmap, in its order. */
static void do_unmap(struct call *c)
{
    struct container *k = find_container(c);
    if (!k)
        return;
    uint64_t iova = get_int(c, "iova"), size = get_int(c, "size");
    if (bad_params(c))
        return;
    uint64_t mask = k->pgsize - 1;
    if (iova & mask) {
        answer_error(c->id, 1, "iova not page aligned", "dma.unmap.failed:misaligned", EINVAL);
        return;
    }
    if (size == 0) {
        answer_error(c->id, 1, "unmap of size 0", "dma.unmap.failed:size.zero", EINVAL);
        return;
    }
    if (size & mask) {
        answer_error(c->id, 1, "size not page aligned", "dma.unmap.failed:misaligned", EINVAL);
        return;
    }
    if (size - 1 > UINT64_MAX - iova) {
        answer_error(c->id, 1, "iova + size passes 2^64-1", "dma.unmap.failed:overflow",
                     EOVERFLOW);
        return;
    }
    uint64_t last = iova + (size - 1);
    struct mapping *head = holding(k, iova);
    if (k->v2) {
        struct mapping *tail = holding(k, last);
        if ((head && head->iova != iova) || (tail && tail->last != last)) {
            answer_error(c->id, 1, "the range cuts a mapping", "dma.unmap.failed:bisects.mapping",
                         EINVAL);
            return;
        }
    } else if (head && head->iova < iova) {
        answer_int(c->id, 0); /* v1: a range starting inside a mapping removes nothing */
        return;
    }
    answer_int(c->id, remove_starting_in(k, iova, last));
}

static void do_unmap_all(struct call *c)
{
    struct container *k = find_container(c);
    if (!k)
        return;
    bool has_iova, has_size;
    uint64_t iova = get_opt_int(c, "iova", &has_iova), size = get_opt_int(c, "size", &has_size);
    if (bad_params(c))
        return;
    if (iova || size) {
        answer_error(c->id, 1, "the ALL flag with a range", "dma.unmap.failed:all.with.range",
                     EINVAL);
        return;
    }
    answer_int(c->id, remove_starting_in(k, 0, UINT64_MAX));
}

static void do_query(struct call *c, const char *method)
{
    struct container *k = find_container(c);
    if (!k)
        return;
    if (strcmp(method, "mappings") == 0) {
        answer_int(c->id, k->count);
    } else if (strcmp(method, "mapped") == 0) {
        answer_int(c->id, k->mapped);
    } else if (strcmp(method, "avail") == 0) {
        answer_int(c->id, k->limit - k->count);
    } else {
        uint64_t iova = get_int(c, "iova");
        if (bad_params(c))
            return;
        struct mapping *m = holding(k, iova);
        if (strcmp(method, "mapped_at") == 0)
            answer_bool(c->id, m != NULL);
        else if (m)
            answer_int(c->id, m->vaddr + (iova - m->iova));
        else
            answer_error(c->id, 1, "no mapping holds that iova", "scenario.error:eval", 0);
    }
}

/* -- the loop ------------------------------------------------------------------------------- */

static const char *const METHODS =
    "[\"container\",\"map\",\"unmap\",\"unmap_all\",\"mappings\",\"mapped\",\"avail\","
    "\"mapped_at\",\"translate\"]";

/* Answer one request line; false after `shutdown`. */
static bool handle(char *line)
{
    static struct json_doc doc;
    struct json *request = json_parse(&doc, line);
    if (!request || request->type != JSON_OBJECT) {
        answer_error(NULL, -32700, request ? "not an object" : doc.error, NULL, 0);
        return true;
    }
    struct json *method = json_get(request, "method");
    struct call c = {json_get(request, "id"), json_get(request, "params"), NULL};
    if (!method || method->type != JSON_STRING) {
        answer_error(c.id, -32600, "no method", NULL, 0);
        return true;
    }
    const char *m = method->string;
    if (strcmp(m, "initialize") == 0) {
        read_defaults(c.params);
        reset_state();
        fputs("{\"jsonrpc\":\"2.0\",\"id\":", stdout);
        put_id(c.id);
        printf(",\"result\":{\"name\":\"adapter-c\",\"protocol\":\"vfio-harness/1\","
               "\"methods\":%s,\"info\":{\"language\":\"C\"}}}\n",
               METHODS);
    } else if (strcmp(m, "reset") == 0) {
        read_defaults(c.params);
        reset_state();
        answer_null(c.id);
    } else if (strcmp(m, "shutdown") == 0) {
        reset_state();
        answer_null(c.id);
        return false;
    } else if (strcmp(m, "container") == 0) {
        do_container(&c);
    } else if (strcmp(m, "map") == 0) {
        do_map(&c);
    } else if (strcmp(m, "unmap") == 0) {
        do_unmap(&c);
    } else if (strcmp(m, "unmap_all") == 0) {
        do_unmap_all(&c);
    } else if (strcmp(m, "mappings") == 0 || strcmp(m, "mapped") == 0 ||
               strcmp(m, "avail") == 0 || strcmp(m, "mapped_at") == 0 ||
               strcmp(m, "translate") == 0) {
        do_query(&c, m);
    } else {
        answer_error(c.id, -32601, "method not found", NULL, 0);
    }
    return true;
}

int main(void)
{
    char *line = NULL;
    size_t capacity = 0;
    bool running = true;
    /* End of input is the end: that is also how the harness's death reaches us. */
    while (running && getline(&line, &capacity, stdin) != -1) {
        running = handle(line);
        fflush(stdout);
    }
    free(line);
    reset_state();
    return 0;
}
