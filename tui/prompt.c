/* tui/prompt: see prompt.h. */
#include "prompt.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessions/command.h"

void prompt_open(Prompt *p)
{
    p->buf[0] = '\0';
    p->len = p->cur = 0;
    p->hist_pos = p->n_hist;
    p->hint[0] = '\0';
}

void prompt_remember(Prompt *p, const char *line)
{
    if (!line[0] || (p->n_hist && !strcmp(p->hist[p->n_hist - 1], line))) return;
    if (p->n_hist == PROMPT_HISTORY) {
        memmove(p->hist[0], p->hist[1], sizeof p->hist[0] * (PROMPT_HISTORY - 1));
        p->n_hist--;
    }
    snprintf(p->hist[p->n_hist++], PROMPT_MAX, "%s", line);
}

static void set_line(Prompt *p, const char *s)
{
    size_t n = strlen(s);
    if (n >= PROMPT_MAX) n = PROMPT_MAX - 1;
    memmove(p->buf, s, n);
    p->buf[n] = '\0';
    p->len = p->cur = (int)n;
}

static void insert(Prompt *p, const char *s)
{
    int n = (int)strlen(s);
    if (p->len + n >= PROMPT_MAX - 1) return;
    memmove(p->buf + p->cur + n, p->buf + p->cur, (size_t)(p->len - p->cur + 1));
    memcpy(p->buf + p->cur, s, (size_t)n);
    p->len += n;
    p->cur += n;
}

/* Keys whose value is a snapshot of the session. */
static int takes_snapshot(const char *verb, const char *key) { return !strcmp(verb, "restore") && !strcmp(key, "name"); }

typedef struct {
    char c[PROMPT_MAX_NAMES][64];
    int n;
} Cands;

static void add(Cands *c, const char *s, size_t len)
{
    if (c->n < PROMPT_MAX_NAMES && len < sizeof c->c[0]) {
        memcpy(c->c[c->n], s, len);
        c->c[c->n++][len] = '\0';
    }
}

static void add_list(Cands *c, const char *const *l)
{
    for (int i = 0; l && l[i]; i++) add(c, l[i], strlen(l[i]));
}

/* "a|b|c" */
static void add_choices(Cands *c, const char *choices)
{
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        add(c, p, bar ? (size_t)(bar - p) : strlen(p));
        p = bar ? bar + 1 : NULL;
    }
}

/* Complete the word before the cursor: a verb as the first word; then a key of the verb (or, as the
 * second word, its positional word); after "key=", one of the key's values. */
static void complete(Prompt *p)
{
    int start = p->cur;
    while (start > 0 && p->buf[start - 1] != ' ') start--;
    char word[PROMPT_MAX];
    int wl = p->cur - start;
    memcpy(word, p->buf + start, (size_t)wl);
    word[wl] = '\0';
    char verb[32] = "";
    int nth = 0; /* words before this one */
    for (int i = 0; i < start; i++)
        if (p->buf[i] != ' ' && (i == 0 || p->buf[i - 1] == ' ')) nth++;
    sscanf(p->buf, "%31s", verb);
    Cands *c = calloc(1, sizeof *c);
    if (!c) return;
    const char *eq = strchr(word, '=');
    const char *prefix = word;
    const char *suffix = " ";
    if (eq) {
        /* a value: the key's choices, or the session's snapshots */
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - word), word);
        CommandKeySpec ks;
        if (nth && command_key_spec(verb, key, &ks) == TP_OK && ks.type == COMMAND_KEY_ENUM) add_choices(c, ks.choices);
        else if (nth && takes_snapshot(verb, key) && p->names) c->n = p->names(p->names_ctx, c->c, PROMPT_MAX_NAMES);
        prefix = eq + 1;
    } else if (!nth) {
        add_list(c, command_verbs());
    } else {
        if (nth == 1) add_choices(c, command_words(verb));
        int words = c->n;
        add_list(c, command_keys(verb));
        /* a unique key gets "=", a unique word " " */
        int pl = (int)strlen(prefix), hits = 0, last = -1;
        for (int i = 0; i < c->n; i++)
            if (!strncmp(c->c[i], prefix, (size_t)pl)) hits++, last = i;
        if (hits == 1 && last >= words) suffix = "=";
    }
    int pl = (int)strlen(prefix);
    const char *match = NULL;
    int n_match = 0;
    p->hint[0] = '\0';
    for (int i = 0; i < c->n; i++) {
        if (strncmp(c->c[i], prefix, (size_t)pl)) continue;
        if (!n_match++) match = c->c[i];
        size_t hl = strlen(p->hint);
        snprintf(p->hint + hl, sizeof p->hint - hl, "%s%s", hl ? " " : "", c->c[i]);
    }
    if (n_match == 1) {
        insert(p, match + pl);
        insert(p, suffix);
        p->hint[0] = '\0';
    } else if (n_match > 1) {
        /* extend to the longest common prefix */
        size_t common = strlen(match);
        for (int i = 0; i < c->n; i++)
            if (!strncmp(c->c[i], prefix, (size_t)pl)) {
                size_t k = 0;
                while (k < common && c->c[i][k] == match[k]) k++;
                common = k;
            }
        if (common > (size_t)pl) {
            char ext[PROMPT_MAX];
            memcpy(ext, match + pl, common - (size_t)pl);
            ext[common - (size_t)pl] = '\0';
            insert(p, ext);
        }
    } else if (eq && !c->n) {
        /* nothing to choose from: say what the key takes */
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - word), word);
        CommandKeySpec ks;
        if (command_key_spec(verb, key, &ks) != TP_OK) snprintf(p->hint, sizeof p->hint, "%s", err_msg());
        else if (ks.type == COMMAND_KEY_STR) snprintf(p->hint, sizeof p->hint, "%s: %s", key, ks.help);
        else snprintf(p->hint, sizeof p->hint, "%s: %s %g..%g, %s", key, ks.type == COMMAND_KEY_INT ? "whole number" : "number",
                      ks.lo, ks.hi, ks.help);
    }
    free(c);
}

PromptState prompt_key(Prompt *p, int ch)
{
    switch (ch) {
    case 27: /* Esc */
    case 7:  /* C-g */
        return PROMPT_CANCEL;
    case '\n':
    case '\r':
    case KEY_ENTER:
        prompt_remember(p, p->buf);
        p->hist_pos = p->n_hist;
        return PROMPT_SUBMIT;
    case KEY_LEFT:
        if (p->cur > 0) p->cur--;
        break;
    case KEY_RIGHT:
        if (p->cur < p->len) p->cur++;
        break;
    case KEY_HOME:
    case 1:
        p->cur = 0;
        break;
    case KEY_END:
    case 5:
        p->cur = p->len;
        break;
    case KEY_BACKSPACE:
    case 127:
    case 8:
        if (p->cur > 0) {
            memmove(p->buf + p->cur - 1, p->buf + p->cur, (size_t)(p->len - p->cur + 1));
            p->cur--;
            p->len--;
        } else if (p->len == 0) {
            return PROMPT_CANCEL;
        }
        break;
    case KEY_DC:
        if (p->cur < p->len) {
            memmove(p->buf + p->cur, p->buf + p->cur + 1, (size_t)(p->len - p->cur));
            p->len--;
        }
        break;
    case 21: /* C-u */
        set_line(p, "");
        break;
    case 23: { /* C-w: delete the word before the cursor */
        int s = p->cur;
        while (s > 0 && p->buf[s - 1] == ' ') s--;
        while (s > 0 && p->buf[s - 1] != ' ') s--;
        memmove(p->buf + s, p->buf + p->cur, (size_t)(p->len - p->cur + 1));
        p->len -= p->cur - s;
        p->cur = s;
        break;
    }
    case KEY_UP:
        if (p->hist_pos > 0) {
            if (p->hist_pos == p->n_hist) snprintf(p->saved, sizeof p->saved, "%s", p->buf);
            set_line(p, p->hist[--p->hist_pos]);
        }
        break;
    case KEY_DOWN:
        if (p->hist_pos < p->n_hist) {
            p->hist_pos++;
            set_line(p, p->hist_pos == p->n_hist ? p->saved : p->hist[p->hist_pos]);
        }
        break;
    case '\t':
        complete(p);
        break;
    default:
        if (ch >= 32 && ch < 127) {
            char s[2] = {(char)ch, 0};
            insert(p, s);
            p->hint[0] = '\0';
        }
        break;
    }
    return PROMPT_EDITING;
}
