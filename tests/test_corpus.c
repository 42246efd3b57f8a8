/* tests/test_corpus: engine/corpus on tiny corpora written to a fresh mkdtemp directory per test,
 * plus PTB from ../shared/data when it is there (skipped with a message otherwise). */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/corpus.h"

/* ---- fixtures: *state is the temp directory (char[]) ---- */

static int setup_dir(void **state)
{
    char *dir = malloc(64);
    if (!dir) return -1;
    strcpy(dir, "/tmp/topiary_corpus_XXXXXX");
    if (!mkdtemp(dir)) { free(dir); return -1; }
    *state = dir;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static int teardown_dir(void **state)
{
    int rc = nftw(*state, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return rc;
}

/* Write `len` bytes (or strlen when len == (size_t)-1) to dir/name; returns the path (static buffer
 * per slot, so up to four paths can be alive at once). */
static const char *put(const char *dir, const char *name, const char *text, size_t len)
{
    static char paths[4][512];
    static int slot;
    char *p = paths[slot++ % 4];
    snprintf(p, 512, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    if (len == (size_t)-1) len = strlen(text);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return p;
}

static void put3(const char *dir, const char *train, const char *valid, const char *test)
{
    put(dir, "train.txt", train, (size_t)-1);
    put(dir, "valid.txt", valid, (size_t)-1);
    put(dir, "test.txt", test, (size_t)-1);
}

static void assert_ids(const int32_t *got, size_t n_got, const int32_t *want, size_t n_want)
{
    assert_int_equal(n_got, n_want);
    for (size_t i = 0; i < n_want; i++) assert_int_equal(got[i], want[i]);
}
#define ASSERT_IDS(c, s, ...)                                                         \
    do {                                                                              \
        const int32_t want_[] = {__VA_ARGS__};                                        \
        assert_ids((c).ids[s], (c).n_ids[s], want_, sizeof want_ / sizeof want_[0]);  \
    } while (0)

static void assert_msg_has(const char *needle)
{
    if (!strstr(err_msg(), needle)) fail_msg("message '%s' lacks '%s'", err_msg(), needle);
}

/* ---- word level ---- */

static void test_word_tiny_ids(void **state)
{
    Corpus c;
    put3(*state, "a b c\nb a\n", "a d\n", "c\n c b"); /* test: leading blank, no final newline */
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_OK);
    /* first appearance in train; <eos> where line 1 ends; <unk> appended after */
    assert_int_equal(c.n_vocab, 5);
    const char *want[] = {"a", "b", "c", "<eos>", "<unk>"};
    for (int i = 0; i < 5; i++) assert_string_equal(c.vocab[i], want[i]);
    assert_int_equal(c.eos_id, 3);
    assert_int_equal(c.unk_id, 4);
    ASSERT_IDS(c, CORPUS_TRAIN, 0, 1, 2, 3, 1, 0, 3);
    ASSERT_IDS(c, CORPUS_VALID, 0, 4, 3); /* "d" never seen in train */
    ASSERT_IDS(c, CORPUS_TEST, 2, 3, 2, 1, 3);
    assert_string_equal(c.path, (char *)*state);
    corpus_free(&c);
}

static void test_word_unk_in_train_not_duplicated(void **state)
{
    Corpus c;
    put3(*state, "x <unk> y\n", "z x\n", "y\n");
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_OK);
    assert_int_equal(c.n_vocab, 4); /* x <unk> y <eos> */
    assert_int_equal(c.unk_id, 1);
    assert_int_equal(c.eos_id, 3);
    ASSERT_IDS(c, CORPUS_VALID, 1, 0, 3);
    corpus_free(&c);
}

static void test_word_empty_lines_and_crlf(void **state)
{
    Corpus c;
    put3(*state, "a\r\n\n\tb  \n", "b\n", "a\n");
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_OK);
    ASSERT_IDS(c, CORPUS_TRAIN, 0, 1, 1, 2, 1); /* an empty line is just <eos>; \r is a blank */
    corpus_free(&c);
}

static void test_lookup(void **state)
{
    Corpus c;
    put3(*state, "the cat\n", "cat\n", "the\n");
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_OK);
    assert_int_equal(corpus_lookup(&c, "the"), 0);
    assert_int_equal(corpus_lookup(&c, "cat"), 1);
    assert_int_equal(corpus_lookup(&c, "<eos>"), 2);
    assert_int_equal(corpus_lookup(&c, "ca"), -1);
    assert_int_equal(corpus_lookup(&c, "cats"), -1);
    assert_int_equal(corpus_lookup(&c, NULL), -1);
    corpus_free(&c);
}

static void test_dir_prefers_ptb_names(void **state)
{
    Corpus c;
    put(*state, "ptb.train.txt", "w\n", (size_t)-1);
    put(*state, "ptb.char.train.txt", "c h\n", (size_t)-1); /* also matches *train*.txt */
    put(*state, "ptb.valid.txt", "w\n", (size_t)-1);
    put(*state, "ptb.test.txt", "w\n", (size_t)-1);
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_OK);
    assert_string_equal(c.vocab[0], "w");
    corpus_free(&c);
}

static void test_dir_pattern_names(void **state)
{
    Corpus c;
    put(*state, "my_train_set.txt", "w\n", (size_t)-1);
    put(*state, "the.valid.txt", "w\n", (size_t)-1);
    put(*state, "tests.txt", "v\n", (size_t)-1);
    put(*state, "train.md", "ignored: not .txt\n", (size_t)-1);
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_OK);
    ASSERT_IDS(c, CORPUS_TEST, c.unk_id, c.eos_id);
    corpus_free(&c);
}

/* ---- char level ---- */

static void test_char_utf8_and_unk(void **state)
{
    Corpus c;
    put3(*state, "a\xc3\xa9\xe2\x82\xac\nb", "\xc3\xa9\xf0\x9f\x98\x80\n", "ba");
    assert_int_equal(corpus_load(&c, *state, CORPUS_CHAR, 0), TP_OK);
    assert_int_equal(c.n_vocab, 6);
    const char *want[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\n", "b", "<unk>"}; /* a é € \n b <unk> */
    for (int i = 0; i < 6; i++) assert_string_equal(c.vocab[i], want[i]);
    ASSERT_IDS(c, CORPUS_TRAIN, 0, 1, 2, 3, 4);
    ASSERT_IDS(c, CORPUS_VALID, 1, 5, 3); /* the emoji appears only in valid */
    ASSERT_IDS(c, CORPUS_TEST, 4, 0);
    assert_int_equal(c.unk_id, 5);
    assert_int_equal(c.eos_id, -1);
    corpus_free(&c);
}

static void test_char_no_unk_when_all_seen(void **state)
{
    Corpus c;
    put3(*state, "ab\n", "ba", "\na");
    assert_int_equal(corpus_load(&c, *state, CORPUS_CHAR, 0), TP_OK);
    assert_int_equal(c.n_vocab, 3);
    assert_int_equal(c.unk_id, -1);
    ASSERT_IDS(c, CORPUS_TEST, 2, 0);
    corpus_free(&c);
}

static void test_char_rejects_invalid_utf8(void **state)
{
    Corpus c;
    put3(*state, "ok\nab\xff\n", "a\n", "b\n");
    assert_int_equal(corpus_load(&c, *state, CORPUS_CHAR, 0), TP_EFORMAT);
    assert_msg_has("train.txt:2:3: invalid UTF-8");
    assert_msg_has("byte offset 5");
    assert_null(c.vocab);
}

static void test_char_rejects_overlong_surrogate_and_cut(void **state)
{
    Corpus c;
    const char *bad[] = {"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82"};
    for (int i = 0; i < 4; i++) {
        char text[64];
        int n = snprintf(text, sizeof text, "x%s", bad[i]);
        assert_int_equal(corpus_load_text(&c, "t.txt", text, (size_t)n, CORPUS_CHAR, 0, NULL, 0), TP_EFORMAT);
        assert_msg_has("byte offset 1");
    }
}

/* Issue 11 case 10: word level took Latin-1 bytes as words and wrote them into vocab.json, which JSON
 * readers then refused; now both levels refuse invalid UTF-8 with file:line:column. */
static void test_word_level_rejects_invalid_utf8(void **state)
{
    Corpus c;
    put3(*state, "a b\ncaf\xe9 x\n", "a\n", "x\n"); /* Latin-1 */
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_EFORMAT);
    assert_msg_has("train.txt:2:4: invalid UTF-8 (byte 0xE9");
    assert_null(c.vocab);
    put3(*state, "caf\xc3\xa9 x\n", "caf\xc3\xa9\n", "x\n"); /* the same in UTF-8 */
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_OK);
    ASSERT_IDS(c, CORPUS_VALID, 0, 2); /* café <eos> */
    corpus_free(&c);
}

/* ---- one file split 90/5/5 by lines ---- */

static void test_single_file_word_split(void **state)
{
    char text[2048];
    size_t n = 0;
    for (int i = 0; i < 100; i++) n += (size_t)snprintf(text + n, sizeof text - n, i < 99 ? "L%d\n" : "L%d", i);
    const char *path = put(*state, "one.txt", text, n);
    Corpus c;
    assert_int_equal(corpus_load(&c, path, CORPUS_WORD, 0), TP_OK);
    assert_int_equal(c.n_ids[CORPUS_TRAIN], 180); /* 90 lines of word + <eos> */
    assert_int_equal(c.n_ids[CORPUS_VALID], 10);
    assert_int_equal(c.n_ids[CORPUS_TEST], 10);   /* last line has no '\n' but still gets <eos> */
    assert_int_equal(c.n_vocab, 92);              /* L0 <eos> L1..L89 <unk> */
    assert_string_equal(c.vocab[1], "<eos>");
    assert_string_equal(c.vocab[89], "L88");
    assert_string_equal(c.vocab[91], "<unk>");
    ASSERT_IDS(c, CORPUS_VALID, 91, 1, 91, 1, 91, 1, 91, 1, 91, 1);
    corpus_free(&c);
}

static void test_single_file_char_split_at_lines(void **state)
{
    char text[512];
    size_t n = 0;
    for (int i = 0; i < 20; i++) { /* line i: i+1 'a's, then '\n' except on the last line */
        memset(text + n, 'a', (size_t)i + 1);
        n += (size_t)i + 1;
        if (i < 19) text[n++] = '\n';
    }
    const char *path = put(*state, "one.txt", text, n);
    Corpus c;
    assert_int_equal(corpus_load(&c, path, CORPUS_CHAR, 0), TP_OK);
    assert_int_equal(c.n_ids[CORPUS_TRAIN], 189); /* lines 1-18: sum(1..18) + 18 newlines */
    assert_int_equal(c.n_ids[CORPUS_VALID], 20);  /* line 19 */
    assert_int_equal(c.n_ids[CORPUS_TEST], 20);   /* line 20, no newline */
    assert_int_equal(c.ids[CORPUS_VALID][19], corpus_lookup(&c, "\n"));
    corpus_free(&c);
}

static void test_single_file_too_few_lines(void **state)
{
    Corpus c;
    const char *text = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"; /* 10 lines: valid gets 90%..95% = 0 lines */
    assert_int_equal(corpus_load_text(&c, "ten.txt", text, strlen(text), CORPUS_WORD, 0, NULL, 0), TP_EFORMAT);
    assert_msg_has("ten.txt");
    assert_msg_has("valid split");
    assert_msg_has("20 lines");
}

/* ---- error paths ---- */

static void test_missing_path(void **state)
{
    Corpus c;
    char path[512];
    snprintf(path, sizeof path, "%s/nope", (char *)*state);
    assert_int_equal(corpus_load(&c, path, CORPUS_WORD, 0), TP_ENOENT);
    assert_msg_has(path);
}

static void test_dir_missing_split(void **state)
{
    Corpus c;
    put(*state, "train.txt", "a\n", (size_t)-1);
    put(*state, "test.txt", "a\n", (size_t)-1);
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_ENOENT);
    assert_msg_has("*valid*.txt");
}

static void test_dir_ambiguous(void **state)
{
    Corpus c;
    put3(*state, "a\n", "a\n", "a\n");
    put(*state, "other.train.txt", "a\n", (size_t)-1);
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_ENOENT);
    assert_msg_has("ambiguous");
}

static void test_empty_file(void **state)
{
    Corpus c;
    put3(*state, "a\n", "", "a\n");
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_EFORMAT);
    assert_msg_has("valid.txt: empty file");
}

static void test_split_with_one_token(void **state)
{
    Corpus c;
    put3(*state, "a\n", "\n", "a\n"); /* valid is a single <eos>: nothing to predict */
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_EFORMAT);
    assert_msg_has("valid split has 1 token");
}

static void test_nul_byte(void **state)
{
    Corpus c;
    const char *path = put(*state, "bin.txt", "ab\0cd\n", 6);
    assert_int_equal(corpus_load(&c, path, CORPUS_WORD, 0), TP_EFORMAT);
    assert_msg_has("bin.txt");
    assert_msg_has("NUL byte at byte offset 2");
}

static void test_vocab_limit(void **state)
{
    Corpus c;
    put3(*state, "a b c d e\n", "a\n", "a\n"); /* 5 words + <eos> + <unk> = 7 */
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 5), TP_ERANGE);
    assert_msg_has("has 7 tokens");
    assert_msg_has("limit of 5");
    assert_null(c.vocab);
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 7), TP_OK);
    corpus_free(&c);
}

static void test_bad_arguments(void **state)
{
    Corpus c;
    put3(*state, "a\n", "a\n", "a\n");
    assert_int_equal(corpus_load(&c, *state, (CorpusLevel)7, 0), TP_EINVAL);
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, -1), TP_EINVAL);
    assert_int_equal(corpus_load_with_vocab(&c, *state, CORPUS_WORD, NULL, 3), TP_EINVAL);
}

static void test_free_zeroed_and_failed(void **state)
{
    Corpus c;
    memset(&c, 0, sizeof c);
    corpus_free(&c);
    put3(*state, "a\n", "", "a\n");
    assert_int_equal(corpus_load(&c, *state, CORPUS_WORD, 0), TP_EFORMAT);
    assert_int_equal(c.n_vocab, 0); /* nothing escapes a failed load */
    for (int s = 0; s < 3; s++) assert_null(c.ids[s]);
    corpus_free(&c);
    corpus_free(&c);
}

/* ---- fixed vocabulary ---- */

static void test_with_vocab_word_maps_unk(void **state)
{
    Corpus c;
    char *vocab[] = {"<unk>", "<eos>", "a", "b"};
    put3(*state, "a b c\n", "c a\n", "b\n");
    assert_int_equal(corpus_load_with_vocab(&c, *state, CORPUS_WORD, vocab, 4), TP_OK);
    assert_int_equal(c.n_vocab, 4);
    assert_int_equal(c.unk_id, 0);
    assert_int_equal(c.eos_id, 1);
    assert_ptr_not_equal(c.vocab[2], vocab[2]); /* copied */
    assert_string_equal(c.vocab[2], "a");
    ASSERT_IDS(c, CORPUS_TRAIN, 2, 3, 0, 1);
    ASSERT_IDS(c, CORPUS_VALID, 0, 2, 1);
    ASSERT_IDS(c, CORPUS_TEST, 3, 1);
    corpus_free(&c);
}

static void test_with_vocab_word_without_unk(void **state)
{
    Corpus c;
    char *vocab[] = {"<eos>", "a"};
    put3(*state, "a\na b\n", "a\n", "a\n");
    assert_int_equal(corpus_load_with_vocab(&c, *state, CORPUS_WORD, vocab, 2), TP_EFORMAT);
    assert_msg_has("line 2: word 'b'");
}

static void test_with_vocab_word_without_eos(void **state)
{
    Corpus c;
    char *vocab[] = {"<unk>", "a"};
    put3(*state, "a\n", "a\n", "a\n");
    assert_int_equal(corpus_load_with_vocab(&c, *state, CORPUS_WORD, vocab, 2), TP_EFORMAT);
    assert_msg_has("no <eos>");
}

static void test_with_vocab_duplicate(void **state)
{
    Corpus c;
    char *vocab[] = {"<eos>", "a", "a"};
    put3(*state, "a\n", "a\n", "a\n");
    assert_int_equal(corpus_load_with_vocab(&c, *state, CORPUS_WORD, vocab, 3), TP_EFORMAT);
    assert_msg_has("entry 2");
}

static void test_with_vocab_char(void **state)
{
    Corpus c;
    char *vocab[] = {"a", "\n", "<unk>"};
    put3(*state, "ab\n", "a\xe2\x82\xac", "aa");
    assert_int_equal(corpus_load_with_vocab(&c, *state, CORPUS_CHAR, vocab, 3), TP_OK);
    ASSERT_IDS(c, CORPUS_TRAIN, 0, 2, 1);
    ASSERT_IDS(c, CORPUS_VALID, 0, 2);
    assert_int_equal(c.n_vocab, 3);
    corpus_free(&c);
}

static void test_with_vocab_char_without_unk(void **state)
{
    Corpus c;
    char *vocab[] = {"a", "\n"};
    put3(*state, "a\n\xc3\xa9\n", "a\n", "a\n");
    assert_int_equal(corpus_load_with_vocab(&c, *state, CORPUS_CHAR, vocab, 2), TP_EFORMAT);
    assert_msg_has("line 2: character '\xc3\xa9' (U+00E9)");
}

/* ---- batching and windows ---- */

static void test_batchify_layout_and_remainder(void **state)
{
    (void)state;
    int32_t ids[11], *out;
    size_t L;
    for (int i = 0; i < 11; i++) ids[i] = 100 + i;
    assert_int_equal(corpus_batchify(&out, &L, ids, 11, 3), TP_OK);
    assert_int_equal(L, 3); /* 11 = 3*3 + 2 dropped */
    for (int i = 0; i < 9; i++) assert_int_equal(out[i], 100 + i); /* out[b*L+j] = ids[b*L+j] */
    free(out);
}

static void test_batchify_bad_B(void **state)
{
    (void)state;
    int32_t ids[5] = {0, 1, 2, 3, 4}, *out = ids;
    size_t L = 9;
    assert_int_equal(corpus_batchify(&out, &L, ids, 5, 0), TP_EINVAL);
    assert_null(out);
    assert_int_equal(corpus_batchify(&out, &L, ids, 5, -2), TP_EINVAL);
    assert_int_equal(corpus_batchify(&out, &L, ids, 5, 3), TP_EINVAL); /* L = 1: nothing to predict */
    assert_msg_has("smaller --batch");
}

static void test_n_windows(void **state)
{
    (void)state;
    assert_int_equal(corpus_n_windows(10, 3), 3); /* 9 inputs */
    assert_int_equal(corpus_n_windows(11, 3), 4); /* 10 inputs: the last window has 1 step */
    assert_int_equal(corpus_n_windows(4, 3), 1);
    assert_int_equal(corpus_n_windows(2, 5), 1);
    assert_int_equal(corpus_n_windows(1, 3), 0);
    assert_int_equal(corpus_n_windows(0, 3), 0);
    assert_int_equal(corpus_n_windows(10, 0), 0);
}

static void test_window_contents(void **state)
{
    (void)state;
    enum { B = 2, L = 7, T = 4 };
    int32_t data[B * L], x[T * B], y[T * B];
    for (int j = 0; j < L; j++) { data[j] = j; data[L + j] = 10 + j; } /* streams 0..6 and 10..16 */
    int Tw;
    corpus_window(x, y, &Tw, data, B, L, T, 0);
    assert_int_equal(Tw, 4);
    for (int t = 0; t < 4; t++) { /* time-major: x[t*B + b] */
        assert_int_equal(x[t * B + 0], t);
        assert_int_equal(x[t * B + 1], 10 + t);
        assert_int_equal(y[t * B + 0], t + 1);
        assert_int_equal(y[t * B + 1], 11 + t);
    }
    corpus_window(x, y, &Tw, data, B, L, T, 1); /* short last window: positions 4,5 predict 5,6 */
    assert_int_equal(Tw, 2);
    const int32_t wx[] = {4, 14, 5, 15}, wy[] = {5, 15, 6, 16};
    assert_ids(x, 4, wx, 4);
    assert_ids(y, 4, wy, 4);
    corpus_window(x, y, &Tw, data, B, L, T, 2);
    assert_int_equal(Tw, 0);
}

/* ---- PTB from ../shared/data (counts from its README.md) ---- */

static int ptb_dir(char *out, size_t cap)
{
    const char *shared = getenv("TOPIARY_SHARED");
    struct stat st;
    if (!shared || !*shared) shared = "../shared";
    snprintf(out, cap, "%s/data/ptb", shared);
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) return 1;
    print_message("PTB not found at %s (set TOPIARY_SHARED): skipping\n", out);
    return 0;
}

static void test_ptb_word(void **state)
{
    (void)state;
    char dir[4096];
    if (!ptb_dir(dir, sizeof dir)) { skip(); return; }
    Corpus c;
    assert_int_equal(corpus_load(&c, dir, CORPUS_WORD, 0), TP_OK);
    assert_int_equal(c.n_vocab, 10000);
    assert_int_equal(c.n_ids[CORPUS_TRAIN], 929589);
    assert_int_equal(c.n_ids[CORPUS_VALID], 73760);
    assert_int_equal(c.n_ids[CORPUS_TEST], 82430);
    assert_string_equal(c.vocab[0], "aer"); /* the first word of ptb.train.txt */
    assert_int_equal(corpus_lookup(&c, "<unk>"), c.unk_id);
    corpus_free(&c);
}

static void test_ptb_char_files(void **state)
{
    (void)state;
    char dir[4096], p[3][4200];
    if (!ptb_dir(dir, sizeof dir)) { skip(); return; }
    for (int s = 0; s < 3; s++) snprintf(p[s], sizeof p[s], "%s/ptb.char.%s.txt", dir, corpus_split_name(s));
    Corpus c;
    /* DESIGN 2.5: the char files are word-level files whose words are characters */
    assert_int_equal(corpus_load_files(&c, (const char *const[3]){p[0], p[1], p[2]}, CORPUS_WORD, 0, NULL, 0),
                     TP_OK);
    assert_int_equal(c.n_vocab, 51); /* 49 symbols, <eos>, and <unk> appended */
    /* README: chars + one end-of-line per sentence = 5,017,482 / 393,042 / 442,423.  Each file ends
     * in "\n " and that last line (a lone space, no '\n') gets its own <eos>, as in PyTorch's
     * word_language_model (`for line in f: line.split() + ['<eos>']`): one more token per split. */
    assert_int_equal(c.n_ids[CORPUS_TRAIN], 5017482 + 1);
    assert_int_equal(c.n_ids[CORPUS_VALID], 393042 + 1);
    assert_int_equal(c.n_ids[CORPUS_TEST], 442423 + 1);
    corpus_free(&c);
}

#define T_DIR(f) cmocka_unit_test_setup_teardown(f, setup_dir, teardown_dir)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_DIR(test_word_tiny_ids),
        T_DIR(test_word_unk_in_train_not_duplicated),
        T_DIR(test_word_empty_lines_and_crlf),
        T_DIR(test_lookup),
        T_DIR(test_dir_prefers_ptb_names),
        T_DIR(test_dir_pattern_names),
        T_DIR(test_char_utf8_and_unk),
        T_DIR(test_char_no_unk_when_all_seen),
        T_DIR(test_char_rejects_invalid_utf8),
        cmocka_unit_test(test_char_rejects_overlong_surrogate_and_cut),
        T_DIR(test_word_level_rejects_invalid_utf8),
        T_DIR(test_single_file_word_split),
        T_DIR(test_single_file_char_split_at_lines),
        cmocka_unit_test(test_single_file_too_few_lines),
        T_DIR(test_missing_path),
        T_DIR(test_dir_missing_split),
        T_DIR(test_dir_ambiguous),
        T_DIR(test_empty_file),
        T_DIR(test_split_with_one_token),
        T_DIR(test_nul_byte),
        T_DIR(test_vocab_limit),
        T_DIR(test_bad_arguments),
        T_DIR(test_free_zeroed_and_failed),
        T_DIR(test_with_vocab_word_maps_unk),
        T_DIR(test_with_vocab_word_without_unk),
        T_DIR(test_with_vocab_word_without_eos),
        T_DIR(test_with_vocab_duplicate),
        T_DIR(test_with_vocab_char),
        T_DIR(test_with_vocab_char_without_unk),
        cmocka_unit_test(test_batchify_layout_and_remainder),
        cmocka_unit_test(test_batchify_bad_B),
        cmocka_unit_test(test_n_windows),
        cmocka_unit_test(test_window_contents),
        cmocka_unit_test(test_ptb_word),
        cmocka_unit_test(test_ptb_char_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
