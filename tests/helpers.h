/* tests/helpers: shared test utilities: temp directories, random fills, the shared-data location. */
#ifndef TP_TEST_HELPERS_H
#define TP_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "engine/rng.h"

/* mkdtemp under $TMPDIR or /tmp; returns a malloc'd path. */
char *th_tempdir(const char *tag);
/* rm -rf of a directory made by th_tempdir. */
void th_rmtree(const char *path);
void th_fill_uniform(float *x, size_t n, float lo, float hi, Rng *r);
/* max |a - b| / max(max |b|, floor) over n values: how far a is from the reference b */
double th_max_rel_diff(const float *a, const float *b, size_t n, double floor);
/* Path of ../shared/data/<sub> if it exists (honours $TOPIARY_SHARED), else NULL (static buffer). */
const char *th_shared_data(const char *sub);
/* Write DIR/NAME: n_lines lines of 3..3+span-1 words drawn by an LCG from the first n_words (<= 24) of
 * a fixed English word list: a deterministic PTB-style split for session tests.  0 on success. */
int th_write_words(const char *dir, const char *name, int n_lines, uint32_t seed, int n_words, int span);
/* Write a text file; returns 0 on success. */
int th_write_file(const char *path, const char *text, size_t n);

#endif
