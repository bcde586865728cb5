"""Snakemake script: one row per sample across the workflow's outputs (rule `summary`).

Columns: sample, type, then for promoter sets the validation AUROC / AUPRC and best epoch of
`train`, the number of motifs and the best JASPAR match of the first motif, the number of pairs
tested and significant (q < 0.05); for protein families the query length, the number of
predicted contacts and, with a PDB, long-range precision at L and L/5. Empty cells mean "not
applicable" (or not computed).
"""


import csv
import json
from pathlib import Path

COLUMNS = ["sample", "type", "auroc", "auprc", "best_epoch", "n_motifs", "top_motif",
           "top_match", "n_pairs", "n_pairs_q05", "length", "n_contacts", "long_P@L",
           "long_P@L/5"]


def read_tsv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with open(path) as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def first(row: dict[str, str], *keys: str) -> str:
    for key in keys:
        if row.get(key):
            return row[key]
    return ""


def promoter_row(base: Path, pairs: bool) -> dict[str, object]:
    metrics = json.loads((base / "train" / "metrics.json").read_text())
    motifs = read_tsv(base / "motifs" / "motifs.tsv")
    row: dict[str, object] = {"auroc": metrics.get("auroc"), "auprc": metrics.get("auprc"),
                              "best_epoch": metrics.get("best_epoch"), "n_motifs": len(motifs)}
    if motifs:
        row["top_motif"] = first(motifs[0], "motif", "motif_id", "id", "name")
        row["top_match"] = first(motifs[0], "best_match_name", "match_name", "best_match",
                                 "jaspar_name", "match")
    if pairs:
        table = read_tsv(base / "pairs" / "pairs.tsv")
        row["n_pairs"] = len(table)
        q = [r.get("q_value") or r.get("qvalue") or r.get("q") for r in table]
        row["n_pairs_q05"] = sum(1 for v in q if v not in (None, "") and float(v) < 0.05)
    return row


def protein_row(base: Path) -> dict[str, object]:
    contacts = read_tsv(base / "contacts" / "contacts.tsv")
    row: dict[str, object] = {"n_contacts": len(contacts)}
    run = base / "contacts" / "run.json"
    if run.exists():
        info = json.loads(run.read_text()).get("result", {})
        if isinstance(info, dict):
            row["length"] = info.get("length") or info.get("L")
    metrics = base / "contacts" / "metrics.json"
    if metrics.exists():
        long = json.loads(metrics.read_text()).get("precision", {}).get("long", {})
        row["long_P@L"] = long.get("P@L")
        row["long_P@L/5"] = long.get("P@L/5")
    return row


def summarise(out: Path, samples: dict[str, dict[str, str]], *, pairs: bool
              ) -> list[dict[str, str]]:
    rows = []
    for name, sample in samples.items():
        base = out / name
        row = {"sample": name, "type": sample["type"]}
        if sample["type"] == "protein":
            row.update(protein_row(base))
        else:
            row.update(promoter_row(base, pairs))
        rows.append({c: fmt(row.get(c)) for c in COLUMNS})
    return rows


def main(snakemake) -> None:  # type: ignore[no-untyped-def]
    rows = summarise(Path(snakemake.params.out), dict(snakemake.params.samples),
                     pairs=bool(snakemake.params.pairs))
    target = Path(snakemake.output[0])
    tmp = target.with_name(f".{target.name}.part")
    with open(tmp, "w") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(target)
    Path(snakemake.log[0]).write_text(f"{len(rows)} samples summarised into {target}\n")


if "snakemake" in globals():
    main(globals()["snakemake"])
