/* tests/word_fixture: see word_fixture.h. */
#include "word_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>

#include "base/fsutil.h"
#include "helpers.h"
#include "sessions/session_new.h"

char *wf_root;
static char data_dir[1024];
static int seq;

int wf_setup(const char *tag)
{
    wf_root = th_tempdir(tag);
    if (!wf_root) return -1;
    snprintf(data_dir, sizeof data_dir, "%s/data", wf_root);
    if (fsutil_mkdir_p(data_dir) != TP_OK) return -1;
    if (th_write_words(data_dir, "ptb.train.txt", 120, 1, 18, 6) || th_write_words(data_dir, "ptb.valid.txt", 20, 2, 18, 6) ||
        th_write_words(data_dir, "ptb.test.txt", 20, 3, 18, 6))
        return -1;
    return 0;
}

void wf_teardown(void)
{
    th_rmtree(wf_root);
    free(wf_root);
    wf_root = NULL;
}

void wf_new_session(Session *s, char *dir, size_t n, int hidden)
{
    Task t;
    task_defaults(&t);
    snprintf(t.data, sizeof t.data, "%s", data_dir);
    t.level = CORPUS_WORD;
    t.level_set = 1;
    t.model.n_layers = 1;
    t.model.hidden[0] = hidden;
    t.model.n_embed = 8;
    t.model.dropout = 0.2f;
    t.train.bptt = 5;
    t.train.batch = 4;
    t.train.epochs = 2;
    t.train.optim = OPTIM_ADAM;
    t.train.lr = 0.01f;
    t.threads = 1;
    t.seed = 11;
    t.log_every = 1000;
    snprintf(dir, n, "%s/s%d", wf_root, seq++);
    if (session_create(s, dir, &t) != TP_OK) fail_msg("session_create: %s", err_msg());
}
