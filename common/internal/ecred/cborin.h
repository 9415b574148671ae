/*
 * cborin.h - PRIVATE to common/ and its tests: CBOR as libcbor trees, for the
 * deterministic encoders (credential, COSE headers, status and trust lists),
 * the payloads read only after their signature verified (status list and
 * trust list), and ecred-verify's inspect view. Untrusted input before a
 * signature is read with the cursor of cborcur.h, never with this.
 *
 * This header is not in common/include: no public header may expose <cbor.h>.
 * Targets that need it link ecred_common_internal (CMakeLists.txt).
 *
 * Decoding first walks the bytes with libcbor's non-allocating streaming
 * decoder and enforces: total size <= max_bytes, item count <= max_items,
 * nesting depth <= max_depth, every declared length/count fits in the bytes
 * that remain (so no header can make us allocate more than the input size),
 * definite lengths only, and exact consumption (no trailing bytes). Only then
 * is the tree built with cbor_load.
 *
 * Encoding helpers build items with the smallest integer width (RFC 8949
 * section 4.2.1 preferred serialization), so the caller gets deterministic bytes
 * as long as it inserts map keys in the deterministic order.
 */
#ifndef ECRED_CBORIN_H
#define ECRED_CBORIN_H

#include <stdbool.h>
#include <stdint.h>

#include <cbor.h>

#include "ecred/buf.h"
#include "ecred/cborcur.h" /* ecred_cbor_limits */

/* Largest map ecred_cbor_map_check_unique compares pairwise (n^2 stays small). */
#define ECRED_CBOR_MAP_MAX_PAIRS 1024

/* Decode exactly one item occupying all n bytes (lim NULL: the small limits).
 * Depth counts arrays, maps and tags: a top-level array has depth 1. Errors:
 * ECRED_ERR_TOO_LARGE (n > max_bytes), ECRED_ERR_CBOR_LIMIT (items/depth),
 * ECRED_ERR_CBOR (ill-formed, truncated, indefinite length, break, reserved
 * simple values, trailing bytes, a length larger than the rest of the input,
 * text that is not UTF-8), ECRED_ERR_ARG (max_depth > ECRED_CBOR_DEPTH_MAX),
 * ECRED_ERR_NOMEM. Tags 6..20 in their one-byte head are accepted although
 * libcbor 0.8 refuses them (its issue #307): see cborin.c.
 * On success *out owns a tree the caller releases with cbor_decref. */
ecred_err ecred_cbor_decode(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim,
                            cbor_item_t **out);

/* Read an integer item (major type 0 or 1) into int64; ECRED_ERR_CBOR when not
 * an integer or out of int64 range. */
ecred_err ecred_cbor_get_int(const cbor_item_t *item, int64_t *out);

/* Look up an integer or text key in a definite map. Returns ECRED_OK and sets
 * *out (borrowed, may be NULL when absent). A key that occurs twice, or a
 * duplicate anywhere among the map's keys, is ECRED_ERR_CBOR (and every rule of
 * ecred_cbor_map_check_unique applies). */
ecred_err ecred_cbor_map_get_int(const cbor_item_t *map, int64_t key, cbor_item_t **out);
ecred_err ecred_cbor_map_get_str(const cbor_item_t *map, const char *key, cbor_item_t **out);
/* ECRED_ERR_CBOR if any two keys in the map are equal (same type and value), or
 * if a key is a float, array, map or tag: none of our formats uses such keys and
 * comparing them is where decoders disagree. ECRED_ERR_CBOR_LIMIT for more than
 * ECRED_CBOR_MAP_MAX_PAIRS pairs. */
ecred_err ecred_cbor_map_check_unique(const cbor_item_t *map);
/* True when a and b are equal map keys: uint/negint by value (whatever the
 * encoded width), definite bstr/tstr by content, simple values by value. */
bool ecred_cbor_key_equal(const cbor_item_t *a, const cbor_item_t *b);

/* Builders (return NULL on allocation failure; caller owns the reference). */
cbor_item_t *ecred_cbor_int(int64_t v);              /* smallest width */
cbor_item_t *ecred_cbor_bytes(const uint8_t *p, size_t n);
cbor_item_t *ecred_cbor_text(const char *s, size_t n);
/* Add key/value to a map; takes ownership of both references (decref'd on
 * failure too). A NULL key or value (a failed builder) is ECRED_ERR_NOMEM, so
 * builders can be passed inline; a full definite map is ECRED_ERR_ARG. */
ecred_err ecred_cbor_map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value);
/* Serialize into out (replaced on success). */
ecred_err ecred_cbor_encode(const cbor_item_t *item, ecred_buf *out);

#endif
