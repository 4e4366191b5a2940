/* The subcommands of `stele`; each parses its own arguments and returns an exit status:
 * 0 success, 1 the operation failed (or a check did not hold), 2 bad usage or bad input. */
#ifndef STELE_CMD_COMMANDS_H
#define STELE_CMD_COMMANDS_H

#include <stdio.h>

#define EXIT_USAGE 2

int cmd_build(int argc, char **argv);
void cmd_build_help(FILE *f);
int cmd_verity(int argc, char **argv);
void cmd_verity_help(FILE *f);
int cmd_keygen(int argc, char **argv);
void cmd_keygen_help(FILE *f);
int cmd_run(int argc, char **argv);
void cmd_run_help(FILE *f);
int cmd_state(int argc, char **argv);
void cmd_state_help(FILE *f);
int cmd_verify(int argc, char **argv);
void cmd_verify_help(FILE *f);
int cmd_provision(int argc, char **argv);
void cmd_provision_help(FILE *f);
int cmd_repo(int argc, char **argv);
void cmd_repo_help(FILE *f);
int cmd_publish(int argc, char **argv);
void cmd_publish_help(FILE *f);
int cmd_diff(int argc, char **argv);
void cmd_diff_help(FILE *f);

#endif
