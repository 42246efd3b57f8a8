/* tests/session_fixture: a tiny trained session and the tools of the refusal tests (see .c). */
#ifndef TP_TEST_SESSION_FIXTURE_H
#define TP_TEST_SESSION_FIXTURE_H

#include <stddef.h>

#include <cJSON.h>

#include "sessions/session.h"
#include "sessions/task.h"

extern char *sf_root;         /* temp dir holding everything below            */
extern char sf_data[1024];    /* the corpus directory                         */
extern char sf_golden[1024];  /* a saved session that the refusal tests copy   */

/* cmocka group setup/teardown: corpus + golden session (2 layers, Adam, dropout 0.2, 7 steps). */
int sf_group_setup(void **state);
int sf_group_teardown(void **state);

void sf_tiny_task(Task *t, int n_layers, OptimKind optim, float dropout);
void sf_path_in(char *buf, size_t n, const char *dir, const char *name);
void sf_train_n(Session *s, int n, double *losses);

/* The files of a session and their bytes, to check that a refused open changed nothing. */
extern const char *const SF_FILES[];
enum { SF_N_FILES = 4 };
typedef struct {
    void *data[SF_N_FILES];
    size_t n[SF_N_FILES];
    int n_entries;
} SfSnapshot;
void sf_snapshot_take(SfSnapshot *s, const char *dir);
void sf_snapshot_check_free(SfSnapshot *s, const char *dir);

/* A fresh copy of the golden session in <root>/<tag>. */
void sf_copy_golden(char *dir, size_t n, const char *tag);
/* session_open must fail, name `file` (and `also`, if given) in its message, and change nothing. */
void sf_expect_refused(const char *dir, const char *file, const char *also);
cJSON *sf_manifest_load(const char *dir);
void sf_manifest_store(const char *dir, cJSON *j);   /* writes and deletes j */
/* Make the manifest's files.<name> entry agree with the file as it now is. */
void sf_manifest_update_file(const char *dir, const char *name);
void sf_read_whole(const char *dir, const char *name, void **buf, size_t *n);
void sf_write_whole(const char *dir, const char *name, const void *buf, size_t n);
/* Rewrite model.safetensors with tensor `victim` changed (mode 0: one column fewer, 1: another
 * dtype, 2: first byte 2 (a bad mask value), 3: flattened), and fix the manifest's bytes/crc32 so
 * that only the tensor checks can catch it. */
void sf_rewrite_model(const char *dir, const char *victim, int mode);

#endif
