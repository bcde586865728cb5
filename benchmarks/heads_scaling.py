"""Why several heads: how many heads a vote needs to retrieve one item among L, in an idealised
model of independent noisy heads and in one-layer models trained with our attention module.

Run from the repository root (needs no data)::

    python benchmarks/heads_scaling.py --out runs/heads_scaling          # a few minutes on a CPU
    python benchmarks/heads_scaling.py --quick --out runs/heads_quick     # smoke run, seconds
    python benchmarks/heads_scaling.py --part trained --steps 3000 --device cuda --out runs/hs_gpu

Part 1, the idealised model. Each of H heads holds its own L keys, uniform on the unit sphere in
``--head-dim`` dimensions, and a query = the queried key + Gaussian noise of norm about
``--noise``; the head votes for the key with the largest dot product. The H votes are counted
(plurality: most votes wins, a tie shared at random; majority: more than H/2 votes) for
H = 1 … 64 and L = 16 … 4096, and the smallest H reaching ``--target`` accuracy per L is fitted
by H* = a + b·ln L and by a power law H* = c·L^k. The votes are sampled exactly without drawing
the L keys (see ``head_votes``); ``head_votes_direct`` draws them and the tests check the two agree.

Part 2, trained models. Associative recall: a sequence of L (key, value) tokens (distinct random
keys from 1,024, random values from 16) followed by queries, each a key of the sequence; the
model must output the value stored with it. One layer: embeddings → our ``MultiHeadSelfAttention``
(width 64 in total, H = 1 … 16 heads, so 64/H per head; the query positions are masked as keys,
so every query attends only to the L pairs) → linear read-out at each query. Every run has the
same budget: ``--steps`` Adam steps of 256 queries (it stops early once the training accuracy of
the last 20 steps is ≥ 0.999); the accuracy is measured on 2,048 fresh queries.

Writes ``heads_scaling.png``, ``heads_scaling_ideal.tsv``, ``heads_scaling_trained.tsv``,
``heads_scaling_runs.jsonl`` (one line per trained run, as it ends) and ``heads_scaling.json``
(parameters, versions, every point, the fits) to ``--out``. ``--jobs 2`` trains two models at a
time (one torch thread each by default); the figures do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
from _common import table

# ---------------------------------------------------------------------------------------------
# Part 1: the idealised model


def head_votes(length: int, heads: int, trials: int, *, dim: int, noise: float,
               rng: np.random.Generator) -> np.ndarray:
    """Votes of independent noisy heads, sampled exactly.

    Each head has ``length`` keys uniform on the unit sphere S^(dim-1) and a query
    q = k_0 + (noise / sqrt(dim))·ε, ε ~ N(0, I_dim); it votes for argmax_j <q, k_j>.
    Without drawing the keys: the queried key scores 1 + s·z (s = noise / sqrt(dim), z the noise
    along k_0); |q|² = (1 + s·z)² + s²·χ²(dim − 1); each other key scores |q|·c_j with the
    cosines c_j independent of q and (c_j + 1)/2 ~ Beta((dim − 1)/2, (dim − 1)/2), so their
    maximum is drawn from the inverse CDF at U^(1/(L − 1)). A wrong vote goes to one of the L − 1
    other keys uniformly (they are exchangeable).

    Returns
    -------
    votes : (trials, heads) int, 0 = the queried key, 1 … L−1 the others
    """
    from scipy.special import betaincinv

    if length < 2 or dim < 2:
        raise ValueError("needs length >= 2 and dim >= 2")
    s = noise / math.sqrt(dim)
    z = rng.standard_normal((trials, heads))
    rest = rng.chisquare(dim - 1, (trials, heads))
    right_score = 1.0 + s * z
    q_norm = np.sqrt(right_score**2 + s**2 * rest)
    half = (dim - 1) / 2
    u = rng.random((trials, heads)) ** (1.0 / (length - 1))
    best_wrong = 2.0 * betaincinv(half, half, u) - 1.0
    wrong = rng.integers(1, length, (trials, heads))
    return np.where(right_score > q_norm * best_wrong, 0, wrong)


def head_votes_direct(length: int, heads: int, trials: int, *, dim: int, noise: float,
                      rng: np.random.Generator) -> np.ndarray:
    """The same votes as ``head_votes`` by drawing every key (slow; for checking it)."""
    keys = rng.standard_normal((trials, heads, length, dim))  # (T, H, L, d)
    keys /= np.linalg.norm(keys, axis=-1, keepdims=True)
    query = keys[:, :, 0] + noise / math.sqrt(dim) * rng.standard_normal((trials, heads, dim))
    return np.einsum("thld,thd->thl", keys, query).argmax(-1)


def vote_accuracy(votes: np.ndarray, *, rule: str = "plurality", chunk: int = 4096) -> np.ndarray:
    """Accuracy of the vote of the first h heads, for h = 1 … H.

    Parameters
    ----------
    votes : (trials, H) int, 0 = right
    rule : "plurality" (most votes wins; a tie of the right item with m wrong ones is credited
        1/(m + 1), the expected accuracy of a random tie-break) or "majority" (right only with
        more than h/2 votes)

    Returns
    -------
    (H,) float
    """
    trials, n_heads = votes.shape
    right = votes == 0
    n_right = np.cumsum(right, axis=1)  # (T, H)
    if rule == "majority":
        return (n_right > np.arange(1, n_heads + 1) / 2).mean(0)
    if rule != "plurality":
        raise ValueError(f"unknown rule {rule!r}")
    total = np.zeros(n_heads)
    for lo in range(0, trials, chunk):
        v, r, c = votes[lo:lo + chunk], right[lo:lo + chunk], n_right[lo:lo + chunk]
        label = (v[:, :, None] == v[:, None, :]).argmax(2)  # first head with the same vote
        counts = np.zeros(v.shape, dtype=np.int32)  # wrong votes per label
        rows = np.arange(len(v))
        for h in range(n_heads):
            np.add.at(counts, (rows, label[:, h]), ~r[:, h])
            top = counts.max(1)
            ties = (counts == top[:, None]).sum(1)
            won = np.where(c[:, h] > top, 1.0, np.where(c[:, h] == top, 1.0 / (ties + 1), 0.0))
            total[h] += won.sum()
    return total / trials


def smallest_heads(accuracy: np.ndarray, target: float) -> int | None:
    """The smallest h (1-based) whose accuracy reaches ``target``; None if none does."""
    hit = np.flatnonzero(np.asarray(accuracy) >= target)
    return int(hit[0]) + 1 if len(hit) else None


class Fit(NamedTuple):
    """A fit of H* against L: its parameters, R² (on H*) and the residuals H* − fit."""

    params: tuple[float, float]
    r2: float
    residuals: np.ndarray


def _r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def fit_log(lengths: np.ndarray, heads: np.ndarray) -> Fit:
    """Least squares H* = a + b·ln L; params (a, b)."""
    x, y = np.log(np.asarray(lengths, float)), np.asarray(heads, float)
    b, a = np.polyfit(x, y, 1)
    pred = a + b * x
    return Fit((float(a), float(b)), _r2(y, pred), y - pred)


def fit_power(lengths: np.ndarray, heads: np.ndarray) -> Fit:
    """Least squares (on H*, like ``fit_log``) H* = c·L^k, started from the log-log line; (c, k)."""
    from scipy.optimize import curve_fit

    x, y = np.asarray(lengths, float), np.asarray(heads, float)
    k0, logc0 = np.polyfit(np.log(x), np.log(y), 1)
    (c, k), _ = curve_fit(lambda L, c, k: c * L**k, x, y, p0=(math.exp(logc0), k0), maxfev=20000)
    pred = c * x**k
    return Fit((float(c), float(k)), _r2(y, pred), y - pred)


def run_ideal(lengths: list[int], max_heads: int, trials: int, seeds: list[int], *, dim: int,
              noise: float, target: float) -> tuple[list[dict], dict, dict]:
    """Accuracy per (rule, L, H) over seeds; H* per seed and the accuracies (seeds, H) per rule and L."""
    rows: list[dict] = []
    star: dict = {"plurality": {}, "majority": {}}
    accuracy: dict = {"plurality": {}, "majority": {}}
    for length in lengths:
        acc: dict = {rule: [] for rule in star}
        per_head_error = []
        for seed in seeds:
            rng = np.random.default_rng([seed, length, dim, int(noise * 1000)])
            votes = head_votes(length, max_heads, trials, dim=dim, noise=noise, rng=rng)
            per_head_error.append(float((votes != 0).mean()))
            for rule in star:
                acc[rule].append(vote_accuracy(votes, rule=rule))
        for rule in star:
            a = np.array(acc[rule])  # (seeds, H)
            accuracy[rule][length] = a
            star[rule][length] = [smallest_heads(x, target) for x in a]
            for h in range(max_heads):
                rows.append({"rule": rule, "L": length, "H": h + 1, "accuracy": float(a[:, h].mean()),
                             "sd": float(a[:, h].std(ddof=1)) if len(seeds) > 1 else 0.0,
                             "per_head_error": float(np.mean(per_head_error))})
    return rows, star, accuracy


def summarise_star(star: dict[int, list[int | None]], accuracy: dict[int, np.ndarray] | None = None
                   ) -> tuple[list[dict], dict | None]:
    """H* per L (mean, sd, per seed; with ``accuracy`` (seeds, H) per L also the accuracy, mean ± sd
    over seeds, at H* and at H* − 1) and the two fits on the mean (L with H* in every seed)."""
    table_rows, xs, ys = [], [], []
    for length, values in star.items():
        got = [v for v in values if v is not None]
        row: dict = {"L": length, "H* mean": float(np.mean(got)) if got else float("nan"),
                     "H* sd": float(np.std(got, ddof=1)) if len(got) > 1 else 0.0,
                     "H* per seed": ",".join(str(v) if v is not None else ">max" for v in values)}
        if accuracy is not None:
            a = accuracy[length]
            for label, h in (("acc at H*", round(row["H* mean"]) if got else None),
                             ("acc at H*-1", round(row["H* mean"]) - 1 if got else None)):
                row[label] = (f"{a[:, h - 1].mean():.4f} ± {a[:, h - 1].std(ddof=1) if len(a) > 1 else 0:.4f}"
                              if h else "–")
        table_rows.append(row)
        if len(got) == len(values):
            xs.append(length)
            ys.append(row["H* mean"])
    if len(xs) < 3:
        return table_rows, None
    lf, pf = fit_log(np.array(xs), np.array(ys)), fit_power(np.array(xs), np.array(ys))
    for row in table_rows:
        if row["L"] in xs:
            i = xs.index(row["L"])
            row["resid ln"], row["resid power"] = float(lf.residuals[i]), float(pf.residuals[i])
        else:
            row["resid ln"] = row["resid power"] = float("nan")
    fits = {"L": xs, "ln": {"a": lf.params[0], "b": lf.params[1], "r2": lf.r2},
            "power": {"c": pf.params[0], "k": pf.params[1], "r2": pf.r2}}
    return table_rows, fits


# ---------------------------------------------------------------------------------------------
# Part 2: trained one-layer models

N_KEYS, N_VALUES, WIDTH = 1024, 16, 64


def recall_batch(length: int, queries: int, *, generator, n_keys: int = N_KEYS,
                 n_values: int = N_VALUES):
    """A batch of associative-recall sequences.

    Each sequence holds ``length`` pairs (distinct keys from ``n_keys``, values from
    ``n_values``) and Q = min(length, queries) queries, distinct keys of its pairs; N =
    max(1, queries // Q) sequences.

    Returns
    -------
    keys, values : (N, L) int64
    query_keys, targets : (N, Q) int64, targets[n, i] = values[n, j] where keys[n, j] = query_keys[n, i]
    """
    import torch

    q = min(length, queries)
    n = max(1, queries // q)
    keys = torch.rand(n, n_keys, generator=generator).argsort(1)[:, :length]
    values = torch.randint(0, n_values, (n, length), generator=generator)
    pos = torch.rand(n, length, generator=generator).argsort(1)[:, :q]
    return keys, values, keys.gather(1, pos), values.gather(1, pos)


def recall_model(heads: int, *, width: int = WIDTH, n_keys: int = N_KEYS, n_values: int = N_VALUES):
    """One layer: key + value embeddings → MultiHeadSelfAttention(width, heads) → read-out per query."""
    import torch
    from torch import nn

    from mhsa_bio.models.mhsa import MultiHeadSelfAttention

    class Recall(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.key = nn.Embedding(n_keys, width)
            self.value = nn.Embedding(n_values, width)
            self.marker = nn.Parameter(torch.zeros(width))  # marks a query position
            self.norm = nn.LayerNorm(width)
            self.attn = MultiHeadSelfAttention(width, heads)
            self.out_norm = nn.LayerNorm(width)
            self.out = nn.Linear(width, n_values)

        def forward(self, keys, values, query_keys):
            """keys, values: (N, L); query_keys: (N, Q) → logits (N, Q, n_values)."""
            n, length = keys.shape
            x = torch.cat([self.key(keys) + self.value(values), self.key(query_keys) + self.marker], 1)
            pad = torch.zeros(x.shape[:2], dtype=torch.bool, device=x.device)
            pad[:, length:] = True  # queries are never attended to: each sees only the L pairs
            a, _ = self.attn(self.norm(x), pad)
            h = x[:, length:] + a[:, length:]
            return self.out(self.out_norm(h))

    return Recall()


def train_recall(*, heads: int, length: int, steps: int, seed: int, queries: int = 256,
                 lr: float = 3e-3, target: float = 0.99, device: str = "cpu",
                 eval_queries: int = 2048) -> dict:
    """Train one model for at most ``steps`` steps; accuracy on fresh queries and the step at which
    the training accuracy of the last 20 steps first reached ``target`` (None if never)."""
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = recall_model(heads).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    recent: list[float] = []
    reached, step = None, 0
    start = time.perf_counter()
    for step in range(1, steps + 1):
        k, v, q, y = (t.to(device) for t in recall_batch(length, queries, generator=gen))
        logits = model(k, v, q)
        loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        opt.step()
        recent = (recent + [(logits.argmax(-1) == y).float().mean().item()])[-20:]
        running = sum(recent) / len(recent)
        if reached is None and len(recent) == 20 and running >= target:
            reached = step
        if len(recent) == 20 and running >= 0.999:
            break
    seconds = time.perf_counter() - start
    eval_gen = torch.Generator().manual_seed(1_000_003 + seed)  # the same queries for every H
    model.eval()
    correct = total = 0
    with torch.no_grad():
        while total < eval_queries:
            k, v, q, y = (t.to(device) for t in recall_batch(length, queries, generator=eval_gen))
            correct += (model(k, v, q).argmax(-1) == y).sum().item()
            total += y.numel()
    return {"H": heads, "L": length, "seed": seed, "accuracy": correct / total, "steps_run": step,
            "steps_to_target": reached, "seconds": seconds}


def summarise_trained(runs: list[dict], target: float) -> tuple[list[dict], dict[int, int | None]]:
    """Mean ± sd accuracy per (H, L) over seeds; the smallest H whose mean reaches ``target`` per L."""
    rows = []
    for key in sorted({(r["L"], r["H"]) for r in runs}):
        group = [r for r in runs if (r["L"], r["H"]) == key]
        acc = np.array([r["accuracy"] for r in group])
        reached = [r["steps_to_target"] for r in group if r["steps_to_target"] is not None]
        rows.append({"L": key[0], "H": key[1], "head dim": WIDTH // key[1], "accuracy": float(acc.mean()),
                     "sd": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                     "min": float(acc.min()), "max": float(acc.max()),
                     "reached": f"{len(reached)}/{len(group)}",
                     "median steps to target": float(np.median(reached)) if reached else float("nan"),
                     "s per run": float(np.mean([r["seconds"] for r in group]))})
    star = {}
    for length in sorted({r["L"] for r in rows}):
        ok = [r["H"] for r in rows if r["L"] == length and r["accuracy"] >= target]
        star[length] = min(ok) if ok else None
    return rows, star


# ---------------------------------------------------------------------------------------------


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _train_task(kwargs: dict) -> dict:
    return train_recall(**kwargs)


def _clean(value):
    """NaN → None, recursively, so the JSON is strict."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def plot(path: Path, ideal_star: dict, fits: dict | None,
         trained_rows: list[dict], args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 1 + bool(trained_rows) * 2
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.4), squeeze=False)
    ax = axes[0, 0]
    for rule, marker in (("plurality", "o"), ("majority", "s")):
        pts = [(L, np.mean(v), np.std(v, ddof=1) if len(v) > 1 else 0.0)
               for L, v in ((L, [x for x in vs if x is not None]) for L, vs in ideal_star[rule].items())
               if v and len(v) == len(ideal_star[rule][L])]
        if pts:
            x, y, e = map(np.array, zip(*pts))
            ax.errorbar(x, y, yerr=e, fmt=marker, capsize=3, label=f"simulated H*, {rule}")
    if fits:
        grid = np.geomspace(min(fits["L"]), max(fits["L"]), 100)
        ln, pw = fits["ln"], fits["power"]
        ax.plot(grid, ln["a"] + ln["b"] * np.log(grid), "-",
                label=f"{ln['a']:.1f} + {ln['b']:.2f}·ln L (R² {ln['r2']:.3f})")
        ax.plot(grid, pw["c"] * grid ** pw["k"], "--",
                label=f"{pw['c']:.2f}·L^{pw['k']:.2f} (R² {pw['r2']:.3f})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("items L")
    ax.set_ylabel(f"smallest H with accuracy ≥ {args.target}")
    ax.set_title(f"idealised heads (dim {args.head_dim}, noise {args.noise})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    if trained_rows:
        ax = axes[0, 1]
        for h in sorted({r["H"] for r in trained_rows}):
            rs = [r for r in trained_rows if r["H"] == h]
            acc = np.array([r["accuracy"] for r in rs])
            spread = [acc - [r["min"] for r in rs], [r["max"] for r in rs] - acc]  # seeds' range
            ax.errorbar([r["L"] for r in rs], acc, yerr=spread, marker="o", capsize=3,
                        label=f"H {h} (head dim {WIDTH // h})")
        ax.axhline(args.target, color="grey", lw=0.8, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("items L")
        ax.set_ylabel("held-out accuracy (mean, seeds' range)")
        ax.set_title(f"trained, width {WIDTH}, ≤ {args.steps} steps")
        ax.legend(fontsize=7)
        ax = axes[0, 2]
        for h in sorted({r["H"] for r in trained_rows}):
            rs = [r for r in trained_rows if r["H"] == h and r["median steps to target"] is not None
                  and not math.isnan(r["median steps to target"])]
            ax.plot([r["L"] for r in rs], [r["median steps to target"] for r in rs], marker="o",
                    label=f"H {h}")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("items L")
        ax.set_ylabel(f"steps to training accuracy {args.target} (median)")
        ax.set_title("how long each width per head takes")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def replot(out: Path) -> None:
    """Redraw ``out/heads_scaling.png`` from the points saved in ``out/heads_scaling.json``."""
    record = json.loads((out / "heads_scaling.json").read_text())
    args = argparse.Namespace(**record["parameters"])
    star: dict = {"plurality": {}, "majority": {}}
    fits = None
    if "ideal" in record:
        for rule in star:
            for row in record["ideal"]["H*"][rule]:
                per_seed = row["H* per seed"].split(",")
                star[rule][row["L"]] = [None if v == ">max" else int(v) for v in per_seed]
        fits = record["ideal"]["fits"]["plurality"]
    trained = record.get("trained", {}).get("rows", [])
    plot(out / "heads_scaling.png", star, fits, trained, args)


def _write_tsv(path: Path, rows: list[dict]) -> None:
    keys = list(rows[0])
    lines = ["\t".join(keys)] + ["\t".join(f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k])
                                           for k in keys) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/heads_scaling"))
    parser.add_argument("--part", choices=["both", "ideal", "trained"], default="both")
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer points, trials and steps")
    parser.add_argument("--replot", action="store_true",
                        help="only redraw OUT/heads_scaling.png from OUT/heads_scaling.json")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--head-dim", type=int, default=16, help="idealised model: dimensions per head")
    parser.add_argument("--noise", type=float, default=1.0, help="idealised model: norm of the query noise")
    parser.add_argument("--trials", type=int, default=10000, help="idealised model: queries per (L, seed)")
    parser.add_argument("--ideal-seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=400, help="trained models: step budget per run")
    parser.add_argument("--trained-seeds", type=int, default=3)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--lengths", type=int, nargs="+", default=[32, 64, 128, 256, 512],
                        help="trained models: numbers of items L")
    parser.add_argument("--heads", type=int, nargs="+", default=[1, 2, 4, 8, 16],
                        help="trained models: head counts (each must divide the width 64)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per training process")
    parser.add_argument("--jobs", type=int, default=1, help="training processes side by side (CPU)")
    args = parser.parse_args(argv)
    if args.replot:
        replot(args.out)
        return
    ideal_lengths = [2**i for i in range(4, 13)]
    trained_lengths, trained_heads = args.lengths, args.heads
    sensitivity = [(8, 0.6), (16, 0.8), (32, 1.0), (32, 1.2)]
    if args.quick:
        ideal_lengths = [16, 64, 256, 1024, 4096]
        args.trials, args.ideal_seeds, args.steps, args.trained_seeds = 2000, 2, 150, 2
        trained_lengths, trained_heads, sensitivity = [32, 64], [1, 4, 16], sensitivity[:1]
    args.out.mkdir(parents=True, exist_ok=True)
    import mhsa_bio

    given = sys.argv[1:] if argv is None else argv
    record: dict = {"mhsa_bio": mhsa_bio.__version__, "numpy": np.__version__,
                    "command": " ".join(["python", "benchmarks/heads_scaling.py", *given]),
                    "parameters": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    ideal_rows, ideal_star, fits, trained_rows = [], {"plurality": {}, "majority": {}}, None, []
    t0 = time.perf_counter()
    if args.part in ("both", "ideal"):
        seeds = list(range(args.ideal_seeds))
        ideal_rows, ideal_star, ideal_acc = run_ideal(ideal_lengths, 64, args.trials, seeds,
                                                      dim=args.head_dim, noise=args.noise, target=args.target)
        record["ideal"] = {"lengths": ideal_lengths, "seeds": seeds, "H*": {}, "fits": {}}
        for rule in ("plurality", "majority"):
            rows, rule_fits = summarise_star(ideal_star[rule], ideal_acc[rule])
            record["ideal"]["H*"][rule], record["ideal"]["fits"][rule] = rows, rule_fits
            fits = rule_fits if rule == "plurality" else fits
            errors = {r["L"]: r["per_head_error"] for r in ideal_rows if r["rule"] == rule and r["H"] == 1}
            print(f"\n## idealised, {rule} vote (head dim {args.head_dim}, noise {args.noise}, "
                  f"{args.trials} queries × {len(seeds)} seeds per L)")
            print(table([{"L": r["L"], "per-head error": errors[r["L"]],
                          **{k: v for k, v in r.items() if k != "L"}} for r in rows]))
            if rule_fits:
                ln, pw = rule_fits["ln"], rule_fits["power"]
                print(f"ln fit: H* = {ln['a']:.3f} + {ln['b']:.3f}·ln L, R² {ln['r2']:.4f}; "
                      f"power: H* = {pw['c']:.3f}·L^{pw['k']:.3f}, R² {pw['r2']:.4f}")
        sens = []
        for dim, noise in sensitivity:
            _, st, _ = run_ideal(ideal_lengths, 64, args.trials, [0], dim=dim, noise=noise,
                                 target=args.target)
            rows, f = summarise_star(st["plurality"])
            sens.append({"head dim": dim, "noise": noise,
                         "H* per L": " ".join(r["H* per seed"] for r in rows),
                         "ln b": f["ln"]["b"] if f else float("nan"),
                         "ln R²": f["ln"]["r2"] if f else float("nan"),
                         "power k": f["power"]["k"] if f else float("nan"),
                         "power R²": f["power"]["r2"] if f else float("nan")})
        record["ideal"]["sensitivity"] = sens
        print(f"\n## idealised, plurality, other heads (seed 0, L = {ideal_lengths[0]} … "
              f"{ideal_lengths[-1]})")
        print(table(sens))
        _write_tsv(args.out / "heads_scaling_ideal.tsv", ideal_rows)
        record["ideal"]["seconds"] = time.perf_counter() - t0
    if args.part in ("both", "trained"):
        import torch

        record["torch"] = torch.__version__
        t1 = time.perf_counter()
        tasks = [dict(heads=h, length=n, steps=args.steps, seed=s, lr=args.lr, target=args.target,
                      device=args.device) for n in trained_lengths for h in trained_heads
                 for s in range(args.trained_seeds)]
        runs = []
        with (args.out / "heads_scaling_runs.jsonl").open("w") as log, \
                ProcessPoolExecutor(args.jobs, initializer=_set_threads, initargs=(args.threads,)) as pool:
            for r in pool.map(_train_task, tasks):
                runs.append(r)
                log.write(json.dumps(r) + "\n")
                log.flush()
                print(f"L {r['L']} H {r['H']} seed {r['seed']}: accuracy {r['accuracy']:.3f}, "
                      f"{r['steps_run']} steps, {r['seconds']:.1f} s", file=sys.stderr, flush=True)
        trained_rows, trained_star = summarise_trained(runs, args.target)
        record["trained"] = {"runs": runs, "rows": trained_rows, "H*": trained_star,
                             "seconds": time.perf_counter() - t1}
        print(f"\n## trained, width {WIDTH}, ≤ {args.steps} steps of 256 queries, "
              f"{args.trained_seeds} seeds, {args.device}")
        print(table(trained_rows))
        print("smallest H with mean accuracy ≥ target per L: "
              + ", ".join(f"L {k}: {v if v is not None else 'none'}" for k, v in trained_star.items()))
        _write_tsv(args.out / "heads_scaling_trained.tsv", trained_rows)
    record["seconds"] = time.perf_counter() - t0
    plot(args.out / "heads_scaling.png", ideal_star, fits, trained_rows, args)
    (args.out / "heads_scaling.json").write_text(json.dumps(_clean(record), indent=1, default=float) + "\n")
    print(f"\nwrote {args.out}/heads_scaling.png, .json, .tsv in {record['seconds']:.0f} s")


if __name__ == "__main__":
    main()
