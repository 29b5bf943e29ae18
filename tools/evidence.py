"""The evidence page: each claim of the dropout article, and what we measured.

`CLAIMS` ties every claim to the tutorial section that tests it, to the
`FINDINGS` key where that tutorial stores the verdict it computed from its own
numbers ("held", "partly" or "did not hold"), and to the numbers worth
showing next to it. The docs build (`tools/docs_hooks.py`) runs the
tutorials, reads their `FINDINGS` lines and writes the tables into
`docs/evidence.md` with `fill_page`, so the page shows what that build
measured and cannot drift from it. A claim whose verdict or numbers are
missing fails the build; `tests/test_tutorials.py` checks every key in quick
mode, and `tests_browser/` checks the built page against the notebooks' pages.
"""

import dataclasses
import json
import pathlib
import re
import string

PAGE = "evidence.md"
MARKER = "<!-- evidence-tables -->"
VERDICTS = ("held", "partly", "did not hold")
FINDINGS_LINE = re.compile(r"^FINDINGS (\{.*\})\s*$", re.MULTILINE)


class EvidenceError(ValueError):
    """A claim's verdict or numbers are missing or malformed."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of the article and where a tutorial measured it.

    Attributes:
        topic: the table the claim goes in.
        text: the claim, in our words.
        notebook: the tutorial's file stem in `tutorials/`.
        anchor: the id of the section that measures it.
        verdict: the `FINDINGS` key holding the verdict.
        measured: a format string over `FINDINGS` (e.g. `"{acc:.1%}"`) that
            shows the numbers the verdict rests on.
        setting: the data and model it was measured on.
    """

    topic: str
    text: str
    notebook: str
    anchor: str
    verdict: str
    measured: str
    setting: str

    def keys(self):
        """The `FINDINGS` keys this claim reads."""
        fields = string.Formatter().parse(self.measured)
        return [self.verdict] + [name for _, name, _, _ in fields if name]


MLP = "MNIST-1D, MLP (40-256-256-10)"
GRID = "MNIST-1D, MLPs of width 16-256"
CLAIMS = [
    # How dropout works
    Claim(
        "How dropout works",
        "Dropout is switched off at inference: the layer passes its input through.",
        "how-dropout-works",
        "training-and-inference",
        "claim_off_at_inference",
        "inference output identical to the input (1 = yes): {inference_is_identity}",
        "one layer",
    ),
    Claim(
        "How dropout works",
        "Inverted scaling (1/(1-p) in training) and classic scaling (1-p at "
        "inference; the article says p) give the same network.",
        "how-dropout-works",
        "inverted-and-classic-scaling",
        "claim_inverted_equals_classic",
        "test accuracy inverted {inverted_test_acc:.1%} ± "
        "{inverted_test_acc_std:.1%}, classic {classic_test_acc:.1%} ± "
        "{classic_test_acc_std:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "The full network approximates the average of its thinned networks.",
        "how-dropout-works",
        "thinned-networks-and-ensembles",
        "claim_full_net_averages_thinned",
        "weight scaling {weight_scaling_acc:.1%}, MC average of 100 passes "
        "{mc100_acc:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "Dropout gives an ensemble effect at a fraction of the cost.",
        "how-dropout-works",
        "thinned-networks-and-ensembles",
        "claim_ensemble_effect",
        "one dropout network {weight_scaling_acc:.1%}, five plain networks "
        "averaged {ensemble5_acc:.1%}, one plain {plain_acc:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "A network trained with dropout degrades gracefully when units fail.",
        "how-dropout-works",
        "robustness",
        "claim_graceful_degradation",
        "accuracy lost with 50% of layer-2 units silenced: "
        "{robustness_drop_acc_at_50pct_dropout_model:.1%} with dropout, "
        "{robustness_drop_acc_at_50pct_plain_model:.1%} without; layer 1: "
        "{robustness_drop_acc_at_50pct_layer1_dropout_model:.1%} and "
        "{robustness_drop_acc_at_50pct_layer1_plain_model:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "Dropout reduces co-adaptation between units.",
        "how-dropout-works",
        "co-adaptation",
        "claim_less_coadaptation",
        "mean absolute correlation of hidden units {mean_abs_corr_dropout:.3f} "
        "with dropout, {mean_abs_corr_plain:.3f} without",
        MLP,
    ),
    # Choosing the rate
    Claim(
        "Choosing the rate",
        "Input layers: rates of 0.1-0.2 are typical.",
        "choosing-the-rate",
        "the-grid-input-rate-hidden-rate",
        "claim_input_rate_0_1_0_2",
        "best input rate on validation {best_input_rate}; each input rate vs "
        "none: {input_rate_verdicts}",
        GRID,
    ),
    Claim(
        "Choosing the rate",
        "Hidden layers: rates of 0.2-0.5 are standard.",
        "choosing-the-rate",
        "the-grid-input-rate-hidden-rate",
        "claim_hidden_rate_0_2_0_5",
        "best hidden rate {best_hidden_rate} (width 128), {large_net_best_rate} "
        "(width {large_width})",
        GRID,
    ),
    Claim(
        "Choosing the rate",
        "0.5 is the best rate for hidden units.",
        "choosing-the-rate",
        "the-usual-recommendations-next-to-our-measurements",
        "claim_hidden_0_5_optimal",
        "hidden rate 0.5: {acc_hidden_0_5:.1%}, best cell {best_grid_acc:.1%} "
        "({hidden_0_5_vs_best})",
        GRID,
    ),
    Claim(
        "Choosing the rate",
        "Rates set too high underfit.",
        "choosing-the-rate",
        "where-underfitting-starts",
        "claim_high_rates_underfit",
        "first rate below no dropout: {underfit_rate}; at 0.9 train "
        "{train_acc_hidden_0_9:.1%}, test {acc_hidden_0_9:.1%}",
        GRID,
    ),
    Claim(
        "When not to use dropout",
        "Small models with limited capacity get worse with dropout.",
        "choosing-the-rate",
        "small-and-large-networks",
        "claim_small_models_underfit",
        "width {small_width}: best rate {small_net_best_rate}, no dropout "
        "{small_net_no_dropout_acc:.1%}",
        GRID,
    ),
    Claim(
        "When not to use dropout",
        "Dropout cannot make up for too little data.",
        "choosing-the-rate",
        "training-set-size",
        "claim_cannot_replace_data",
        "dropout helped at N = {data_N_where_dropout_helps}; no dropout on the "
        "next size up was better at every N: {data_more_beats_dropout}",
        GRID,
    ),
    # Training cost
    Claim(
        "Training cost",
        "A network with dropout needs 2-3x the epochs of the same network "
        "without it to reach comparable performance.",
        "what-dropout-costs",
        "how-many-more-epochs",
        "claim_epochs_2_3x",
        "epochs to 98% of own best: {epochs_to_98_dropout} with dropout, "
        "{epochs_to_98_plain} without ({epochs_ratio_98}x)",
        MLP,
    ),
    Claim(
        "Training cost",
        "Dropout adds noise to the gradient estimates.",
        "what-dropout-costs",
        "gradient-noise",
        "claim_more_gradient_noise",
        "gradient variance with / without dropout: {grad_var_ratio_b8}x at "
        "batch 8, {grad_var_ratio_b32}x at batch 32",
        MLP,
    ),
    Claim(
        "Training cost",
        "With small batches, dropout's noise makes training unstable.",
        "what-dropout-costs",
        "stability-at-small-batch-sizes",
        "claim_small_batch",
        "validation-loss roughness at batch {smallest_batch}: "
        "{roughness_dropout_smallest} with dropout, {roughness_plain_smallest} "
        "without",
        MLP,
    ),
]


def findings_in_notebook(notebook):
    """The `FINDINGS` dict an executed notebook printed, or None if none.

    Args:
        notebook: the notebook as a dict (or `nbformat` node), or its path.
    """
    if isinstance(notebook, (str, pathlib.Path)):
        notebook = json.loads(pathlib.Path(notebook).read_text())
    found = None
    for cell in notebook["cells"]:
        # A kernel may flush one print in pieces, as separate stream outputs.
        pieces = [output.get("text", "") for output in cell.get("outputs", [])]
        text = "".join("".join(p) if isinstance(p, list) else p for p in pieces)
        for match in FINDINGS_LINE.finditer(text):
            found = json.loads(match.group(1))
    return found


def check(claim, findings):
    """Raises `EvidenceError` unless `findings` holds what `claim` needs."""
    if findings is None:
        raise EvidenceError(
            f"Tutorial {claim.notebook!r} printed no FINDINGS line; the claim "
            f"{claim.verdict!r} needs it."
        )
    missing = [key for key in claim.keys() if key not in findings]
    if missing:
        raise EvidenceError(
            f"Tutorial {claim.notebook!r} has no FINDINGS key {missing} for "
            f"the claim {claim.verdict!r}."
        )
    if findings[claim.verdict] not in VERDICTS:
        raise EvidenceError(
            f"Invalid verdict in tutorial {claim.notebook!r}: expected one of "
            f"{VERDICTS}. Received: {claim.verdict}={findings[claim.verdict]!r}"
        )


def _row(claim, findings):
    check(claim, findings)
    verdict = findings[claim.verdict]
    link = f"[{claim.notebook}](../tutorials/{claim.notebook}/#{claim.anchor})"
    measured = claim.measured.format_map(findings)
    return (
        f'| {claim.text} | <span class="verdict" data-notebook="{claim.notebook}" '
        f'data-claim="{claim.verdict}" data-verdict="{verdict.replace(" ", "-")}">'
        f"{verdict}</span> | {measured} | "
        f"{claim.setting} | {link} |"
    )


def render(findings_by_notebook, claims=CLAIMS):
    """The evidence tables, as Markdown, from each notebook's `FINDINGS`."""
    counts = dict.fromkeys(VERDICTS, 0)
    sections = {}
    for claim in claims:
        findings = findings_by_notebook.get(claim.notebook)
        sections.setdefault(claim.topic, []).append(_row(claim, findings))
        counts[findings[claim.verdict]] += 1
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    lines = [f"**{len(claims)} claims measured:** {summary}.", ""]
    for topic, rows in sections.items():
        lines += [
            f"## {topic}",
            "",
            "| Claim | Verdict | What we measured | On | Where |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(lines)


def fill_page(markdown, findings_by_notebook, claims=CLAIMS):
    """`markdown` with its marker replaced by the evidence tables."""
    if MARKER not in markdown:
        raise EvidenceError(f"{PAGE} lost its marker {MARKER}.")
    return markdown.replace(MARKER, render(findings_by_notebook, claims))
