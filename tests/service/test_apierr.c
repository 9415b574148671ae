/*
 * test_apierr.c - the API error tables against the specs, both ways: every
 * row of a daemon's table (and every layer row) is documented in its spec's
 * error table with the same HTTP status, and every documented code is a row.
 * Also: codes are unique, statuses are 4xx/5xx, both hints are present and
 * the Chinese hint is not just ASCII.
 *
 * The spec tables sit between "<!-- api-errors:begin -->" and
 * "<!-- api-errors:end -->" as markdown rows "| `code` | 404 | 中文 | English |".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "check.h"
#include "svc_err.h"

#ifdef ECRED_HAVE_VERIFIER_APIERR
#include "vd_apierr.h"
#endif

typedef struct doc_row {
    char code[64];
    unsigned status;
    bool seen;
} doc_row;

/* Parse the spec's error table; returns the number of rows. */
static size_t parse_spec(const char *rel, doc_row *rows, size_t cap)
{
    ecred_buf b = check_read_source_file(rel);
    ecred_buf_terminate(&b);
    const char *text = (const char *)b.ptr;
    const char *begin = strstr(text, "<!-- api-errors:begin -->");
    const char *end = begin ? strstr(begin, "<!-- api-errors:end -->") : NULL;
    CHECK(begin && end);
    size_t n = 0;
    for (const char *p = begin; p && end && p < end; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, "| `", 3) != 0)
            continue;
        const char *c = p + 3, *ce = strchr(c, '`');
        if (!ce || ce - c >= 63 || n >= cap)
            continue;
        memcpy(rows[n].code, c, (size_t)(ce - c));
        rows[n].code[ce - c] = 0;
        const char *s = strchr(ce, '|');
        rows[n].status = s ? (unsigned)strtoul(s + 1, NULL, 10) : 0;
        rows[n].seen = false;
        n++;
    }
    ecred_buf_free(&b);
    return n;
}

static void check_rows(const char *spec, const svc_apierr *table, size_t n_table, bool with_layer)
{
    doc_row doc[128];
    size_t n_doc = parse_spec(spec, doc, 128);
    CHECK(n_doc > 0);
    const svc_apierr *all[256];
    size_t n_all = 0;
    for (size_t i = 0; i < n_table; i++)
        all[n_all++] = &table[i];
    for (size_t i = 0; with_layer && i < SVC_E_COUNT; i++)
        all[n_all++] = &svc_layer_errors[i];
    for (size_t i = 0; i < n_all; i++) {
        const svc_apierr *e = all[i];
        CHECK(e->code && e->hint_en && e->hint_zh && e->hint_en[0] && e->hint_zh[0]);
        CHECK(e->status >= 400 && e->status <= 599);
        bool cjk = false;
        for (const char *p = e->hint_zh; *p; p++)
            if ((unsigned char)*p >= 0x80)
                cjk = true;
        CHECK(cjk);
        /* The same code always has the same status (a layer row repeated in a table too). */
        for (size_t j = 0; j < n_all; j++)
            if (strcmp(all[j]->code, e->code) == 0 && all[j]->status != e->status) {
                fprintf(stderr, "%s: code %s has statuses %u and %u\n", spec, e->code, e->status,
                        all[j]->status);
                CHECK(false);
            }
        bool documented = false;
        for (size_t k = 0; k < n_doc; k++)
            if (strcmp(doc[k].code, e->code) == 0) {
                documented = true;
                doc[k].seen = true;
                if (doc[k].status != e->status) {
                    fprintf(stderr, "%s: %s documented as %u, answered as %u\n", spec, e->code, doc[k].status,
                            e->status);
                    CHECK(false);
                }
            }
        if (!documented) {
            fprintf(stderr, "%s: code %s is answered but not documented\n", spec, e->code);
            CHECK(false);
        }
    }
    for (size_t k = 0; k < n_doc; k++) {
        if (!doc[k].seen) {
            fprintf(stderr, "%s: code %s is documented but no table has it\n", spec, doc[k].code);
            CHECK(false);
        }
        for (size_t m = k + 1; m < n_doc; m++)
            if (strcmp(doc[k].code, doc[m].code) == 0) {
                fprintf(stderr, "%s: code %s documented twice\n", spec, doc[k].code);
                CHECK(false);
            }
    }
    /* Codes unique within the daemon's own table. */
    for (size_t i = 0; i < n_table; i++)
        for (size_t j = i + 1; j < n_table; j++)
            CHECK(strcmp(table[i].code, table[j].code) != 0);
}

int main(void)
{
    check_rows("spec/api.md", issuer_errors, IE_COUNT, true);
#ifdef ECRED_HAVE_VERIFIER_APIERR
    check_rows("spec/verifier.md", verifier_errors, VE_COUNT, true);
#endif
    return check_finish();
}
