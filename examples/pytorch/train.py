"""Trains quire's LSTM language model in PyTorch, on one process or many (DistributedDataParallel).

    quire data encode --data data/ptb            # prints the cache folder of the encoded corpus
    torchrun --nproc-per-node 4 examples/pytorch/train.py --corpus CACHE_FOLDER --preset small --out runs/torch-small
    quire import runs/torch-small/model.safetensors --vocab runs/torch-small/model.vocab.txt \\
        --tokenizer runs/torch-small/model.tokenizer.json   # -> model.qmodel for eval, generate, compress

The corpus is quire's encoding (vocabulary.txt: one word per line, line i = id i;
{train,valid,test}.bin: u32 little-endian ids), so the ids, the vocabulary and the perplexities
are quire's. The presets, initialisation (every parameter uniform in +-init_scale), dropout
(non-recurrent connections), batching (the ids cut into `batch` contiguous streams, windows of
`steps` time steps, the state carried between windows and zeroed at each epoch), loss (sum over
time, mean over streams), global-norm clipping and learning-rate schedule are quire's (ts/train).
With N processes each one runs batch/N of the streams (gloo on CPU, nccl on GPUs); DDP averages
the gradients, which gives the gradient of the whole batch. Rank 0 evaluates and writes
OUT/model.safetensors (the state dict `quire import` reads) with OUT/model.vocab.txt and
OUT/model.tokenizer.json.
"""

import argparse
import json
import math
import os
import shutil
import sys
import time

import torch
import torch.distributed as dist
from safetensors.torch import save_file
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import RNNModel  # noqa: E402

# ts/train/presets.ts (Zaremba et al. 2014 for small, medium, large).
BASE = {"seed": 1, "lr": 1.0, "eval_batch": 10}
PRESETS = {
    "tiny": {**BASE, "hidden": 16, "layers": 2, "steps": 5, "batch": 4, "init_scale": 0.5, "dropout": 0.0, "epochs": 2, "lr_decay": 0.5, "decay_after": 1, "clip": 5.0, "eval_batch": 4},
    "small": {**BASE, "hidden": 200, "layers": 2, "steps": 20, "batch": 20, "init_scale": 0.1, "dropout": 0.0, "epochs": 13, "lr_decay": 0.5, "decay_after": 4, "clip": 5.0},
    "medium": {**BASE, "hidden": 650, "layers": 2, "steps": 35, "batch": 20, "init_scale": 0.05, "dropout": 0.5, "epochs": 39, "lr_decay": 1 / 1.2, "decay_after": 6, "clip": 5.0},
    "large": {**BASE, "hidden": 1500, "layers": 2, "steps": 35, "batch": 20, "init_scale": 0.04, "dropout": 0.65, "epochs": 55, "lr_decay": 1 / 1.15, "decay_after": 14, "clip": 10.0},
}


def read_ids(path: str, limit: int | None) -> torch.Tensor:
    with open(path, "rb") as f:
        data = f.read()
    ids = torch.frombuffer(bytearray(data), dtype=torch.int32).to(torch.int64)  # u32 ids < 2^31
    return ids[:limit] if limit else ids


def streams(ids: torch.Tensor, batch: int) -> torch.Tensor:
    """[length, batch]: column b is the b-th contiguous stream (the tail is dropped)."""
    length = ids.numel() // batch
    return ids[: length * batch].reshape(batch, length).t().contiguous()


def evaluate(model: RNNModel, data: torch.Tensor, steps: int, device) -> float:
    """Mean cross-entropy per token over every window (the last may be shorter), state carried."""
    model.eval()
    hidden = tuple(h.to(device) for h in model.init_hidden(data.size(1)))
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, data.size(0) - 1, steps):
            n = min(steps, data.size(0) - 1 - start)
            x, y = data[start : start + n].to(device), data[start + 1 : start + 1 + n].to(device)
            logits, hidden = model(x, hidden)
            total += torch.nn.functional.cross_entropy(logits.reshape(-1, model.ntoken), y.reshape(-1), reduction="sum").item()
            count += y.numel()
    return total / count


def training_record(preset: str, cfg: dict, limit_tokens: int | None, history: list) -> dict:
    """The run in quire's trainer-state form (ts/train/checkpoint.ts TrainState): `quire import` stores it,
    so `quire compress` restarts from this run's learning rate, clip, window and streams as for its own runs."""
    config = {
        "preset": preset,
        **{k: cfg[k] for k in ("hidden", "layers", "steps", "batch", "dropout", "epochs", "lr", "clip", "seed")},
        "initScale": cfg["init_scale"],
        "lrDecay": cfg["lr_decay"],
        "decayAfter": cfg["decay_after"],
        "evalBatch": cfg["eval_batch"],
        **({"limitTokens": limit_tokens} if limit_tokens else {}),
    }
    epochs = [{**{k: r[k] for k in ("epoch", "lr", "trainPerplexity", "validPerplexity", "tokensPerSecond", "seconds")}, "trainLoss": math.log(r["trainPerplexity"])} for r in history]
    return {"config": config, "epoch": len(epochs), "window": 0, "lossSum": 0, "lossTokens": 0, "seconds": sum(r["seconds"] for r in epochs), "history": epochs}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True, help="cache folder printed by `quire data encode`")
    p.add_argument("--preset", default="small", choices=PRESETS)
    p.add_argument("--out", required=True, help="folder for model.safetensors, model.vocab.txt, model.tokenizer.json, log.jsonl")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--limit-tokens", type=int, help="use only the first N tokens of each split")
    for k in ("hidden", "layers", "steps", "batch", "eval_batch", "decay_after"):
        p.add_argument("--" + k.replace("_", "-"), type=int)
    for k in ("init_scale", "dropout", "lr", "lr_decay", "clip"):
        p.add_argument("--" + k.replace("_", "-"), type=float)
    args = p.parse_args()
    cfg = dict(PRESETS[args.preset])
    cfg.update({k: v for k, v in vars(args).items() if k in cfg and v is not None})

    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if cfg["batch"] % world:
        sys.exit(f"batch {cfg['batch']} must be a multiple of the {world} processes")

    with open(os.path.join(args.corpus, "vocabulary.txt"), encoding="utf-8") as f:
        words = f.read().split("\n")
    train = streams(read_ids(os.path.join(args.corpus, "train.bin"), args.limit_tokens), cfg["batch"])
    local = cfg["batch"] // world
    train = train[:, rank * local : (rank + 1) * local]
    valid = streams(read_ids(os.path.join(args.corpus, "valid.bin"), args.limit_tokens), cfg["eval_batch"])
    test = streams(read_ids(os.path.join(args.corpus, "test.bin"), args.limit_tokens), cfg["eval_batch"])

    torch.manual_seed(cfg["seed"])  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = RNNModel(len(words), cfg["hidden"], cfg["layers"], cfg["dropout"], cfg["init_scale"]).to(device)
    net = DistributedDataParallel(model) if distributed else model
    torch.manual_seed(cfg["seed"] + rank)  # dropout masks differ per rank
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    steps = cfg["steps"]
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)
        log = open(os.path.join(args.out, "log.jsonl"), "w")
        history = []
    for epoch in range(1, cfg["epochs"] + 1):
        lr = cfg["lr"] * cfg["lr_decay"] ** max(0, epoch - cfg["decay_after"])
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        hidden = tuple(h.to(device) for h in model.init_hidden(local))
        start_time, loss_sum, windows = time.time(), 0.0, (train.size(0) - 1) // steps
        for w in range(windows):
            x = train[w * steps : (w + 1) * steps].to(device)
            y = train[w * steps + 1 : (w + 1) * steps + 1].to(device)
            hidden = tuple(h.detach() for h in hidden)
            logits, hidden = net(x, hidden)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, model.ntoken), y.reshape(-1))
            opt.zero_grad()
            (loss * steps).backward()  # gradient of (1/B)·sum of CE over the window, as quire's
            if cfg["clip"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            opt.step()
            loss_sum += loss.item()
        seconds = time.time() - start_time  # training only: evaluation is not counted
        if rank == 0:
            valid_ppl = math.exp(evaluate(model, valid, steps, device))
            record = {
                "epoch": epoch,
                "lr": lr,
                "trainPerplexity": math.exp(loss_sum / max(windows, 1)),
                "validPerplexity": valid_ppl,
                "seconds": seconds,
                "tokensPerSecond": windows * steps * cfg["batch"] / seconds,
            }
            print(json.dumps(record), flush=True)
            log.write(json.dumps(record) + "\n")
            history.append(record)
    if rank == 0:
        test_ppl = math.exp(evaluate(model, test, steps, device))
        print(json.dumps({"testPerplexity": test_ppl}), flush=True)
        config = {"vocab": len(words), "hidden": cfg["hidden"], "layers": cfg["layers"], "init_scale": cfg["init_scale"], "dropout": cfg["dropout"], "seed": cfg["seed"]}
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        metadata = {"format": "pt", "quire.config": json.dumps(config), "quire.training": json.dumps(training_record(args.preset, cfg, args.limit_tokens, history))}
        save_file(state, os.path.join(args.out, "model.safetensors"), metadata=metadata)
        shutil.copyfile(os.path.join(args.corpus, "vocabulary.txt"), os.path.join(args.out, "model.vocab.txt"))
        with open(os.path.join(args.corpus, "corpus.json"), encoding="utf-8") as f:
            tokenizer = json.load(f)["tokenizer"]
        with open(os.path.join(args.out, "model.tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(tokenizer, f)
    if distributed:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
