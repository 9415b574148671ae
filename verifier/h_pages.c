/*
 * h_pages.c - GET / and GET /web/... (public): the verifier's landing page,
 * static files embedded at build time from verifier/web/, served by the
 * shared layer with their content type, ETag and a strict
 * Content-Security-Policy. The pages hold no logic beyond calling the API.
 *
 * Must never: serve a file that is not in the asset table.
 */
#include "handlers.h"

void h_page(vd *d, svc_req *r)
{
    svc_assets_serve(d->assets, r);
}
