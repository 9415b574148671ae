/*
 * textclass.h - which characters a person's text may hold, per field class
 * (spec/credential.md, "Characters allowed in text fields").
 *
 * Signed text is shown to police and landlords on screens and printed on a
 * legal commitment, so it must render as what it is: no character that is
 * invisible, reorders its neighbours (U+202E, isolates), breaks a line
 * (U+2028) or hides in a private or unassigned corner. Names carry letters,
 * marks, the middle dot (·, as in 阿卜杜·热合曼), spaces, hyphens and
 * apostrophes; addresses add digits and the punctuation addresses use.
 * Checked at issue and at verify (the claims decoder ends in validation), so a
 * credential signed elsewhere with such text is refused too.
 *
 * Must never allocate, normalize or guess: it answers about the bytes given.
 */
#ifndef ECRED_TEXTCLASS_H
#define ECRED_TEXTCLASS_H

#include <stddef.h>

typedef enum ecred_text_class {
    ECRED_TEXT_NAME = 0,     /* a person's name: credential name, kinship relative_name */
    ECRED_TEXT_RELATION = 1, /* a kinship relationship ("父子", "spouse"): as a name */
    ECRED_TEXT_ADDRESS = 2,  /* an address: a name's characters plus digits and punctuation */
} ecred_text_class;

/* NULL when s[0..n) is allowed in a field of class cls; otherwise a short
 * English reason naming what is wrong ("contains an invisible or
 * direction-changing character"). Well-formed UTF-8 without controls is
 * required too; leading, trailing and doubled spaces are refused. */
const char *ecred_text_class_why(const char *s, size_t n, ecred_text_class cls);

#endif
