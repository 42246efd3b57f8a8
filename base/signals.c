/* base/signals: see signals.h. */
#include "base/signals.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
    if (!stop_sig) stop_sig = sig;
}

void signals_catch_stop(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    stop_sig = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int signals_stop_requested(void) { return (int)stop_sig; }

int signals_exit_code(int sig) { return sig > 0 ? 128 + sig : 0; }
