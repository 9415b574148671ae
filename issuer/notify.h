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
 * The outbox is a table of the registry, shared by every issuer
 * instance on it: each instance scans (the same rows, INSERT-if-absent on
 * the key) and delivers, but a row is delivered by one instance at a time:
 * an instance claims a few due rows with a lease (owner, lease_until) and
 * only the lease holder sends them. A holder that crashes (kill -9) keeps
 * nothing: its lease runs out and another instance claims the row, with the
 * same key, so a request that did reach the gateway before the crash is
 * deduplicated there. A delivery starts only while its lease has at least
 * the webhook timeout left, so the lease holder never sends after losing
 * the row. Clocks of the instances must agree to well under the lease
 * (NTP); the lease is at least NOTIFY_LEASE_MIN_S.
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
#define NOTIFY_BATCH 64           /* rows claimed at once at most */
#define NOTIFY_ROUND_MAX 1024     /* deliveries per round at most */
#define NOTIFY_BACKOFF_MAX_S 3600
#define NOTIFY_TIMEOUT_S 5        /* one webhook request, connect to answer */
#define NOTIFY_LEASE_DEFAULT_S 60
/* The lease must outlast one request with room to record it. */
#define NOTIFY_LEASE_MIN_S (2 * NOTIFY_TIMEOUT_S)

typedef struct notify notify;

typedef struct notify_config {
    const char *webhook;          /* http(s) URL */
    unsigned interval_s;          /* between rounds; 0: 300 */
    unsigned lease_s;             /* a claim's lease; 0: NOTIFY_LEASE_DEFAULT_S */
    reg_pool *pool;               /* registry: reminders and the outbox table */
} notify_config;

typedef struct notify_stats {
    uint64_t queued, delivered, pending, failed_attempts, given_up, leased;
} notify_stats;

/* Check cfg and start the delivery thread. ECRED_ERR_INPUT for a webhook
 * that is not an http(s) URL or a lease below NOTIFY_LEASE_MIN_S. */
ecred_err notify_start(const notify_config *cfg, notify **out);
/* Stop the thread (finishing the request in flight; rows still claimed are
 * given back). */
void notify_stop(notify *n);
/* This instance's lease owner name ("host:pid:random"): tests, logs. */
const char *notify_owner(const notify *n);
/* One round now, in the caller's thread: scan reminders into the outbox,
 * then deliver what is due (tests; the thread runs the same). */
ecred_err notify_round(notify *n, int64_t now);
/* Counts over the whole outbox (every instance's rows). */
ecred_err notify_get_stats(notify *n, notify_stats *out);

#endif
