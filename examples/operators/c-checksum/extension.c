/*
 * c-checksum: adds "checksum", the FNV-1a hash of its input's JSON text, to
 * an object, so a later node (or a person) can tell two inputs apart at a
 * glance. With `algorithm` set to "fnv1a-32" the hash is 32 bits, else 64.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "symphony.h"

/* Calls served, kept across a hot reload through snapshot/restore. */
static uint64_t calls = 0;

static uint64_t fnv1a64(const char *text) {
    uint64_t hash = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        hash ^= *p;
        hash *= 0x100000001b3ull;
    }
    return hash;
}

static uint32_t fnv1a32(const char *text) {
    uint32_t hash = 0x811c9dc5u;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        hash ^= *p;
        hash *= 0x01000193u;
    }
    return hash;
}

/* The input must be a JSON object: its first and last non-space characters
 * are braces (the host has parsed it as JSON already). */
int symphony_validate_input(const char *input) {
    const char *start = input + strspn(input, " \t\r\n");
    size_t len = strlen(start);
    while (len && strchr(" \t\r\n", start[len - 1])) len--;
    if (len < 2 || start[0] != '{' || start[len - 1] != '}') {
        return symphony_error(SYMPHONY_INVALID_INPUT, "expected a JSON object, got %.40s", start);
    }
    return 0;
}

char *symphony_process(const char *input) {
    if (symphony_validate_input(input) != 0) return NULL;
    char *algorithm = symphony_config("algorithm");
    int bits = 64;
    if (algorithm && strcmp(algorithm, "fnv1a-32") == 0) {
        bits = 32;
    } else if (algorithm && strcmp(algorithm, "fnv1a-64") != 0) {
        char *fail = symphony_fail(SYMPHONY_INVALID_CONFIG,
                                   "algorithm must be fnv1a-32 or fnv1a-64, got %s", algorithm);
        free(algorithm);
        return fail;
    }
    free(algorithm);
    calls++;
    char hash[17];
    if (bits == 32) {
        snprintf(hash, sizeof hash, "%08x", (unsigned)fnv1a32(input));
    } else {
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)fnv1a64(input));
    }
    symphony_log(SYMPHONY_DEBUG, "checksum %s (call %llu)", hash, (unsigned long long)calls);

    /* The object with its closing brace replaced by the new fields. */
    const char *end = strrchr(input, '}');
    const char *start = input + strspn(input, " \t\r\n");
    int empty = strspn(start + 1, " \t\r\n") == (size_t)(end - start - 1);
    size_t head = (size_t)(end - input);
    size_t size = head + 80;
    char *out = malloc(size);
    if (!out) return symphony_fail(SYMPHONY_FAILED, "out of memory");
    memcpy(out, input, head);
    snprintf(out + head, size - head, "%s\"checksum\":\"%s\",\"checksum_calls\":%llu}",
             empty ? "" : ",", hash, (unsigned long long)calls);
    return out;
}

uint8_t *symphony_snapshot(size_t *len) {
    uint8_t *state = malloc(sizeof calls);
    if (!state) return NULL;
    memcpy(state, &calls, sizeof calls);
    *len = sizeof calls;
    return state;
}

int symphony_restore(const uint8_t *state, size_t len) {
    if (len != sizeof calls) {
        return symphony_error(SYMPHONY_INVALID_INPUT, "expected %zu bytes of state, got %zu",
                              sizeof calls, len);
    }
    memcpy(&calls, state, sizeof calls);
    return 0;
}
