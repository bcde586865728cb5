"""Contact outputs: ranked TSV, CASP RR, NumPy matrices (scores, 0/1 calls) and a PNG heatmap, atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mhsa_bio.contacts.readout import MIN_SEPARATION, binary_map, predicted_pairs, ranked_pairs
from mhsa_bio.errors import InputError
from mhsa_bio.io.outputs import atomic_open, atomic_path

TSV_COLUMNS = ("i", "j", "residue_i", "residue_j", "score", "probability", "separation")


def write_tsv(
    path: str | os.PathLike[str],
    scores: np.ndarray,
    probs: np.ndarray,
    query: str,
    *,
    min_separation: int = 1,
) -> int:
    """Write ``contacts.tsv``: every pair i < j, 1-based on the query, best first.

    Returns the number of pairs written.
    """
    i, j = ranked_pairs(scores, min_separation=min_separation)
    return write_pairs(path, i, j, scores, probs, query)


def write_pairs(
    path: str | os.PathLike[str],
    i: np.ndarray,
    j: np.ndarray,
    scores: np.ndarray,
    probs: np.ndarray,
    query: str,
) -> int:
    """Write the pairs (i, j) (0-based, in the order given) as a contacts TSV; return their number."""
    with atomic_open(path) as handle:
        handle.write("\t".join(TSV_COLUMNS) + "\n")
        for a, b in zip(i.tolist(), j.tolist(), strict=True):
            handle.write(
                f"{a + 1}\t{b + 1}\t{query[a]}\t{query[b]}\t{scores[a, b]:.6g}\t{probs[a, b]:.4f}\t{b - a}\n"
            )
    return int(i.size)


def read_tsv(path: str | os.PathLike[str]) -> list[tuple[int, int, str, str, float, float, int]]:
    """Read a ``contacts.tsv`` back (for tests and downstream scripts)."""
    rows = []
    with open(path) as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if tuple(header) != TSV_COLUMNS:
            raise InputError(f"{path}: not a contacts TSV (header {header})")
        for line in handle:
            a, b, ra, rb, s, p, sep = line.rstrip("\n").split("\t")
            rows.append((int(a), int(b), ra, rb, float(s), float(p), int(sep)))
    return rows


def write_rr(
    path: str | os.PathLike[str],
    probs: np.ndarray,
    query: str,
    *,
    target: str = "query",
    min_separation: int = 6,
    max_pairs: int | None = None,
    distance: float = 8.0,
) -> int:
    """Write CASP RR: header, the sequence (50 a line), then ``i j 0 8 p`` sorted by p.

    Pairs closer than ``min_separation`` in sequence are left out (CASP scores ≥ 6); at most
    ``max_pairs`` lines (all when None). Returns the number of contacts written.
    """
    i, j = ranked_pairs(probs, min_separation=min_separation)
    if max_pairs is not None:
        i, j = i[:max_pairs], j[:max_pairs]
    with atomic_open(path) as handle:
        handle.write("PFRMAT RR\n")
        handle.write(f"TARGET {target}\n")
        handle.write("AUTHOR mhsa-bio\n")
        handle.write("METHOD mhsa-bio contacts\n")
        handle.write("MODEL 1\n")
        for k in range(0, len(query), 50):
            handle.write(query[k : k + 50] + "\n")
        for a, b in zip(i.tolist(), j.tolist(), strict=True):
            handle.write(f"{a + 1} {b + 1} 0 {distance:g} {probs[a, b]:.4f}\n")
        handle.write("END\n")
    return int(i.size)


def read_rr(path: str | os.PathLike[str]) -> tuple[str, list[tuple[int, int, float]]]:
    """Read a CASP RR file: the sequence and its ``(i, j, p)`` lines (1-based)."""
    seq, pairs = [], []
    with open(path) as handle:
        for line in handle:
            parts = line.split()
            if not parts or parts[0] in ("PFRMAT", "TARGET", "AUTHOR", "METHOD", "MODEL", "REMARK", "END"):
                continue
            if len(parts) == 5 and parts[0].isdigit():
                pairs.append((int(parts[0]), int(parts[1]), float(parts[4])))
            elif len(parts) == 1 and parts[0].isalpha():
                seq.append(parts[0])
            else:
                raise InputError(f"{path}: unexpected RR line: {line.strip()}")
    return "".join(seq), pairs


def write_npy(path: str | os.PathLike[str], scores: np.ndarray, *, dtype=np.float32) -> None:
    """Write an (L, L) matrix as ``.npy`` (float32 scores by default; uint8 for the binary map)."""
    with atomic_open(path, "wb") as handle:
        np.save(handle, scores.astype(dtype))


def write_heatmap(
    path: str | os.PathLike[str],
    probs: np.ndarray,
    *,
    contacts: np.ndarray | None = None,
    title: str = "",
    top: int | None = None,
) -> None:
    """Heatmap PNG: predicted probabilities above the diagonal, true contacts below.

    Parameters
    ----------
    probs : (L, L) probabilities
    contacts : (L, L) 1/0/−1 true contacts, drawn below the diagonal (grey where unknown)
    top : when given, the ``top`` best predicted pairs (separation ≥ 6) are circled, green when
        true and red when false (needs ``contacts``)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    length = probs.shape[0]
    upper = np.triu(np.ones((length, length), dtype=bool), 1)
    img = np.where(upper, probs, np.nan)
    fig, ax = plt.subplots(figsize=(6, 5.4), dpi=120)
    im = ax.imshow(img, cmap="Blues", vmin=0, vmax=1, origin="upper", interpolation="nearest")
    if contacts is not None:
        lower = np.tril(np.ones((length, length), dtype=bool), -1)
        truth = np.where(lower & (contacts == 1), 1.0, np.nan)
        unknown = np.where(lower & (contacts < 0), 1.0, np.nan)
        ax.imshow(unknown, cmap="Greys", vmin=0, vmax=4, interpolation="nearest")
        ax.imshow(truth, cmap="Greys", vmin=0, vmax=1.2, interpolation="nearest")
        if top:
            i, j = ranked_pairs(probs, min_separation=6)
            i, j = i[:top], j[:top]
            ok = contacts[i, j] == 1
            ax.scatter(j[ok], i[ok], s=8, facecolors="none", edgecolors="tab:green", lw=0.6)
            ax.scatter(j[~ok], i[~ok], s=8, facecolors="none", edgecolors="tab:red", lw=0.6)
    ax.plot([-0.5, length - 0.5], [-0.5, length - 0.5], color="0.6", lw=0.5)
    ax.set_xlim(-0.5, length - 0.5)
    ax.set_ylim(length - 0.5, -0.5)
    ax.set_xlabel("residue j")
    ax.set_ylabel("residue i")
    ax.set_title(
        title or ("predicted (upper) vs structure (lower)" if contacts is not None else "predicted contacts"),
        fontsize=9,
    )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="contact probability")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def write_outputs(
    out_dir: str | os.PathLike[str],
    result,
    *,
    top: int | None = None,
    threshold: float | None = None,
    min_separation: int = MIN_SEPARATION,
) -> list[str]:
    """Write every output of a ``ContactsResult`` into ``out_dir``; return the file names.

    ``contacts.tsv``, ``contacts.rr``, ``contact_map.npy``, ``contact_map.png``, the predicted
    contacts (``contacts_predicted.tsv`` and the 0/1 ``contact_map_binary.npy``: the ``top`` best
    pairs, default L, or those with probability ≥ ``threshold``, at separation ≥ ``min_separation``),
    and ``metrics.json`` when the result carries a structure (then with the predicted pairs'
    precision under ``predicted``).
    """
    from mhsa_bio.io.outputs import write_json

    out_dir = Path(out_dir)
    length = len(result.query)
    contacts = result.structure.contacts if result.structure is not None else None
    write_tsv(out_dir / "contacts.tsv", result.scores, result.probabilities, result.query)
    write_rr(out_dir / "contacts.rr", result.probabilities, result.query, target=result.query_id)
    write_npy(out_dir / "contact_map.npy", result.scores)
    i, j = predicted_pairs(
        result.scores, result.probabilities, top=top, threshold=threshold, min_separation=min_separation
    )
    write_pairs(out_dir / "contacts_predicted.tsv", i, j, result.scores, result.probabilities, result.query)
    write_npy(out_dir / "contact_map_binary.npy", binary_map(length, i, j), dtype=np.uint8)
    write_heatmap(
        out_dir / "contact_map.png",
        result.probabilities,
        contacts=contacts,
        top=length if contacts is not None else None,
        title=f"{result.query_id} ({result.method})",
    )
    names = [
        "contacts.tsv",
        "contacts.rr",
        "contact_map.npy",
        "contacts_predicted.tsv",
        "contact_map_binary.npy",
        "contact_map.png",
    ]
    if result.metrics is not None:
        metrics = dict(result.metrics)
        if contacts is not None:
            known = contacts[i, j] >= 0
            metrics["predicted"] = {
                "rule": f"probability >= {threshold}" if threshold is not None else f"top {top or length}",
                "min_separation": min_separation,
                "pairs": int(i.size),
                "known_pairs": int(known.sum()),
                "precision": float(np.mean(contacts[i, j][known] == 1)) if known.any() else None,
            }
        write_json(out_dir / "metrics.json", metrics)
        names.append("metrics.json")
    return names
