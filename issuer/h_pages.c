/*
 * h_pages.c - GET / and GET /app/... (public): the issuer's pages, static
 * files embedded at build time (issuer/web/) or installed (--assets DIR),
 * served by the shared layer with their content type, ETag and a strict
 * Content-Security-Policy. The pages hold no logic of their own beyond
 * calling the JSON API.
 *
 * Must never: serve a file that is not in the asset table.
 */
#include "handlers.h"

void h_asset(issuerd *d, reg_db *db, svc_req *r)
{
    (void)db;
    svc_assets_serve(d->assets, r);
}
