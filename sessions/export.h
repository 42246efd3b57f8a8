/* sessions/export: the export directory of DESIGN 2.4 (what users take away), written from a session
 * and read back for `topiary eval --model` and the tests.
 *
 *   EXPORTDIR/model.safetensors  dense F32 tensors with PyTorch names (pruned entries are exact zeros):
 *       embed.weight [V,E]; decoder.weight [V,H_last]; decoder.bias [V] (tied, config "tie": 1: the
 *       one matrix under both names, checked equal on reading; the compact file holds it once);
 *       LSTM layer k:   lstm.weight_ih_l{k} [4H,I], lstm.weight_hh_l{k} [4H,H], lstm.bias_ih_l{k} [4H],
 *                       lstm.bias_hh_l{k} [4H]   (gate order i,f,g,o as torch.nn.LSTM);
 *       H-LSTM layer k, gate q in i,f,g,o: hlstm.l{k}.{q}.fc1.weight [M,I+H], .fc1.bias [M],
 *                       .fc2.weight [H,M], .fc2.bias [H]   (row blocks of the registry's stacked
 *                       l{k}.fc1.* / l{k}.fc2.*, engine/hlstm.h);
 *       masks "mask.<name>" U8 of the same shape (1 live, 0 pruned);
 *       __metadata__ {"topiary": <the text of config.json>}.
 *   EXPORTDIR/config.json  {"format":"topiary-export", "version":1, "minor":1, "vocab":V, "embed":E, "layers":L,
 *       "hidden":[H0,...], "cell":"lstm"|"hlstm", "gate_hidden":M, "gate_order":"ifgo",
 *       "task":{task_to_json, its model fields = the architecture above, data an absolute path},
 *       "metrics":{"step","epoch","valid_ppl" (null if never measured),"nnz","params","sparsity"}}
 *   EXPORTDIR/vocab.json   JSON array of the token strings, id = index.
 *   EXPORTDIR/model.compact.safetensors  the same model for inference (engine/compact.h): hidden sizes
 *       trimmed to the units whose output is read, each weight matrix dense, CSR or row-balanced,
 *       whichever is smallest; it shrinks with sparsity and gives the same outputs.
 *
 * In PyTorch, with equal hidden sizes: attributes embed = nn.Embedding(V,E), lstm = nn.LSTM(E,H,L),
 * decoder = nn.Linear(H,V) take the non-mask tensors with load_state_dict(strict=True).
 *
 *   EXPORTDIR/checksums.json  size and CRC32 of the four files above (sessions/exportsum), written
 *       last and checked first by export_load: a modified or truncated file is refused with its name;
 *       an export without it (minor 0) loads with info.checked = 0.
 *
 * Every file is written atomically (fsutil).  config.json and then checksums.json are written last and
 * a previous export's are removed first, so an interrupted export is never mistaken for a complete
 * one; the temp files an interrupted export left are removed by the next export into the directory.
 * The target directory must be new, empty, a previous export, or hold only export files; a session
 * directory (manifest.json) or anything else is refused.  Reading is strict: the architecture of
 * config.json against every tensor's name, dtype and shape, no tensor missing or unknown, masks 0/1,
 * pruned entries exactly 0, NaN/Inf refused (safetensors reader), vocab.json's size against config.
 */
#ifndef TP_EXPORT_H
#define TP_EXPORT_H

#include <stddef.h>

#include "sessions/export_load.h"
#include "sessions/session.h"

/* Write the session's current model into outdir (created if needed). */
TpStatus export_write(const Session *s, const char *outdir);
/* A speech (an4) session's model.safetensors and check.safetensors (sessions/export_asr.c; export_write
 * calls it in place of the LM's files): meta is config.json's text. */
TpStatus export_speech_write(const Session *s, const char *outdir, const char *meta);

#endif
