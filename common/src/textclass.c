/*
 * textclass.c - characters allowed per text field (see textclass.h).
 *
 * Without Unicode category tables (no ICU here) the rules are ranges: a
 * denylist of what must never appear in any field (format characters,
 * separators, private use, noncharacters, specials, odd spaces), then per
 * class a list of symbol and punctuation blocks that a name or an address
 * has no use for. Everything else that is well-formed is taken as a letter
 * or mark, which is what the CJK, Latin, Cyrillic, Arabic, Tibetan and Uyghur
 * names of residents are made of.
 */
#include "ecred/textclass.h"

#include <stdbool.h>
#include <stdint.h>

#include "ecred/utf8.h"

typedef struct range {
    uint32_t lo, hi;
} range;

static bool in_ranges(uint32_t cp, const range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cp >= r[i].lo && cp <= r[i].hi)
            return true;
    return false;
}

/* Invisible, direction-changing, line-breaking or meaningless anywhere:
 * Unicode's format characters (Cf), the line and paragraph separators,
 * private use, noncharacters, specials, tags and every space but U+0020. */
static const range never[] = {
    {0x00A0, 0x00A0}, {0x00AD, 0x00AD}, {0x034F, 0x034F}, {0x0600, 0x0605}, {0x061C, 0x061C},
    {0x06DD, 0x06DD}, {0x070F, 0x070F}, {0x0890, 0x0891}, {0x08E2, 0x08E2}, {0x115F, 0x1160},
    {0x1680, 0x1680}, {0x17B4, 0x17B5}, {0x180B, 0x180F}, {0x2000, 0x200F}, {0x2028, 0x202F},
    {0x205F, 0x206F}, {0x3164, 0x3164}, {0xD800, 0xDFFF}, {0xE000, 0xF8FF}, {0xFDD0, 0xFDEF},
    {0xFE00, 0xFE0F}, {0xFEFF, 0xFEFF}, {0xFFA0, 0xFFA0}, {0xFFF0, 0xFFFF}, {0x110BD, 0x110BD},
    {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
    {0xE0000, 0xE0FFF}, {0xF0000, 0x10FFFF},
};

/* Symbols and punctuation no field needs (addresses get some back below). */
static const range symbols[] = {
    {0x00A1, 0x00B6}, {0x00B8, 0x00BF}, {0x00D7, 0x00D7}, {0x00F7, 0x00F7}, {0x02C2, 0x02C5},
    {0x02D2, 0x02DF}, {0x2010, 0x2027}, {0x2030, 0x205E}, {0x2070, 0x2BFF}, {0x2E00, 0x2E7F},
    {0x3000, 0x3004}, {0x3008, 0x3020}, {0x3030, 0x3030}, {0x303D, 0x303F}, {0xFE10, 0xFE1F},
    {0xFE30, 0xFE6F}, {0xFF00, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65}, {0xFFE0, 0xFFEE},
    {0x1F000, 0x1FAFF},
};

/* What an address may use of the symbols above: fullwidth digits and
 * brackets, CJK brackets and dashes, the numero sign. */
static const range address_symbols[] = {
    {0x2010, 0x2015}, {0x2116, 0x2116}, {0x3001, 0x3002}, {0x3008, 0x3011}, {0xFF03, 0xFF03},
    {0xFF08, 0xFF09}, {0xFF0C, 0xFF0F}, {0xFF10, 0xFF19}, {0xFF1A, 0xFF1A},
};

/* Whether an ASCII character is allowed in a field of class cls. */
static bool ascii_ok(uint32_t c, ecred_text_class cls)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ' ' || c == '-' || c == '\'')
        return true;
    if (cls != ECRED_TEXT_ADDRESS)
        return c == '.';
    if (c >= '0' && c <= '9')
        return true;
    /* Address punctuation: no quotes, backslash, backtick, angle or curly
     * brackets, bar, caret or tilde (markup and shell look-alikes). */
    switch (c) {
    case '#': case '(': case ')': case ',': case '.': case '/': case ':': case ';': case '&':
    case '+': case '@': case '_':
        return true;
    default:
        return false;
    }
}

const char *ecred_text_class_why(const char *s, size_t n, ecred_text_class cls)
{
    const uint8_t *p = (const uint8_t *)s;
    if (n == 0)
        return "must not be empty";
    if (!ecred_utf8_valid(p, n, ECRED_UTF8_NO_CONTROLS))
        return "must be UTF-8 text without control characters";
    if (p[0] == ' ' || p[n - 1] == ' ')
        return "must not begin or end with a space";
    uint32_t first = 0;
    if (ecred_utf8_next(p, n, &first) && ((first >= 0x0300 && first <= 0x036F) ||
                                          (first >= 0x1AB0 && first <= 0x1AFF) ||
                                          (first >= 0x1DC0 && first <= 0x1DFF) ||
                                          (first >= 0xFE20 && first <= 0xFE2F)))
        return "must not begin with a combining mark";
    bool any_letter = false;
    uint32_t prev = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t len = ecred_utf8_next(p + i, n - i, &cp);
        if (len == 0)
            return "must be UTF-8 text without control characters";
        i += len;
        if (cp == ' ' && prev == ' ')
            return "must not contain two spaces in a row";
        prev = cp;
        if (cp < 0x80) {
            if (!ascii_ok(cp, cls))
                return cls == ECRED_TEXT_ADDRESS ? "contains a character an address does not use"
                                                 : "may hold only letters, marks, the middle dot, spaces, "
                                                   "hyphens and apostrophes";
            if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z'))
                any_letter = true;
            continue;
        }
        if (in_ranges(cp, never, sizeof never / sizeof never[0]))
            return "contains an invisible, direction-changing or line-breaking character";
        /* The middle dots of names written in Chinese (U+00B7, U+30FB, U+FF65). */
        if (cp == 0x00B7 || cp == 0x30FB || cp == 0xFF65)
            continue;
        if (in_ranges(cp, symbols, sizeof symbols / sizeof symbols[0]) &&
            !(cls == ECRED_TEXT_ADDRESS &&
              in_ranges(cp, address_symbols, sizeof address_symbols / sizeof address_symbols[0])))
            return cls == ECRED_TEXT_ADDRESS ? "contains a symbol an address does not use"
                                             : "may hold only letters, marks, the middle dot, spaces, "
                                               "hyphens and apostrophes";
        any_letter = true;
    }
    if (!any_letter && cls != ECRED_TEXT_ADDRESS)
        return "must contain a letter";
    return NULL;
}
