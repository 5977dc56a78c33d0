"""Do the paper's Table 1 orderings hold in a result table? Automatic verdicts, one per claim.

The paper's claims, each as comparisons between rows of one recipe (keys of `scripts.table1.CONFIGS`):
(a) the full model has the best mIoU among the rows with 3 LSTMs;
(b) without the LSTM block the generated parts are less valid, or bring classes the face did not have;
(c) bidirectional beats unidirectional: lstm3_bi_ce over lstm3_uni_ce, and full over lstm3_uni.
A verdict is None when a value it needs is missing (e.g. an edit metric the evaluation did not produce).
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

THREE_LSTM_ROWS = ("full", "lstm3_uni_ce", "lstm3_uni", "lstm3_bi_ce")


class Verdict(NamedTuple):
    """One checked claim: its statement, whether it holds (None: not measurable), and the numbers."""

    claim: str
    holds: bool | None
    evidence: str


def compare(
    rows: Mapping[str, Mapping[str, Any]],
    claim: str,
    metric: str,
    better: str,
    worse: str,
    higher_is_better: bool = True,
) -> Verdict:
    """`better` beats `worse` on `metric` (strictly)."""
    a, b = (rows.get(key, {}).get(metric) for key in (better, worse))
    if a is None or b is None:
        return Verdict(claim, None, f"{metric} missing for {better if a is None else worse}")
    holds = a > b if higher_is_better else a < b
    return Verdict(claim, holds, f"{metric}: {better} {a:.4g} vs {worse} {b:.4g}")


def best_among(
    rows: Mapping[str, Mapping[str, Any]], claim: str, metric: str, key: str, among: Sequence[str]
) -> Verdict:
    """`key` has a strictly higher `metric` than every other row of `among`."""
    values = {k: rows.get(k, {}).get(metric) for k in among}
    missing = [k for k, v in values.items() if v is None]
    if missing:
        return Verdict(claim, None, f"{metric} missing for {', '.join(missing)}")
    others = {k: v for k, v in values.items() if k != key}
    evidence = f"{metric}: " + ", ".join(f"{k} {v:.4g}" for k, v in values.items())
    return Verdict(claim, all(values[key] > v for v in others.values()), evidence)


def paper_orderings(rows: Sequence[Mapping[str, Any]]) -> list[Verdict]:
    """The verdicts for the rows of one recipe (dicts with "key", "mIoU", "validity", "new_classes")."""
    by_key = {row["key"]: row for row in rows}
    return [
        best_among(
            by_key, "(a) the full model has the best mIoU among the 3-LSTM rows", "mIoU", "full", THREE_LSTM_ROWS
        ),
        compare(by_key, "(b) without LSTM the generated parts are less valid", "validity", "full", "no_lstm"),
        compare(
            by_key,
            "(b) without LSTM the generated parts bring more new classes",
            "new_classes",
            "full",
            "no_lstm",
            higher_is_better=False,
        ),
        compare(by_key, "(c) bidirectional beats unidirectional (plain CE)", "mIoU", "lstm3_bi_ce", "lstm3_uni_ce"),
        compare(by_key, "(c) bidirectional beats unidirectional (weighted CE)", "mIoU", "full", "lstm3_uni"),
    ]


def format_verdicts(recipe: str, verdicts: Sequence[Verdict]) -> str:
    """Markdown list: `- holds|does not hold|not measured: claim (evidence)`."""
    word = {True: "holds", False: "does not hold", None: "not measured"}
    lines = [f"Orderings of the paper under `--recipe {recipe}`:", ""]
    lines += [f"- **{word[v.holds]}**: {v.claim} ({v.evidence})" for v in verdicts]
    return "\n".join(lines) + "\n"
