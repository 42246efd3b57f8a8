/* tests/golden: compare text against a golden file in tests/golden/ (or $TOPIARY_GOLDEN_DIR).
 *
 * With TOPIARY_UPDATE_GOLDEN=1 in the environment the file is (re)written instead, so a deliberate
 * change of a rendering is: run the test with it, look at the new files (git diff), commit them. */
#ifndef TP_TEST_GOLDEN_H
#define TP_TEST_GOLDEN_H

/* 0 when `got` equals the golden file `name` byte for byte; else prints both and returns -1. */
int golden_check(const char *name, const char *got);

#endif
