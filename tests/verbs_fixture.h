/* tests/verbs_fixture: a corpus, new tiny sessions to run verbs on, and a copy of the state that
 * undo/restore must bring back bit for bit (see verbs_fixture.c). */
#ifndef TP_TEST_VERBS_FIXTURE_H
#define TP_TEST_VERBS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "sessions/command.h"
#include "sessions/journal.h"
#include "sessions/session.h"

extern char *vf_root;        /* temp dir of the group                 */
extern char vf_data[1024];   /* the corpus directory                  */
extern int vf_seq;           /* sessions made so far (their dir names) */

/* cmocka group setup/teardown: the corpus. */
int vf_group_setup(void **state);
int vf_group_teardown(void **state);

/* A new session in its own directory: word level, 1 x LSTM(16), Adam, dropout, bptt 5, batch 4. */
void vf_new_session(Session *s);
TpStatus vf_run(Session *s, const char *line, CommandResult *r);   /* r may be NULL */
void vf_run_ok(Session *s, const char *line);                      /* fails the test on an error */

/* Everything that undo/restore must bring back, copied out of a session. */
typedef struct {
    size_t n;
    float *w, *m, *v, *h, *c;
    uint8_t *mask;
    size_t n_state;
    long step, opt_t, ep_tokens;
    int epoch;
    size_t window;
    double ep_nll;
    float lr;
    Rng rng;
} VfSaved;

void vf_save_state(const Session *s, VfSaved *o);
int vf_same_state(const Session *s, const VfSaved *o);
void vf_assert_same_state(const Session *s, const VfSaved *o);
void vf_free_state(VfSaved *o);

JournalEntry *vf_journal(const Session *s, int *n);   /* the journal, none torn */
int vf_count_undo(const Session *s);                  /* undo-* snapshots on disk */

#endif
