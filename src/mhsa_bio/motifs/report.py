"""A one-page, self-contained HTML report (logos and profile embedded as base64 PNG)."""

from __future__ import annotations

import base64
import html
from typing import Any

from mhsa_bio.motifs.enrichment import describe
from mhsa_bio.motifs.find import MotifResult

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
font-size:13px;vertical-align:middle}th{background:#f3f3f3}img{display:block}
.small{color:#666;font-size:12px}code{background:#f6f6f6;padding:1px 3px}
"""


def _img(data: bytes, alt: str) -> str:
    return (
        f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'
    )


def render_report(
    result: MotifResult, *, logos: dict[str, bytes], profile: bytes, summary: dict[str, Any]
) -> str:
    """The report's HTML text."""
    e = html.escape
    cal = result.calibration
    heads = ", ".join(f"L{a + 1}:H{b + 1}" for a, b in result.selected_heads)
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>mhsa-bio motifs"
        f"</title><style>{_STYLE}</style></head><body>",
        "<h1>Attention-derived motifs</h1>",
        "<ul>",
    ]
    for key, value in summary.items():
        parts.append(f"<li><b>{e(str(key))}</b>: {e(str(value))}</li>")
    parts.append(
        f"<li><b>score</b>: {e(result.path or result.score)}"
        + (f" (heads {e(heads)})" if heads and not result.path else "")
        + "</li>"
        f"<li><b>seqlet threshold</b>: {cal.threshold:.4g} (window sum; estimated FDR "
        f"{cal.achieved_fdr:.3g} at target {cal.fdr:g}); {len(result.seqlets)} seqlets in "
        f"{result.n_positives} positives, {result.n_background_seqlets} in "
        f"{result.n_background} background sequences</li>"
        + (
            f"<li><b>positional pass</b>: bases {result.positional_window[0]}-"
            f"{result.positional_window[1] - 1} (largest mean score over half the positives); "
            f"on the other half AUROC {result.positional_test[0]:.3f} vs background "
            f"(Mann-Whitney p {result.positional_test[1]:.2g}); "
            f"{len(result.positional_seqlets)} seqlets, motifs tested on the other half "
            "(evidence 'held-out window')</li>"
            if result.positional_window and result.positional_test
            else ""
        )
        + (
            "<li><b>pointer pass</b>: the largest window of heads "
            + e(", ".join(f"{a + 1}:{b + 1}" for a, b in result.pointer_heads))
            + f" in half the positives; {len(result.pointer_seqlets)} seqlets, motifs tested on "
            "the other half (evidence 'held-out sequence')</li>"
            if result.pointer_heads
            else ""
        )
        + f"<li><b>motifs passing</b>: {len(result.motifs)}; clusters rejected: "
        f"{len(result.rejected)}</li></ul>"
    )
    if result.motifs:
        parts.append(
            "<h2>Motifs</h2><table><tr><th>id</th><th>logo</th><th>sites</th>"
            "<th>positives with site</th><th>background with site</th>"
            "<th>counted</th><th>log2 enrichment</th><th>p</th><th>q</th>"
            "<th>known matches "
            "(Tomtom q)</th></tr>"
        )
        for m in result.motifs:
            en = m.enrichment
            matches = (
                "<br>".join(f"{e(x.target_id)} {e(x.target_name)} (q {x.q_value:.2g})" for x in m.matches)
                or "—"
            )
            parts.append(
                f"<tr><td>{e(m.id)}<br><code>{e(m.consensus)}</code></td>"
                f"<td>{_img(logos[m.id], m.id) if m.id in logos else ''}</td>"
                f"<td>{len(m.sites)}</td>"
                f"<td>{en.positives_with_site}/{en.n_positives}</td>"
                f"<td>{en.background_with_site}/{en.n_background}</td>"
                f"<td>{describe(en)}</td><td>{en.log2_enrichment:.2f}</td><td>{en.p_value:.2g}</td>"
                f"<td>{m.q_value:.2g}</td><td>{matches}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append(f"<h2>Motifs</h2><p>No motif: {e(summary.get('result', result.reason))}</p>")
    parts.append(
        "<h2>Attention profile</h2><p class='small'>Mean per-base score at each "
        "position (1 = uniform attention).</p>" + _img(profile, "profile")
    )
    parts.append(
        "<h2>Heads</h2><table><tr><th>layer</th><th>head</th><th>entropy (bits)"
        "</th><th>CLS entropy</th><th>focus (pos / bg)</th><th>separation AUROC"
        "</th><th>selected</th></tr>"
    )
    for h in result.heads:
        parts.append(
            f"<tr><td>{h.layer}</td><td>{h.head}</td><td>{h.entropy_bits:.2f}</td>"
            f"<td>{h.cls_entropy_bits:.2f}</td><td>{h.focus:.2f} / "
            f"{h.focus_background:.2f}</td><td>{h.separation_auroc:.3f}</td>"
            f"<td>{'yes' if h.selected else ''}</td></tr>"
        )
    parts.append("</table>")
    if result.rejected:
        parts.append(
            "<h2>Clusters that did not pass</h2><table><tr><th>id</th><th>consensus"
            "</th><th>sites</th><th>p</th><th>q</th></tr>"
        )
        for m in result.rejected:
            parts.append(
                f"<tr><td>{e(m.id)}</td><td><code>{e(m.consensus)}</code></td>"
                f"<td>{len(m.sites)}</td><td>{m.enrichment.p_value:.2g}</td>"
                f"<td>{m.q_value:.2g}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
