/*
 * fuzz_cbor.c - the capped CBOR decoder on arbitrary bytes, with the small
 * limits and a tighter set, then the duplicate-key check on every map found
 * (nested ones too) and re-encoding of what was accepted.
 */
#include "ecred/cborin.h"
#include "fuzz_common.h"

/* Run the map checks on item and everything below it; depth is bounded by the
 * decoder's cap, so the recursion is too. */
static void walk(const cbor_item_t *item)
{
    if (cbor_isa_map(item)) {
        (void)ecred_cbor_map_check_unique(item);
        cbor_item_t *found = NULL;
        (void)ecred_cbor_map_get_int(item, 1, &found);
        (void)ecred_cbor_map_get_str(item, "lst", &found);
        struct cbor_pair *pairs = cbor_map_handle(item);
        for (size_t i = 0; i < cbor_map_size(item); i++) {
            walk(pairs[i].key);
            walk(pairs[i].value);
        }
    } else if (cbor_isa_array(item)) {
        cbor_item_t **items = cbor_array_handle(item);
        for (size_t i = 0; i < cbor_array_size(item); i++)
            walk(items[i]);
    } else if (cbor_isa_tag(item)) {
        cbor_item_t *inner = cbor_tag_item(item);
        walk(inner);
        cbor_decref(&inner);
    } else {
        int64_t v;
        (void)ecred_cbor_get_int(item, &v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ecred_cbor_limits tight = {256, 32, 4};
    const ecred_cbor_limits *lims[] = {&ecred_cbor_limits_small, &tight};

    for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
        cbor_item_t *item = NULL;
        if (ecred_cbor_decode(data, size, lims[i], &item) != ECRED_OK)
            continue;
        FUZZ_ASSERT(item != NULL);
        walk(item);
        ecred_buf enc = ECRED_BUF_INIT;
        (void)ecred_cbor_encode(item, &enc);
        ecred_buf_free(&enc);
        cbor_decref(&item);
    }
    return 0;
}
