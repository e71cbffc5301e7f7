"""The dashboard's charts: pygal line charts of a daily series, rendered on the server as inline SVG.

Readable without JavaScript: the SVG carries its axes, labels and legend; pygal's script element (tooltips) is
taken out, since the admin's Content-Security-Policy runs no inline script.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup


@functools.cache
def _pygal() -> Any:
    """pygal and the admin's chart style, imported with the first chart (~0.07 s that other processes skip)."""
    import pygal
    from pygal.style import Style

    # pygal appends an import hook for its map plugins (pygal.maps.*, unused here) that only has the old finder
    # API: every failed import anywhere in the process then warns (ImportWarning). Take it out again.
    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__module__ != "pygal"]
    # The admin's palette (static/admin/admin.css): blue, red, green, amber.
    style = Style(
        background="transparent",
        plot_background="transparent",
        foreground="#1b1f24",
        foreground_strong="#1b1f24",
        foreground_subtle="#d8dde3",
        colors=("#0b57d0", "#b3261e", "#146c2e", "#8a5a00"),
        font_family='system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif',
        label_font_size=13,
        major_label_font_size=13,
        legend_font_size=14,
        title_font_size=16,
        value_font_size=12,
    )
    return pygal, style


_MOST_X_LABELS = 10
# Dots mark each day's value on short periods; on long ones they cost more to draw than the lines themselves.
_MOST_DAYS_WITH_DOTS = 14


def _without_scripts(root: Any) -> Any:
    """pygal's xml filter: drop its <script> elements (the tooltips' configuration)."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    value_formatter: Callable[[float], str],
    *,
    whole_numbers: bool = False,
) -> Markup:
    """An SVG line chart of daily values (one label per day), as markup to put in the page; `whole_numbers`
    keeps the y axis on integers (counts)."""
    pygal, style = _pygal()
    chart = pygal.Line(
        style=style,
        js=[],
        disable_xml_declaration=True,
        width=900,
        height=320,
        title=title,
        show_dots=len(labels) <= _MOST_DAYS_WITH_DOTS,
        dots_size=2.5,
        stroke_style={"width": 2},
        legend_at_bottom=True,
        legend_at_bottom_columns=len(series),
        show_minor_x_labels=False,
        x_labels_major_every=max(1, -(-len(labels) // _MOST_X_LABELS)),
        truncate_label=-1,
        truncate_legend=-1,
        value_formatter=value_formatter,
        include_x_axis=True,
        margin_bottom=8,
        no_data_text="",
    )
    chart.x_labels = list(labels)
    if whole_numbers:
        highest = max((max(values, default=0) for _, values in series), default=0)
        step = max(1, -(-int(highest) // 8))
        chart.y_labels = list(range(0, int(highest) + step + 1, step))
    for name, values in series:
        chart.add(name, list(values))
    chart.add_xml_filter(_without_scripts)
    return Markup(chart.render(is_unicode=True))  # noqa: S704 - pygal escapes the labels and titles it writes
