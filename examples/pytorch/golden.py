"""Writes test/golden/pytorch: safetensors files written by PyTorch (safetensors.torch.save_file)
and the logits and loss PyTorch computes for a fixed input; `npm test` checks quire against them
without PyTorch (test/pytorch.test.ts).

    python examples/pytorch/golden.py [OUT_DIR]
    node_modules/.bin/biome format --write test/golden/pytorch   # the JSON as the repository formats it
"""

import json
import os
import sys

import torch
from safetensors.torch import save_file
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import RNNModel  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "test", "golden", "pytorch")
V, H, L = 50, 16, 2
SEQ, BATCH = 8, 2


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20261202)
    model = RNNModel(V, H, L, dropout=0.0, init_scale=0.5)
    # A few SGD steps on random tokens, so no tensor keeps its initial distribution (the biases
    # of both ih and hh differ, and import must add them).
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    data = torch.randint(0, V, (41, 4))
    for _ in range(5):
        logits, _ = model(data[:-1], model.init_hidden(4))
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), data[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    save_file(model.state_dict(), os.path.join(OUT, "lstm-2x16.safetensors"), metadata={"format": "pt"})
    words = ["<eos>", "<unk>"] + [f"w{i:02d}" for i in range(2, V)]
    with open(os.path.join(OUT, "vocabulary.txt"), "w") as f:
        f.write("\n".join(words))
    tokens = torch.randint(0, V, (SEQ + 1, BATCH))
    with torch.no_grad():
        logits, _ = model(tokens[:-1], model.init_hidden(BATCH))
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), tokens[1:].reshape(-1))
    expected = {
        "torch": torch.__version__,
        "seq": SEQ,
        "batch": BATCH,
        "inputs": tokens[:-1].reshape(-1).tolist(),
        "targets": tokens[1:].reshape(-1).tolist(),
        "logits": logits.reshape(-1).tolist(),
        "loss": loss.item(),
    }
    with open(os.path.join(OUT, "lstm-2x16.json"), "w") as f:
        json.dump(expected, f)
    # State dicts quire cannot hold (V=5, H=4), each as PyTorch writes it.
    small = {
        "gru": nn.GRU(4, 4, 1),
        "bidirectional": nn.LSTM(4, 4, 1, bidirectional=True),
        "projections": nn.LSTM(4, 4, 1, proj_size=2),
        "rnn": nn.RNN(4, 4, 1),
        "wide-embedding": nn.LSTM(6, 4, 1),
    }
    for name, rnn in small.items():
        width = 6 if name == "wide-embedding" else 4
        state = {"encoder.weight": torch.randn(5, width), "decoder.weight": torch.randn(5, 4), "decoder.bias": torch.randn(5)}
        state.update({f"rnn.{k}": v.detach() for k, v in rnn.state_dict().items()})
        save_file(state, os.path.join(OUT, f"{name}.safetensors"))
    # Every dtype quire writes or reads, no metadata: fixes the tensor order of the layout.
    mixed = {
        "a.f32": torch.arange(6, dtype=torch.float32).reshape(2, 3),
        "b.i8": torch.tensor([-1, 1, 1], dtype=torch.int8),
        "c.u8": torch.tensor([1, 2], dtype=torch.uint8),
        "d.i64": torch.tensor([7], dtype=torch.int64),
        "e.f16": torch.tensor([0.5, -2.0], dtype=torch.float16),
        "f.i32": torch.tensor([3, -4], dtype=torch.int32),
        "g.f64": torch.tensor([1.25], dtype=torch.float64),
        "h.bf16": torch.tensor([1.0], dtype=torch.bfloat16),
        "i.f32": torch.zeros(0),
    }
    save_file(mixed, os.path.join(OUT, "dtypes.safetensors"))


if __name__ == "__main__":
    main()
