"""A pairs section in the ``mhsa-bio motifs`` HTML report.

When ``--motifs`` is a motifs run folder holding ``report.html``, ``mhsa-bio pairs`` re-writes
that report (atomically) with a section — the top pairs table and the spacing plots, embedded as
base64 PNG — between two marker comments just before ``</body>``. A later run replaces the
section between the markers, so re-runs never stack sections.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mhsa_bio.io.outputs import atomic_open

log = logging.getLogger(__name__)

__all__ = ["MARK_END", "MARK_START", "insert_section", "pairs_section", "update_motifs_report"]

MARK_START = "<!-- mhsa-bio pairs: start -->"
MARK_END = "<!-- mhsa-bio pairs: end -->"

#: Table columns of the section: (pairs.tsv column, header).
_COLUMNS = [
    ("name_a", "motif A"),
    ("name_b", "motif B"),
    ("spacing", "spacing (bp)"),
    ("orientation", "orientation"),
    ("n_sequences", "sequences"),
    ("log2_ratio", "log2 co-attention / null"),
    ("q_null", "q co-attended"),
    ("q", "q spacing"),
    ("top_heads", "top heads"),
    ("spacing_log2_enrichment", "spacing log2 enr."),
    ("cooc_log2_enrichment", "co-occurrence log2 enr."),
]


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "NA" if np.isnan(value) else f"{value:.3g}"
    return html.escape(str(value))


def pairs_section(
    table: Any,
    summary: dict[str, Any],
    plots: Sequence[str | os.PathLike[str]],
    *,
    pairs_dir: str,
    top: int = 10,
) -> str:
    """The section's HTML, markers included.

    Parameters
    ----------
    table : the pairs table (``PairResult.table`` or ``pairs.tsv`` read back), best first
    summary : the run's summary (counts)
    plots : spacing plot PNG files, embedded in order
    pairs_dir : where the pairs run lives, as shown to the reader
    top : table rows
    """
    e = html.escape
    parts = [
        MARK_START,
        "<h2>Co-attended motif pairs</h2>",
        f"<p class='small'>From <code>mhsa-bio pairs</code> in <code>{e(pairs_dir)}</code> "
        f"(full table: <code>pairs.tsv</code>). {summary.get('groups_tested', 0)} groups "
        "(motif A, motif B, spacing centre to centre, orientation) tested: "
        f"{summary.get('coattended_q05', 0)} co-attended more than the same sites moved "
        "to random places at the nearest spacings (q co-attended &lt; 0.05), "
        f"{summary.get('significant_q05', 0)} of them at a spacing that is special for "
        "the pair (q spacing &lt; 0.05: co-attended more than at its other spacings, or "
        "found there more often than in the background). Orientation '.' is a palindromic "
        "motif's.</p>",
    ]
    for split in summary.get("split_composites", []):
        parts.append(
            f"<p class='small'>Composite motif {e(split['name'])} ({e(split['motif'])}) was split "
            f"into its parts {e(' and '.join(split['parts']))} (columns "
            f"{e(' and '.join(split['columns']))}, {split['gap']} uninformative columns between), "
            "tested in its place.</p>"
        )
    rows = table.head(top) if len(table) else table
    if len(rows):
        parts.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for _, h in _COLUMNS) + "</tr>")
        for _, row in rows.iterrows():
            parts.append("<tr>" + "".join(f"<td>{_cell(row[c])}</td>" for c, _ in _COLUMNS) + "</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>No group was tested.</p>")
    for plot in plots:
        data = Path(plot).read_bytes()
        parts.append(
            f'<p class="small">{e(Path(plot).name)}</p><img alt="{e(Path(plot).name)}" '
            f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'
        )
    parts.append(MARK_END)
    return "\n".join(parts) + "\n"


_OLD = re.compile(re.escape(MARK_START) + r".*?" + re.escape(MARK_END) + r"\n?", re.DOTALL)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def insert_section(page: str, section: str) -> str:
    """``page`` with ``section`` before its last ``</body>`` (appended when there is none); a
    section already between the markers is removed first, so this is idempotent."""
    page = _OLD.sub("", page)
    ends = list(_BODY_END.finditer(page))
    if not ends:
        return page + section
    at = ends[-1].start()
    return page[:at] + section + page[at:]


def update_motifs_report(motifs: str | os.PathLike[str], section: str) -> Path | None:
    """Put ``section`` into ``motifs/report.html`` (atomic re-write) when ``motifs`` is a folder
    holding one; returns the report's path, or None when there is no report to update."""
    report = Path(motifs) / "report.html"
    if not Path(motifs).is_dir() or not report.is_file():
        return None
    page = report.read_text(encoding="utf-8")
    with atomic_open(report) as handle:
        handle.write(insert_section(page, section))
    log.info("pairs section written into %s", report)
    return report
