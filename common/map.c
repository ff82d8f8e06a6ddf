/*
 * map.c — string-keyed open-addressing hash map (linear probing, tombstones).
 *
 * Used for the signalling server's indexes (consults by id, users by subject).
 * Keys are copied; values are borrowed pointers.
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

#define TOMBSTONE ((char *)1)

struct cs_map {
    char **keys;
    void **values;
    size_t cap;      /* power of two */
    size_t count;    /* live entries */
    size_t used;     /* live + tombstones */
    size_t max_entries;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

cs_map_t *cs_map_new(size_t max_entries)
{
    cs_map_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->values = calloc(m->cap, sizeof *m->values);
    m->max_entries = max_entries;
    if (!m->keys || !m->values) {
        cs_map_free(m);
        return NULL;
    }
    return m;
}

void cs_map_free(cs_map_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->keys && i < m->cap; i++)
        if (m->keys[i] && m->keys[i] != TOMBSTONE)
            free(m->keys[i]);
    free(m->keys);
    free(m->values);
    free(m);
}

/* Slot of key, or SIZE_MAX when absent. */
static size_t find_slot(const cs_map_t *m, const char *key)
{
    size_t mask = m->cap - 1;
    for (size_t i = hash_str(key) & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
        if (!m->keys[i])
            return SIZE_MAX;
        if (m->keys[i] != TOMBSTONE && strcmp(m->keys[i], key) == 0)
            return i;
    }
    return SIZE_MAX;
}

static int grow(cs_map_t *m, size_t new_cap)
{
    char **keys = calloc(new_cap, sizeof *keys);
    void **values = calloc(new_cap, sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return CS_ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i] || m->keys[i] == TOMBSTONE)
            continue;
        size_t j = hash_str(m->keys[i]) & (new_cap - 1);
        while (keys[j])
            j = (j + 1) & (new_cap - 1);
        keys[j] = m->keys[i];
        values[j] = m->values[i];
    }
    free(m->keys);
    free(m->values);
    m->keys = keys;
    m->values = values;
    m->cap = new_cap;
    m->used = m->count;
    return CS_OK;
}

int cs_map_put(cs_map_t *m, const char *key, void *value)
{
    size_t slot = find_slot(m, key);
    if (slot != SIZE_MAX) {
        m->values[slot] = value;
        return CS_OK;
    }
    if (m->max_entries && m->count >= m->max_entries)
        return CS_ELIMIT;
    if ((m->used + 1) * 4 >= m->cap * 3) {
        size_t new_cap = (m->count + 1) * 4 >= m->cap * 2 ? m->cap * 2 : m->cap;
        int rc = grow(m, new_cap);
        if (rc)
            return rc;
    }
    char *k = strdup(key);
    if (!k)
        return CS_ENOMEM;
    size_t mask = m->cap - 1, i = hash_str(key) & mask;
    while (m->keys[i] && m->keys[i] != TOMBSTONE)
        i = (i + 1) & mask;
    if (!m->keys[i])
        m->used++;
    m->keys[i] = k;
    m->values[i] = value;
    m->count++;
    return CS_OK;
}

void *cs_map_get(const cs_map_t *m, const char *key)
{
    size_t slot = find_slot(m, key);
    return slot == SIZE_MAX ? NULL : m->values[slot];
}

void *cs_map_remove(cs_map_t *m, const char *key)
{
    size_t slot = find_slot(m, key);
    if (slot == SIZE_MAX)
        return NULL;
    void *v = m->values[slot];
    free(m->keys[slot]);
    m->keys[slot] = TOMBSTONE;
    m->values[slot] = NULL;
    m->count--;
    return v;
}

size_t cs_map_size(const cs_map_t *m)
{
    return m->count;
}

bool cs_map_next(const cs_map_t *m, size_t *pos, const char **key, void **value)
{
    for (size_t i = *pos; i < m->cap; i++) {
        if (m->keys[i] && m->keys[i] != TOMBSTONE) {
            if (key)
                *key = m->keys[i];
            if (value)
                *value = m->values[i];
            *pos = i + 1;
            return true;
        }
    }
    *pos = m->cap;
    return false;
}
