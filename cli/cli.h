/* cli/cli: what every subcommand of the command line shares: the option parser (libc getopt_long,
 * so `--hidden=200` and `--hidden 200` both work, abbreviations as GNU tools allow), the task options
 * of DESIGN 2.1 as long options, the one-line error report on stderr with the exit codes of
 * base/exitcode (0 ok, 1 runtime failure, 2 bad usage or bad input), opening or creating a session,
 * and the text of a progress bar. */
#ifndef TP_CLI_H
#define TP_CLI_H

#include <getopt.h>
#include <stddef.h>

#include "base/exitcode.h"
#include "base/status.h"
#include "sessions/session.h"
#include "sessions/writer.h"

/* "topiary: [who: ]<message>" on stderr; returns exitcode_from_status(s).  who may be NULL. */
int cli_fail(const char *who, TpStatus s);
/* "topiary: <message>" and "(try 'topiary help')" on stderr; returns EXIT_CODE_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One option of a subcommand: its long name (without "--"), whether it takes a value
 * (no_argument / required_argument of getopt.h), and either where cli_next() stores it (value: the
 * option's value for required_argument; flag: set to 1 for no_argument), cli_next() then going on to
 * the next argument, or, with no target, the id cli_next() returns for it (> 1). */
typedef struct {
    const char *name;
    int has_arg;
    int id;
    const char **value;
    int *flag;
} CliOption;

enum {
    CLI_END = 0,       /* no more arguments                                              */
    CLI_ERROR = -1,    /* reported on stderr; the exit code is in CliParser.rc           */
    CLI_ARG = 1,       /* a positional argument (value)                                  */
    CLI_STORED = 999,  /* (internal) an option stored through its CliOption target        */
    CLI_TASK = 1000,   /* a task option, already applied to the Task (name says which)   */
};
#define CLI_MAX_OPTIONS 64

typedef struct {
    const char *cmd;            /* subcommand, for messages ("train")                         */
    const char *hint;           /* unknown options: "(see HINT)" instead of "(try 'topiary help')" */
    int argc;
    char **argv;                /* argv[0] is the subcommand; options from argv[1]            */
    const CliOption *opts;      /* terminated by {NULL}                                        */
    Task *task;                 /* the task options go here; NULL: they are unknown options    */
    struct option lo[CLI_MAX_OPTIONS + 1];
    char name[48];              /* "--name" of the option just returned (canonical spelling)   */
    const char *value;          /* its value, or the positional argument; NULL without         */
    int rc;                     /* exit code after CLI_ERROR                                   */
    int rest;                   /* arguments after "--": index of the next one, 0 before       */
} CliParser;

/* task: NULL, or where the task options go, first set to the defaults (task_defaults). */
void cli_parser_init(CliParser *p, const char *cmd, int argc, char **argv, const CliOption *opts, Task *task);
/* The next option's id (p->name, p->value), CLI_ARG, CLI_TASK, CLI_END or CLI_ERROR (message printed:
 * "unknown option '--x'", "option --session needs a value", "option --json takes no value", or a task
 * option's bad value). */
int cli_next(CliParser *p);

/* All the arguments of a subcommand whose options all have targets, that takes no positional argument:
 * 0, or the exit code after the message ("CMD: unknown option 'x'" for a positional argument). */
int cli_parse_all(CliParser *p);
/* cli_parser_init + cli_parse_all in one call, for a subcommand with only stored options. */
int cli_parse_options(const char *cmd, int argc, char **argv, const CliOption *opts);
/* The task options' long names (without "--"), NULL-terminated. */
const char *const *cli_task_options(void);

/* Open dir, or create it from the task when it is new, as its one writer (sessions/writer: w holds the
 * session's lock until writer_close, after the last save).  task_given: a task option was given (only
 * allowed for a new session, or --data for an existing one).  verb names the subcommand in messages
 * and the lock ("topiary <verb>").  Returns 0 or the exit code after the reason was printed (2 when
 * another process holds the session). */
int cli_open_or_create(Session *s, SessionWriter *w, const char *dir, const Task *task, int task_given, const char *verb);
/* --backend NAME of train, run and tui (sessions/runtime): before anything is opened
 * (cli_backend_check: 0, or 2 after printing why CUDA is not usable), then on the opened session
 * (cli_backend_apply: 0, or 2 after printing why; prints what auto chose).  NULL name: nothing. */
int cli_backend_check(const char *name);
int cli_backend_apply(Session *s, const char *name);
/* The note of a writer that took over a dead holder's lock, on stderr (nothing when there is none). */
void cli_writer_note(const SessionWriter *w, const char *verb);

/* "[#####.....]" of `width` cells filled to frac (0..1); buf holds width + 3 bytes. */
void cli_bar(char *buf, int width, double frac);
/* "42s", "3m05s", "1h02m" or "--" for a negative or non-finite duration. */
void cli_duration(char *buf, size_t n, double seconds);

/* The subcommands' usage summary (main.c), shown by `topiary help` and a TUI without a terminal. */
extern const char CLI_SUBCOMMANDS[];

#endif
