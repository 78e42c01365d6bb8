"""Evidence for a score: which words or short phrases moved it, found by leaving them out.

>>> result = model.analyze("De bezorging was weer te laat!", explain=True)
>>> result.evidence.tasks["complaint"].spans[0]
EvidenceSpan(text='te laat', start=24, end=31, weight=0.41)
"""

from __future__ import annotations

from emotiq.explain.occlusion import DEFAULT_BUDGET, EXPLAIN_MAX_CHARS, METHOD, explain_texts, with_evidence
from emotiq.explain.units import keep_only, occlusion_spans, without

__all__ = ["DEFAULT_BUDGET", "EXPLAIN_MAX_CHARS", "METHOD", "explain_texts", "keep_only", "occlusion_spans", "with_evidence", "without"]
