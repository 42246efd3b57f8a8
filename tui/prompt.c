/* tui/prompt: see prompt.h. */
#include "prompt.h"

#include <curses.h>
#include <stdio.h>
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

/* Complete the word before the cursor: a verb as the first word, otherwise a key of the verb. */
static void complete(Prompt *p)
{
    int start = p->cur;
    while (start > 0 && p->buf[start - 1] != ' ') start--;
    char word[PROMPT_MAX];
    int wl = p->cur - start;
    memcpy(word, p->buf + start, (size_t)wl);
    word[wl] = '\0';
    if (strchr(word, '=')) return;
    const char *const *cands;
    char verb[32] = "";
    int first = 1;
    for (int i = 0; i < start; i++)
        if (p->buf[i] != ' ') first = 0;
    if (first) {
        cands = command_verbs();
    } else {
        sscanf(p->buf, "%31s", verb);
        cands = command_keys(verb);
        if (!cands) return;
    }
    const char *match = NULL;
    int n_match = 0;
    p->hint[0] = '\0';
    for (int i = 0; cands[i]; i++) {
        if (strncmp(cands[i], word, (size_t)wl)) continue;
        if (!n_match++) match = cands[i];
        size_t hl = strlen(p->hint);
        snprintf(p->hint + hl, sizeof p->hint - hl, "%s%s", hl ? " " : "", cands[i]);
    }
    if (n_match == 1) {
        insert(p, match + wl);
        insert(p, first ? " " : "=");
        p->hint[0] = '\0';
    } else if (n_match > 1) {
        /* extend to the longest common prefix */
        size_t common = strlen(match);
        for (int i = 0; cands[i]; i++)
            if (!strncmp(cands[i], word, (size_t)wl)) {
                size_t k = 0;
                while (k < common && cands[i][k] == match[k]) k++;
                common = k;
            }
        if (common > (size_t)wl) {
            char ext[PROMPT_MAX];
            memcpy(ext, match + wl, common - (size_t)wl);
            ext[common - (size_t)wl] = '\0';
            insert(p, ext);
        }
    }
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
