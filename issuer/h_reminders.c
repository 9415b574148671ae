/*
 * h_reminders.c - GET /v1/reminders?within=DAYS (officer): credentials whose
 * expiry (办证提醒) or next endorsement (签注提醒) falls within the next DAYS
 * days, China Standard Time, today included.
 *
 * Must never: list credentials that are already INVALID.
 */
#include <string.h>
#include <time.h>

#include "ecred/cst.h"
#include "handlers.h"

#define REMINDER_DAYS_MAX 366

/* reg_reminders callback: one array item. */
static ecred_err h_reminder_add(void *ctx, const char *id, const char *due, int32_t day)
{
    char s[11];
    ecred_date_format(day, s);
    json_t *item = json_pack("{s:s, s:s, s:s}", "credential_id", id, "due", due, "date", s);
    if (!item || json_array_append_new(ctx, item) != 0)
        return ECRED_ERR_NOMEM;
    return ECRED_OK;
}

void h_reminders(issuerd *d, reg_db *db, svc_req *r)
{
    (void)d;
    const char *w = svc_query(r, "within");
    long days = -1;
    if (w && *w && strlen(w) <= 3) {
        days = 0;
        for (const char *p = w; *p; p++) {
            if (*p < '0' || *p > '9') {
                days = -1;
                break;
            }
            days = days * 10 + (*p - '0');
        }
    }
    if (days < 0 || days > REMINDER_DAYS_MAX) {
        ireply_error(r, IE_INVALID_FIELD, "within: must be a whole number of days, 0..366");
        return;
    }
    int32_t today = ecred_cst_day_of((int64_t)time(NULL));
    json_t *arr = json_array();
    if (!arr || reg_reminders(db, today, today + (int32_t)days, h_reminder_add, arr) != ECRED_OK) {
        json_decref(arr);
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return;
    }
    char from[11], to[11];
    ecred_date_format(today, from);
    ecred_date_format(today + (int32_t)days, to);
    svc_reply_json(r, 200, json_pack("{s:s, s:s, s:o}", "from", from, "to", to, "reminders", arr));
}
