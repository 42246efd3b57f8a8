/* engine/an4_text: the AN4 alphabet and the conversions between text and labels (engine/an4.h). */
#include <stdio.h>

#include "engine/an4.h"

int an4_char_class(int ch)
{
    if (ch == ' ') return AN4_SPACE;
    if (ch == '\'') return AN4_APOSTROPHE;
    if (ch >= 'A' && ch <= 'Z') return 3 + (ch - 'A');
    return -1;
}

char an4_class_char(int c)
{
    if (c == AN4_BLANK) return '_';
    if (c == AN4_SPACE) return ' ';
    if (c == AN4_APOSTROPHE) return '\'';
    if (c >= 3 && c < AN4_N_CLASSES) return (char)('A' + (c - 3));
    return '?';
}

TpStatus an4_text_to_labels(int *labels, int *L, const char *text, int cap)
{
    *L = 0;
    int n = 0;
    for (const char *p = text; *p; p++) {
        int c = an4_char_class((unsigned char)*p);
        if (c < 0) {
            unsigned char ch = (unsigned char)*p;
            if (ch >= 0x20 && ch < 0x7f)
                return err_set(TP_EFORMAT, "column %d: character '%c' is not in the alphabet (A-Z, apostrophe, space)",
                               (int)(p - text) + 1, ch);
            return err_set(TP_EFORMAT, "column %d: byte 0x%02x is not in the alphabet (A-Z, apostrophe, space)",
                           (int)(p - text) + 1, ch);
        }
        if (n >= cap) return err_set(TP_ERANGE, "text longer than %d characters", cap);
        labels[n++] = c;
    }
    *L = n;
    return TP_OK;
}

TpStatus an4_labels_to_text(char *buf, size_t cap, const int *labels, int L)
{
    if (cap == 0) return err_set(TP_ERANGE, "labels to text: no room");
    buf[0] = '\0';
    if ((size_t)L + 1 > cap) return err_set(TP_ERANGE, "labels to text: %d labels do not fit in %zu bytes", L, cap);
    for (int i = 0; i < L; i++) {
        if (labels[i] < 1 || labels[i] >= AN4_N_CLASSES) {
            buf[0] = '\0';
            return err_set(TP_EINVAL, "labels to text: label %d at %d is not a character class (1..%d)", labels[i], i,
                           AN4_N_CLASSES - 1);
        }
        buf[i] = an4_class_char(labels[i]);
    }
    buf[L] = '\0';
    return TP_OK;
}
