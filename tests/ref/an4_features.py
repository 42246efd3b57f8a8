#!/usr/bin/python3
"""tests/ref/an4_features.py: an independent reference for engine/features (numpy, float64).

usage: an4_features.py FILE.sph OUT.txt [n_mels win_ms hop_ms n_fft f_min f_max]

Reads the NIST SPHERE file with its own parser (16-bit pcm, byte order 01 or 10), computes the
log-mel features of engine/features.h (periodic Hann window, HTK mel triangles, natural log with a
1e-10 floor) with numpy.fft.rfft, and writes "T F" on the first line, then T lines of the raw log-mel,
then T lines of the per-feature normalised log-mel ((x - mean) / max(std, 1e-5), population std).
tests/test_features.c runs it and compares.
"""
import sys

import numpy as np


def read_sphere(path):
    data = open(path, "rb").read()
    if not data.startswith(b"NIST_1A\n"):
        raise SystemExit(f"{path}: not a SPHERE file")
    hbytes = int(data[8:16].split(b"\n")[0])
    fields = {}
    for line in data[:hbytes].decode("ascii").split("\n")[2:]:
        if line == "end_head":
            break
        name, typ, val = line.split(" ", 2)
        fields[name] = int(val) if typ == "-i" else val
    assert fields.get("sample_n_bytes", 2) == 2 and fields.get("channel_count", 1) == 1
    order = "<i2" if fields["sample_byte_format"] == "01" else ">i2"
    x = np.frombuffer(data[hbytes:], dtype=order).astype(np.float64)
    assert len(x) == fields["sample_count"]
    return x / 32768.0, fields["sample_rate"]


def log_mel(x, sr, n_mels=40, win_ms=25.0, hop_ms=10.0, n_fft=512, f_min=0.0, f_max=None):
    f_max = sr / 2 if f_max is None else f_max
    W, S = int(round(win_ms * sr / 1000)), int(round(hop_ms * sr / 1000))
    T = 1 + (len(x) - W) // S if len(x) >= W else 1
    xp = np.zeros(max(len(x), (T - 1) * S + W))
    xp[: len(x)] = x
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(W) / W)
    frames = np.stack([xp[t * S: t * S + W] * window for t in range(T)])
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2
    mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)
    hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    h = hz(np.linspace(mel(f_min), mel(f_max), n_mels + 2))
    fk = np.arange(n_fft // 2 + 1) * sr / n_fft
    fb = np.zeros((n_mels, n_fft // 2 + 1))
    for b in range(n_mels):
        up = (fk - h[b]) / (h[b + 1] - h[b])
        down = (h[b + 2] - fk) / (h[b + 2] - h[b + 1])
        fb[b] = np.maximum(0.0, np.minimum(up, down))
    return np.log(np.maximum(power @ fb.T, 1e-10))


def main():
    if len(sys.argv) not in (3, 9):
        raise SystemExit(__doc__)
    x, sr = read_sphere(sys.argv[1])
    args = {}
    if len(sys.argv) == 9:
        n_mels, win, hop, n_fft, f_min, f_max = sys.argv[3:]
        args = dict(n_mels=int(n_mels), win_ms=float(win), hop_ms=float(hop), n_fft=int(n_fft),
                    f_min=float(f_min), f_max=float(f_max))
    raw = log_mel(x, sr, **args)
    sd = np.maximum(raw.std(axis=0), 1e-5)
    norm = (raw - raw.mean(axis=0)) / sd
    with open(sys.argv[2], "w") as f:
        f.write(f"{raw.shape[0]} {raw.shape[1]}\n")
        for m in (raw, norm):
            for row in m:
                f.write(" ".join(f"{v:.9g}" for v in row) + "\n")


if __name__ == "__main__":
    main()
