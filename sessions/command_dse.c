/* sessions/command_dse: the `dse` verb (design-space exploration of the accelerator model for the
 * session's model as it is; sessions/explore does the work).  Read-only: never journaled, no undo
 * point; out= and plot= write files outside the session, like `plot` and `export`. */
#include <stdlib.h>
#include <string.h>

#include "sessions/command.h"
#include "sessions/explore.h"

TpStatus command_verb_dse(Session *s, const Command *c, CommandResult *r)
{
    ExploreRequest q;
    explore_request_defaults(&q);
    for (int i = 0; i < c->n_args; i++) {
        int known;
        TpStatus st = explore_request_set(&q, c->args[i].key, c->args[i].value, &known);
        if (st != TP_OK) return err_wrap(st, "dse: ");
        if (!known) return err_set(TP_EINVAL, "dse: unknown key '%s'", c->args[i].key);
    }
    char *text = NULL;
    TpStatus st = explore_session(s, &q, &text, r->summary, sizeof r->summary);
    if (st != TP_OK) return err_wrap(st, "dse: ");
    /* The result holds 8 KiB: cut a long table at a line, saying what was left out. */
    size_t room = sizeof r->text - strlen(r->text) - 100, len = strlen(text);
    if (len > room) {
        size_t cut = room;
        while (cut > 0 && text[cut - 1] != '\n') cut--;
        int lines = 0;
        for (size_t i = cut; i < len; i++) lines += text[i] == '\n';
        text[cut] = '\0';
        command_say(r, "%s... %d more line(s): out=FILE.tsv keeps every design\n", text, lines);
    } else {
        command_say(r, "%s", text);
    }
    free(text);
    return TP_OK;
}
