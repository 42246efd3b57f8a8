/* cli/cmd_eval: `topiary eval` (a session, or an export through the inference runtime) and
 * `topiary export`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "sessions/evaluate.h"
#include "sessions/export.h"
#include "sessions/runtime.h"

/* extra_json (may be NULL): more "key":value fields for the JSON object; extra_text: a line after. */
static void print_eval(const char *split_s, const EvalResult *r, int eval_batch, int json, const char *extra_json,
                       const char *extra_text)
{
    if (json)
        printf("{\"split\":\"%s\",\"tokens\":%ld,\"loss\":%.6f,\"ppl\":%.4f,\"accuracy\":%.6f,\"eval_batch\":%d,"
               "\"seconds\":%.2f%s%s}\n", split_s, r->tokens, r->loss, r->ppl, r->accuracy, eval_batch, r->seconds,
               extra_json ? "," : "", extra_json ? extra_json : "");
    else
        printf("%s split: ppl %.2f (loss %.4f over %ld tokens, accuracy %.2f%%%s) in %.1f s\n%s", split_s, r->ppl, r->loss,
               r->tokens, 100.0 * r->accuracy, eval_batch > 1 ? ", NOTE: --eval-batch > 1, not the batch-1 protocol" : "",
               r->seconds, extra_text ? extra_text : "");
}

/* eval --model EXPORTDIR: sessions/evaluate runs it; the output says which file and kernels. */
static int eval_export(const char *dir, const char *data, int split, const char *split_s, int eval_batch, int json)
{
    ExportEval e;
    TpStatus st = evaluate_export(dir, data, split, eval_batch, &e);
    if (e.note[0]) fprintf(stderr, "topiary: %s\n", e.note);
    if (st != TP_OK) return cli_fail(NULL, st);
    char xj[512], xt[600], ss[48] = "";
    double sp = e.state_sparsity;
    if (isfinite(sp)) snprintf(ss, sizeof ss, ", state sparsity %.1f%%", 100.0 * sp);
    snprintf(xj, sizeof xj, "\"runtime\":\"%s\",\"kernels\":\"%s\"", e.file, e.kernels);
    if (isfinite(sp)) snprintf(xj + strlen(xj), sizeof xj - strlen(xj), ",\"state_sparsity\":%.4f", sp);
    snprintf(xt, sizeof xt, "runtime: %s, batch-1 steps; kernels: %s%s\n", e.file, e.kernels, ss);
    print_eval(split_s, &e.r, e.eval_batch, json, xj, xt);
    return EXIT_CODE_OK;
}

enum { OPT_EVAL_BATCH = 2, OPT_BEAM = 3, OPT_THREADS = 4 };

static void print_speech(const char *split_s, const SpeechEval *r, int beam, int json)
{
    if (json) {
        printf("{\"split\":\"%s\",\"wer\":%.6f,\"cer\":%.6f,\"loss\":%.6f,\"utterances\":%d,\"skipped\":%d,"
               "\"beam\":%d,\"audio_seconds\":%.2f,\"seconds\":%.2f,\"ms_per_audio_s\":%.4f", split_s, r->wer, r->cer,
               r->loss, r->utterances, r->skipped, beam, r->audio_seconds, r->seconds, r->ms_per_audio_s);
        if (r->runtime) printf(",\"runtime\":\"infer_asr\",\"kernels\":\"%s\"", r->kernels);
        printf("}\n");
        return;
    }
    printf("%s split: WER %.2f %%, CER %.2f %% (%s decoding%s; CTC loss %.4f per utterance over %d utterances, "
           "%.0f s of audio) in %.1f s\n", split_s, 100.0 * r->wer, 100.0 * r->cer, beam > 1 ? "beam" : "greedy",
           beam > 1 ? ", width --beam" : "", r->loss, r->utterances, r->audio_seconds, r->seconds);
    printf("%s: %.3f ms per second of audio (forward and decoding, batch 1)\n",
           r->runtime ? "runtime" : "training forward", r->ms_per_audio_s);
    if (r->runtime) printf("kernels: %s\n", r->kernels);
}

int cmd_eval(int argc, char **argv)
{
    const char *dir = NULL, *model = NULL, *data = NULL, *split_s = "valid"; /* the test split only when asked */
    int json = 0, eval_batch = 0, beam = 1, beam_given = 0, threads = 0, use_runtime = 0, id;
    const CliOption opts[] = {{"session", required_argument, .value = &dir},   {"model", required_argument, .value = &model},
                              {"data", required_argument, .value = &data},     {"split", required_argument, .value = &split_s},
                              {"eval-batch", required_argument, .id = OPT_EVAL_BATCH}, {"json", no_argument, .flag = &json},
                              {"beam", required_argument, .id = OPT_BEAM}, {"threads", required_argument, .id = OPT_THREADS},
                              {"runtime", no_argument, .flag = &use_runtime}, {NULL}};
    CliParser p;
    cli_parser_init(&p, "eval", argc, argv, opts, NULL);
    while ((id = cli_next(&p)) != CLI_END) {
        if (id == CLI_ERROR) return p.rc;
        if (id == OPT_EVAL_BATCH) {
            char *end;
            long v = strtol(p.value, &end, 10);
            if (*end || v < 1 || v > 100000) return cli_usage("--eval-batch: expected 1..100000, got '%s'", p.value);
            eval_batch = (int)v;
        } else if (id == OPT_BEAM) {
            char *end;
            long v = strtol(p.value, &end, 10);
            if (*end || v < 1 || v > 1000) return cli_usage("--beam: expected 1..1000, got '%s'", p.value);
            beam = (int)v;
            beam_given = 1;
        } else if (id == OPT_THREADS) {
            char *end;
            long v = strtol(p.value, &end, 10);
            if (*end || v < 1 || v > 256) return cli_usage("--threads: expected 1..256, got '%s'", p.value);
            threads = (int)v;
        } else return cli_usage("eval: unknown option '%s'", p.value);
    }
    int split = evaluate_split_index(split_s);
    if (split < 0) return cli_usage("--split: expected valid, test or train, got '%s'", split_s);
    if (model && dir) return cli_usage("eval: give --session DIR or --model EXPORTDIR, not both");
    if (model && use_runtime) return cli_usage("eval: --runtime is for --session (an export always runs through the runtime)");
    if (model) return eval_export(model, data, split, split_s, eval_batch, json);
    if (!dir) return cli_usage("eval: --session DIR (or --model EXPORTDIR) is required");
    Session s;
    TpStatus st = session_open(&s, dir, data);
    if (st != TP_OK) return cli_fail(NULL, st);
    if (threads && (st = runtime_set_threads(NULL, threads)) != TP_OK) {
        session_free(&s);
        return cli_fail(NULL, st);
    }
    if (evaluate_is_speech(&s)) {
        SpeechEval se;
        char note[600] = "";
        st = use_runtime ? evaluate_speech_runtime(&s, split, beam, &se, note, sizeof note, NULL, NULL)
                         : evaluate_speech(&s, split, beam, &se);
        if (note[0]) fprintf(stderr, "topiary: %s\n", note);
        if (st == TP_OK) print_speech(split_s, &se, beam, json);
        session_free(&s);
        return st == TP_OK ? EXIT_CODE_OK : cli_fail(NULL, st);
    }
    if (beam_given) {
        session_free(&s);
        return cli_usage("--beam: CTC beam search is for a speech (--task an4) session");
    }
    if (use_runtime) {
        session_free(&s);
        return cli_usage("--runtime: decodes a speech (--task an4) session; a language model runs through the runtime "
                         "with eval --model EXPORTDIR (after topiary export)");
    }
    if (eval_batch) s.task.eval_batch = eval_batch;
    EvalResult r;
    st = evaluate_session(&s, split, &r);
    if (st == TP_OK) print_eval(split_s, &r, s.task.eval_batch, json, NULL, NULL);
    session_free(&s);
    return st == TP_OK ? EXIT_CODE_OK : cli_fail(NULL, st);
}

int cmd_export(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL, *data = NULL;
    const CliOption opts[] = {{"session", required_argument, .value = &dir}, {"out", required_argument, .value = &out},
                              {"data", required_argument, .value = &data}, {NULL}};
    int rc = cli_parse_options("export", argc, argv, opts);
    if (rc) return rc;
    if (!dir || !out) return cli_usage("export: usage: topiary export --session DIR --out EXPORTDIR [--data PATH]");
    Session s;
    TpStatus st = session_open(&s, dir, data);
    if (st != TP_OK) return cli_fail(NULL, st);
    if ((st = export_write(&s, out)) == TP_OK) {
        SessionMetrics m;
        session_metrics_now(&s, &m);
        fprintf(stderr, "topiary: exported %s at step %ld (%zu of %zu parameters non-zero) to %s\n", dir, m.step, m.nnz,
                m.params, out);
    }
    session_free(&s);
    return st == TP_OK ? EXIT_CODE_OK : cli_fail(NULL, st);
}
