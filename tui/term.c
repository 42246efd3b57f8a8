/* tui/term: see term.h.  Crash signals restore the terminal with async-signal-safe calls only
 * (htop's CRT pattern), then re-raise so the default action (core dump) still happens. */
#include "term.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int active;
static int use_color;

static void crash_handler(int sig)
{
    /* endwin is not async-signal-safe; reset the terminal with a plain escape sequence instead */
    static const char reset[] = "\033[?1049l\033[0m\033[?25h\r\n";
    ssize_t w = write(STDOUT_FILENO, reset, sizeof reset - 1);
    (void)w;
    static const char msg[] = "topiary: crashed (signal); the session is as of its last save. Please report this.\n";
    w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

TpStatus term_init(TermCaps *caps, int want_color, int want_ascii)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
        return err_set(TP_EINVAL, "the workbench needs a terminal (stdin and stdout are not both TTYs); use "
                                  "`topiary run SCRIPT` for batch work");
    setlocale(LC_ALL, "");
    const char *cs = nl_langinfo(CODESET);
    caps->ascii = want_ascii || !cs || strcmp(cs, "UTF-8") != 0;
    const char *term = getenv("TERM");
    if (!term || !*term) setenv("TERM", "vt100", 1);
    if (!initscr()) return err_set(TP_EIO, "cannot initialise the terminal (TERM=%s)", term ? term : "");
    active = 1;
    atexit(term_done);
    signal(SIGSEGV, crash_handler);
    signal(SIGBUS, crash_handler);
    signal(SIGFPE, crash_handler);
    signal(SIGABRT, crash_handler);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    set_escdelay(25);
    curs_set(0);
    const char *nc = getenv("NO_COLOR");
    use_color = want_color && !(nc && *nc) && has_colors();
    if (use_color) {
        start_color();
        use_default_colors();
        init_pair(TERM_C_BAR, COLOR_BLACK, COLOR_CYAN);
        init_pair(TERM_C_KEY, COLOR_WHITE, COLOR_BLUE);
        init_pair(TERM_C_ERR, COLOR_RED, -1);
        init_pair(TERM_C_OK, COLOR_GREEN, -1);
        init_pair(TERM_C_S1, COLOR_CYAN, -1);
        init_pair(TERM_C_S2, COLOR_YELLOW, -1);
        init_pair(TERM_C_S3, COLOR_GREEN, -1);
        init_pair(TERM_C_S4, COLOR_MAGENTA, -1);
        init_pair(TERM_C_TITLE, COLOR_CYAN, -1);
        init_pair(TERM_C_SEL, COLOR_BLACK, COLOR_YELLOW);
        init_pair(TERM_C_MARK, COLOR_RED, -1);
    }
    caps->color = use_color;
    return TP_OK;
}

void term_done(void)
{
    if (!active) return;
    active = 0;
    curs_set(1);
    endwin();
}

int term_too_small(void) { return COLS < TERM_MIN_COLS || LINES < TERM_MIN_ROWS; }

int term_key(int timeout_ms)
{
    timeout(timeout_ms);
    return getch();
}

int term_attr(int pair)
{
    if (use_color) return COLOR_PAIR(pair);
    switch (pair) {
    case TERM_C_BAR: case TERM_C_KEY: case TERM_C_SEL: return A_REVERSE;
    case TERM_C_ERR: case TERM_C_TITLE: case TERM_C_MARK: return A_BOLD;
    default: return A_NORMAL;
    }
}
