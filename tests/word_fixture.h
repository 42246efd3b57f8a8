/* tests/word_fixture: a tiny word-level task in a temp directory and sessions created on it, shared
 * by the tests of the session workflows (evaluate, runtime, recommend, replay). */
#ifndef TP_WORD_FIXTURE_H
#define TP_WORD_FIXTURE_H

#include <stddef.h>

#include "sessions/session.h"

extern char *wf_root;  /* the temp directory of the group */

/* Make the temp directory "topiary-TAG-*" with a 120/20/20-line PTB-style corpus in data/; 0 or -1. */
int wf_setup(const char *tag);
void wf_teardown(void);
/* A new session in a fresh subdirectory (name in dir): 1 layer of `hidden` units, embed 8, bptt 5,
 * batch 4, 2 epochs, Adam 0.01, dropout 0.2, seed 11, 1 thread. */
void wf_new_session(Session *s, char *dir, size_t n, int hidden);

#endif
