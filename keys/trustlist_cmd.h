/*
 * trustlist_cmd.h - `ecred-keys trustlist sign|show` (spec/trustlist.md
 * section 5): make a signed trust list from a JSON description, or verify one
 * and print it as JSON.
 */
#ifndef ECRED_KEYS_TRUSTLIST_CMD_H
#define ECRED_KEYS_TRUSTLIST_CMD_H

/* Run the subcommand. argv[0] is the word "trustlist" (main passes argc - 1,
 * argv + 1); argv[1] is "sign" or "show". Prints its own errors; returns the
 * exit code: 0 ok, 2 usage or input error (the message names the field), 1
 * I/O, otherwise ecred_err_exit_code of the verification result. */
int keys_cmd_trustlist(int argc, char **argv);

/* `trustlist rotate` (trustlist_rotate.c): argv[0] is "rotate", options follow. */
int keys_cmd_trustlist_rotate(int argc, char **argv);

#endif
