/*
 * h_reminders.c - GET /v1/reminders?within=DAYS (officer): credentials whose
 * expiry (办证提醒) or next endorsement (签注提醒) falls within the next DAYS
 * days, China Standard Time, today included, in pages of at most 1000
 * (?limit=, ?after= the previous page's next): a city has tens of thousands
 * due on one day.
 *
 * Must never: list credentials that are already INVALID.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/cst.h"
#include "handlers.h"
#include "lifecycle.h"

#define REMINDER_DAYS_MAX 366

/* A page's cursor: "DATE~ID~DUE" of its last row, given back as ?after= for
 * the next page. */
static void h_reminder_cursor(const reg_reminder *r, char out[64])
{
    char d[11];
    ecred_date_format(r->day, d);
    snprintf(out, 64, "%s~%s~%s", d, r->credential_id, r->due);
}

/* Parse a cursor this handler gave; false for anything else. */
static bool h_reminder_after(const char *s, reg_reminder *after)
{
    memset(after, 0, sizeof *after);
    const char *t1 = strchr(s, '~');
    const char *t2 = t1 ? strchr(t1 + 1, '~') : NULL;
    if (!t1 || !t2 || ecred_date_parse(s, (size_t)(t1 - s), &after->day) != ECRED_OK ||
        (size_t)(t2 - t1 - 1) != REG_ID_LEN)
        return false;
    memcpy(after->credential_id, t1 + 1, REG_ID_LEN);
    if (!lc_id_ok(after->credential_id) || (strcmp(t2 + 1, "expiry") != 0 && strcmp(t2 + 1, "endorsement") != 0))
        return false;
    snprintf(after->due, sizeof after->due, "%s", t2 + 1);
    return true;
}

/* A whole number 0..max from a query value of at most 4 digits; -1 otherwise. */
static long h_reminder_num(const char *w, long max)
{
    if (!w || !*w || strlen(w) > 4)
        return -1;
    long v = 0;
    for (const char *p = w; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v <= max ? v : -1;
}

void h_reminders(issuerd *d, reg_db *db, svc_req *r)
{
    (void)d;
    long days = h_reminder_num(svc_query(r, "within"), REMINDER_DAYS_MAX);
    if (days < 0) {
        ireply_error(r, IE_INVALID_FIELD, "within: must be a whole number of days, 0..366");
        return;
    }
    const char *lq = svc_query(r, "limit");
    long limit = lq ? h_reminder_num(lq, REG_REMINDERS_PAGE_MAX) : REG_REMINDERS_PAGE_MAX;
    if (limit < 1) {
        ireply_error(r, IE_INVALID_FIELD, "limit: must be a whole number, 1..1000");
        return;
    }
    const char *aq = svc_query(r, "after");
    reg_reminder after;
    if (aq && !h_reminder_after(aq, &after)) {
        ireply_error(r, IE_INVALID_FIELD, "after: not a cursor of this list (use the previous page's next)");
        return;
    }
    int32_t today = ecred_cst_day_of((int64_t)time(NULL));
    reg_reminder *page = calloc((size_t)limit, sizeof *page);
    json_t *arr = json_array();
    size_t got = 0;
    ecred_err e = page && arr ? reg_reminders_page(db, today, today + (int32_t)days, NULL, aq ? &after : NULL,
                                                   page, (size_t)limit, &got)
                              : ECRED_ERR_NOMEM;
    for (size_t i = 0; !e && i < got; i++) {
        char ds[11];
        ecred_date_format(page[i].day, ds);
        json_t *item = json_pack("{s:s, s:s, s:s}", "credential_id", page[i].credential_id, "due", page[i].due,
                                 "date", ds);
        if (!item || json_array_append_new(arr, item) != 0)
            e = ECRED_ERR_NOMEM;
    }
    if (e) {
        free(page);
        json_decref(arr);
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return;
    }
    /* A full page may have more after it; a short one is the last. */
    char next[64] = "";
    if (got == (size_t)limit)
        h_reminder_cursor(&page[got - 1], next);
    free(page);
    char from[11], to[11];
    ecred_date_format(today, from);
    ecred_date_format(today + (int32_t)days, to);
    svc_reply_json(r, 200, json_pack("{s:s, s:s, s:o, s:o}", "from", from, "to", to, "reminders", arr, "next",
                                     next[0] ? json_string(next) : json_null()));
}
