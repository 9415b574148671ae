/*
 * h_status_index.c - GET /.well-known/ecred-status-lists (public): the URIs of
 * every status list this issuer serves, {"lists": ["BASE/status/1", ...]},
 * so a verifier can sync them all without seeing any credential.
 *
 * Each URI is the one the list was opened with (the registry records it).
 * List ids are the registry's row ids, which start at 1 and have no gaps
 * (lists are never deleted), so the walk stops at the first missing id.
 * Must never: reveal anything about credentials (only list URIs).
 */
#include <string.h>

#include "ecred/slist.h"
#include "handlers.h"

#define STATUS_INDEX_MAX 1024 /* lists named in one answer (the verifier's cap too) */

void h_status_index(issuerd *d, reg_db *db, svc_req *r)
{
    json_t *lists = json_array();
    if (!lists) {
        svc_reply_json(r, 500, NULL);
        return;
    }
    for (int64_t id = 1; id <= STATUS_INDEX_MAX; id++) {
        reg_list_info info;
        ecred_err e = reg_list_info_get(db, id, &info);
        if (e == ECRED_ERR_KEY_UNKNOWN)
            break;
        char uri[ECRED_SLIST_URI_MAX + 1];
        /* The URI the list was opened with (issue 17 trap 2), never one
         * rebuilt from the URL this daemon runs with now. */
        if (!e && info.uri[0] && strlen(info.uri) < sizeof uri)
            memcpy(uri, info.uri, strlen(info.uri) + 1);
        else if (!e)
            e = statuspub_uri(d->pub, id, uri, sizeof uri);
        if (e) {
            json_decref(lists);
            ireply_error(r, IE_REGISTRY_UNAVAILABLE, ecred_err_name(e));
            return;
        }
        json_array_append_new(lists, json_string(uri));
    }
    svc_reply_json(r, 200, json_pack("{s:o}", "lists", lists));
    /* A new list appears when one fills up: revalidate every time. */
    r->cache_control = "no-cache";
}
