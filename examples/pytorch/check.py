"""Runs a state dict (as `quire export --format safetensors` writes it) in PyTorch and prints its
logits and mean cross-entropy for a window, as JSON; the opt-in peer test of test/pytorch.test.ts
compares them with quire's.

    echo '{"seq": 3, "batch": 2, "inputs": [...], "targets": [...]}' | python examples/pytorch/check.py STATE.safetensors
"""

import json
import os
import sys

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import from_state_dict  # noqa: E402


def main():
    model = from_state_dict(load_file(sys.argv[1]))
    model.eval()
    window = json.load(sys.stdin)
    seq, batch = window["seq"], window["batch"]
    inputs = torch.tensor(window["inputs"]).reshape(seq, batch)
    targets = torch.tensor(window["targets"]).reshape(-1)
    with torch.no_grad():
        logits, _ = model(inputs, model.init_hidden(batch))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, model.ntoken), targets)
    json.dump({"logits": logits.reshape(-1).tolist(), "loss": loss.item()}, sys.stdout)


if __name__ == "__main__":
    main()
