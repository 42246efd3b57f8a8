/* tests/command_forms: one valid line per form of every verb, with what the parser must make of it
 * (test_command parses them; test_command_verbs runs the ones of verbs not available yet). */
#include "command_forms.h"

#include <stddef.h>

/* At least one valid line per verb of the table; a verb added to the table without a line here
 * fails test_every_verb_has_a_valid_form. */
const struct CommandForm VALID[] = {
    {"train steps=10", "train", "", 1, "steps", "10"},
    {"train epochs=2", "train", "", 1, "epochs", "2"},
    {"train", "train", "", 0, NULL, NULL},
    {"train limit=7", "train", "", 1, "limit", "7"},
    {"train steps=5 undo=0", "train", "", 2, "steps", "5"},
    {"  train\tsteps=3   # a comment", "train", "", 1, "steps", "3"},
    {"train steps=3# comment right after", "train", "", 1, "steps", "3"},
    {"train steps=1e3", "train", "", 1, "steps", "1e3"},
    {"train steps=5\r", "train", "", 1, "steps", "5"},
    {"eval", "eval", "", 0, NULL, NULL},
    {"eval split=test", "eval", "", 1, "split", "test"},
    {"eval split=\"valid\"", "eval", "", 1, "split", "valid"},
    {"grow ratio=0.1 params=l*.w_hh init=grad batches=4 scope=global", "grow", "", 5, "ratio", "0.1"},
    {"prune ratio=0.5", "prune", "", 1, "ratio", "0.5"},
    {"prune threshold=0.01 params=\"l0.*\" pattern=row", "prune", "", 3, "threshold", "0.01"},
    {"prune ih=0.3 hh=0.6 scope=matrix", "prune", "", 3, "ih", "0.3"},
    {"resize layer=0 hidden=64", "resize", "", 2, "layer", "0"},
    {"set lr=0.5 clip=0.25", "set", "", 2, "lr", "0.5"},
    {"set epochs=3 threads=1 log_every=10 eval_batch=4", "set", "", 4, "epochs", "3"},
    {"schedule none", "schedule", "none", 0, NULL, NULL},
    {"schedule agp from=0 to=0.9 start=100 end=2000 every=50", "schedule", "agp", 5, "from", "0"},
    {"schedule gp grow=0.1 prune=0.2 every=100 tolerance=0.5", "schedule", "gp", 4, "grow", "0.1"},
    {"profile", "profile", "", 0, NULL, NULL},
    {"profile backend=cpu sizes=64:512:64 threads=2 batch=20 seq=35", "profile", "", 5, "backend", "cpu"},
    {"recommend layer=1 budget_us=250.5", "recommend", "", 2, "layer", "1"},
    {"recommend", "recommend", "", 0, NULL, NULL},
    {"recommend layer=0 apply=1", "recommend", "", 2, "layer", "0"},
    {"dse rows=16,32 cols=16:64:16 budget_us=50", "dse", "", 3, "rows", "16,32"},
    {"dse", "dse", "", 0, NULL, NULL},
    {"state tau=0.05", "state", "", 1, "tau", "0.05"},
    {"snapshot", "snapshot", "", 0, NULL, NULL},
    {"snapshot name=best-1_a", "snapshot", "", 1, "name", "best-1_a"},
    {"snapshot name=\"a b # not a comment\"", "snapshot", "", 1, "name", "a b # not a comment"},
    {"snapshots", "snapshots", "", 0, NULL, NULL},
    {"undo", "undo", "", 0, NULL, NULL},
    {"restore name=best", "restore", "", 1, "name", "best"},
    {"export out=/tmp/x", "export", "", 1, "out", "/tmp/x"},
    {"export out=\"/tmp/dir with spaces\"", "export", "", 1, "out", "/tmp/dir with spaces"},
    {"plot chart=latency out=\"a b.png\"", "plot", "", 2, "chart", "latency"},
    {"save", "save", "", 0, NULL, NULL},
    {"plot chart=ppl", "plot", "", 1, "chart", "ppl"},
    {"plot chart=sparsity out=\"/tmp/a b.svg\"", "plot", "", 2, "chart", "sparsity"},
    {"status", "status", "", 0, NULL, NULL},
    {"help", "help", "", 0, NULL, NULL},
    {"help prune", "help", "prune", 0, NULL, NULL},
    {"quit", "quit", "", 0, NULL, NULL},
    {"quit # bye", "quit", "", 0, NULL, NULL},
};
const int N_VALID = sizeof VALID / sizeof VALID[0];
