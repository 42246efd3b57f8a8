/* cli/cmd_replay: `topiary replay --session DIR (--verify | --out NEWDIR)`: sessions/replay re-runs the
 * journal; this file prints each command and the verdict. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/replay.h"

static void on_entry(void *ctx, const ReplayResult *res, const JournalEntry *e, TpStatus st, const char *text)
{
    (void)st;
    const char *dir = ctx;
    if (!e) {
        if (res->torn)
            fprintf(stderr, "topiary: replay: warning: the journal's last line was torn (a crash while appending); ignored\n");
        if (res->short_journal)
            fprintf(stderr, "topiary: replay: warning: the journal is shorter than the last save recorded (lines are "
                            "missing)\n");
        if (res->uncommitted)
            fprintf(stderr, "topiary: replay: note: %d journal line(s) beyond the last save (never saved); ignored\n",
                    res->uncommitted);
        printf("replaying %d command(s) from the initial state of %s\n", res->n_commands, dir);
        return;
    }
    printf("  %ld> %s: %s\n", e->step, e->command, text);
}

int cmd_replay(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    int verify = 0;
    const CliOption opts[] = {{"session", required_argument, .value = &dir}, {"out", required_argument, .value = &out},
                              {"verify", no_argument, .flag = &verify}, {NULL}};
    int rc = cli_parse_options("replay", argc, argv, opts);
    if (rc) return rc;
    if (!dir || (!verify && !out)) return cli_usage("replay: usage: topiary replay --session DIR (--verify | --out NEWDIR)");
    ReplayResult res;
    TpStatus st = replay_run(dir, out, verify, on_entry, (void *)dir, &res);
    if (st != TP_OK) /* a failing journal entry was printed with its reason already */
        return res.command_failed ? exitcode_from_status(st) : cli_fail(NULL, st);
    rc = EXIT_CODE_OK;
    if (verify) {
        if (res.verified) {
            printf("verify: ok: the replayed session equals %s bit for bit (step %ld)\n", dir, res.step);
        } else {
            printf("verify: MISMATCH: %s\n", res.mismatch);
            rc = EXIT_CODE_RUNTIME;
        }
    }
    if (out && !rc) printf("replayed session written to %s\n", out);
    return rc;
}
