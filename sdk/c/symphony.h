/*
 * symphony.h: write Symphony extensions (Instruments, Operators, Addons) in C.
 *
 * An extension defines its kind's functions; this header turns them into
 * the component's exports and wraps the host's imports. JSON travels as
 * NUL-terminated text. This Operator upper-cases its whole input:
 *
 *     #include <ctype.h>
 *     #include <string.h>
 *     #include "symphony.h"
 *
 *     char *symphony_process(const char *input) {
 *         if (input[0] != '{') return symphony_fail(SYMPHONY_INVALID_INPUT, "expected an object");
 *         char *out = strdup(input);
 *         for (char *c = out; *c; c++) *c = toupper((unsigned char)*c);
 *         return out;
 *     }
 *
 * `symphony ext build` generates the world's bindings, compiles this header's
 * implementation once (SYMPHONY_IMPLEMENTATION) beside your sources with
 * clang for wasm32-wasip1, and makes the component.
 *
 * What you define, by kind (each optional one has a default):
 * - Operator: char *symphony_process(const char *input) (required);
 *   int symphony_validate_input(const char *input) and
 *   int symphony_validate_output(const char *output).
 * - Instrument: char *symphony_invoke(const char *input) (required);
 *   int symphony_configure(const char *config) and
 *   int symphony_health_check(char **detail).
 * - Addon: void symphony_render(const char *state, symphony_tree_t *tree) and
 *   char *symphony_handle_event(uint32_t target, const char *name, const char *payload)
 *   (required); char *symphony_get_state(void).
 * - Every kind: int symphony_on_load(void), int symphony_on_activate(void),
 *   void symphony_on_deactivate(void), void symphony_on_unload(void),
 *   uint8_t *symphony_snapshot(size_t *len) and
 *   int symphony_restore(const uint8_t *state, size_t len).
 *
 * Conventions: a `char *` you return is malloc'd and freed by the SDK; an
 * `int` function returns 0 for success. To fail, return
 * symphony_fail(KIND, fmt, ...) (NULL) or symphony_error(KIND, fmt, ...) (-1);
 * returning NULL or -1 right after a host call failed passes the host's
 * error (e.g. SYMPHONY_DENIED) on as it is.
 */
#ifndef SYMPHONY_H
#define SYMPHONY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symphony_world.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ext-error cases. */
#define SYMPHONY_INVALID_INPUT SYMPHONY_EXTENSION_TYPES_EXT_ERROR_INVALID_INPUT
#define SYMPHONY_INVALID_CONFIG SYMPHONY_EXTENSION_TYPES_EXT_ERROR_INVALID_CONFIG
#define SYMPHONY_UNAVAILABLE SYMPHONY_EXTENSION_TYPES_EXT_ERROR_UNAVAILABLE
#define SYMPHONY_DENIED SYMPHONY_EXTENSION_TYPES_EXT_ERROR_DENIED
#define SYMPHONY_FAILED SYMPHONY_EXTENSION_TYPES_EXT_ERROR_FAILED

/* Log levels. */
#define SYMPHONY_TRACE SYMPHONY_EXTENSION_TYPES_LOG_LEVEL_TRACE
#define SYMPHONY_DEBUG SYMPHONY_EXTENSION_TYPES_LOG_LEVEL_DEBUG
#define SYMPHONY_INFO SYMPHONY_EXTENSION_TYPES_LOG_LEVEL_INFO
#define SYMPHONY_WARN SYMPHONY_EXTENSION_TYPES_LOG_LEVEL_WARN
#define SYMPHONY_ERROR SYMPHONY_EXTENSION_TYPES_LOG_LEVEL_ERROR

/* Health states. */
#define SYMPHONY_HEALTHY SYMPHONY_EXTENSION_TYPES_HEALTH_STATUS_HEALTHY
#define SYMPHONY_DEGRADED SYMPHONY_EXTENSION_TYPES_HEALTH_STATUS_DEGRADED
#define SYMPHONY_UNHEALTHY SYMPHONY_EXTENSION_TYPES_HEALTH_STATUS_UNHEALTHY

/* Records an error for the current call and returns -1. */
int symphony_error(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records an error for the current call and returns NULL. */
char *symphony_fail(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The case of the last error recorded (by you or a host call), -1 if none. */
int symphony_last_error_kind(void);
/* Its message, "" if none. */
const char *symphony_last_error_message(void);

/* Writes a printf-style message to the host log. */
void symphony_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The node's config value for `key` (malloc'd; free it), NULL when unset. */
char *symphony_config(const char *key);
/* Host calls: 0 (or a malloc'd result) on success; -1 (or NULL) with the
 * host's error recorded, e.g. SYMPHONY_DENIED without the capability. */
int symphony_publish(const char *subject, const void *payload, size_t len);
char *symphony_model_call(const char *instrument, const char *input);
char *symphony_artifact_put(const void *content, size_t len);
uint8_t *symphony_artifact_get(const char *hash, size_t *len);
uint8_t *symphony_request(const char *subject, const void *payload, size_t len,
                          uint32_t timeout_ms, size_t *reply_len);

/* An Addon's flat vnode tree, built by symphony_tree_push. */
typedef struct symphony_tree {
    symphony_extension_types_vnode_t *nodes;
    size_t len, cap;
} symphony_tree_t;
/* Appends a node under `parent` (-1 for the root) and returns its id;
 * `attrs` is NULL or "key", "value", ..., NULL; `text` may be NULL. */
uint32_t symphony_tree_push(symphony_tree_t *tree, int64_t parent, const char *tag,
                            const char *const *attrs, const char *text);

/* What an extension defines (see the top of this file). */
int symphony_on_load(void);
int symphony_on_activate(void);
void symphony_on_deactivate(void);
void symphony_on_unload(void);
uint8_t *symphony_snapshot(size_t *len);
int symphony_restore(const uint8_t *state, size_t len);
#ifdef SYMPHONY_KIND_OPERATOR
int symphony_validate_input(const char *input);
char *symphony_process(const char *input);
int symphony_validate_output(const char *output);
#endif
#ifdef SYMPHONY_KIND_INSTRUMENT
int symphony_configure(const char *config);
char *symphony_invoke(const char *input);
int symphony_health_check(char **detail);
#endif
#ifdef SYMPHONY_KIND_ADDON
void symphony_render(const char *state, symphony_tree_t *tree);
char *symphony_handle_event(uint32_t target, const char *name, const char *payload);
char *symphony_get_state(void);
#endif

#ifdef SYMPHONY_IMPLEMENTATION

typedef SYMPHONY_W(string_t) symphony_string_t;
typedef SYMPHONY_W(list_u8_t) symphony_bytes_t;
typedef symphony_extension_types_ext_error_t symphony_ext_error_t;

static int symphony_pending_kind = -1;
static char *symphony_pending_message = NULL;

/* Formats a printf-style message into a malloc'd string. */
static char *symphony_vformat(const char *fmt, va_list args) {
    va_list sized;
    va_copy(sized, args);
    int n = vsnprintf(NULL, 0, fmt, sized);
    va_end(sized);
    size_t size = n > 0 ? (size_t)n + 1 : 1;
    char *text = malloc(size);
    if (text) vsnprintf(text, size, fmt, args);
    return text;
}

/* Records `kind` and the formatted message as the call's error. */
static void symphony_vrecord(int kind, const char *fmt, va_list args) {
    free(symphony_pending_message);
    symphony_pending_kind = kind;
    symphony_pending_message = symphony_vformat(fmt, args);
}

int symphony_error(int kind, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    symphony_vrecord(kind, fmt, args);
    va_end(args);
    return -1;
}

char *symphony_fail(int kind, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    symphony_vrecord(kind, fmt, args);
    va_end(args);
    return NULL;
}

int symphony_last_error_kind(void) { return symphony_pending_kind; }

const char *symphony_last_error_message(void) {
    return symphony_pending_message ? symphony_pending_message : "";
}

/* A copy of `len` bytes at `ptr` with a NUL after them. */
static char *symphony_cstr(const uint8_t *ptr, size_t len) {
    char *out = malloc(len + 1);
    if (!out) return NULL;
    memcpy(out, ptr, len);
    out[len] = '\0';
    return out;
}

/* A string the bindings take: borrowed from `text`. */
static symphony_string_t symphony_borrow(const char *text) {
    symphony_string_t s = {(uint8_t *)text, text ? strlen(text) : 0};
    return s;
}

/* A string the bindings own and free: `text` itself (malloc'd) or a copy. */
static symphony_string_t symphony_give(char *text) {
    symphony_string_t s = {(uint8_t *)text, text ? strlen(text) : 0};
    return s;
}

static void symphony_take_host_error(symphony_ext_error_t *err) {
    symphony_string_t *message = &err->val.failed; /* every case holds a string */
    free(symphony_pending_message);
    symphony_pending_kind = err->tag;
    symphony_pending_message = symphony_cstr(message->ptr, message->len);
    symphony_extension_types_ext_error_free(err);
}

/* Moves the pending error (or a generic one) into an export's error. */
static void symphony_put_error(symphony_ext_error_t *err, const char *what) {
    if (symphony_pending_kind < 0) {
        symphony_pending_kind = SYMPHONY_FAILED;
        free(symphony_pending_message);
        symphony_pending_message = symphony_cstr((const uint8_t *)what, strlen(what));
    }
    err->tag = (uint8_t)symphony_pending_kind;
    err->val.failed = symphony_give(symphony_pending_message ? symphony_pending_message
                                                             : symphony_cstr((const uint8_t *)"", 0));
    symphony_pending_kind = -1;
    symphony_pending_message = NULL;
}

static void symphony_clear_error(void) {
    symphony_pending_kind = -1;
    free(symphony_pending_message);
    symphony_pending_message = NULL;
}

void symphony_log(int level, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    char *text = symphony_vformat(fmt, args);
    va_end(args);
    if (!text) return;
    symphony_string_t message = symphony_borrow(text);
    symphony_extension_host_log((symphony_extension_host_log_level_t)level, &message);
    free(text);
}

char *symphony_config(const char *key) {
    symphony_string_t k = symphony_borrow(key), value;
    if (!symphony_extension_host_config(&k, &value)) return NULL;
    char *out = symphony_cstr(value.ptr, value.len);
    SYMPHONY_W(string_free)(&value);
    return out;
}

int symphony_publish(const char *subject, const void *payload, size_t len) {
    symphony_string_t s = symphony_borrow(subject);
    symphony_bytes_t bytes = {(uint8_t *)payload, len};
    symphony_ext_error_t err;
    if (symphony_extension_host_publish(&s, &bytes, &err)) return 0;
    symphony_take_host_error(&err);
    return -1;
}

char *symphony_model_call(const char *instrument, const char *input) {
    symphony_string_t name = symphony_borrow(instrument), in = symphony_borrow(input), out;
    symphony_ext_error_t err;
    if (!symphony_extension_host_model_call(&name, &in, &out, &err)) {
        symphony_take_host_error(&err);
        return NULL;
    }
    char *text = symphony_cstr(out.ptr, out.len);
    SYMPHONY_W(string_free)(&out);
    return text;
}

char *symphony_artifact_put(const void *content, size_t len) {
    symphony_bytes_t bytes = {(uint8_t *)content, len};
    symphony_string_t hash;
    symphony_ext_error_t err;
    if (!symphony_extension_host_artifact_put(&bytes, &hash, &err)) {
        symphony_take_host_error(&err);
        return NULL;
    }
    char *text = symphony_cstr(hash.ptr, hash.len);
    SYMPHONY_W(string_free)(&hash);
    return text;
}

uint8_t *symphony_artifact_get(const char *hash, size_t *len) {
    symphony_string_t h = symphony_borrow(hash);
    symphony_bytes_t bytes;
    symphony_ext_error_t err;
    if (!symphony_extension_host_artifact_get(&h, &bytes, &err)) {
        symphony_take_host_error(&err);
        return NULL;
    }
    *len = bytes.len;
    return bytes.ptr; /* allocated by cabi_realloc, i.e. malloc */
}

uint8_t *symphony_request(const char *subject, const void *payload, size_t len,
                          uint32_t timeout_ms, size_t *reply_len) {
    symphony_string_t s = symphony_borrow(subject);
    symphony_bytes_t bytes = {(uint8_t *)payload, len}, reply;
    symphony_ext_error_t err;
    if (!symphony_extension_host_request(&s, &bytes, timeout_ms, &reply, &err)) {
        symphony_take_host_error(&err);
        return NULL;
    }
    *reply_len = reply.len;
    return reply.ptr;
}

/* Defaults for what an extension may leave out: weak, so a definition of
 * the extension's own replaces them at link time. */
__attribute__((weak)) int symphony_on_load(void) { return 0; }
__attribute__((weak)) int symphony_on_activate(void) { return 0; }
__attribute__((weak)) void symphony_on_deactivate(void) {}
__attribute__((weak)) void symphony_on_unload(void) {}
__attribute__((weak)) uint8_t *symphony_snapshot(size_t *len) { *len = 0; return NULL; }
__attribute__((weak)) int symphony_restore(const uint8_t *state, size_t len) {
    (void)state; (void)len;
    return 0;
}

bool exports_symphony_extension_lifecycle_on_load(symphony_ext_error_t *err) {
    symphony_clear_error();
    if (symphony_on_load() == 0) return true;
    symphony_put_error(err, "on_load failed");
    return false;
}

bool exports_symphony_extension_lifecycle_on_activate(symphony_ext_error_t *err) {
    symphony_clear_error();
    if (symphony_on_activate() == 0) return true;
    symphony_put_error(err, "on_activate failed");
    return false;
}

void exports_symphony_extension_lifecycle_on_deactivate(void) { symphony_on_deactivate(); }

void exports_symphony_extension_lifecycle_on_unload(void) { symphony_on_unload(); }

bool exports_symphony_extension_lifecycle_snapshot(symphony_bytes_t *ret) {
    size_t len = 0;
    uint8_t *state = symphony_snapshot(&len);
    if (!state) return false;
    ret->ptr = state;
    ret->len = len;
    return true;
}

bool exports_symphony_extension_lifecycle_restore(symphony_bytes_t *state, symphony_ext_error_t *err) {
    symphony_clear_error();
    int status = symphony_restore(state->ptr, state->len);
    SYMPHONY_W(list_u8_free)(state);
    if (status == 0) return true;
    symphony_put_error(err, "restore failed");
    return false;
}

/* Takes an export's JSON argument as a NUL-terminated copy, freeing it. */
static char *symphony_take(symphony_string_t *arg) {
    char *text = symphony_cstr(arg->ptr, arg->len);
    SYMPHONY_W(string_free)(arg);
    return text;
}

/* Runs an int-returning hook on a JSON argument. */
static bool symphony_check(int (*hook)(const char *), symphony_string_t *arg,
                           symphony_ext_error_t *err, const char *what) {
    symphony_clear_error();
    char *text = symphony_take(arg);
    int status = hook(text);
    free(text);
    if (status == 0) return true;
    symphony_put_error(err, what);
    return false;
}

/* Runs a char*-returning function on a JSON argument. */
static bool symphony_produce(char *(*fn)(const char *), symphony_string_t *arg,
                             symphony_string_t *ret, symphony_ext_error_t *err, const char *what) {
    symphony_clear_error();
    char *text = symphony_take(arg);
    char *out = fn(text);
    free(text);
    if (out) {
        *ret = symphony_give(out);
        return true;
    }
    symphony_put_error(err, what);
    return false;
}

#ifdef SYMPHONY_KIND_OPERATOR
__attribute__((weak)) int symphony_validate_input(const char *input) { (void)input; return 0; }
__attribute__((weak)) int symphony_validate_output(const char *output) { (void)output; return 0; }

bool exports_symphony_extension_operator_validate_input(symphony_string_t *input, symphony_ext_error_t *err) {
    return symphony_check(symphony_validate_input, input, err, "the input was refused");
}

bool exports_symphony_extension_operator_process(symphony_string_t *input, symphony_string_t *ret,
                                                 symphony_ext_error_t *err) {
    return symphony_produce(symphony_process, input, ret, err, "symphony_process returned NULL");
}

bool exports_symphony_extension_operator_validate_output(symphony_string_t *output, symphony_ext_error_t *err) {
    return symphony_check(symphony_validate_output, output, err, "the output was refused");
}
#endif

#ifdef SYMPHONY_KIND_INSTRUMENT
__attribute__((weak)) int symphony_configure(const char *config) { (void)config; return 0; }
__attribute__((weak)) int symphony_health_check(char **detail) { *detail = NULL; return SYMPHONY_HEALTHY; }

bool exports_symphony_extension_instrument_configure(symphony_string_t *config, symphony_ext_error_t *err) {
    return symphony_check(symphony_configure, config, err, "the configuration was refused");
}

bool exports_symphony_extension_instrument_invoke(symphony_string_t *input, symphony_string_t *ret,
                                                  symphony_ext_error_t *err) {
    return symphony_produce(symphony_invoke, input, ret, err, "symphony_invoke returned NULL");
}

void exports_symphony_extension_instrument_health_check(symphony_extension_types_health_t *ret) {
    char *detail = NULL;
    ret->status = (symphony_extension_types_health_status_t)symphony_health_check(&detail);
    ret->detail.is_some = detail != NULL;
    if (detail) ret->detail.val = symphony_give(detail);
}
#endif

#ifdef SYMPHONY_KIND_ADDON
static char *symphony_dup(const char *text) {
    return symphony_cstr((const uint8_t *)text, strlen(text));
}

uint32_t symphony_tree_push(symphony_tree_t *tree, int64_t parent, const char *tag,
                            const char *const *attrs, const char *text) {
    if (tree->len == tree->cap) {
        size_t cap = tree->cap ? tree->cap * 2 : 8;
        symphony_extension_types_vnode_t *grown = realloc(tree->nodes, cap * sizeof *grown);
        if (!grown) abort();
        tree->nodes = grown;
        tree->cap = cap;
    }
    symphony_extension_types_vnode_t *node = &tree->nodes[tree->len];
    memset(node, 0, sizeof *node);
    node->id = (uint32_t)tree->len;
    node->parent.is_some = parent >= 0;
    node->parent.val = parent >= 0 ? (uint32_t)parent : 0;
    node->tag = symphony_give(symphony_dup(tag));
    size_t pairs = 0;
    while (attrs && attrs[pairs * 2] && attrs[pairs * 2 + 1]) pairs++;
    node->attrs.len = pairs;
    node->attrs.ptr = pairs ? malloc(pairs * sizeof *node->attrs.ptr) : NULL;
    for (size_t i = 0; i < pairs; i++) {
        node->attrs.ptr[i].f0 = symphony_give(symphony_dup(attrs[i * 2]));
        node->attrs.ptr[i].f1 = symphony_give(symphony_dup(attrs[i * 2 + 1]));
    }
    node->text.is_some = text != NULL;
    if (text) node->text.val = symphony_give(symphony_dup(text));
    return node->id;
}

__attribute__((weak)) char *symphony_get_state(void) { return symphony_dup("null"); }

void exports_symphony_extension_addon_render(symphony_string_t *state,
                                             exports_symphony_extension_addon_list_vnode_t *ret) {
    char *text = symphony_take(state);
    symphony_tree_t tree = {0};
    symphony_render(text, &tree);
    free(text);
    ret->ptr = tree.nodes;
    ret->len = tree.len;
}

bool exports_symphony_extension_addon_handle_event(symphony_extension_types_ui_event_t *event,
                                                   symphony_string_t *ret, symphony_ext_error_t *err) {
    symphony_clear_error();
    char *name = symphony_cstr(event->name.ptr, event->name.len);
    char *payload = symphony_cstr(event->payload.ptr, event->payload.len);
    uint32_t target = event->target;
    symphony_extension_types_ui_event_free(event);
    char *out = symphony_handle_event(target, name, payload);
    free(name);
    free(payload);
    if (out) {
        *ret = symphony_give(out);
        return true;
    }
    symphony_put_error(err, "symphony_handle_event returned NULL");
    return false;
}

void exports_symphony_extension_addon_get_state(symphony_string_t *ret) {
    char *state = symphony_get_state();
    *ret = symphony_give(state ? state : symphony_dup("null"));
}
#endif

#endif /* SYMPHONY_IMPLEMENTATION */

#ifdef __cplusplus
}
#endif

#endif /* SYMPHONY_H */
