#!/usr/bin/python3
"""bench/vocab_blocks.py: how much of each word's weights a block pattern keeps, in the vocabulary's
order and with the rows sorted by word frequency (`rows=freq`), before any training.

For each vocabulary matrix of a session (embed.weight, decoder.weight) and each block shape, keep the
top DENSITY of its blocks by L2 norm (as `prune sparsity=` does) and report the share of each row's
squared weights that survives, averaged over the words with their frequency in the valid split as
weights: a proxy for what the pruned matrix loses on the tokens that matter.  README cites its output
for the PTB baseline:

    /usr/bin/python3 bench/vocab_blocks.py runs/ptb-small ../shared/data/ptb --density 0.076

Needs numpy (Debian's python3-numpy, which python3-torch pulls in).
"""
import argparse
import json
import struct
import sys

import numpy as np

DT = {'F32': np.float32, 'U8': np.uint8, 'F16': np.float16, 'I32': np.int32}


def load(path):
    with open(path, 'rb') as f:
        b = f.read()
    n = struct.unpack('<Q', b[:8])[0]
    head = json.loads(b[8:8 + n])
    out = {}
    for k, v in head.items():
        if k == '__metadata__' or v['dtype'] not in DT:
            continue
        s, e = v['data_offsets']
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=DT[v['dtype']]).reshape(v['shape'])
    return out


def kept_share(w, order, R, C, density, freq):
    wp = w[order].astype(np.float64)
    rows, cols = wp.shape
    e = wp ** 2
    if R == 1 and C == 1:
        score = np.abs(wp)
        thr = np.quantile(score.ravel(), 1 - density)
        keep = score >= thr
    else:
        pr, pc = (-rows) % R, (-cols) % C
        ep = np.pad(e, ((0, pr), (0, pc)))
        blocks = ep.reshape((rows + pr) // R, R, (cols + pc) // C, C).sum(axis=(1, 3))
        thr = np.quantile(blocks.ravel(), 1 - density)
        keep = np.repeat(np.repeat(blocks >= thr, R, 0), C, 1)[:rows, :cols]
    share = np.zeros(rows)
    tot = e.sum(1)
    share[tot > 0] = (e * keep).sum(1)[tot > 0] / tot[tot > 0]
    back = np.empty_like(share)
    back[order] = share
    return float((freq * back).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('session')
    ap.add_argument('data', help='PTB-style directory (ptb.train.txt, ptb.valid.txt)')
    ap.add_argument('--density', type=float, default=0.076)
    a = ap.parse_args()
    m = load(a.session + '/model.safetensors')
    vocab = json.load(open(a.session + '/vocab.json'))
    ids = {w: i for i, w in enumerate(vocab)}
    unk = ids.get('<unk>')

    def counts(split):
        c = np.zeros(len(vocab))
        with open('%s/ptb.%s.txt' % (a.data, split)) as f:
            for line in f:
                for w in line.split() + ['<eos>']:
                    i = ids.get(w, unk)
                    if i is not None:
                        c[i] += 1
        return c

    train, valid = counts('train'), counts('valid')
    freq = valid / valid.sum()
    # rows=freq: descending training count, ties by the lower id (mask_vocab_frequency_order)
    by_freq = np.array(sorted(range(len(vocab)), key=lambda i: (-train[i], i)))
    natural = np.arange(len(vocab))
    print('tensor\tblock\tvocabulary order\trows=freq')
    for name in ('decoder.weight', 'embed.weight'):
        if name not in m:
            continue
        for R, C in ((1, 1), (4, 4), (16, 1), (8, 1)):
            nat = kept_share(m[name], natural, R, C, a.density, freq)
            srt = kept_share(m[name], by_freq, R, C, a.density, freq)
            print('%s\t%dx%d\t%.3f\t%.3f' % (name, R, C, nat, srt))
    return 0


if __name__ == '__main__':
    sys.exit(main())
