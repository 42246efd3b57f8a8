/* tui/prompt: the `:` command line: editing (Left/Right/Home/End/Backspace/Delete, C-a C-e C-u C-w),
 * history (Up/Down), Tab completion of verbs, of the current verb's keys and positional words, and of
 * values: the choices of an enumerated key (pattern=row|block|unstructured, block=16x1|8x1|4x4, ...:
 * the verb table's key specs) and the session's snapshot names where a key takes one (restore name=). */
#ifndef TP_PROMPT_H
#define TP_PROMPT_H

#define PROMPT_MAX 512
#define PROMPT_HISTORY 64

typedef enum { PROMPT_EDITING = 0, PROMPT_SUBMIT = 1, PROMPT_CANCEL = 2 } PromptState;

#define PROMPT_MAX_NAMES 64

/* Fills out with up to max snapshot names; returns how many. */
typedef int (*PromptNamesFn)(void *ctx, char out[][64], int max);

typedef struct {
    char buf[PROMPT_MAX];
    int len, cur;
    char hist[PROMPT_HISTORY][PROMPT_MAX];
    int n_hist, hist_pos;     /* hist_pos == n_hist: the line being typed */
    char saved[PROMPT_MAX];   /* the line being typed while browsing history */
    char hint[256];           /* completion candidates to show */
    PromptNamesFn names;      /* snapshot names for completion; may be NULL */
    void *names_ctx;
} Prompt;

void prompt_open(Prompt *p);
PromptState prompt_key(Prompt *p, int ch);
void prompt_remember(Prompt *p, const char *line);

#endif
