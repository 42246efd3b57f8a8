#!/usr/bin/env python3
"""tests/e2e/an4_torch_check: load a speech (an4) export into PyTorch and reproduce its CTC losses.

usage: an4_torch_check.py EXPORTDIR [--rtol 1e-4]

Builds the model of engine/asr.h from config.json as PyTorch modules named as the export says
(conv = ModuleList of Conv2d followed by hardtanh(0, 20); rnn = ModuleList of bidirectional nn.LSTM,
one per layer, the two directions' outputs summed; decoder = Linear), loads the non-mask tensors of
model.safetensors with load_state_dict(strict=True), checks the masks (U8 0/1, pruned weights exactly
0) and __metadata__.topiary == config.json, then runs the utterances of check.safetensors (features
and labels) and compares torch.nn.functional.ctc_loss (blank 0, summed over the utterance) with the
losses topiary recorded there (relative --rtol).  Exit 0 on agreement, 1 with a reason otherwise.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "U8": np.uint8, "I32": np.int32}


def fail(msg):
    sys.exit(f"an4_torch_check: FAIL: {msg}")


def read_safetensors(path):
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
    return out, meta


class Asr(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.conv = nn.ModuleList()
        c_in, f = 1, cfg["n_feat"]
        for (k, kt, kf, st, sf, pt, pf) in cfg["conv"]:
            self.conv.append(nn.Conv2d(c_in, k, (kt, kf), (st, sf), (pt, pf)))
            c_in, f = k, (f + 2 * pf - kf) // sf + 1
        width = c_in * f
        if width != cfg["embed"]:
            fail(f"the convolutions give frames of {width}, config.json says embed {cfg['embed']}")
        if cfg["cell"] != "lstm":
            fail("an H-LSTM speech model has no PyTorch module here")
        self.rnn = nn.ModuleList()
        for h in cfg["hidden"]:
            self.rnn.append(nn.LSTM(width, h, bidirectional=True))
            width = h
        self.decoder = nn.Linear(width, cfg["vocab"])

    def forward(self, feat):  # feat [T, F] -> logits [T', C]
        x = feat[None, None]
        for c in self.conv:
            x = F.hardtanh(c(x), 0.0, 20.0)
        x = x[0].permute(1, 0, 2).reshape(x.shape[2], -1)  # [T', K F'], channel-major
        for r in self.rnn:
            y, _ = r(x[:, None, :])
            h = r.hidden_size
            x = y[:, 0, :h] + y[:, 0, h:]
        return self.decoder(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--rtol", type=float, default=1e-4)
    a = ap.parse_args()
    cfg_text = open(os.path.join(a.export, "config.json")).read()
    cfg = json.loads(cfg_text)
    if cfg.get("kind") != "an4":
        fail("not a speech (an4) export")
    tensors, meta = read_safetensors(os.path.join(a.export, "model.safetensors"))
    if json.loads(meta.get("topiary", "null")) != cfg:
        fail("__metadata__.topiary differs from config.json")
    weights = {k: v for k, v in tensors.items() if not k.startswith("mask.")}
    for k, w in weights.items():
        m = tensors.get("mask." + k)
        if m is None or m.shape != w.shape:
            fail(f"no mask of the shape of {k}")
        if not np.isin(m, [0, 1]).all():
            fail(f"mask.{k} holds values other than 0 and 1")
        if (w[m == 0] != 0).any():
            fail(f"{k}: pruned entries that are not 0")
    model = Asr(cfg)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    model.eval()
    check, cmeta = read_safetensors(os.path.join(a.export, "check.safetensors"))
    losses = json.loads(cmeta["losses"])
    if not losses:
        fail("check.safetensors holds no utterance")
    with torch.no_grad():
        for i, want in enumerate(losses):
            feat = torch.from_numpy(check[f"feat.{i}"]).double()
            labels = torch.from_numpy(check.get(f"labels.{i}", np.zeros(0, np.int32)).astype(np.int64))
            logp = model.double()(feat).log_softmax(-1)
            got = F.ctc_loss(logp[:, None, :], labels[None], [logp.shape[0]], [labels.shape[0]], blank=0,
                             reduction="sum", zero_infinity=False).item()
            if abs(got - want) > a.rtol * abs(want):
                fail(f"utterance {i}: PyTorch CTC loss {got:.6f}, topiary {want:.6f}")
            print(f"utterance {i}: {logp.shape[0]} frames, {labels.shape[0]} labels: CTC loss {got:.6f} "
                  f"(topiary {want:.6f})")
    print(f"an4_torch_check: ok: {len(losses)} utterance(s) agree within rtol {a.rtol}")


if __name__ == "__main__":
    main()
