"""Which delimiter a CSV/TSV/TXT export uses: `,` `;` tab or `|`."""

from __future__ import annotations

import csv
import io

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
"""Candidates, in the order ties are broken."""

_SNIFF_RECORDS = 50


def _records(sample: str, delimiter: str, complete: bool) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter, quotechar='"', strict=False)
    records = [r for r in reader if r]
    if not complete and len(records) > 1:
        records = records[:-1]  # the sample may end inside the last record
    return records[:_SNIFF_RECORDS]


def _score(records: list[list[str]]) -> tuple[float, int]:
    """(share of records with the header's field count, header's field count)."""
    if not records or len(records[0]) < 2:
        return 0.0, 1
    width = len(records[0])
    same = sum(1 for r in records if len(r) == width)
    return round(same / len(records), 2), width


def sniff_delimiter(sample: str, *, complete: bool = False, default: str = ",") -> str:
    """The delimiter whose fields line up best with the header in ``sample``.

    A delimiter wins when most records have as many fields as the header, and
    then by the number of fields. A sample with one field per line gets
    ``default``.
    """
    best, best_score = default, (0.0, 1)
    for delimiter in DELIMITERS:
        score = _score(_records(sample, delimiter, complete))
        if score > best_score:
            best, best_score = delimiter, score
    return best
