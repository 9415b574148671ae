/*
 * utf8.h - the one UTF-8 validator: well-formed UTF-8 as RFC 3629 defines it
 * (no overlong forms, no surrogates U+D800..U+DFFF, nothing past U+10FFFF, no
 * truncated sequence), with optional bans on NUL and on control characters
 * that the field rules of each format add on top.
 *
 * Every text from the wire or from a person (CBOR text strings, credential
 * fields, trust list strings, JSON we write) goes through here, so two parts
 * of ecred never disagree about what is text. Must never allocate or
 * normalize: it answers yes or no about the bytes as they are.
 */
#ifndef ECRED_UTF8_H
#define ECRED_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Extra rules for ecred_utf8_valid (bits, combine with |). */
#define ECRED_UTF8_NO_NUL 1u      /* refuse U+0000: text kept as C strings */
#define ECRED_UTF8_NO_CONTROLS 2u /* refuse C0 (NUL included), DEL and C1: text printed
                                   * on screens and paper */

/* Length (1..4) of the well-formed sequence starting at s[0] within n > 0
 * bytes, 0 when it is ill-formed or truncated; *cp (may be NULL) receives the
 * code point on success. */
size_t ecred_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* True when s[0..n) is well-formed UTF-8 obeying the ECRED_UTF8_* rules in
 * `rules` (0: UTF-8 only). n == 0 is valid; s may be NULL only then. */
bool ecred_utf8_valid(const uint8_t *s, size_t n, unsigned rules);

#endif
