#!/usr/bin/env python3
"""tests/e2e/torch_check: load a topiary export (DESIGN 2.4) into PyTorch and check its perplexity.

usage: torch_check.py EXPORTDIR --split valid|test --loss L --tokens N [--data PATH] [--rtol 1e-4]

Builds torch.nn.Embedding / torch.nn.LSTM / torch.nn.Linear as attributes `embed`, `lstm`, `decoder`
(an H-LSTM: `hlstm.l{k}.{i,f,g,o}.fc1/fc2` nn.Linear modules) and loads the non-mask tensors of
model.safetensors with load_state_dict(strict=True), so every name and shape must be exactly
PyTorch's.  Checks the masks (U8, 0/1, pruned weights exactly 0) and __metadata__.topiary ==
config.json.  Then tokenises the split as DESIGN 2.5 says (config.json's task.data and level, the
exported vocabulary), runs it as one stream (batch 1, zero initial state, state carried) and
compares the mean NLL of predictions 1..N-1 with topiary's `eval --json` loss (relative --rtol).
The safetensors file is read with json + struct + numpy (the `safetensors` package is not needed).
Exit 0 on agreement, 1 with a reason otherwise.
"""
import argparse
import json
import os
import re
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DTYPES = {"F32": np.float32, "U8": np.uint8, "I16": np.int16, "I32": np.int32, "I64": np.int64, "F64": np.float64}


def fail(msg):
    sys.exit(f"torch_check: FAIL: {msg}")


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, t = e["data_offsets"]
        arr = np.frombuffer(raw[base + b:base + t], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
        out[name] = (e["dtype"], arr.copy())
    return out, meta


def split_lines(data):
    """Lines of a byte string, each with its '\\n'; a last line without '\\n' counts (corpus.h)."""
    lines = data.split(b"\n")
    last = lines.pop()  # what follows the last '\n': b"" or an unterminated last line
    return [l + b"\n" for l in lines] + ([last] if last else [])


def split_text(path, split):
    """The bytes of one split: a PTB-style directory, or one file cut 90/5/5 by lines."""
    if os.path.isdir(path):
        p = os.path.join(path, f"ptb.{split}.txt")
        if not os.path.exists(p):
            c = [f for f in os.listdir(path) if split in f and f.endswith(".txt") and os.path.isfile(os.path.join(path, f))]
            if len(c) != 1:
                fail(f"{path}: no unique *{split}*.txt")
            p = os.path.join(path, c[0])
        return open(p, "rb").read()
    lines = split_lines(open(path, "rb").read())
    n = len(lines)
    a, b = 90 * n // 100, 95 * n // 100
    part = {"train": lines[:a], "valid": lines[a:b], "test": lines[b:]}[split]
    return b"".join(part)


def tokenize(data, level, vocab):
    index = {t: i for i, t in enumerate(vocab)}
    unk = index.get("<unk>")
    if level == "word":
        toks = []
        for line in split_lines(data):
            toks += [w.decode("utf-8", "surrogateescape") for w in re.split(rb"[ \t\r\v\f\n]+", line) if w]
            toks.append("<eos>")
    else:
        toks = list(data.decode("utf-8"))
    ids = []
    for t in toks:
        i = index.get(t, unk)
        if i is None:
            fail(f"token {t!r} not in the vocabulary and no <unk>")
        ids.append(i)
    return ids


class LstmLM(nn.Module):
    def __init__(self, V, E, H, L):
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.lstm = nn.LSTM(E, H, num_layers=L)
        self.decoder = nn.Linear(H, V)

    def forward(self, x):  # x [T] -> logits [T, V]
        out, _ = self.lstm(self.embed(x).unsqueeze(1))
        return self.decoder(out.squeeze(1))


class HlstmLM(nn.Module):
    """H-LSTM (Dai et al.): each gate q is fc2(ReLU(fc1([x; h]))), then the LSTM cell update."""

    def __init__(self, V, E, hidden, M):
        super().__init__()
        self.embed = nn.Embedding(V, E)
        self.hidden = hidden
        layers = {}
        for k, H in enumerate(hidden):
            I = E if k == 0 else hidden[k - 1]
            layers[f"l{k}"] = nn.ModuleDict(
                {q: nn.ModuleDict({"fc1": nn.Linear(I + H, M), "fc2": nn.Linear(M, H)}) for q in "ifgo"})
        self.hlstm = nn.ModuleDict(layers)
        self.decoder = nn.Linear(hidden[-1], V)

    def forward(self, x):
        seq = self.embed(x)  # [T, E]
        for k, H in enumerate(self.hidden):
            layer = self.hlstm[f"l{k}"]
            I = seq.shape[1]
            w1 = torch.cat([layer[q]["fc1"].weight for q in "ifgo"])  # [4M, I+H]
            b1 = torch.cat([layer[q]["fc1"].bias for q in "ifgo"])
            xpart = seq @ w1[:, :I].t() + b1  # [T, 4M]
            w1h = w1[:, I:]
            M = layer["i"]["fc1"].weight.shape[0]
            h = torch.zeros(H)
            c = torch.zeros(H)
            outs = []
            for t in range(seq.shape[0]):
                u = torch.relu(xpart[t] + w1h @ h)
                a = [layer[q]["fc2"](u[n * M:(n + 1) * M]) for n, q in enumerate("ifgo")]
                i, f, g, o = torch.sigmoid(a[0]), torch.sigmoid(a[1]), torch.tanh(a[2]), torch.sigmoid(a[3])
                c = f * c + i * g
                h = o * torch.tanh(c)
                outs.append(h)
            seq = torch.stack(outs)
        return self.decoder(seq)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--split", default="test")
    ap.add_argument("--loss", type=float, required=True)
    ap.add_argument("--tokens", type=int, required=True)
    ap.add_argument("--data")
    ap.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()

    cfg = json.load(open(os.path.join(a.export, "config.json")))
    vocab = json.load(open(os.path.join(a.export, "vocab.json")))
    tensors, meta = read_safetensors(os.path.join(a.export, "model.safetensors"))
    if json.loads(meta.get("topiary", "null")) != cfg:
        fail("__metadata__.topiary differs from config.json")
    V, E, L, hidden, cell = cfg["vocab"], cfg["embed"], cfg["layers"], cfg["hidden"], cfg["cell"]
    if len(vocab) != V or len(hidden) != L:
        fail("config.json disagrees with vocab.json or itself")

    weights = {}
    for name, (dt, arr) in tensors.items():
        if name.startswith("mask."):
            continue
        if dt != "F32":
            fail(f"{name}: dtype {dt}, expected F32")
        m = tensors.get("mask." + name)
        if m is None:
            fail(f"mask.{name} missing")
        if m[0] != "U8" or m[1].shape != arr.shape or not np.isin(m[1], (0, 1)).all():
            fail(f"mask.{name}: not a U8 0/1 tensor of the weight's shape")
        if np.any(arr[m[1] == 0] != 0):
            fail(f"{name}: a pruned entry is not zero")
        weights[name] = torch.from_numpy(arr)
    if len(tensors) != 2 * len(weights):
        fail("masks without weights")

    if cell == "lstm":
        if len(set(hidden)) != 1:
            fail(f"hidden sizes {hidden} differ: one torch.nn.LSTM cannot hold them (not covered here)")
        model = LstmLM(V, E, hidden[0], L)
    else:
        model = HlstmLM(V, E, hidden, cfg["gate_hidden"])
    try:
        model.load_state_dict(weights, strict=True)  # exact PyTorch names and shapes
    except RuntimeError as e:
        fail(f"load_state_dict(strict=True): {e}")
    if cfg.get("tie", 0):  # one matrix: PyTorch's tied model shares the Parameter
        if not torch.equal(weights["embed.weight"], weights["decoder.weight"]):
            fail("config.json says tie, but decoder.weight differs from embed.weight")
        model.decoder.weight = model.embed.weight
    model.eval()

    data = a.data or cfg["task"]["data"]
    ids = tokenize(split_text(data, a.split), cfg["task"]["level"], vocab)
    if len(ids) - 1 != a.tokens:
        fail(f"{len(ids) - 1} predictions from the {a.split} split, topiary scored {a.tokens}")
    x = torch.tensor(ids[:-1], dtype=torch.long)
    y = torch.tensor(ids[1:], dtype=torch.long)
    torch.set_num_threads(2)
    with torch.no_grad():
        logits = model(x).double()
        nll = -torch.log_softmax(logits, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    loss = nll.mean().item()
    rel = abs(loss - a.loss) / abs(a.loss)
    print(f"torch_check: {cell} {a.split}: torch loss {loss:.6f} (ppl {np.exp(loss):.4f}) over {len(y)} tokens, "
          f"topiary {a.loss:.6f}; relative difference {rel:.2e}")
    if not rel <= a.rtol:
        fail(f"relative difference {rel:.3e} > {a.rtol}")


if __name__ == "__main__":
    main()
