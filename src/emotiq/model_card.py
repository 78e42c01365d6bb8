"""Generate a model folder's README.md (model card) from its config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emotiq.model_io import ModelConfig

_UNTRAINED = (
    "> **Untrained heads.** This model's task heads have random weights: its scores are\n"
    "> placeholders, not predictions. Every result is flagged `low_confidence`.\n"
)


def _heads_table(config: ModelConfig) -> str:
    rows = ["| head | role | kind | labels |", "|---|---|---|---|"]
    for head in config.heads:
        rows.append(f"| {head['name']} | {head['role']} | {head['kind']} | {', '.join(head['labels'])} |")
    return "\n".join(rows)


def _training_record(config: ModelConfig) -> str:
    training = config.training
    if not training:
        return ""
    rows = training.get("data", {}).get("rows", [])
    train_rows = sum(r["rows"] for r in rows if r.get("split") == "train")
    dev_rows = sum(r["rows"] for r in rows if r.get("split") == "dev")
    lines = [f"- Training rows: {train_rows:,} (dev rows for model selection and calibration: {dev_rows:,})",
             f"- Wall time: {training.get('wall_seconds', 0) / 60:.0f} min on the training machine (2 CPU cores)"
             + (f", CPU time {training['cpu_seconds'] / 60:.0f} min over {training.get('sittings', 1)} sitting(s)"
                if training.get("cpu_seconds") else "")]
    earlier = training.get("continued_from")
    if earlier:
        lines.append(f"- Continued from `{earlier.get('name')}`, itself trained for {len(earlier.get('history', []))} epoch(s), "
                     f"{earlier.get('wall_seconds', 0) / 60:.0f} min wall and {earlier.get('cpu_seconds', 0) / 60:.0f} min CPU"
                     " (its record is kept in config.json)")
    blend = training.get("interpolation")
    if blend:
        tried = ", ".join(f"{t['weight']:g}: {t['dev_mean']:.4f}" for t in blend["trials"])
        lines.append(f"- Weights interpolated: (1 - w) x `{blend['start']['name']}` + w x `{blend['end']['name']}`, "
                     f"w = {blend['weight']:g} chosen by mean per-source dev macro-F1 (tried {tried}); "
                     "the training below is the end model's")
    for epoch in training.get("history", []):
        lines.append(f"- Epoch {epoch['epoch']}: train loss {epoch['train_loss']}, dev macro-F1 {epoch['dev_macro_f1']}")
    if training.get("temperatures"):
        lines.append(f"- Temperatures (fitted on dev): {training['temperatures']}")
    by_language = {h["name"]: h["extra"]["temperatures_by_language"] for h in config.heads
                   if h.get("extra", {}).get("temperatures_by_language")}
    if by_language:
        lines.append(f"- Temperatures by detected language (fitted on that language's dev rows; other languages "
                     f"use the ones above): {by_language}")
    return "\n".join(lines)


def render_model_card(config: ModelConfig, *, sections: dict[str, str] | None = None) -> str:
    """Markdown model card: summary, heads, training record, metrics, extra sections."""
    parts = [f"# {config.name}", ""]
    if not config.trained:
        parts += [_UNTRAINED, ""]
    parts += [
        "An [emotiq](https://pypi.org/project/emotiq/) model for Dutch and English customer feedback.",
        "",
        f"- Base encoder: `{config.base}` (prefix `{config.prefix!r}`, {config.pooling} pooling, max {config.max_length} tokens)",
        f"- Languages: {', '.join(config.languages)}",
        f"- Adapted encoder parameters: {len(config.encoder_params)} tensors",
        f"- Written by: {', '.join(f'{k} {v}' for k, v in config.versions.items())}",
        "",
        "## Usage",
        "",
        "```python",
        "import emotiq",
        f'model = emotiq.load("{config.name}")',
        'model.analyze("De levering was weer te laat!")',
        "```",
        "",
        "## Heads",
        "",
        _heads_table(config),
        "",
    ]
    record = _training_record(config)
    if record:
        parts += ["## Training record", "", record, ""]
    for title, body in (sections or {}).items():
        parts += [f"## {title}", "", body.strip(), ""]
    return "\n".join(parts)


def write_model_card(folder: Path, config: ModelConfig) -> Path:
    """Write ``README.md`` unless the folder keeps a curated card (``card.md`` sections)."""
    sections = {}
    extra = folder / "card_sections.md"
    if extra.exists():
        sections["Details"] = extra.read_text(encoding="utf-8")
    metrics = folder / "metrics.md"
    if metrics.exists():
        sections["Evaluation"] = metrics.read_text(encoding="utf-8")
    path = folder / "README.md"
    path.write_text(render_model_card(config, sections=sections), encoding="utf-8")
    return path
