/* tui/screens: see screens.h.  The only dispatch on the screen number. */
#include "screens.h"

#include <stdlib.h>

static const Screen *const SCREENS[] = {&SCREEN_TRAIN, &SCREEN_PRUNE, &SCREEN_LATENCY, &SCREEN_SESSIONS, &SCREEN_HELP,
                                       &SCREEN_LESSONS};
#define N_SCREENS ((int)(sizeof SCREENS / sizeof SCREENS[0]))
_Static_assert(N_SCREENS <= APP_MAX_SCREENS, "App.screen_state is too small");

const Screen *const *screens_table(int *n)
{
    *n = N_SCREENS;
    return SCREENS;
}

TpStatus screens_init(App *a)
{
    for (int i = 0; i < N_SCREENS; i++) {
        a->screen_state[i] = calloc(1, SCREENS[i]->state_size ? SCREENS[i]->state_size : 1);
        if (!a->screen_state[i]) {
            screens_fini(a);
            return err_set(TP_ENOMEM, "screens: out of memory");
        }
        if (SCREENS[i]->init) SCREENS[i]->init(a, a->screen_state[i]);
    }
    return TP_OK;
}

void screens_fini(App *a)
{
    for (int i = 0; i < N_SCREENS; i++) {
        if (a->screen_state[i] && SCREENS[i]->fini) SCREENS[i]->fini(a, a->screen_state[i]);
        free(a->screen_state[i]);
        a->screen_state[i] = NULL;
    }
}

static int current(const App *a) { return a->screen >= 0 && a->screen < N_SCREENS ? a->screen : 0; }

void screens_refresh(App *a)
{
    int i = current(a);
    if (SCREENS[i]->refresh) SCREENS[i]->refresh(a, a->screen_state[i]);
}

void screens_draw(App *a, int top, int h)
{
    int i = current(a);
    SCREENS[i]->draw(a, a->screen_state[i], top, h);
}

int screens_key(App *a, int ch)
{
    int i = current(a);
    return SCREENS[i]->key ? SCREENS[i]->key(a, a->screen_state[i], ch) : 0;
}

int screens_action(App *a, KeyAction act)
{
    for (int i = 0; i < N_SCREENS; i++)
        if (SCREENS[i]->action && SCREENS[i]->action(a, a->screen_state[i], act)) return 1;
    return 0;
}

void screens_result(App *a, const CommandResult *r)
{
    for (int i = 0; i < N_SCREENS; i++)
        if (SCREENS[i]->result) SCREENS[i]->result(a, a->screen_state[i], r);
}
