/*
 * audit_cmd.h - `ecred-verify audit`: an outsider's check of an issuer's
 * audit log (spec/audit.md) from its public routes alone.
 */
#ifndef ECRED_VERIFIER_AUDIT_CMD_H
#define ECRED_VERIFIER_AUDIT_CMD_H

/* argv[0] is "audit". Returns the exit code (0 consistent, 6 a proof or
 * signature fails, 1 network or file error, 2 usage). Prints its findings. */
int cmd_audit(int argc, char **argv);

#endif
