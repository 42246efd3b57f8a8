/* engine/corpus: word- and char-level corpora (PTB layout or one text file), their vocabulary,
 * and the cutting of a token stream into B parallel streams and time-major BPTT windows.
 *
 * Owns: the token strings of the vocabulary, the id arrays of the three splits and a private
 * open-addressing hash table (token -> id).  Nothing else; nothing here prints.
 *
 * Where the data comes from (`--data PATH`, DESIGN 2.1):
 *   - a directory: each split is "ptb.<split>.txt" if that file exists, otherwise the one regular
 *     file whose name contains "<split>" and ends in ".txt" (so a PTB directory always gives the word
 *     files, also for level CHAR; the ptb.char.* files can be picked with corpus_load_files).
 *     No match, or more than one, is TP_ENOENT naming the directory and the pattern.
 *   - one text file: split by LINES, never inside a line: with n lines (a last line without '\n'
 *     counts), train = lines [0, 90n/100), valid = [90n/100, 95n/100), test = the rest (integer
 *     division).  The first 90% is train, as nanoGPT does with tiny-shakespeare.  A file needs at
 *     least 20 lines so that valid and test are not empty.
 *
 * Tokenisation (DESIGN 2.5):
 *   - CORPUS_WORD: each line is split on ASCII whitespace (space, \t, \r, \v, \f) and "<eos>" is
 *     appended at every line end, including a last line without '\n'; an empty line gives just
 *     <eos>.  Words are opaque bytes: only NUL is refused (UTF-8 is not checked at this level).
 *   - CORPUS_CHAR: every UTF-8 character (1-4 bytes, newline included) is one token.  Invalid
 *     UTF-8 (overlong forms, surrogates, > U+10FFFF, cut sequences) is refused with its byte offset.
 *
 * Vocabulary (corpus_load): built from the train split only.  Ids follow the order of first
 * appearance in the train file, so the same file always gives the same ids (for PTB this is the
 * order of PyTorch's word_language_model example, whose results can then be compared 1:1).
 *   - word level: "<eos>" gets its id where the first line ends; "<unk>" keeps its place if train
 *     contains it (PTB does), else it is appended after the train words.  Both are always present.
 *     Valid/test words not in the vocabulary map to <unk>.
 *   - char level: characters seen only in valid/test map to an entry "<unk>" appended to the
 *     vocabulary only when such a character exists (unk_id is -1 otherwise; eos_id is always -1).
 * Every split must give at least 2 tokens (one prediction needs a next token).
 */
#ifndef TP_CORPUS_H
#define TP_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

typedef enum { CORPUS_WORD = 0, CORPUS_CHAR = 1 } CorpusLevel;
enum { CORPUS_TRAIN = 0, CORPUS_VALID = 1, CORPUS_TEST = 2 };

/* max_vocab == 0 means this limit. */
#define CORPUS_MAX_VOCAB_DEFAULT 1000000

typedef struct {
    CorpusLevel level;
    int n_vocab;            /* tokens in the vocabulary */
    char **vocab;           /* [n_vocab] NUL-terminated token strings, owned; id = index */
    int unk_id, eos_id;     /* ids of "<unk>" and "<eos>"; -1 when absent */
    int32_t *ids[3];        /* token ids of train, valid, test (owned) */
    size_t n_ids[3];
    char path[4096];        /* what was loaded (the path as given) */
    /* private (corpus.c): open addressing, linear probing, capacity a power of two */
    uint32_t *ht_hash;      /* [ht_cap] hash of the token in the slot */
    int32_t *ht_id;         /* [ht_cap] token id, -1 = empty slot */
    size_t ht_cap;
    int vocab_cap;          /* allocated entries of vocab */
} Corpus;

/* Load a corpus from `path` (directory or single file, see above).  *c is overwritten (free a
 * loaded Corpus first); on failure it is left zeroed and err_msg() names the file and the problem:
 * TP_ENOENT missing/ambiguous files, TP_EFORMAT empty or binary file, invalid UTF-8 (char level),
 * a split with < 2 tokens; TP_ERANGE vocabulary over max_vocab (0 = CORPUS_MAX_VOCAB_DEFAULT);
 * TP_EINVAL bad arguments; TP_EIO read errors; TP_ENOMEM. */
TpStatus corpus_load(Corpus *c, const char *path, CorpusLevel level, int max_vocab);

/* Same, with a fixed vocabulary (from a saved session or export; copied, id = index).  Tokens of
 * any split outside it map to "<unk>" if the vocabulary has it; otherwise TP_EFORMAT naming the
 * token and its line.  Word level also requires "<eos>" in it.  Duplicate entries: TP_EFORMAT. */
TpStatus corpus_load_with_vocab(Corpus *c, const char *path, CorpusLevel level, char *const *vocab,
                                int n_vocab);

/* Explicit train/valid/test files (e.g. PTB's ptb.char.*.txt); c->path is the train file.  vocab may
 * be NULL (build from train with max_vocab) or a fixed vocabulary of n_vocab entries (max_vocab is then ignored). */
TpStatus corpus_load_files(Corpus *c, const char *const paths[3], CorpusLevel level, int max_vocab,
                           char *const *vocab, int n_vocab);

/* Load from memory as if `text` were a single file called `name` (90/5/5 split); the entry point
 * for the fuzzer and for tests.  vocab as in corpus_load_files. */
TpStatus corpus_load_text(Corpus *c, const char *name, const char *text, size_t len,
                          CorpusLevel level, int max_vocab, char *const *vocab, int n_vocab);

int  corpus_lookup(const Corpus *c, const char *token);   /* id or -1 */
void corpus_free(Corpus *c);                               /* safe on a zeroed or failed Corpus */
const char *corpus_split_name(int split);                  /* "train", "valid", "test" or "?" */

/* Batching (Zaremba / PyTorch batchify): the stream ids[0..n) is cut into B contiguous streams of
 * L = n/B tokens (the n - B*L remaining tokens are dropped), stored stream-major:
 * out[b*L + j] = ids[b*L + j].  *out is malloc'ed; the caller frees it.  TP_EINVAL when B <= 0 or
 * L < 2 (a stream needs one prediction); *out is then NULL. */
TpStatus corpus_batchify(int32_t **out, size_t *L, const int32_t *ids, size_t n, int B);

/* Number of BPTT windows of length T over streams of length L: inputs cover positions 0..L-2 (each
 * needs a next token), so n = ceil((L-1)/T); 0 when L < 2 or T <= 0. */
size_t corpus_n_windows(size_t L, int T);

/* Window w (< corpus_n_windows(L, T)), time-major:
 *   x[t*B + b] = data[b*L + w*T + t],  y[t*B + b] = data[b*L + w*T + t + 1],  t < T_w,
 * with T_w = min(T, L-1-w*T) returned through *T_out (only the last window can be short; 0 for
 * w out of range).  x and y have room for T*B ids. */
void corpus_window(int32_t *x, int32_t *y, int *T_out, const int32_t *data, int B, size_t L, int T,
                   size_t w);

#endif
