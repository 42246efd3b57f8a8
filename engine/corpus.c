/* engine/corpus: see corpus.h.  Owns the vocabulary strings, the split id arrays and the
 * token -> id hash table of a Corpus; reads files, tokenises, batches. */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "corpus.h"
#include "base/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- hash table: open addressing, linear probing, load factor <= 1/2 ---- */

/* FNV-1a: short tokens, no need for anything stronger; the table keeps the full hash so that
 * probes compare strings only on a real hash match. */
static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int find_token(const Corpus *c, const char *s, size_t n, uint32_t h)
{
    if (c->ht_cap == 0) return -1;
    size_t mask = c->ht_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        int32_t id = c->ht_id[i];
        if (id < 0) return -1;
        /* strncmp stops at the stored token's NUL, so a shorter stored token is never over-read */
        if (c->ht_hash[i] == h && strncmp(c->vocab[id], s, n) == 0 && c->vocab[id][n] == '\0')
            return id;
    }
}

static void table_put(uint32_t *hs, int32_t *ids, size_t cap, uint32_t h, int32_t id)
{
    size_t i = h & (cap - 1);
    while (ids[i] >= 0) i = (i + 1) & (cap - 1);
    hs[i] = h;
    ids[i] = id;
}

/* Append a token the caller has checked is absent; *id receives its id. */
static TpStatus add_token(Corpus *c, const char *s, size_t n, uint32_t h, int *id)
{
    if (c->n_vocab == INT_MAX) return err_set(TP_ERANGE, "%s: vocabulary overflows int", c->path);
    if ((size_t)c->n_vocab + 1 > c->ht_cap / 2) {
        size_t cap = c->ht_cap ? c->ht_cap * 2 : 1024;
        uint32_t *hs = malloc(cap * sizeof *hs);
        int32_t *ids = malloc(cap * sizeof *ids);
        if (!hs || !ids) {
            free(hs);
            free(ids);
            return err_set(TP_ENOMEM, "%s: out of memory for the vocabulary table", c->path);
        }
        memset(ids, 0xff, cap * sizeof *ids); /* -1 = empty */
        for (size_t i = 0; i < c->ht_cap; i++)
            if (c->ht_id[i] >= 0) table_put(hs, ids, cap, c->ht_hash[i], c->ht_id[i]);
        free(c->ht_hash);
        free(c->ht_id);
        c->ht_hash = hs;
        c->ht_id = ids;
        c->ht_cap = cap;
    }
    if (c->n_vocab == c->vocab_cap) {
        int cap = c->vocab_cap ? (c->vocab_cap > INT_MAX / 2 ? INT_MAX : c->vocab_cap * 2) : 256;
        char **v = realloc(c->vocab, (size_t)cap * sizeof *v);
        if (!v) return err_set(TP_ENOMEM, "%s: out of memory for the vocabulary", c->path);
        c->vocab = v;
        c->vocab_cap = cap;
    }
    char *t = malloc(n + 1);
    if (!t) return err_set(TP_ENOMEM, "%s: out of memory for the vocabulary", c->path);
    memcpy(t, s, n);
    t[n] = '\0';
    c->vocab[c->n_vocab] = t;
    table_put(c->ht_hash, c->ht_id, c->ht_cap, h, c->n_vocab);
    *id = c->n_vocab++;
    return TP_OK;
}

static int find_str(const Corpus *c, const char *s)
{
    size_t n = strlen(s);
    return find_token(c, s, n, hash_bytes(s, n));
}

static TpStatus add_str(Corpus *c, const char *s, int *id)
{
    size_t n = strlen(s);
    return add_token(c, s, n, hash_bytes(s, n), id);
}

int corpus_lookup(const Corpus *c, const char *token)
{
    return (c && token) ? find_str(c, token) : -1;
}

void corpus_free(Corpus *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_vocab; i++) free(c->vocab[i]);
    free(c->vocab);
    for (int s = 0; s < 3; s++) free(c->ids[s]);
    free(c->ht_hash);
    free(c->ht_id);
    memset(c, 0, sizeof *c);
}

const char *corpus_split_name(int split)
{
    static const char *const names[3] = {"train", "valid", "test"};
    return (split >= 0 && split < 3) ? names[split] : "?";
}

/* ---- tokenisation ---- */

/* One split: a byte range of a file held in memory.  Offsets and line numbers in messages are
 * relative to the whole file, so the user can find the spot in an editor. */
typedef struct {
    const char *name;      /* file name for messages */
    const char *buf;       /* the whole file */
    size_t begin, end;     /* byte range of this split, cut after a '\n' or at the end of file */
    size_t line0, n_lines; /* 1-based first line and line count */
    size_t file_lines;     /* lines of the whole file when one file was split, else 0 */
} Span;

/* How an unseen token is treated: BUILD adds it (train, no fixed vocabulary); MAP sends it to
 * <unk>, appending "<unk>" first if needed (valid/test, char level); FIXED needs <unk>. */
enum { MODE_BUILD, MODE_MAP, MODE_FIXED };

/* Length of the valid UTF-8 sequence at p (1-4), or 0.  Strict (RFC 3629): no overlong forms, no
 * surrogates, nothing above U+10FFFF, so every character has exactly one spelling and one id. */
static int utf8_len(const unsigned char *p, size_t avail, uint32_t *cp_out)
{
    unsigned b = p[0];
    int n;
    uint32_t cp, min;
    if (b < 0x80) { *cp_out = b; return 1; }
    if (b >= 0xC2 && b <= 0xDF) { n = 2; cp = b & 0x1F; min = 0x80; }
    else if ((b & 0xF0) == 0xE0) { n = 3; cp = b & 0x0F; min = 0x800; }
    else if (b >= 0xF0 && b <= 0xF4) { n = 4; cp = b & 0x07; min = 0x10000; }
    else return 0;
    if (avail < (size_t)n) return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    *cp_out = cp;
    return n;
}

static TpStatus bad_utf8(const char *name, const char *buf, size_t off, size_t line, size_t col)
{
    return err_set(TP_EFORMAT, "%s:%zu:%zu: invalid UTF-8 (byte 0x%02X at byte offset %zu); the corpus must be "
                   "UTF-8 text (convert it first, e.g. iconv -f latin1 -t utf-8)", name, line, col,
                   (unsigned char)buf[off], off);
}

static TpStatus unseen(Corpus *c, int mode, const Span *sp, size_t line, const char *s, size_t n,
                       uint32_t cp, int *id)
{
    if (c->unk_id >= 0) { *id = c->unk_id; return TP_OK; }
    if (mode == MODE_MAP) { /* char level: the first character that train never showed */
        TpStatus st = add_str(c, "<unk>", &c->unk_id);
        *id = c->unk_id;
        return st;
    }
    if (c->level == CORPUS_WORD)
        return err_set(TP_EFORMAT, "%s: line %zu: word '%.*s' is not in the vocabulary, which has no <unk>",
                       sp->name, line, (int)(n > 200 ? 200 : n), s);
    if (cp >= 0x20 && cp != 0x7F)
        return err_set(TP_EFORMAT, "%s: line %zu: character '%.*s' (U+%04X) is not in the vocabulary, "
                       "which has no <unk>", sp->name, line, (int)n, s, (unsigned)cp);
    return err_set(TP_EFORMAT, "%s: line %zu: character U+%04X is not in the vocabulary, which has no <unk>",
                   sp->name, line, (unsigned)cp);
}

static TpStatus token_id(Corpus *c, int mode, const Span *sp, size_t line, const char *s, size_t n,
                         uint32_t cp, int *id)
{
    uint32_t h = hash_bytes(s, n);
    *id = find_token(c, s, n, h);
    if (*id >= 0) return TP_OK;
    if (mode == MODE_BUILD) return add_token(c, s, n, h, id);
    return unseen(c, mode, sp, line, s, n, cp, id);
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Tokenise one span into out[] (room for end-begin+1 ids: every token but a final <eos> eats at
 * least one byte); *n_out receives the count. */
static TpStatus tokenize(Corpus *c, int mode, const Span *sp, int32_t *out, size_t *n_out)
{
    const char *b = sp->buf;
    size_t i = sp->begin, line = sp->line0, n = 0;
    TpStatus st = TP_OK;
    int id;
    if (c->level == CORPUS_WORD) {
        while (i < sp->end) {
            while (i < sp->end && b[i] != '\n') {
                if (is_blank(b[i])) { i++; continue; }
                size_t w = i;
                while (i < sp->end && b[i] != '\n' && !is_blank(b[i])) i++;
                if ((st = token_id(c, mode, sp, line, b + w, i - w, 0, &id))) return st;
                out[n++] = id;
            }
            /* every line ends in <eos>, also an empty one and a last one without '\n' */
            if (c->eos_id < 0 && (st = token_id(c, mode, sp, line, "<eos>", 5, 0, &c->eos_id))) return st;
            out[n++] = c->eos_id;
            line++;
            i++; /* past the '\n' (or past the end: the loop stops either way) */
        }
    } else {
        while (i < sp->end) {
            uint32_t cp;
            int len = utf8_len((const unsigned char *)b + i, sp->end - i, &cp);
            if (len == 0) return bad_utf8(sp->name, b, i, line, 0); /* check_text caught it already */
            if ((st = token_id(c, mode, sp, line, b + i, (size_t)len, cp, &id))) return st;
            out[n++] = id;
            if (b[i] == '\n') line++;
            i += (size_t)len;
        }
    }
    *n_out = n;
    return TP_OK;
}

/* ---- loading ---- */

/* Refuse what is not text before any splitting, so the message points at the real problem (a bad
 * byte in the test part of one file must not surface as "train split is empty"). */
static TpStatus check_text(const char *name, const char *buf, size_t len, CorpusLevel level)
{
    if (len == 0) return err_set(TP_EFORMAT, "%s: empty file (expected text)", name);
    const char *nul = memchr(buf, 0, len);
    if (nul)
        return err_set(TP_EFORMAT, "%s: NUL byte at byte offset %zu: a binary file? expected text",
                       name, (size_t)(nul - buf));
    /* both levels: a word of invalid UTF-8 would end up in vocab.json, which JSON readers refuse */
    (void)level;
    size_t line = 1, col = 1; /* col counts characters */
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = utf8_len((const unsigned char *)buf + i, len - i, &cp);
        if (n == 0) return bad_utf8(name, buf, i, line, col);
        if (cp == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
        i += (size_t)n;
    }
    return TP_OK;
}

static void whole_file(Span *sp, const char *name, const char *buf, size_t len)
{
    *sp = (Span){.name = name, .buf = buf, .begin = 0, .end = len, .line0 = 1};
    for (size_t i = 0; i < len; i++) sp->n_lines += buf[i] == '\n';
    if (len && buf[len - 1] != '\n') sp->n_lines++;
}

/* Cut one file into train/valid/test at line boundaries: lines [0,90%), [90%,95%), [95%,100%). */
static void split_file(Span sp[3], const char *name, const char *buf, size_t len)
{
    Span all;
    whole_file(&all, name, buf, len);
    size_t n = all.n_lines, cut[4] = {0, n * 90 / 100, n * 95 / 100, n}, off[4] = {0, len, len, len};
    size_t line = 0;
    for (size_t i = 0; i < len && line < cut[2]; i++)
        if (buf[i] == '\n') {
            line++;
            if (line == cut[1]) off[1] = i + 1;
            if (line == cut[2]) off[2] = i + 1;
        }
    if (cut[1] == 0) off[1] = 0;
    if (cut[2] == 0) off[2] = 0;
    for (int s = 0; s < 3; s++)
        sp[s] = (Span){.name = name, .buf = buf, .begin = off[s], .end = off[s + 1], .line0 = cut[s] + 1,
                       .n_lines = cut[s + 1] - cut[s], .file_lines = n};
}

static TpStatus set_vocab(Corpus *c, char *const *vocab, int n_vocab)
{
    TpStatus st;
    for (int i = 0; i < n_vocab; i++) {
        if (!vocab[i]) return err_set(TP_EINVAL, "%s: vocabulary entry %d is NULL", c->path, i);
        int id = find_str(c, vocab[i]);
        if (id >= 0)
            return err_set(TP_EFORMAT, "%s: vocabulary entry %d ('%.200s') repeats entry %d",
                           c->path, i, vocab[i], id);
        if ((st = add_str(c, vocab[i], &id))) return st;
    }
    c->unk_id = find_str(c, "<unk>");
    if (c->level == CORPUS_WORD) {
        c->eos_id = find_str(c, "<eos>");
        if (c->eos_id < 0)
            return err_set(TP_EFORMAT, "%s: the given vocabulary has no <eos> (needed at word level)", c->path);
    }
    return TP_OK;
}

/* Tokenise the three splits into c (whose path and level are set); vocab == NULL builds one. */
static TpStatus load_spans(Corpus *c, const Span sp[3], int max_vocab, char *const *vocab, int n_vocab)
{
    TpStatus st;
    int limit = max_vocab ? max_vocab : CORPUS_MAX_VOCAB_DEFAULT;
    if (vocab && (st = set_vocab(c, vocab, n_vocab))) return st;
    for (int s = 0; s < 3; s++) {
        size_t room = sp[s].end - sp[s].begin + 1;
        if (room > SIZE_MAX / sizeof(int32_t) || !(c->ids[s] = malloc(room * sizeof(int32_t))))
            return err_set(TP_ENOMEM, "%s: out of memory for the %s split", sp[s].name, corpus_split_name(s));
        int mode = vocab ? MODE_FIXED : s == CORPUS_TRAIN ? MODE_BUILD : MODE_MAP;
        if ((st = tokenize(c, mode, &sp[s], c->ids[s], &c->n_ids[s]))) return st;
        int32_t *shrunk = realloc(c->ids[s], (c->n_ids[s] ? c->n_ids[s] : 1) * sizeof(int32_t));
        if (shrunk) c->ids[s] = shrunk; /* keeping the bigger block is fine */
        if (c->n_ids[s] < 2) {
            if (sp[s].file_lines)
                return err_set(TP_EFORMAT, "%s: the %s split has %zu token(s), needs at least 2 (one file is "
                               "split 90/5/5 by lines: this split got %zu of %zu lines; give at least 20 lines)",
                               sp[s].name, corpus_split_name(s), c->n_ids[s], sp[s].n_lines, sp[s].file_lines);
            return err_set(TP_EFORMAT, "%s: the %s split has %zu token(s), needs at least 2",
                           sp[s].name, corpus_split_name(s), c->n_ids[s]);
        }
        /* PTB has "<unk>" in its train words and keeps that id; other corpora get it appended */
        if (s == CORPUS_TRAIN && !vocab && c->level == CORPUS_WORD &&
            (c->unk_id = find_str(c, "<unk>")) < 0 && (st = add_str(c, "<unk>", &c->unk_id)))
            return st;
        if (!vocab && c->n_vocab > limit)
            return err_set(TP_ERANGE, "%s: vocabulary has %d tokens, over the limit of %d (max_vocab)%s",
                           sp[CORPUS_TRAIN].name, c->n_vocab, limit,
                           c->level == CORPUS_WORD ? "; char level has a far smaller vocabulary" : "");
    }
    return TP_OK;
}

/* Reset *c and validate the arguments common to every loader. */
static TpStatus begin(Corpus *c, const char *path, CorpusLevel level, int max_vocab, char *const *vocab,
                      int n_vocab)
{
    if (!c) return err_set(TP_EINVAL, "corpus: NULL Corpus");
    memset(c, 0, sizeof *c);
    c->level = level;
    c->unk_id = c->eos_id = -1;
    if (!path) return err_set(TP_EINVAL, "corpus: NULL path");
    if (strlen(path) >= sizeof c->path) return err_set(TP_EINVAL, "%.100s...: path too long", path);
    strcpy(c->path, path);
    if (level != CORPUS_WORD && level != CORPUS_CHAR)
        return err_set(TP_EINVAL, "%s: level must be word or char, got %d", path, (int)level);
    if (max_vocab < 0) return err_set(TP_EINVAL, "%s: max_vocab must be >= 0, got %d", path, max_vocab);
    if (vocab && n_vocab <= 0)
        return err_set(TP_EINVAL, "%s: a fixed vocabulary needs at least one entry, got %d", path, n_vocab);
    return TP_OK;
}

static TpStatus finish(Corpus *c, TpStatus st)
{
    if (st != TP_OK) corpus_free(c);
    return st;
}

/* The whole text file (NUL-terminated); a directory is named as such rather than as a read error. */
static TpStatus read_all(const char *path, char **out, size_t *len)
{
    struct stat stt;
    if (stat(path, &stt) == 0 && S_ISDIR(stt.st_mode)) {
        *out = NULL;
        *len = 0;
        return err_set(TP_EINVAL, "%s: is a directory, expected a text file", path);
    }
    void *buf;
    TpStatus st = fsutil_read_file(path, SIZE_MAX, &buf, len);
    *out = buf;
    return st;
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The file of one split in a directory: ptb.<split>.txt, else the unique *<split>*.txt. */
static TpStatus find_split(char *out, size_t cap, const char *dir, const char *split)
{
    if ((size_t)snprintf(out, cap, "%s/ptb.%s.txt", dir, split) >= cap)
        return err_set(TP_EINVAL, "%s: path too long", dir);
    if (is_regular(out)) return TP_OK;
    DIR *d = opendir(dir);
    if (!d) return err_set(TP_ENOENT, "%s: cannot list the directory: %s", dir, strerror(errno));
    char first[256] = "", second[256] = "";
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        const char *nm = e->d_name;
        size_t len = strlen(nm);
        if (nm[0] == '.' || len < 4 || len >= sizeof first || strcmp(nm + len - 4, ".txt") != 0 ||
            !strstr(nm, split))
            continue;
        if ((size_t)snprintf(out, cap, "%s/%s", dir, nm) >= cap || !is_regular(out)) continue;
        if (n == 0) strcpy(first, nm);
        else if (n == 1) strcpy(second, nm);
        n++;
    }
    closedir(d);
    if (n == 0)
        return err_set(TP_ENOENT, "%s: no %s file: expected ptb.%s.txt or one file matching *%s*.txt",
                       dir, split, split, split);
    if (n > 1)
        return err_set(TP_ENOENT, "%s: %d files match *%s*.txt ('%s', '%s'%s): ambiguous; keep one "
                       "or name it ptb.%s.txt", dir, n, split, first, second, n > 2 ? ", ..." : "", split);
    snprintf(out, cap, "%s/%s", dir, first);
    return TP_OK;
}

/* Read three files, tokenise them; paths[] need not outlive the call. */
static TpStatus load_three(Corpus *c, const char *const paths[3], int max_vocab, char *const *vocab,
                           int n_vocab)
{
    char *bufs[3] = {NULL, NULL, NULL};
    size_t lens[3];
    Span sp[3];
    TpStatus st = TP_OK;
    for (int s = 0; s < 3 && st == TP_OK; s++) {
        if (!paths[s]) st = err_set(TP_EINVAL, "corpus: NULL path for the %s split", corpus_split_name(s));
        else if (!(st = read_all(paths[s], &bufs[s], &lens[s])) && !(st = check_text(paths[s], bufs[s], lens[s], c->level)))
            whole_file(&sp[s], paths[s], bufs[s], lens[s]);
    }
    if (st == TP_OK) st = load_spans(c, sp, max_vocab, vocab, n_vocab);
    for (int s = 0; s < 3; s++) free(bufs[s]);
    return st;
}

static TpStatus load_path(Corpus *c, const char *path, CorpusLevel level, int max_vocab, char *const *vocab,
                          int n_vocab)
{
    TpStatus st = begin(c, path, level, max_vocab, vocab, n_vocab);
    if (st != TP_OK) return finish(c, st);
    struct stat stt;
    if (stat(path, &stt) != 0)
        return finish(c, err_set(TP_ENOENT, "%s: %s (expected a corpus directory with train/valid/test .txt "
                                 "files, or one text file)", path, strerror(errno)));
    if (S_ISDIR(stt.st_mode)) {
        char(*p)[4096] = malloc(3 * sizeof *p); /* three PATH_MAX-sized names: keep 12 KB off the stack */
        if (!p) return finish(c, err_set(TP_ENOMEM, "%s: out of memory", path));
        for (int s = 0; s < 3 && st == TP_OK; s++)
            st = find_split(p[s], sizeof p[s], path, corpus_split_name(s));
        if (st == TP_OK) st = load_three(c, (const char *const[3]){p[0], p[1], p[2]}, max_vocab, vocab, n_vocab);
        free(p);
        return finish(c, st);
    }
    char *buf = NULL;
    size_t len = 0;
    Span sp[3];
    if (!(st = read_all(path, &buf, &len)) && !(st = check_text(path, buf, len, level))) {
        split_file(sp, path, buf, len);
        st = load_spans(c, sp, max_vocab, vocab, n_vocab);
    }
    free(buf);
    return finish(c, st);
}

TpStatus corpus_load(Corpus *c, const char *path, CorpusLevel level, int max_vocab)
{
    return load_path(c, path, level, max_vocab, NULL, 0);
}

TpStatus corpus_load_with_vocab(Corpus *c, const char *path, CorpusLevel level, char *const *vocab, int n_vocab)
{
    TpStatus st = begin(c, path, level, 0, vocab, n_vocab);
    if (st == TP_OK && !vocab) st = err_set(TP_EINVAL, "%s: NULL vocabulary", c->path);
    if (st != TP_OK) return finish(c, st);
    return load_path(c, path, level, 0, vocab, n_vocab);
}

TpStatus corpus_load_files(Corpus *c, const char *const paths[3], CorpusLevel level, int max_vocab,
                           char *const *vocab, int n_vocab)
{
    if (!paths) return finish(c, err_set(TP_EINVAL, "corpus: NULL paths"));
    TpStatus st = begin(c, paths[0] ? paths[0] : "(null)", level, max_vocab, vocab, n_vocab);
    if (st == TP_OK) st = load_three(c, paths, max_vocab, vocab, n_vocab);
    return finish(c, st);
}

TpStatus corpus_load_text(Corpus *c, const char *name, const char *text, size_t len, CorpusLevel level,
                          int max_vocab, char *const *vocab, int n_vocab)
{
    TpStatus st = begin(c, name ? name : "(text)", level, max_vocab, vocab, n_vocab);
    if (st == TP_OK && !text && len) st = err_set(TP_EINVAL, "%s: NULL text", c->path);
    if (st == TP_OK && !(st = check_text(c->path, text, len, level))) {
        Span sp[3];
        split_file(sp, c->path, text, len);
        st = load_spans(c, sp, max_vocab, vocab, n_vocab);
    }
    return finish(c, st);
}

/* ---- batching ---- */

TpStatus corpus_batchify(int32_t **out, size_t *L, const int32_t *ids, size_t n, int B)
{
    *out = NULL;
    *L = 0;
    if (B <= 0) return err_set(TP_EINVAL, "--batch must be positive, got %d", B);
    size_t len = n / (size_t)B;
    if (len < 2)
        return err_set(TP_EINVAL, "the split's %zu tokens make %d streams (--batch or --eval-batch) of %zu token(s); "
                       "a stream needs at least 2: use a smaller --batch/--eval-batch or a larger corpus", n, B, len);
    /* stream-major storage makes stream b the contiguous slice [b*L, (b+1)*L) of the input, so
     * batching is a truncated copy; only corpus_window reorders to time-major */
    int32_t *d = malloc(len * (size_t)B * sizeof *d);
    if (!d) return err_set(TP_ENOMEM, "batchify: out of memory for %zu tokens", len * (size_t)B);
    memcpy(d, ids, len * (size_t)B * sizeof *d);
    *out = d;
    *L = len;
    return TP_OK;
}

size_t corpus_n_windows(size_t L, int T)
{
    if (L < 2 || T <= 0) return 0;
    return (L - 1 + (size_t)T - 1) / (size_t)T;
}

void corpus_window(int32_t *x, int32_t *y, int *T_out, const int32_t *data, int B, size_t L, int T, size_t w)
{
    *T_out = 0;
    if (B <= 0 || w >= corpus_n_windows(L, T)) return;
    size_t start = w * (size_t)T, Tw = L - 1 - start;
    if (Tw > (size_t)T) Tw = (size_t)T;
    for (int b = 0; b < B; b++) {
        const int32_t *src = data + (size_t)b * L + start; /* read each stream contiguously */
        for (size_t t = 0; t < Tw; t++) {
            x[t * (size_t)B + (size_t)b] = src[t];
            y[t * (size_t)B + (size_t)b] = src[t + 1];
        }
    }
    *T_out = (int)Tw;
}
