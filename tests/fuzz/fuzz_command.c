/* tests/fuzz/fuzz_command: libFuzzer target for the command parser (sessions/command).  Any line
 * must parse or be refused with TP_EINVAL/TP_ERANGE and a "column N: " message; a parsed command
 * has a known verb, its arguments inside their buffers, and help for its verb. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seed.h"
#include "sessions/command.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const seeds[] = {
        "train steps=10 # warm-up", "eval split=test", "grow ratio=0.1 params=\"l*.w_hh\" init=grad",
        "prune ratio=0.5 pattern=row scope=global", "resize layer=0 hidden=64", "set lr=0.5 clip=0.25",
        "schedule agp from=0 to=0.9 start=100 end=2000 every=50", "schedule gp grow=0.1 prune=0.2 every=100 tolerance=0.5",
        "profile backend=cpu sizes=64:512:64", "recommend layer=1 budget_us=250", "state tau=0.05",
        "snapshot name=best", "restore name=best", "export out=\"/tmp/dir x\"", "help prune", "undo", "quit"};
    const char *dir = fuzz_corpus_dir(*argc, *argv);
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed-%02zu", i);
        fuzz_write_seed(dir, name, seeds[i], strlen(seeds[i]));
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (!line) return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    Command c;
    TpStatus st = command_parse(line, &c);
    if (st == TP_OK) {
        if (!c.empty) {
            if (!command_help(c.verb)) abort(); /* a parsed verb is in the table */
            if (c.n_args < 0 || c.n_args > COMMAND_MAX_ARGS) abort();
            for (int i = 0; i < c.n_args; i++)
                if (strlen(c.args[i].value) >= sizeof c.args[i].value || c.args[i].column < 1) abort();
        }
    } else {
        if (st != TP_EINVAL && st != TP_ERANGE) abort();
        if (strncmp(err_msg(), "column ", 7) != 0) abort();
    }
    free(line);
    return 0;
}
