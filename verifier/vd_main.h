/*
 * vd_main.h - the `key` subcommands of ecred-verifierd (vd_keycmd.c), called
 * by main() in vd_main.c. Each takes the arguments after "key add|list|remove"
 * and returns the process exit code (0 ok, 1 failure, 2 usage).
 */
#ifndef ECRED_VERIFIER_VD_MAIN_H
#define ECRED_VERIFIER_VD_MAIN_H

int vd_cmd_key_add(int argc, char **argv);
int vd_cmd_key_list(int argc, char **argv);
int vd_cmd_key_remove(int argc, char **argv);

#endif
