"""Escaping of untrusted text for every output format the reports write.

Names of datasets, items, algorithms and metrics and failure messages come from manifests,
plugins and published result sets: a report must show them as text, never let them become markup,
a formula or a broken table. One function per format:

* :func:`html` — ``& < > " '`` as entities (the page's template escapes everything through jinja2's
  autoescape, which is this same escaping; use this for any HTML built in Python);
* :func:`markdown` — ``\\ ` * _ [ ] | #`` backslash-escaped, ``< > &`` as entities (so ``<script>``
  never reaches a renderer that passes raw HTML) and line breaks as spaces (a table row is one line);
* :func:`latex` — the ten special characters ``& % $ # _ { } ~ ^ \\`` and the few non-ASCII signs the
  tables use (Δ, χ², α, ≥);
* :func:`csv_text` / :func:`csv_frame` — spreadsheet formula injection neutralised (OWASP: a field
  starting with ``= + - @``, a tab or a carriage return gets a leading ``'``); the quoting itself is
  the csv module's (pandas' ``to_csv``), which quotes fields holding separators, quotes or line breaks.
"""
from __future__ import annotations

import json

import markupsafe
import pandas as pd

_MARKDOWN_PUNCTUATION = "\\`*_[]|#"
_MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
          "Δ": r"$\Delta$", "α": r"$\alpha$", "≥": r"$\geq$", "²": r"$^2$", "χ": r"$\chi$"}
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def html(text) -> str:
    """``text`` safe as HTML content or a quoted attribute value."""
    return str(markupsafe.escape(str(text)))


def markdown(text) -> str:
    """``text`` as literal Markdown (GitHub-flavoured, CommonMark), safe inside a table cell."""
    escaped = []
    for char in str(text):
        if char in _MARKDOWN_ENTITIES:
            escaped.append(_MARKDOWN_ENTITIES[char])
        elif char in _MARKDOWN_PUNCTUATION:
            escaped.append("\\" + char)
        elif char in "\r\n":
            escaped.append(" ")
        else:
            escaped.append(char)
    return "".join(escaped)


def latex(text) -> str:
    """``text`` as literal LaTeX text (every special character escaped)."""
    return "".join(_LATEX.get(char, char) for char in str(text))


def csv_text(text):
    """A CSV field that a spreadsheet shows as text, never evaluates (non-strings pass unchanged)."""
    if isinstance(text, str) and text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with :func:`csv_text` applied to every text column (numbers stay numbers)."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column].dtype):
            safe[column] = safe[column].map(csv_text)
    return safe


def script_json(value) -> str:
    """JSON for a ``<script>`` element: ``<``, ``>`` and ``&`` as ``\\u`` escapes, so that no
    ``</script>`` or comment opener inside a string ends the element."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
