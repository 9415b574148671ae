/*
 * notify.h - the reminder outbox: reminders due for residents (endorsement,
 * expiry) pushed to the city's SMS/app-push gateway as a webhook, with
 * retries and exactly-once effect per reminder.
 *
 * Each reminder (credential, what is due, which day) has a stable key, the
 * SHA-256 of those three, so the same reminder found on every scan is one
 * outbox row (INSERT OR IGNORE on the key) and every delivery attempt carries
 * it as Idempotency-Key: a gateway that did its work but whose answer was
 * lost sees the retry's key again and does nothing twice. That is the only
 * way to get exactly-once effect over a network (at-least-once delivery +
 * an idempotent receiver); the outbox row makes the at-least-once durable
 * across restarts.
 *
 * The outbox is its own SQLite file (DATA/outbox.sqlite), not the registry:
 * it is this instance's delivery queue, and keeping it apart keeps
 * network-bound work out of the registry's write path. Several instances
 * may each send the same reminder; the key keeps the effect single.
 *
 * Must never: send without the key, mark a row delivered without a 2xx, or
 * retry a row more than NOTIFY_ATTEMPTS_MAX times.
 */
#ifndef ECRED_ISSUER_NOTIFY_H
#define ECRED_ISSUER_NOTIFY_H

#include <stdint.h>

#include "ecred/buf.h"
#include "registry.h"

#define NOTIFY_ATTEMPTS_MAX 12
#define NOTIFY_WINDOW_DAYS 60     /* reminders this many days ahead */
#define NOTIFY_BATCH 64           /* deliveries per round */
#define NOTIFY_BACKOFF_MAX_S 3600

typedef struct notify notify;

typedef struct notify_config {
    const char *webhook;          /* http(s) URL */
    const char *outbox_path;      /* SQLite file */
    unsigned interval_s;          /* between rounds; 0: 300 */
    reg_pool *pool;               /* registry to scan for reminders */
} notify_config;

typedef struct notify_stats {
    uint64_t queued, delivered, pending, failed_attempts, given_up;
} notify_stats;

/* Open the outbox and start the delivery thread. */
ecred_err notify_start(const notify_config *cfg, notify **out);
/* Stop the thread (finishing the request in flight) and close the outbox. */
void notify_stop(notify *n);
/* One round now, in the caller's thread: scan reminders into the outbox,
 * then deliver what is due (tests; the thread runs the same). */
ecred_err notify_round(notify *n, int64_t now);
ecred_err notify_get_stats(notify *n, notify_stats *out);

#endif
