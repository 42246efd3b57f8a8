/* tests/fuzz/fuzz_lines: libFuzzer target for the line readers of scripts and journals (issue 11):
 * base/lines (LineReader, as `topiary run SCRIPT` reads a script) and sessions/journal (journal_parse,
 * the reader behind journal_read and replay) on arbitrary bytes.
 *
 * Invariants: a line comes back whole (no '\n', NUL or CR inside, at most max_len bytes, its length
 * what strlen says) with increasing line numbers, or the reader refuses with TP_EFORMAT naming
 * "NAME:LINE"; every script line goes through command_parse without crashing.  A parsed journal has
 * entries with increasing line numbers and commands within JOURNAL_COMMAND_MAX and free of tabs and
 * line ends, every one a command the parser takes or refuses; a failed parse returns no entries. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/lines.h"
#include "fuzz_seed.h"
#include "sessions/command.h"
#include "sessions/journal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *const seeds[] = {
        "train steps=10 # warm-up\nprune ratio=0.5\n\nundo\n",
        "0\t2026-01-01T00:00:00Z\ttrain steps=85\ttrained\n85\t2026-01-01T00:00:01Z\ttrain steps=85 undo=0\tok\n",
        "0\tT\tprune ratio=0.5\r dry=1\tx\n",
        "0\tT\tset lr=0.5\tok\n1\tT\tgrow ra",
        "prune ratio=0.5\0 dry=1\n",
        "3\tT\texport out=/tmp/x\tplanted\n\n\n4\tT\tundo\n"};
    const char *dir = fuzz_corpus_dir(*argc, *argv);
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "seed-%02zu", i);
        fuzz_write_seed(dir, name, seeds[i], strlen(seeds[i]) + (i == 4 ? 9 : 0));
    }
    return 0;
}

static void check_lines(const uint8_t *data, size_t size)
{
    if (!size) return;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return;
    LineReader lr;
    const size_t max_len = 512;
    lines_init(&lr, f, "S", max_len);
    const char *line;
    size_t len;
    long prev = 0;
    TpStatus st;
    while ((st = lines_next(&lr, &line, &len)) == TP_OK && line) {
        if (lr.line != prev + 1) abort();
        prev = lr.line;
        if (len > max_len || strlen(line) != len || strpbrk(line, "\r\n")) abort();
        Command c;
        command_parse(line, &c);
    }
    if (st != TP_OK && st != TP_EFORMAT) abort();
    if (st == TP_EFORMAT && strncmp(err_msg(), "S:", 2) != 0) abort();
    lines_free(&lr);
    fclose(f);
}

static void check_journal(const uint8_t *data, size_t size)
{
    JournalEntry *e = (JournalEntry *)1;
    int n = -1, torn = -1;
    TpStatus st = journal_parse((const char *)data, size, "J", &e, &n, &torn);
    if (st != TP_OK) {
        if (st != TP_EFORMAT || e != NULL || n != 0 || strncmp(err_msg(), "J:", 2) != 0) abort();
        return;
    }
    if (n < 0 || (n > 0 && !e) || (torn != 0 && torn != 1)) abort();
    long prev = 0;
    for (int i = 0; i < n; i++) {
        if (e[i].line <= prev || strlen(e[i].command) > JOURNAL_COMMAND_MAX) abort();
        if (strpbrk(e[i].command, "\t\r\n") || strpbrk(e[i].time, "\t\r\n")) abort();
        prev = e[i].line;
        Command c;
        command_parse(e[i].command, &c);
    }
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_lines(data, size);
    check_journal(data, size);
    return 0;
}
