/* tui/form: see form.h. */
#include "form.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sessions/command.h"

/* The form's own knowledge: label, which verb key, may it stay empty, default.  In FORM_* order. */
static const struct {
    const char *label, *verb, *key;
    int optional;
    const char *value;
} FIELDS[] = {
    {"grow ratio", "grow", "ratio", 0, "0.1"},
    {"grow init", "grow", "init", 0, "zero"},
    {"grow batches", "grow", "batches", 0, "20"},
    {"prune ratio", "prune", "ratio", 1, "0.2"},
    {"prune threshold", "prune", "threshold", 1, ""},
    {"ratio ih (dual)", "prune", "ih", 1, ""},
    {"ratio hh (dual)", "prune", "hh", 1, ""},
    {"pattern", "prune", "pattern", 0, "unstructured"},
    {"block (RxC)", "prune", "block", 0, "16x1"},
    {"block rows", "prune", "rows", 0, "natural"},
    {"scope", "prune", "scope", 0, "matrix"},
    {"params (glob)", "prune", "params", 1, ""},
    {"schedule", "schedule", NULL, 0, "none"},
    {"agp final sparsity", "schedule", "to", 0, "0.8"},
    {"agp over steps", "schedule", "span", 0, "2000"},
    {"gp tolerance (ppl)", "schedule", "tolerance", 0, "2"},
    {"state tau", "state", "tau", 1, ""},
};
#define N_FIXED ((int)(sizeof FIELDS / sizeof FIELDS[0]))
_Static_assert(N_FIXED == FORM_TARGET0, "FIELDS and the FORM_* indices disagree");

static TpStatus field_from_spec(FormField *f, const char *label, const char *verb, const char *key, int optional,
                                const char *value)
{
    memset(f, 0, sizeof *f);
    f->label = label;
    f->verb = verb;
    f->key = key;
    f->optional = optional;
    snprintf(f->value, sizeof f->value, "%s", value);
    if (!key) {
        f->type = FORM_CHOICE;
        f->choices = command_words(verb);
        if (!f->choices) return err_set(TP_EINVAL, "form: %s takes no positional word", verb);
        /* the form sets the schedule training drives; schedule hwgp runs at once (the : prompt) */
        if (!strcmp(verb, "schedule")) f->choices = "none|agp|gp";
        return TP_OK;
    }
    CommandKeySpec ks;
    TpStatus st = command_key_spec(verb, key, &ks);
    if (st != TP_OK) return err_wrap(st, "form field '%s': ", label);
    switch (ks.type) {
    case COMMAND_KEY_INT: f->integer = 1; /* fall through */
    case COMMAND_KEY_NUM: f->type = FORM_NUM; f->lo = ks.lo; f->hi = ks.hi; break;
    case COMMAND_KEY_ENUM: f->type = FORM_CHOICE; f->choices = ks.choices; break;
    case COMMAND_KEY_STR: f->type = FORM_TEXT; break;
    }
    return TP_OK;
}

TpStatus form_init(Form *f, int n_layers, const int *hidden)
{
    static char labels[FORM_MAX_LAYERS][24];
    memset(f, 0, sizeof *f);
    for (int i = 0; i < N_FIXED; i++) {
        TpStatus st = field_from_spec(&f->f[i], FIELDS[i].label, FIELDS[i].verb, FIELDS[i].key, FIELDS[i].optional,
                                      FIELDS[i].value);
        if (st != TP_OK) return st;
    }
    f->n = N_FIXED;
    for (int l = 0; l < n_layers && l < FORM_MAX_LAYERS && f->n < FORM_MAX_FIELDS; l++) {
        char v[16];
        snprintf(labels[l], sizeof labels[l], "target hidden l%d", l);
        snprintf(v, sizeof v, "%d", hidden[l]);
        TpStatus st = field_from_spec(&f->f[f->n++], labels[l], "resize", "hidden", 0, v);
        if (st != TP_OK) return st;
        f->n_layers = l + 1;
    }
    return TP_OK;
}

static int choice_index(const char *choices, const char *v, int *n_out)
{
    int i = 0, found = -1;
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (strlen(v) == len && !strncmp(p, v, len)) found = i;
        i++;
        if (!bar) break;
        p = bar + 1;
    }
    if (n_out) *n_out = i;
    return found;
}

static void choice_at(const char *choices, int k, char *out, size_t n)
{
    const char *p = choices;
    for (int i = 0; i < k; i++) p = strchr(p, '|') + 1;
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    snprintf(out, n, "%.*s", (int)len, p);
}

int form_field_valid(const FormField *f, const char *v)
{
    if (!*v) return f->optional;
    if (f->type == FORM_NUM) {
        char *end;
        double d = strtod(v, &end);
        return !*end && isfinite(d) && d >= f->lo && d <= f->hi && (!f->integer || d == floor(d));
    }
    if (f->type == FORM_CHOICE) return choice_index(f->choices, v, NULL) >= 0;
    for (const char *p = v; *p; p++)
        if (*p == ' ' || *p == '"') return 0;
    return 1;
}

void form_field_step(FormField *f, int dir)
{
    if (f->type == FORM_CHOICE) {
        int n, k = choice_index(f->choices, f->value, &n);
        k = (k + (dir > 0 ? 1 : n - 1)) % n;
        choice_at(f->choices, k, f->value, sizeof f->value);
    } else if (f->type == FORM_NUM && *f->value) {
        /* nudge numbers: ratios by 0.05, sizes by 8 (a typical hysteresis step) */
        double v = strtod(f->value, NULL), d = f->hi <= 1 ? 0.05 : 8;
        v += dir > 0 ? d : -d;
        v = fmin(f->hi, fmax(f->lo, v));
        if (f->hi <= 1) snprintf(f->value, sizeof f->value, "%.2f", v);
        else snprintf(f->value, sizeof f->value, "%.0f", v);
    }
}

int form_field_is_schedule(int i) { return i >= FORM_SCHED && i <= FORM_GP_TOL; }

static const char *fv(const Form *f, int i) { return f->f[i].value; }

TpStatus form_commands(const Form *f, FormCommand c, long step, const int *hidden, char lines[][FORM_LINE_MAX], int max,
                       int *n)
{
    *n = 0;
    for (int i = 0; i < f->n; i++)
        if (!form_field_valid(&f->f[i], f->f[i].value))
            return err_set(TP_EINVAL, "%s: invalid value '%s'", f->f[i].label, f->f[i].value);
    if (max < 1) return TP_OK;
    char params[96] = "", block[96] = "", rows[96] = "";
    if (*fv(f, FORM_PARAMS)) snprintf(params, sizeof params, " params=%s", fv(f, FORM_PARAMS));
    int blocked = !strcmp(fv(f, FORM_PATTERN), "block");
    if (blocked) snprintf(block, sizeof block, " pattern=block block=%s", fv(f, FORM_BLOCK));
    /* grow and prune only: the schedules keep their blocks on the natural grid */
    if (blocked && strcmp(fv(f, FORM_ROWS), "natural")) snprintf(rows, sizeof rows, " rows=%s", fv(f, FORM_ROWS));
    switch (c) {
    case FORM_CMD_GROW:
        snprintf(lines[(*n)++], FORM_LINE_MAX, "grow ratio=%s init=%s batches=%s scope=%s%s%s%s", fv(f, FORM_GROW),
                 fv(f, FORM_INIT), fv(f, FORM_BATCHES), fv(f, FORM_SCOPE), params, block, rows);
        break;
    case FORM_CMD_PRUNE: {
        char amount[96] = "", dual[96] = "";
        if (*fv(f, FORM_THRESH)) snprintf(amount, sizeof amount, "threshold=%s", fv(f, FORM_THRESH));
        else if (*fv(f, FORM_PRUNE)) snprintf(amount, sizeof amount, "ratio=%s", fv(f, FORM_PRUNE));
        if (*fv(f, FORM_IH)) snprintf(dual, sizeof dual, " ih=%s", fv(f, FORM_IH));
        if (*fv(f, FORM_HH)) snprintf(dual + strlen(dual), sizeof dual - strlen(dual), " hh=%s", fv(f, FORM_HH));
        if (!amount[0] && !dual[0]) return err_set(TP_EINVAL, "prune: set a ratio, a threshold or the dual ratios");
        if (blocked)
            snprintf(lines[(*n)++], FORM_LINE_MAX, "prune %s%s%s%s scope=%s%s", amount, dual, block, rows, fv(f, FORM_SCOPE),
                     params);
        else
            snprintf(lines[(*n)++], FORM_LINE_MAX, "prune %s%s pattern=%s scope=%s%s", amount, dual, fv(f, FORM_PATTERN),
                     fv(f, FORM_SCOPE), params);
        break;
    }
    case FORM_CMD_RESIZE:
        for (int l = 0; l < f->n_layers && *n < max; l++) {
            int want = atoi(fv(f, FORM_TARGET0 + l));
            if (want != hidden[l]) snprintf(lines[(*n)++], FORM_LINE_MAX, "resize layer=%d hidden=%d", l, want);
        }
        break;
    case FORM_CMD_SCHEDULE: {
        const char *k = fv(f, FORM_SCHED);
        long span = atol(fv(f, FORM_AGP_STEPS));
        if (!strcmp(k, "agp"))
            snprintf(lines[(*n)++], FORM_LINE_MAX, "schedule agp from=0 to=%s start=%ld end=%ld every=%ld%s",
                     fv(f, FORM_AGP_TO), step, step + span, span / 20 > 0 ? span / 20 : 1, block);
        else if (!strcmp(k, "gp"))
            snprintf(lines[(*n)++], FORM_LINE_MAX, "schedule gp grow=%s prune=%s every=200 tolerance=%s%s", fv(f, FORM_GROW),
                     *fv(f, FORM_PRUNE) ? fv(f, FORM_PRUNE) : "0.2", fv(f, FORM_GP_TOL), block);
        else
            snprintf(lines[(*n)++], FORM_LINE_MAX, "schedule none");
        break;
    }
    case FORM_CMD_STATE:
        if (*fv(f, FORM_TAU)) snprintf(lines[(*n)++], FORM_LINE_MAX, "state tau=%s", fv(f, FORM_TAU));
        break;
    }
    return TP_OK;
}

/* "grow.ratio", "schedule" (the positional word), "state.tau" */
static void field_id(const FormField *f, char *id, size_t n)
{
    if (f->key) snprintf(id, n, "%s.%s", f->verb, f->key);
    else snprintf(id, n, "%s", f->verb);
}

void form_state_text(const Form *f, char *buf, size_t n)
{
    size_t k = 0;
    if (n) buf[0] = '\0';
    for (int i = 0; i < FORM_TARGET0 && i < f->n && k < n; i++) {
        char id[64];
        field_id(&f->f[i], id, sizeof id);
        int w = snprintf(buf + k, n - k, "%s=%s\n", id, f->f[i].value);
        if (w < 0 || (size_t)w >= n - k) {
            buf[k] = '\0'; /* no half line */
            break;
        }
        k += (size_t)w;
    }
}

int form_state_load(Form *f, const char *text)
{
    int applied = 0;
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[160];
        if (len < sizeof line) {
            memcpy(line, p, len);
            line[len] = '\0';
            char *eq = strchr(line, '=');
            if (eq) {
                *eq = '\0';
                for (int i = 0; i < FORM_TARGET0 && i < f->n; i++) {
                    char id[64];
                    field_id(&f->f[i], id, sizeof id);
                    if (strcmp(id, line) || strlen(eq + 1) >= sizeof f->f[i].value || !form_field_valid(&f->f[i], eq + 1))
                        continue;
                    snprintf(f->f[i].value, sizeof f->f[i].value, "%s", eq + 1);
                    applied++;
                    break;
                }
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    return applied;
}
