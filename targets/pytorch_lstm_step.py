#!/usr/bin/python3
"""targets/pytorch_lstm_step.py: the latency of one step of PyTorch's nn.LSTM, for the `cmd:` latency
target targets/pytorch-lstm.target (see that file for how topiary runs it).

One layer nn.LSTM(input_size=I, hidden_size=H), batch B, a window of T steps (x of shape [T, B, I]),
float32 on the CPU, torch.set_num_threads(threads), under torch.inference_mode(): the steady state of
sequential inference (the same layer called back to back with the state carried, as topiary's own
profiler measures).  After --warmup calls it times --runs calls (stopping early, after at least 10,
once --max-seconds have passed) and prints the median per step, call time / T, in microseconds, as
the last line of stdout (the lines before it are comments starting with '#').

--density D < 1 zeroes all but the largest-magnitude fraction D of weight_ih and weight_hh (--pattern
row: D of every row, row-balanced; unstructured, csr, sell, block*: D of each matrix).  The kernels stay
dense: PyTorch has no sparse LSTM, so the time measures the dense step of a masked model (what a user
deploying the exported model through nn.LSTM gets), not a sparse kernel.

Exit status: 0 ok, 2 bad arguments, 1 anything else (the message on stderr).
"""
import argparse
import statistics
import sys
import time


def positive(kind):
    def parse(text):
        v = kind(text)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
        return v
    return parse


def main():
    ap = argparse.ArgumentParser(description="median microseconds per step of torch.nn.LSTM")
    ap.add_argument("--hidden", type=positive(int), required=True)
    ap.add_argument("--input", type=int, default=0, help="input size (0 = hidden)")
    ap.add_argument("--batch", type=positive(int), default=1)
    ap.add_argument("--seq", type=positive(int), default=1)
    ap.add_argument("--density", type=float, default=1.0)
    ap.add_argument("--pattern", default="dense")
    ap.add_argument("--threads", type=int, default=1, help="0 = PyTorch's default")
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--runs", type=positive(int), default=200)
    ap.add_argument("--max-seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.input < 0:
        ap.error("--input: expected >= 0")
    if not 0.0 < a.density <= 1.0:
        ap.error("--density: expected 0 < D <= 1")
    patterns = ("dense", "unstructured", "csr", "sell", "row")
    if a.pattern not in patterns and not a.pattern.startswith("block"):
        ap.error(f"--pattern {a.pattern}: expected one of {', '.join(patterns)} or block*")
    if a.hidden > 65536 or a.input > 65536 or a.batch > 65536 or a.seq > 65536:
        ap.error("sizes above 65536 are refused")

    import torch  # after the argument checks: a bad call fails fast even without torch

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    I = a.input or a.hidden
    lstm = torch.nn.LSTM(input_size=I, hidden_size=a.hidden, num_layers=1).float().eval()
    if a.density < 1.0:
        with torch.no_grad():
            for w in (lstm.weight_ih_l0, lstm.weight_hh_l0):
                mag = w.abs()
                if a.pattern == "row":
                    k = max(1, int(round(a.density * w.shape[1])))
                    idx = mag.topk(k, dim=1).indices
                    mask = torch.zeros_like(w).scatter_(1, idx, 1.0)
                else:
                    k = max(1, int(round(a.density * w.numel())))
                    thr = mag.flatten().kthvalue(w.numel() - k + 1).values
                    mask = (mag >= thr).to(w.dtype)
                w.mul_(mask)
    x = torch.randn(a.seq, a.batch, I)
    h = torch.zeros(1, a.batch, a.hidden)
    c = torch.zeros(1, a.batch, a.hidden)
    times = []
    with torch.inference_mode():
        for _ in range(a.warmup):
            _, (h, c) = lstm(x, (h, c))
        start = time.perf_counter()
        for i in range(a.runs):
            t0 = time.perf_counter_ns()
            _, (h, c) = lstm(x, (h, c))
            times.append(time.perf_counter_ns() - t0)
            if i >= 9 and time.perf_counter() - start > a.max_seconds:
                break
    per_step_us = statistics.median(times) / 1e3 / a.seq
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} thread(s), nn.LSTM I={I} H={a.hidden} "
          f"B={a.batch} T={a.seq} density={a.density:g} pattern={a.pattern} (dense kernels), "
          f"median of {len(times)} calls")
    print(f"{per_step_us:.3f}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(1)
    except Exception as e:  # torch missing, out of memory: one line, exit 1
        print(f"pytorch_lstm_step: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
