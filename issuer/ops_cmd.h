/*
 * ops_cmd.h - ecred-issuerd's operator commands besides serving: init,
 * backup, restore, upgrade and token add|list|remove (ops_cmd.c).
 */
#ifndef ECRED_ISSUER_OPS_CMD_H
#define ECRED_ISSUER_OPS_CMD_H

#include <stdbool.h>

/* Run the command argv[1] names; *handled false when it is not one of ours
 * (then the daemon serves). Returns the exit code. */
int ops_cmd_run(int argc, char **argv, bool *handled);

/* Take the data directory's lock (DIR/issuerd.lock, flock): the daemon
 * holds it while it runs, restore refuses while anyone does. Returns the
 * descriptor (kept open for the life of the process) or -1 with a message
 * printed when another process holds it. */
int ops_lock_data(const char *dir, const char *who);

#endif
