/* tests/test_task: the task options of DESIGN 2.1.
 *
 * task_parse_arg for every option (good values land in their field; bad ones give TP_EINVAL or
 * TP_ERANGE naming the option and leave the field alone), --hidden lists, options it must not match,
 * and the JSON form: task_to_json → task_from_json gives the same task (also at the edges of every
 * range, which a manifest must be able to reopen), and task_from_json refuses wrong types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "sessions/task.h"

/* Parse the one option "opt val"; returns the status, checks how far it moved. */
static TpStatus parse1(Task *t, const char *opt, const char *val, int *matched)
{
    char *argv[] = {"topiary", (char *)opt, (char *)val, "--next", NULL};
    int argc = val ? 4 : 2, i = 1;
    err_clear();
    TpStatus st = task_parse_arg(t, argc, argv, &i, matched);
    if (st == TP_OK && *matched) assert_int_equal(i, 3);
    if (!*matched && st == TP_OK) assert_int_equal(i, 1);
    return st;
}

static void expect_ok(Task *t, const char *opt, const char *val)
{
    int matched;
    TpStatus st = parse1(t, opt, val, &matched);
    if (st != TP_OK) fail_msg("%s %s: refused: %s", opt, val, err_msg());
    assert_int_equal(matched, 1);
}

/* The value is refused with `code` (or `code2`), the message names the option, and the task is
 * unchanged. */
static void expect_bad2(const char *opt, const char *val, TpStatus code, TpStatus code2)
{
    Task t, before;
    task_defaults(&t);
    memcpy(&before, &t, sizeof t);
    int matched;
    TpStatus st = parse1(&t, opt, val, &matched);
    if (st != code && st != code2) fail_msg("%s '%s': status %d (%s), expected %d", opt, val, st, err_msg(), code);
    if (!strstr(err_msg(), opt)) fail_msg("%s '%s': message '%s' does not name the option", opt, val, err_msg());
    if (memcmp(&t, &before, sizeof t) != 0) fail_msg("%s '%s': a refused value changed the task", opt, val);
}

static void expect_bad(const char *opt, const char *val, TpStatus code) { expect_bad2(opt, val, code, code); }

/* ==== Parsing, option by option ==== */

static void test_parse_data(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    expect_ok(&t, "--data", "/some/where/ptb");
    assert_string_equal(t.data, "/some/where/ptb");
    char *longpath = malloc(5000);
    assert_non_null(longpath);
    memset(longpath, 'a', 4999);
    longpath[4999] = '\0';
    expect_bad("--data", longpath, TP_EINVAL);
    free(longpath);
}

static void test_parse_level(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    assert_int_equal(t.level_set, 0);
    expect_ok(&t, "--level", "word");
    assert_int_equal(t.level, CORPUS_WORD);
    assert_int_equal(t.level_set, 1);
    expect_ok(&t, "--level", "char");
    assert_int_equal(t.level, CORPUS_CHAR);
    expect_bad("--level", "words", TP_EINVAL);
    expect_bad("--level", "", TP_EINVAL);
    expect_bad("--level", "WORD", TP_EINVAL);
}

static void test_parse_cell(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    expect_ok(&t, "--cell", "hlstm");
    assert_int_equal(t.model.cell, MODEL_CELL_HLSTM);
    expect_ok(&t, "--cell", "lstm");
    assert_int_equal(t.model.cell, MODEL_CELL_LSTM);
    expect_bad("--cell", "gru", TP_EINVAL);
}

static void test_parse_optimizer(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    expect_ok(&t, "--optimizer", "adam");
    assert_int_equal(t.train.optim, OPTIM_ADAM);
    expect_ok(&t, "--optimizer", "sgd");
    assert_int_equal(t.train.optim, OPTIM_SGD);
    expect_bad("--optimizer", "rmsprop", TP_EINVAL);
}

/* Integer options: where they land, their range and the refusals at its edges. */
typedef struct {
    const char *opt;
    size_t off;       /* offset of an int (or long when is_long) inside Task */
    int is_long;
    long lo, hi;
} IntOpt;

#define TOFF(f) offsetof(Task, f)
static const IntOpt INT_OPTS[] = {
    {"--layers", TOFF(model.n_layers), 0, 1, MODEL_MAX_LAYERS},
    {"--embed", TOFF(model.n_embed), 0, 1, 65536},
    {"--gate-hidden", TOFF(model.gate_hidden), 0, 1, 65536},
    {"--tie", TOFF(model.tie), 0, 0, 1},
    {"--bptt", TOFF(train.bptt), 0, 1, 100000},
    {"--batch", TOFF(train.batch), 0, 1, 100000},
    {"--epochs", TOFF(train.epochs), 0, 1, 100000},
    {"--decay-start", TOFF(train.decay_start), 0, 0, 100000},
    {"--threads", TOFF(threads), 0, 1, 256},
    {"--eval-batch", TOFF(eval_batch), 0, 1, 100000},
    {"--max-vocab", TOFF(max_vocab), 0, 2, 100000000},
    {"--log-every", TOFF(log_every), 0, 1, 100000000},
    {"--max-steps", TOFF(train.max_steps), 1, 0, -1 /* checked below */},
};

static long get_int(const Task *t, const IntOpt *o)
{
    const char *p = (const char *)t + o->off;
    if (o->is_long) return *(const long *)p;
    return *(const int *)p;
}

static void test_parse_integer_options(void **state)
{
    (void)state;
    char buf[64];
    for (size_t k = 0; k < sizeof INT_OPTS / sizeof INT_OPTS[0]; k++) {
        const IntOpt *o = &INT_OPTS[k];
        Task t;
        task_defaults(&t);
        long vals[] = {o->lo, o->lo + 1, o->hi > 0 ? o->hi : 12345};
        for (size_t v = 0; v < 3; v++) {
            snprintf(buf, sizeof buf, "%ld", vals[v]);
            expect_ok(&t, o->opt, buf);
            assert_int_equal(get_int(&t, o), vals[v]);
        }
        snprintf(buf, sizeof buf, "%ld", o->lo - 1);
        expect_bad(o->opt, buf, TP_ERANGE);
        if (o->hi > 0) {
            snprintf(buf, sizeof buf, "%ld", o->hi + 1);
            expect_bad(o->opt, buf, TP_ERANGE);
        }
        const char *junk[] = {"", "abc", "12abc", "1.5", "0x10", "--next", " ", "1 "};
        for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++) expect_bad(o->opt, junk[j], TP_EINVAL);
        expect_bad2(o->opt, "99999999999999999999999", TP_EINVAL, TP_ERANGE);
        expect_bad2(o->opt, "-99999999999999999999999", TP_EINVAL, TP_ERANGE);
    }
}

static void test_parse_seed(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    expect_ok(&t, "--seed", "0");
    assert_true(t.seed == 0 && t.train.seed == 0);
    expect_ok(&t, "--seed", "1234567");
    assert_true(t.seed == 1234567 && t.train.seed == 1234567);
    expect_bad("--seed", "-1", TP_ERANGE);
    expect_bad("--seed", "seven", TP_EINVAL);
}

/* Float options: where they land, their range and the refusals. */
typedef struct {
    const char *opt;
    size_t off;       /* offset of a float inside Task */
    const char *good, *low_bad, *high_bad;
    float want;
} FloatOpt;

static const FloatOpt FLOAT_OPTS[] = {
    {"--lr", TOFF(train.lr), "0.25", "0", "1e7", 0.25f},
    {"--lr-decay", TOFF(train.lr_decay), "0.8", "0", "1.5", 0.8f},
    {"--clip", TOFF(train.clip), "0", "-1", "1e10", 0.0f},
    {"--dropout", TOFF(model.dropout), "0.65", "-0.1", "1", 0.65f},
    {"--init", TOFF(model.init_scale), "0.05", "0", "10", 0.05f},
};

static void test_parse_float_options(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof FLOAT_OPTS / sizeof FLOAT_OPTS[0]; k++) {
        const FloatOpt *o = &FLOAT_OPTS[k];
        Task t;
        task_defaults(&t);
        expect_ok(&t, o->opt, o->good);
        assert_true(*(const float *)((const char *)&t + o->off) == o->want);
        expect_bad(o->opt, o->low_bad, TP_ERANGE);
        expect_bad(o->opt, o->high_bad, TP_ERANGE);
        const char *junk[] = {"", "x", "0.5x", "nan", "inf", "-inf", "0.5 "};
        for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++) expect_bad(o->opt, junk[j], TP_EINVAL);
        expect_bad2(o->opt, "1e400", TP_EINVAL, TP_ERANGE);
    }
}

static void test_parse_hidden(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    expect_ok(&t, "--hidden", "200");
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) assert_int_equal(t.model.hidden[l], 200);
    expect_ok(&t, "--hidden", "200,100");
    assert_int_equal(t.model.hidden[0], 200);
    assert_int_equal(t.model.hidden[1], 100);
    for (int l = 2; l < MODEL_MAX_LAYERS; l++) assert_int_equal(t.model.hidden[l], 100); /* the last repeats */
    assert_int_equal(t.model.n_layers, 2); /* --layers decides the depth */
    expect_ok(&t, "--hidden", "1,2,3,4,5,6,7,8");
    for (int l = 0; l < MODEL_MAX_LAYERS; l++) assert_int_equal(t.model.hidden[l], l + 1);
    expect_ok(&t, "--hidden", "65536");
    assert_int_equal(t.model.hidden[0], 65536);

    expect_bad("--hidden", "0", TP_ERANGE);
    expect_bad("--hidden", "200,0", TP_ERANGE);
    expect_bad("--hidden", "-5", TP_ERANGE);
    expect_bad("--hidden", "65537", TP_ERANGE);
    expect_bad("--hidden", "1,2,3,4,5,6,7,8,9", TP_ERANGE);
    expect_bad("--hidden", "", TP_EINVAL);
    expect_bad("--hidden", "abc", TP_EINVAL);
    expect_bad("--hidden", "200,,100", TP_EINVAL);
    expect_bad("--hidden", ",100", TP_EINVAL);
    expect_bad("--hidden", "200,", TP_EINVAL);
    expect_bad("--hidden", "200;100", TP_EINVAL);
    expect_bad("--hidden", "200,100x", TP_EINVAL);
    expect_bad("--hidden", "2.5", TP_EINVAL);
}

static void test_parse_missing_value(void **state)
{
    (void)state;
    static const char *const opts[] = {"--data", "--level", "--hidden", "--lr", "--seed", "--optimizer"};
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        Task t, before;
        task_defaults(&t);
        memcpy(&before, &t, sizeof t);
        int matched;
        TpStatus st = parse1(&t, opts[k], NULL, &matched);
        assert_int_equal(st, TP_EINVAL);
        assert_non_null(strstr(err_msg(), opts[k]));
        assert_memory_equal(&t, &before, sizeof t);
    }
}

static void test_parse_unknown_not_matched(void **state)
{
    (void)state;
    static const char *const opts[] = {"--session", "--json", "--bogus", "--hid", "--hidden=200", "hidden",
                                       "-h", "--LR", "", "-", "--", "data"};
    for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++) {
        Task t, before;
        task_defaults(&t);
        memcpy(&before, &t, sizeof t);
        int matched = 42;
        assert_int_equal(parse1(&t, opts[k], "7", &matched), TP_OK);
        if (matched) fail_msg("'%s' was taken for a task option", opts[k]);
        assert_memory_equal(&t, &before, sizeof t);
    }
}

/* A whole command line, as the front ends loop over it. */
static void test_parse_sequence(void **state)
{
    (void)state;
    char *argv[] = {"topiary", "--layers", "3", "--hidden", "64,32,16", "--session", "d", "--lr", "0.5", NULL};
    int argc = 9, i = 1, matched, seen = 0;
    Task t;
    task_defaults(&t);
    while (i < argc) {
        assert_int_equal(task_parse_arg(&t, argc, argv, &i, &matched), TP_OK);
        if (!matched) {
            assert_string_equal(argv[i], "--session");
            i += 2;
        } else seen++;
    }
    assert_int_equal(seen, 3);
    assert_int_equal(t.model.n_layers, 3);
    assert_int_equal(t.model.hidden[2], 16);
    assert_true(t.train.lr == 0.5f);
}

/* ==== JSON ==== */

static void assert_tasks_equal(const Task *a, const Task *b)
{
    assert_string_equal(a->data, b->data);
    assert_int_equal(a->level, b->level);
    assert_int_equal(a->model.cell, b->model.cell);
    assert_int_equal(a->model.n_layers, b->model.n_layers);
    for (int l = 0; l < a->model.n_layers; l++) assert_int_equal(a->model.hidden[l], b->model.hidden[l]);
    assert_int_equal(a->model.n_embed, b->model.n_embed);
    assert_int_equal(a->model.n_vocab, b->model.n_vocab);
    assert_int_equal(a->model.gate_hidden, b->model.gate_hidden);
    assert_memory_equal(&a->model.dropout, &b->model.dropout, sizeof(float));
    assert_memory_equal(&a->model.init_scale, &b->model.init_scale, sizeof(float));
    assert_int_equal(a->train.bptt, b->train.bptt);
    assert_int_equal(a->train.batch, b->train.batch);
    assert_int_equal(a->train.epochs, b->train.epochs);
    assert_int_equal(a->train.max_steps, b->train.max_steps);
    assert_memory_equal(&a->train.lr, &b->train.lr, sizeof(float));
    assert_memory_equal(&a->train.lr_decay, &b->train.lr_decay, sizeof(float));
    assert_int_equal(a->train.decay_start, b->train.decay_start);
    assert_memory_equal(&a->train.clip, &b->train.clip, sizeof(float));
    assert_int_equal(a->train.optim, b->train.optim);
    assert_true(a->seed == b->seed);
    assert_true(a->train.seed == b->train.seed);
    assert_int_equal(a->threads, b->threads);
    assert_int_equal(a->eval_batch, b->eval_batch);
    assert_int_equal(a->max_vocab, b->max_vocab);
    assert_int_equal(a->log_every, b->log_every);
}

/* to_json, (print, parse,) from_json into fresh defaults: the same task. */
static void roundtrip(const Task *a)
{
    cJSON *j = task_to_json(a);
    assert_non_null(j);
    Task direct; /* the tree itself, unprinted */
    task_defaults(&direct);
    if (task_from_json(&direct, j) != TP_OK) fail_msg("task_from_json refused task_to_json's tree: %s", err_msg());
    assert_tasks_equal(a, &direct);
    char *txt = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    assert_non_null(txt);
    j = cJSON_Parse(txt);
    assert_non_null(j);
    Task b;
    task_defaults(&b);
    TpStatus st = task_from_json(&b, j);
    if (st != TP_OK) fail_msg("task_from_json refused its own output: %s\n%s", err_msg(), txt);
    assert_tasks_equal(a, &b);
    cJSON_Delete(j);
    free(txt);
}

static void parse_all(Task *t, char **args)
{
    int argc = 0;
    while (args[argc]) argc++;
    for (int i = 0; i < argc;) {
        int matched;
        TpStatus st = task_parse_arg(t, argc, args, &i, &matched);
        if (st != TP_OK) fail_msg("%s: %s", args[i], err_msg());
        assert_int_equal(matched, 1);
    }
}

static void test_json_roundtrip(void **state)
{
    (void)state;
    Task t;
    task_defaults(&t);
    roundtrip(&t);

    char *args[] = {"--data", "/x/y z/\"q\"\\ünï", "--level", "word", "--cell", "hlstm", "--layers", "3",
                    "--hidden", "200,100,50", "--embed", "33", "--gate-hidden", "17", "--bptt", "21", "--batch", "7",
                    "--epochs", "13", "--max-steps", "999", "--lr", "0.3", "--lr-decay", "0.83", "--decay-start", "6",
                    "--clip", "0.25", "--dropout", "0.35", "--optimizer", "adam", "--seed", "4242", "--threads", "3",
                    "--eval-batch", "10", "--max-vocab", "5000", "--log-every", "50", "--init", "0.07", NULL};
    task_defaults(&t);
    parse_all(&t, args);
    t.model.n_vocab = 10000;
    roundtrip(&t);
}

/* Every value the command line accepts must survive the manifest: the edges of every range. */
static void test_json_roundtrip_range_edges(void **state)
{
    (void)state;
    char *lo[] = {"--layers", "1", "--embed", "1", "--gate-hidden", "1", "--bptt", "1", "--batch", "1",
                  "--epochs", "1", "--max-steps", "0", "--lr", "1e-9", "--lr-decay", "1e-6", "--decay-start", "0",
                  "--clip", "0", "--dropout", "0", "--init", "1e-6", "--seed", "0", "--threads", "1",
                  "--eval-batch", "1", "--max-vocab", "2", "--log-every", "1", "--hidden", "1", NULL};
    char *hi[] = {"--layers", "8", "--embed", "65536", "--gate-hidden", "65536", "--bptt", "100000",
                  "--batch", "100000", "--epochs", "100000", "--lr", "1e6", "--lr-decay", "1",
                  "--decay-start", "100000", "--clip", "1e9", "--dropout", "0.99", "--init", "9",
                  "--threads", "256", "--eval-batch", "100000", "--max-vocab", "100000000",
                  "--log-every", "100000000", "--hidden", "65536", NULL};
    /* odd values in between, whose float form is not short */
    char *mid[] = {"--lr", "0.1", "--lr-decay", "0.3333333", "--dropout", "0.123456789", "--init", "0.7",
                   "--clip", "3.14159", NULL};
    char **sets[] = {lo, hi, mid};
    for (size_t k = 0; k < 3; k++) {
        Task t;
        task_defaults(&t);
        parse_all(&t, sets[k]);
        roundtrip(&t);
    }
    /* the largest --seed and --max-steps the command line accepts */
    static const char *const big[][2] = {{"--seed", NULL}, {"--max-steps", NULL}};
    for (size_t k = 0; k < 2; k++) {
        Task t;
        task_defaults(&t);
        /* find the largest accepted value by asking for LONG_MAX and, if refused, the bound the message gives */
        char buf[64];
        snprintf(buf, sizeof buf, "%ld", LONG_MAX);
        int matched;
        char *argv[] = {(char *)big[k][0], buf, NULL};
        int i = 0;
        TpStatus st = task_parse_arg(&t, 2, argv, &i, &matched);
        if (st == TP_ERANGE) {
            const char *dots = strstr(err_msg(), "..");
            assert_non_null(dots);
            snprintf(buf, sizeof buf, "%ld", strtol(dots + 2, NULL, 10));
            i = 0;
            st = task_parse_arg(&t, 2, argv, &i, &matched);
        }
        if (st != TP_OK) fail_msg("%s %s: %s", big[k][0], buf, err_msg());
        roundtrip(&t);
    }
}

/* from_json on a mutated copy of a good task: refused with the key in the message. */
static void expect_json_refused(const char *key, cJSON *value, const char *needle)
{
    Task t;
    task_defaults(&t);
    cJSON *j = task_to_json(&t);
    if (cJSON_HasObjectItem(j, key)) cJSON_ReplaceItemInObjectCaseSensitive(j, key, value);
    else cJSON_AddItemToObject(j, key, value);
    Task u;
    task_defaults(&u);
    err_clear();
    TpStatus st = task_from_json(&u, j);
    char *txt = cJSON_PrintUnformatted(value);
    if (st == TP_OK) fail_msg("task.%s = %s accepted", key, txt);
    assert_int_equal(st, TP_EFORMAT);
    if (!strstr(err_msg(), needle ? needle : key)) fail_msg("task.%s = %s: message '%s'", key, txt, err_msg());
    free(txt);
    cJSON_Delete(j);
}

static void test_json_rejects_wrong_types(void **state)
{
    (void)state;
    static const char *const strings[] = {"data", "level", "cell", "optimizer"};
    for (size_t k = 0; k < sizeof strings / sizeof strings[0]; k++) {
        expect_json_refused(strings[k], cJSON_CreateNumber(1), NULL);
        expect_json_refused(strings[k], cJSON_CreateNull(), NULL);
        expect_json_refused(strings[k], cJSON_CreateArray(), NULL);
    }
    expect_json_refused("level", cJSON_CreateString("byte"), NULL);
    expect_json_refused("cell", cJSON_CreateString("gru"), NULL);
    expect_json_refused("optimizer", cJSON_CreateString("lbfgs"), NULL);

    static const char *const numbers[] = {"layers", "embed", "vocab", "gate_hidden", "dropout", "init", "bptt",
                                          "batch", "epochs", "max_steps", "lr", "lr_decay", "decay_start", "clip",
                                          "seed", "threads", "eval_batch", "max_vocab", "log_every"};
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        expect_json_refused(numbers[k], cJSON_CreateString("3"), NULL);
        expect_json_refused(numbers[k], cJSON_CreateBool(1), NULL);
        expect_json_refused(numbers[k], cJSON_CreateNull(), NULL);
        expect_json_refused(numbers[k], cJSON_CreateNumber(-1e30), NULL);
        expect_json_refused(numbers[k], cJSON_CreateNumber(1e30), NULL);
    }
    expect_json_refused("layers", cJSON_CreateNumber(0), NULL);
    expect_json_refused("layers", cJSON_CreateNumber(MODEL_MAX_LAYERS + 1), NULL);
    expect_json_refused("dropout", cJSON_CreateNumber(1.0), NULL);

    /* hidden: an array of n_layers (default 2) sizes */
    expect_json_refused("hidden", cJSON_CreateNumber(128), NULL);
    expect_json_refused("hidden", cJSON_CreateString("128,128"), NULL);
    const int one[] = {128}, three[] = {128, 128, 128}, zero[] = {128, 0};
    expect_json_refused("hidden", cJSON_CreateIntArray(one, 1), NULL);
    expect_json_refused("hidden", cJSON_CreateIntArray(three, 3), NULL);
    expect_json_refused("hidden", cJSON_CreateIntArray(zero, 2), "hidden[1]");
    const char *strs[] = {"128", "128"};
    expect_json_refused("hidden", cJSON_CreateStringArray(strs, 2), "hidden[0]");

    /* not an object at all */
    Task t;
    task_defaults(&t);
    assert_int_equal(task_from_json(&t, NULL), TP_EFORMAT);
    cJSON *a = cJSON_CreateArray();
    assert_int_equal(task_from_json(&t, a), TP_EFORMAT);
    cJSON_Delete(a);
}

static void test_json_missing_fields_keep_defaults(void **state)
{
    (void)state;
    Task t, d;
    task_defaults(&t);
    task_defaults(&d);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "bptt", 12);
    cJSON_AddStringToObject(j, "unknown_future_key", "ignored");
    assert_int_equal(task_from_json(&t, j), TP_OK);
    cJSON_Delete(j);
    assert_int_equal(t.train.bptt, 12);
    d.train.bptt = 12;
    assert_tasks_equal(&t, &d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_data),
        cmocka_unit_test(test_parse_level),
        cmocka_unit_test(test_parse_cell),
        cmocka_unit_test(test_parse_optimizer),
        cmocka_unit_test(test_parse_integer_options),
        cmocka_unit_test(test_parse_seed),
        cmocka_unit_test(test_parse_float_options),
        cmocka_unit_test(test_parse_hidden),
        cmocka_unit_test(test_parse_missing_value),
        cmocka_unit_test(test_parse_unknown_not_matched),
        cmocka_unit_test(test_parse_sequence),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_roundtrip_range_edges),
        cmocka_unit_test(test_json_rejects_wrong_types),
        cmocka_unit_test(test_json_missing_fields_keep_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
