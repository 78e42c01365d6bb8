"""Show evidence inside its text: the spans wrapped in markers (brackets on a terminal, ``<mark>`` in HTML)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from emotiq.schema import EvidenceSpan


def _merged(text: str, spans: Sequence[EvidenceSpan]) -> list[tuple[int, int]]:
    """Span ranges in text order, neighbours separated only by spaces joined into one phrase."""
    ranges: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if ranges and (span.start <= ranges[-1][1] or not text[ranges[-1][1]:span.start].strip()):
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], span.end))
        else:
            ranges.append((span.start, span.end))
    return ranges


def mark_spans(text: str, spans: Sequence[EvidenceSpan], *, before: str = "[", after: str = "]",
               escape: Callable[[str], str] = str) -> str:
    """``text`` with each span (neighbours merged) between ``before`` and ``after``; the rest passed through ``escape``."""
    out, at = [], 0
    for start, end in _merged(text, [s for s in spans if s.end <= len(text)]):
        out += [escape(text[at:start]), before, escape(text[start:end]), after]
        at = end
    out.append(escape(text[at:]))
    return "".join(out)
