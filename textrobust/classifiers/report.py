"""The remote-call section of a run's report: requests sent, cache hits, retries, failures,
unparseable answers and tokens, summed over the run's processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SECTION = "remote"
POLICY = (
    "an answer naming no label is scored as a wrong prediction (label -1): on the clean input the example "
    "counts as misclassified, on a draw it is a flip"
)


def remote_usage(classifier: Any, group: Any = None) -> dict | None:
    """The section for ``classifier`` (``None`` unless it calls an endpoint), summed over ``group``."""
    usage = getattr(classifier, "usage", None)
    if usage is None:
        return None
    parts = group.gather(usage()) if group is not None else [usage()]
    out = dict(parts[0])
    for part in parts[1:]:
        for k, v in part.items():
            if isinstance(v, int) and not isinstance(v, bool):
                out[k] = (out.get(k) or 0) + v
    if out.get("style") == "openai":
        out["unparseable_policy"] = POLICY
    return out


def markdown(section: dict) -> str:
    """The section as report.md lines."""
    lines = ["", "## Remote calls", "", f"- endpoint: `{section['endpoint']}` ({section['style']} style)"]
    lines.append(
        f"- requests sent {section['requests']} ({section['inputs_sent']} inputs), cache hits {section['cache_hits']}, "
        f"retries {section['retries']}, failures {section['failures']}"
    )
    tokens = [
        f"{k.replace('_', ' ')} {section[k]}"
        for k in ("prompt_tokens", "completion_tokens", "total_tokens")
        if section.get(k) is not None
    ]
    if tokens:
        lines.append("- " + ", ".join(tokens))
    if section["style"] == "openai":
        lines.append(f"- unparseable answers {section['unparseable']}: {POLICY}")
    return "\n".join(lines) + "\n"


def add_to_report(report: Any, classifier: Any, group: Any = None) -> dict | None:
    """Put the section into ``report.extra`` (so report.json has it); returns it."""
    section = remote_usage(classifier, group)
    if section is not None:
        report.extra[SECTION] = section
    return section


def append_markdown(report: Any, output_dir: str | Path) -> None:
    """Append the section, if the report has one, to ``output_dir/report.md``."""
    section = report.extra.get(SECTION)
    path = Path(output_dir) / "report.md"
    if section is not None and path.exists():
        with open(path, "a", encoding="utf-8") as f:
            f.write(markdown(section))


def summary_line(report: Any) -> str | None:
    """One line for the CLI summary, or ``None`` without remote calls."""
    s = report.extra.get(SECTION)
    if s is None:
        return None
    line = f"remote: {s['requests']} requests ({s['inputs_sent']} inputs), {s['cache_hits']} cache hits, {s['retries']} retries, {s['failures']} failures"
    if s.get("style") == "openai":
        line += f", {s['unparseable']} unparseable answers (scored as wrong)"
    if s.get("total_tokens") is not None:
        line += f", {s['total_tokens']} tokens"
    return line
