/*
 * test_textclass.c - characters allowed per text field, as data
 * (tests/vectors/textclass/cases.txt), and the same rules enforced on a
 * credential at validation, so at issue and at verify alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ecred/credential.h"
#include "ecred/textclass.h"

/* Append code point cp as UTF-8 (no checks: the tests feed surrogates too). */
static size_t put_utf8(uint32_t cp, char *out)
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

/* Decode the escapes of a case's text into out; returns the length. */
static size_t unescape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (*s && n + 4 < cap) {
        if (s[0] == '\\' && (s[1] == 'u' || s[1] == 'U')) {
            int w = s[1] == 'u' ? 4 : 8;
            char hex[9] = {0};
            memcpy(hex, s + 2, (size_t)w);
            n += put_utf8((uint32_t)strtoul(hex, NULL, 16), out + n);
            s += 2 + w;
        } else if (s[0] == '\\' && s[1] == 'x') {
            char hex[3] = {s[2], s[3], 0};
            out[n++] = (char)strtoul(hex, NULL, 16);
            s += 4;
        } else if (s[0] == '\\' && s[1] == 'n') {
            out[n++] = '\n';
            s += 2;
        } else if (s[0] == '\\' && s[1] == 't') {
            out[n++] = '\t';
            s += 2;
        } else if (s[0] == '\\' && s[1] == '\\') {
            out[n++] = '\\';
            s += 2;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = 0;
    return n;
}

static void run_cases(void)
{
    ecred_buf b = check_read_source_file("tests/vectors/textclass/cases.txt");
    ecred_buf_terminate(&b);
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *cls_s = line, *expect = strchr(line, '\t');
        if (!expect)
            continue;
        *expect++ = 0;
        char *text = strchr(expect, '\t');
        if (!text)
            continue;
        *text++ = 0;
        ecred_text_class cls = strcmp(cls_s, "name") == 0       ? ECRED_TEXT_NAME
                               : strcmp(cls_s, "relation") == 0 ? ECRED_TEXT_RELATION
                                                                : ECRED_TEXT_ADDRESS;
        char buf[512];
        size_t n = unescape(text, buf, sizeof buf);
        const char *why = ecred_text_class_why(buf, n, cls);
        bool good = strcmp(expect, "ok") == 0 ? why == NULL : why != NULL && strstr(why, expect) != NULL;
        CHECK(good);
        if (!good)
            fprintf(stderr, "  case %s '%s': want %s, got %s\n", cls_s, text, expect, why ? why : "ok");
        cases++;
    }
    CHECK(cases >= 50);
    ecred_buf_free(&b);
}

/* The same rules on a whole credential: validation refuses a name with
 * U+202E and an address with a zero-width space, naming the field. */
static void credential_level(void)
{
    ecred_buf json = check_read_source_file("spec/examples/permit-rental.json");
    ecred_credential c;
    ecred_field_error why;
    CHECK_ERR(ecred_credential_from_json((const char *)json.ptr, json.len, &c, &why), ECRED_OK);
    ecred_credential bad = c;
    snprintf(bad.name, sizeof bad.name, "%s", "\xe2\x80\xae");
    memset(&why, 0, sizeof why);
    CHECK(ecred_credential_validate(&bad, &why) != ECRED_OK && strcmp(why.field, "name") == 0 &&
          strstr(why.why, "invisible"));
    bad = c;
    snprintf(bad.address, sizeof bad.address, "%s", "\xe6\xbc\x95\xe6\xba\xaa 8\xe2\x80\x8b" "8");
    memset(&why, 0, sizeof why);
    CHECK(ecred_credential_validate(&bad, &why) != ECRED_OK && strcmp(why.field, "address") == 0);
    CHECK_ERR(ecred_credential_validate(&c, &why), ECRED_OK);
    ecred_buf_free(&json);
}

int main(void)
{
    run_cases();
    credential_level();
    return check_finish();
}
