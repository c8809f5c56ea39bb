"""PyTorch peer of `npm run bench -- train`: tokens/s of one training step of the same model.

The model, window and update are quire's (Zaremba et al. presets): embedding, a 2-layer
`torch.nn.LSTM`, dropout on the non-recurrent connections, a linear softmax layer, mean
cross-entropy over the T·B window, backward through the window (truncated BPTT: the carried
state is detached), global gradient-norm clipping and a plain SGD update. Runs on the CPU with
`--threads` intra-op threads. Prints one JSON line per preset, the same fields as quire's bench.

    python bench/peers/torch_train.py [--threads 2] [--windows 12] [--presets small,medium]

Needs `torch` (PyPI; any build runs on the CPU). Windows are seeded random ids over a
10,000-word vocabulary: the throughput of a dense LSTM does not depend on the ids.
"""

import argparse
import json
import statistics
import time

import torch

PRESETS = {
    "small": dict(hidden=200, layers=2, steps=20, batch=20, dropout=0.0, init=0.1),
    "medium": dict(hidden=650, layers=2, steps=35, batch=20, dropout=0.5, init=0.05),
}
VOCAB = 10_000


class LanguageModel(torch.nn.Module):
    def __init__(self, hidden, layers, dropout, init):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, hidden)
        self.lstm = torch.nn.LSTM(hidden, hidden, layers, dropout=dropout)
        self.drop = torch.nn.Dropout(dropout)
        self.softmax = torch.nn.Linear(hidden, VOCAB)
        for p in self.parameters():
            torch.nn.init.uniform_(p, -init, init)

    def forward(self, inputs, state):
        x = self.drop(self.embedding(inputs))
        y, state = self.lstm(x, state)
        return self.softmax(self.drop(y)), state


def run(preset, windows, lr=1.0, clip=5.0):
    p = PRESETS[preset]
    torch.manual_seed(1)
    model = LanguageModel(p["hidden"], p["layers"], p["dropout"], p["init"])
    model.train()
    t, b, h = p["steps"], p["batch"], p["hidden"]
    state = (torch.zeros(p["layers"], b, h), torch.zeros(p["layers"], b, h))
    gen = torch.Generator().manual_seed(12345)
    times = []
    for i in range(windows + 1):
        inputs = torch.randint(0, VOCAB, (t, b), generator=gen)
        targets = torch.randint(0, VOCAB, (t, b), generator=gen)
        t0 = time.perf_counter()
        state = tuple(s.detach() for s in state)
        logits, state = model(inputs, state)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, VOCAB), targets.view(-1))
        model.zero_grad(set_to_none=False)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        with torch.no_grad():
            for param in model.parameters():
                param.add_(param.grad, alpha=-lr)
        if i > 0:
            times.append(time.perf_counter() - t0)
    ms = statistics.median(times) * 1000
    return dict(peer=f"torch {torch.__version__}", threads=torch.get_num_threads(), preset=preset, window=f"{t}x{b}", windows=windows,
                msPerWindow=round(ms, 1), tokensPerSecond=round(t * b * 1000 / ms))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--windows", type=int, default=12)
    ap.add_argument("--presets", default="small,medium")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for preset in a.presets.split(","):
        print(json.dumps(run(preset, a.windows)), flush=True)


if __name__ == "__main__":
    main()
