"""Contact probabilities: a logistic calibration fitted on the tuning families, checked on validation.

``mhsa-bio contacts`` turns its APC scores into probabilities (``contacts.tsv``, ``contacts.rr``,
``--threshold``) with ``mhsa_bio.contacts.readout.probability``: the z-score of each pair's score
among the pairs at separation ≥ 6, then a logistic function of it (and of the alignment's size,
in the forms below). This script chooses the form, fits its constants and measures how well they
hold:

1. For every family of ``benchmarks/contacts.py`` whose files are here, the default fit of
   ``--method`` (factored attention, or the Potts model; ``--seeds``, each in its own
   subprocess as there) gives the scores; the structure gives the truth (Cβ < 8 Å; unmapped
   residues left out). ``--maps DIR`` keeps the fitted scores, so a second run reads them
   instead of fitting again.
2. Candidate forms (``FORMS``), each a maximum-likelihood logistic fit over the pairs at
   separation ≥ 6 with every family weighted equally: ``z`` (a·z + b), then a·z + b plus
   c·log(Neff / L) (``z+neff``: how much signal the alignment holds), plus d·log L
   (``z+length``: the share of pairs in contact falls as 1/L; L clipped to the lengths of the
   families fitted on), or both; last, a·z + d·log L plus a term each for short- (6–11) and
   medium-range (12–23) pairs (``z+length+range``: a short pair at a given z is more often a
   contact than a long one at the same z).
3. The rule, on the tuning families only: the form with the lowest mean log-loss in
   leave-one-family-out (fitted on the other tuning families, scored on the one left out); in
   ``FORMS``' order, a later form replaces the one kept only when it is lower by more than
   ``TIE``. The chosen form is then fitted on all tuning families: the constants to ship.
4. Validation (the families that chose nothing): per family the log-loss and, for the top L/5,
   L/2 and L pairs at separation ≥ 6 (the CASP list) and for the pairs called at p ≥ 0.5, the
   mean probability beside the measured precision, for the constants in the package now and for
   the fitted ones.

Usage (from the repository root; the L 200–300 families as for ``benchmarks/contacts.py``)::

    python benchmarks/contacts_calibration.py --psicov DIR --maps maps/ --threads 2
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from contacts import SETS, _run, family_files, psicov_folder  # noqa: E402

#: Candidate forms of the calibration, simplest first: the features besides the intercept.
FORMS = {
    "z": ("z",),
    "z+neff": ("z", "log_neff_per_l"),
    "z+length": ("z", "log_length"),
    "z+neff+length": ("z", "log_neff_per_l", "log_length"),
    "z+length+range": ("z", "log_length", "short", "medium"),
}
#: A richer form must lower the mean leave-one-family-out log-loss by more than this.
TIE = 0.002
MIN_SEPARATION = 6


def family_data(scores: np.ndarray, contacts: np.ndarray, neff: float) -> dict[str, np.ndarray]:
    """The known pairs i < j at separation ≥ 6 of one family: their features and label."""
    from mhsa_bio.contacts.evaluate import RANGES
    from mhsa_bio.contacts.readout import zscores

    length = scores.shape[0]
    z = zscores(scores, min_separation=MIN_SEPARATION)
    if z is None:
        raise ValueError("the scores have no spread")
    i, j = np.triu_indices(length, MIN_SEPARATION)
    known = contacts[i, j] >= 0
    i, j = i[known], j[known]
    n = i.size
    separation = j - i

    def within(band: str) -> np.ndarray:
        lo, hi = RANGES[band]
        return ((separation >= lo) & (separation <= hi)).astype(float)

    return {
        "z": z[i, j],
        "short": within("short"),
        "medium": within("medium"),
        "log_neff_per_l": np.full(n, math.log(max(neff, 1.0) / length)),
        "y": (contacts[i, j] == 1).astype(float),
        "log_length": np.full(n, math.log(length)),
        "length": np.full(n, length),
    }


def length_range(families: list[dict[str, np.ndarray]]) -> tuple[int, int]:
    """The shortest and longest L among the families a calibration is fitted on."""
    lengths = [int(d["length"][0]) for d in families]
    return min(lengths), max(lengths)


def clip_length(data: dict[str, np.ndarray], lo: int, hi: int) -> dict[str, np.ndarray]:
    """A copy of ``data`` whose log L is taken at L clipped to [lo, hi]: outside the lengths it
    was fitted on, the calibration holds the length term where it last saw one."""
    return {**data, "log_length": np.log(np.clip(data["length"], lo, hi).astype(float))}


def design(data: dict[str, np.ndarray], form: str) -> np.ndarray:
    """(n, 1 + k) matrix: the form's features, then the intercept."""
    return np.column_stack([*(data[f] for f in FORMS[form]), np.ones_like(data["y"])])


def fit_logistic(families: list[dict[str, np.ndarray]], form: str, *, ridge: float = 1e-6) -> np.ndarray:
    """Maximum-likelihood coefficients (features, then intercept) by Newton's method, each
    family's pairs weighted 1 / (its number of pairs) so that every family counts equally."""
    x = np.vstack([design(d, form) for d in families])
    y = np.concatenate([d["y"] for d in families])
    w = np.concatenate([np.full(d["y"].size, 1.0 / d["y"].size) for d in families])
    beta = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        grad = x.T @ (w * (p - y)) + ridge * beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + ridge * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def predict(data: dict[str, np.ndarray], form: str, beta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(design(data, form) @ beta)))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood per pair, in nats."""
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def choose_form(tuning: dict[str, dict[str, np.ndarray]]) -> tuple[str, dict[str, float]]:
    """The rule: the form with the lowest mean leave-one-family-out log-loss over the tuning
    families (a richer form must win by more than ``TIE``); with its mean loss per form."""
    losses: dict[str, float] = {}
    for form in FORMS:
        per_family = []
        for name, held in tuning.items():
            rest = [d for n, d in tuning.items() if n != name]
            beta = fit_logistic(rest, form)
            held = clip_length(held, *length_range(rest))
            per_family.append(log_loss(held["y"], predict(held, form, beta)))
        losses[form] = float(np.mean(per_family))
    chosen = next(iter(FORMS))
    for form in list(FORMS)[1:]:
        if losses[form] < losses[chosen] - TIE:
            chosen = form
    return chosen, losses


def calibration_rows(data: dict[str, np.ndarray], probs: dict[str, np.ndarray]) -> list[dict]:
    """Mean probability (per calibration) against measured precision for the top L/5, L/2, L
    pairs by score, and for the pairs at p ≥ 0.5 of each calibration."""
    from mhsa_bio.contacts.evaluate import TOPS

    length = int(data["length"][0])
    order = np.argsort(-data["z"], kind="stable")  # z ranks the pairs as their scores do
    rows = []
    for name, div in reversed(TOPS.items()):  # the precision table's list sizes, shortest first
        top = order[: max(1, length // div)]
        row = {"list": f"top {name}", "n": int(top.size), "precision": float(data["y"][top].mean())}
        row.update({f"mean p ({k})": float(p[top].mean()) for k, p in probs.items()})
        rows.append(row)
    for k, p in probs.items():
        called = p >= 0.5
        rows.append(
            {
                "list": f"p >= 0.5 ({k})",
                "n": int(called.sum()),
                "precision": float(data["y"][called].mean()) if called.any() else float("nan"),
                **{
                    f"mean p ({c})": float(q[called].mean()) if called.any() else float("nan")
                    for c, q in probs.items()
                },
            }
        )
    return rows


def load_family(
    family: str,
    seed: int,
    *,
    threads: int,
    maps: Path | None,
    psicov: Path | None,
    method: str = "factored-default",
) -> dict | None:
    """One family's data for one seed: the scores of ``method``'s default fit (from ``maps`` when
    kept there), its Neff, and the structure's contacts; None (with a note) when its files are
    not here."""
    from mhsa_bio.io.structure import query_structure

    fam, why = family_files(family, psicov)
    if fam is None:
        print(f"{family:13s} skipped: {why}", flush=True)
        return None
    kept = maps / f"{family}-{method}-s{seed}.npz" if maps is not None else None
    if kept is not None and kept.is_file():
        with np.load(kept) as z:
            scores, neff, query = z["scores"], float(z["neff"]), str(z["query"])
    else:
        r = _run(family, method, threads, seed, "cpu", {}, psicov)
        scores, neff, query = np.array(r["scores"]), float(r["info"]["neff"]), r["query"]
        print(f"{family:13s} seed {seed}: fitted in {r['wall_s']:.0f} s", flush=True)
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            part = kept.with_name(kept.name + ".part.npz")  # a killed run leaves no half-written map
            np.savez(part, scores=scores, neff=neff, query=query)
            part.replace(kept)
    contacts = query_structure(fam["pdb"], query, chain=fam["chain"]).contacts
    return family_data(scores, contacts, neff)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--psicov",
        type=Path,
        metavar="DIR",
        help="Folder of the L 200–300 families' files (as benchmarks/contacts.py).",
    )
    parser.add_argument(
        "--maps",
        type=Path,
        metavar="DIR",
        help="Keep the fitted scores here and read them back on the next run.",
    )
    parser.add_argument(
        "--method",
        choices=["factored-default", "potts"],
        default="factored-default",
        help="Whose scores to calibrate: factored attention's default fit (the default) "
        "or the Potts model's (--model-type potts).",
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="Also write the results as JSON here.")
    args = parser.parse_args(argv)
    from mhsa_bio.contacts.readout import CALIBRATION, calibrated

    psicov = psicov_folder(args.psicov)
    data: dict[str, dict[str, dict]] = {}
    for part, families in SETS.items():
        data[part] = {}
        for family in families:
            for seed in args.seeds:
                d = load_family(
                    family, seed, threads=args.threads, maps=args.maps, psicov=psicov, method=args.method
                )
                if d is not None:
                    data[part][f"{family} s{seed}"] = d
    if len(data["tuning"]) < 2 or not data["validation"]:
        print("skipped: the calibration needs at least two tuning families and one validation family here")
        return
    tuning = data["tuning"]
    lo, hi = length_range(list(tuning.values()))
    validation = {name: clip_length(d, lo, hi) for name, d in data["validation"].items()}
    print("\ntuning families (pairs at separation >= 6, contact rate):")
    for name, d in tuning.items():
        print(
            f"  {name:18s} L {int(d['length'][0]):4d}  Neff/L {math.exp(d['log_neff_per_l'][0]):6.2f}  "
            f"pairs {d['y'].size:6d}  contacts {d['y'].mean():.3f}"
        )
    chosen, cv = choose_form(tuning)
    print("\nleave-one-family-out log-loss on the tuning families (nats per pair):")
    for form, loss in cv.items():
        print(f"  {form:14s} {loss:.4f}{'  <- chosen' if form == chosen else ''}")
    fitted = {form: fit_logistic(list(tuning.values()), form) for form in FORMS}
    print("\nfitted on all tuning families:")
    for form, coef in fitted.items():
        print(
            f"  {form:14s} "
            + ", ".join(f"{n} {b:.3f}" for n, b in zip([*FORMS[form], "intercept"], coef, strict=True))
            + ("  <- chosen" if form == chosen else "")
        )
    beta = fitted[chosen]
    names = [*FORMS[chosen], "intercept"]
    model = "potts" if args.method == "potts" else "factored"
    print(f"log L is taken at L clipped to the tuning families' {lo}-{hi}")
    print(f"in the package now ({model}): {CALIBRATION[model]}")

    results = {
        "chosen": chosen,
        "cv_log_loss": cv,
        "coefficients": dict(zip(names, beta.tolist(), strict=True)),
        "every_form": {f: c.tolist() for f, c in fitted.items()},
        "length_range": [lo, hi],
        "validation": {},
    }
    print("\nvalidation families:")
    for name, d in validation.items():
        now = calibrated(d["z"], int(d["length"][0]), model=model)
        probs = {"now": now, "fitted": predict(d, chosen, beta)}
        loss = {k: log_loss(d["y"], p) for k, p in probs.items()}
        rows = calibration_rows(d, probs)
        results["validation"][name] = {"log_loss": loss, "rows": rows}
        print(
            f"\n{name}  L {int(d['length'][0])}  Neff/L {math.exp(d['log_neff_per_l'][0]):.2f}  "
            f"log-loss now {loss['now']:.4f}  fitted {loss['fitted']:.4f}"
        )
        print(f"  {'list':22s} {'n':>5s} {'precision':>9s} {'mean p now':>10s} {'mean p fitted':>13s}")
        for r in rows:
            print(
                f"  {r['list']:22s} {r['n']:5d} {r['precision']:9.2f} {r['mean p (now)']:10.2f} "
                f"{r['mean p (fitted)']:13.2f}"
            )
    mean_loss = {
        k: float(np.mean([results["validation"][n]["log_loss"][k] for n in validation]))
        for k in ("now", "fitted")
    }
    results["validation_mean_log_loss"] = mean_loss
    print(
        f"\nvalidation, mean log-loss per family: now {mean_loss['now']:.4f}, "
        f"fitted {mean_loss['fitted']:.4f}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
