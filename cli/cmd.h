/* cli/cmd: the subcommands of `topiary` (DESIGN 2.1), one file each (cli/cmd_NAME.c), dispatched by
 * cli/main.c.  Each takes its own argv (argv[0] is the subcommand's name, or the program for the
 * default `tui`), parses it with cli/cli's getopt_long parser, calls sessions/ and prints; each
 * returns the process exit code (base/exitcode). */
#ifndef TP_CMD_H
#define TP_CMD_H

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_tui(int argc, char **argv);
int cmd_dse(int argc, char **argv);
int cmd_learn(int argc, char **argv);     /* cli/cmd_learn.c */
int cmd_explain(int argc, char **argv);
int cmd_compress(int argc, char **argv);
/* Usage of `topiary compress` (cmd_compress.c), for `topiary help compress`. */
const char *cmd_compress_usage(void);

/* Usage of `topiary learn` and `topiary explain` (cmd_learn.c), for `topiary help learn`. */
const char *cmd_learn_usage(void);
/* Usage of `topiary profile` (cmd_profile.c), for `topiary help profile`. */
const char *cmd_profile_usage(void);
/* Usage of `topiary dse` (cmd_dse.c), for `topiary help dse`. */
const char *cmd_dse_usage(void);

#endif
