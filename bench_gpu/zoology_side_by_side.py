"""Zoology's own trainer on one MQAR cell, to set beside seqbench's on the same GPU in the same run.

Drives Zoology's model (zoology/model.py: LanguageModel with its MHA softmax attention and its
Identity state mixer, as its MQAR configs do) and the training step of its Trainer
(zoology/train.py: batch to the GPU, zero_grad, forward to the LM head's logits, cross-entropy,
backward, AdamW step, loss.item() for the progress bar; cosine schedule per epoch; test accuracy
after every epoch; early stop above 0.99) on data that `seqbench dataset export` wrote, so both
trainers see the same examples. Zoology's config classes need pydantic, its blocks torchvision's
StochasticDepth and its utilities import wandb and pandas: where those are missing, small stand-ins
with the behaviour Zoology uses are installed (plain attribute classes; StochasticDepth at p = 0 is
the identity; empty modules for the logger's imports).

  python3 zoology_side_by_side.py --zoology DIR --train train.jsonl --test test.jsonl --label kv8

prints one JSON line per mode: eager (the Trainer's step as written) trains the whole schedule and
reports accuracy; compiled (torch.compile, no per-step .item()) times steps only.
"""
import argparse
import copy
import json
import sys
import time
import types


def install_stand_ins():
    # Imported by zoology/utils.py for its logger only.
    for name in ("wandb", "pandas"):
        try:
            __import__(name)
        except ImportError:
            sys.modules[name] = types.ModuleType(name)
    try:
        import pydantic  # noqa: F401
    except ImportError:
        class BaseModel:
            def __init__(self, **values):
                fields = {}
                for cls in reversed(type(self).__mro__):
                    fields.update(getattr(cls, "__annotations__", {}))
                for name in fields:
                    if name in values:
                        setattr(self, name, values.pop(name))
                    elif hasattr(type(self), name):
                        setattr(self, name, copy.deepcopy(getattr(type(self), name)))
                    else:
                        raise TypeError(f"{type(self).__name__}: missing field {name}")
                for name, value in values.items():
                    setattr(self, name, value)

            def model_dump(self):
                return dict(self.__dict__)

            def copy(self):
                return copy.deepcopy(self)

        module = types.ModuleType("pydantic")
        module.BaseModel = BaseModel
        module.validate_call = lambda f: f
        sys.modules["pydantic"] = module
    try:
        from torchvision.ops import StochasticDepth  # noqa: F401
    except ImportError:
        import torch

        class StochasticDepth(torch.nn.Module):
            def __init__(self, p, mode):
                super().__init__()
                self.p, self.mode = p, mode

            def forward(self, x):
                if self.p == 0.0 or not self.training:
                    return x
                shape = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
                keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(1.0 - self.p)
                return x * keep / (1.0 - self.p)

        torchvision = types.ModuleType("torchvision")
        ops = types.ModuleType("torchvision.ops")
        ops.StochasticDepth = StochasticDepth
        torchvision.ops = ops
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = torchvision, ops


def load(path):
    import torch
    inputs, labels = [], []
    with open(path) as f:
        for line in f:
            row = json.loads(line)
            inputs.append(row["inputs"])
            labels.append(row["labels"])
    return torch.tensor(inputs, dtype=torch.long), torch.tensor(labels, dtype=torch.long)


def make_model(args):
    from zoology.config import ModelConfig, ModuleConfig
    from zoology.model import LanguageModel
    config = ModelConfig(
        d_model=args.d_model, n_layers=2, vocab_size=args.vocab, max_position_embeddings=args.seq_len,
        sequence_mixer=ModuleConfig(name="zoology.mixers.attention.MHA", kwargs={"num_heads": 1, "dropout": 0.1}),
        state_mixer=ModuleConfig(name="torch.nn.Identity", kwargs={}))
    return LanguageModel(config).cuda()


def accuracy(model, inputs, labels, batch):
    import torch
    model.eval()
    per_example = []
    with torch.no_grad():
        for i in range(0, len(inputs), batch):
            x, y = inputs[i:i + batch].cuda(), labels[i:i + batch].cuda()
            preds = model(x, return_embeddings=False).argmax(-1)
            hit = ((preds == y) & (y != -100)).sum(-1).float() / (y != -100).sum(-1).float()
            per_example.extend(hit.tolist())
    model.train()
    return sum(per_example) / len(per_example)


def train(args, compiled):
    import torch
    torch.manual_seed(args.seed)
    model = make_model(args)
    step_model = torch.compile(model) if compiled else model
    train_x, train_y = load(args.train)
    test_x, test_y = load(args.test)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=0.0)
    generator = torch.Generator().manual_seed(args.seed)

    def step(x, y):
        x, y = x.to("cuda"), y.to("cuda")
        optimizer.zero_grad()
        logits = step_model(x, return_embeddings=False)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.flatten())
        loss.backward()
        optimizer.step()
        return loss

    # Warm-up steps (first launches, compilation) outside the timed region, then fresh weights.
    warm_start = time.perf_counter()
    for _ in range(args.warmup):
        step(train_x[:args.batch], train_y[:args.batch])
    torch.cuda.synchronize()
    warmup_s = time.perf_counter() - warm_start
    model.load_state_dict(make_model(args).state_dict())
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=0.0)

    steps, train_s, acc, epochs_run = 0, 0.0, 0.0, 0
    start = time.perf_counter()
    for epoch in range(args.epochs if not compiled else 1):
        order = torch.randperm(len(train_x), generator=generator)
        epoch_start = time.perf_counter()
        # Compiled: whole batches only, so that one compiled graph serves every step (a last short
        # batch would compile another inside the timed epoch).
        end = len(train_x) - len(train_x) % args.batch if compiled else len(train_x)
        for i in range(0, end, args.batch):
            index = order[i:i + args.batch]
            loss = step(train_x[index], train_y[index])
            if not compiled:
                loss.item()  # the Trainer's progress bar and logger read the loss every step
            steps += 1
        torch.cuda.synchronize()
        train_s += time.perf_counter() - epoch_start
        epochs_run = epoch + 1
        if compiled:
            break
        acc = accuracy(model, test_x, test_y, args.batch)
        if acc > 0.99:
            break
        scheduler.step()
    wall_s = time.perf_counter() - start
    return {"trainer": "zoology", "mode": "compiled" if compiled else "eager", "label": args.label,
            "steps": steps, "epochs": epochs_run, "train_s": round(train_s, 3), "wall_s": round(wall_s, 3),
            "ms_per_step": round(1000 * train_s / steps, 4), "warmup_s": round(warmup_s, 2),
            "accuracy": None if compiled else round(acc, 4), "device": torch.cuda.get_device_name()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--zoology", required=True, help="folder holding the zoology package")
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--label", default="")
    parser.add_argument("--modes", default="eager,compiled")
    parser.add_argument("--d-model", dest="d_model", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--seq-len", dest="seq_len", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, args.zoology)
    install_stand_ins()
    for mode in args.modes.split(","):
        print(json.dumps(train(args, compiled=(mode == "compiled"))), flush=True)


if __name__ == "__main__":
    main()
