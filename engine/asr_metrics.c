/* engine/asr_metrics: Levenshtein distance over words and characters, WER and CER (asr_metrics.h). */
#include "engine/asr_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p;
    size_t n;
} Tok;

/* One DP over token arrays; tokens compare by bytes.  Two rows of n_hyp + 1 entries. */
static TpStatus distance(long *dist, const Tok *r, long nr, const Tok *h, long nh)
{
    long *prev = malloc((size_t)(nh + 1) * sizeof *prev), *row = malloc((size_t)(nh + 1) * sizeof *row);
    if (!prev || !row) {
        free(prev);
        free(row);
        return err_set(TP_ENOMEM, "edit distance: out of memory");
    }
    for (long j = 0; j <= nh; j++) prev[j] = j;
    for (long i = 1; i <= nr; i++) {
        row[0] = i;
        for (long j = 1; j <= nh; j++) {
            int same = r[i - 1].n == h[j - 1].n && memcmp(r[i - 1].p, h[j - 1].p, r[i - 1].n) == 0;
            long best = prev[j - 1] + !same;              /* match / substitution */
            if (prev[j] + 1 < best) best = prev[j] + 1;   /* deletion */
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;  /* insertion */
            row[j] = best;
        }
        long *t = prev;
        prev = row;
        row = t;
    }
    *dist = prev[nh];
    free(prev);
    free(row);
    return TP_OK;
}

TpStatus asr_edit_distance(long *dist, const int *ref, int n_ref, const int *hyp, int n_hyp)
{
    *dist = 0;
    if (n_ref < 0 || n_hyp < 0 || n_ref > ASR_MAX_TOKENS || n_hyp > ASR_MAX_TOKENS)
        return err_set(TP_ERANGE, "edit distance: lengths %d and %d (0..%d)", n_ref, n_hyp, ASR_MAX_TOKENS);
    Tok *r = malloc((size_t)(n_ref + 1) * sizeof *r), *h = malloc((size_t)(n_hyp + 1) * sizeof *h);
    TpStatus st = TP_OK;
    if (!r || !h) st = err_set(TP_ENOMEM, "edit distance: out of memory");
    else {
        for (int i = 0; i < n_ref; i++) r[i] = (Tok){(const char *)&ref[i], sizeof(int)};
        for (int i = 0; i < n_hyp; i++) h[i] = (Tok){(const char *)&hyp[i], sizeof(int)};
        st = distance(dist, r, n_ref, h, n_hyp);
    }
    free(r);
    free(h);
    return st;
}

/* Words (split on spaces) or characters (spaces dropped) of s into a malloc'd token array. */
static TpStatus tokens(Tok **out, long *n, const char *s, int words, const char *what)
{
    *out = NULL;
    *n = 0;
    size_t len = strlen(s), cap = 0;
    for (size_t i = 0; i < len; i++) cap += s[i] != ' ' && (!words || i == 0 || s[i - 1] == ' ');
    if (cap > ASR_MAX_TOKENS)
        return err_set(TP_ERANGE, "%s: more than %d %s", what, ASR_MAX_TOKENS, words ? "words" : "characters");
    Tok *t = malloc((cap + 1) * sizeof *t);
    if (!t) return err_set(TP_ENOMEM, "%s: out of memory", what);
    long k = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == ' ') { i++; continue; }
        if (!words) { t[k++] = (Tok){s + i, 1}; i++; continue; }
        size_t j = i;
        while (j < len && s[j] != ' ') j++;
        t[k++] = (Tok){s + i, j - i};
        i = j;
    }
    *out = t;
    *n = k;
    return TP_OK;
}

static TpStatus text_errors(long *edits, long *ref_len, const char *ref, const char *hyp, int words)
{
    *edits = 0;
    *ref_len = 0;
    Tok *r = NULL, *h = NULL;
    long nr, nh;
    TpStatus st = tokens(&r, &nr, ref, words, "reference");
    if (!st) st = tokens(&h, &nh, hyp, words, "hypothesis");
    if (!st) st = distance(edits, r, nr, h, nh);
    if (!st) *ref_len = nr;
    free(r);
    free(h);
    return st;
}

TpStatus asr_word_errors(long *edits, long *ref_words, const char *ref, const char *hyp)
{
    return text_errors(edits, ref_words, ref, hyp, 1);
}

TpStatus asr_char_errors(long *edits, long *ref_chars, const char *ref, const char *hyp)
{
    return text_errors(edits, ref_chars, ref, hyp, 0);
}

void asr_totals_init(AsrTotals *t) { memset(t, 0, sizeof *t); }

TpStatus asr_totals_add(AsrTotals *t, const char *ref, const char *hyp)
{
    long we, wn, ce, cn;
    TpStatus st = asr_word_errors(&we, &wn, ref, hyp);
    if (!st) st = asr_char_errors(&ce, &cn, ref, hyp);
    if (st) return st;
    t->utts++;
    t->word_edits += we;
    t->words += wn;
    t->char_edits += ce;
    t->chars += cn;
    t->exact += we == 0;
    return TP_OK;
}

static double rate(long edits, long n)
{
    if (n > 0) return (double)edits / (double)n;
    return edits ? INFINITY : 0.0;
}

double asr_wer(const AsrTotals *t) { return rate(t->word_edits, t->words); }
double asr_cer(const AsrTotals *t) { return rate(t->char_edits, t->chars); }
