/* tests/export_fixture: a tiny word corpus, a trained and partly pruned session and its export,
 * made once per test group (see export_fixture.c). */
#ifndef TP_TEST_EXPORT_FIXTURE_H
#define TP_TEST_EXPORT_FIXTURE_H

#include <stddef.h>

#include "sessions/session.h"
#include "sessions/task.h"

extern char *ef_root;         /* temp dir holding everything below            */
extern char ef_data[1024];    /* the corpus directory                         */
extern char ef_sess[1024];    /* the trained, pruned LSTM session             */
extern char ef_export[1024];  /* its export, copied by the refusal tests      */

/* cmocka group setup/teardown: the corpus, the session and its export. */
int ef_group_setup(void **state);
int ef_group_teardown(void **state);

void ef_tiny_task(Task *t, ModelCell cell);
void ef_path_in(char *buf, size_t n, const char *dir, const char *name);
/* Train a few steps and prune every third entry of the weight matrices (masks and exact zeros). */
void ef_make_session(Session *s, const char *dir, ModelCell cell);

#endif
