"""Server-rendered SVG bar charts (`templates/components/bar_chart.html`): no script, no
library; each chart has a title and a table with the same figures for screen readers and
for copying."""
from dataclasses import dataclass, field

WIDTH = 520
LABEL_WIDTH = 150
AREA = 300  # the bars' width at the peak value; the value is written after the bar
ROW = 26
SUB_BAR = 12
LEGEND = 22


def _num(value) -> str:
    return f"{value:.1f}"


@dataclass
class Chart:
    id: str
    title: str
    series: list
    rows: list
    width: int
    height: int
    percent: bool
    stacked: bool
    legend_y: str = ""
    table_series: list = field(default_factory=list)


def bar_chart(title, series, rows, *, stacked=False, percent=False, chart_id="chart") -> Chart:
    """Horizontal bars, one row per (label, [value per series]): a single series, several
    series stacked (a row's total at its end) or grouped (one thin bar per series).
    Percentages are drawn against 100."""
    grouped = len(series) > 1 and not stacked
    if percent:
        peak = 100
    else:
        peak = float(max([sum(values) if stacked else max(values, default=0) for _label, values in rows] + [1]))
    out, y = [], 0
    for label, values in rows:
        height = len(series) * SUB_BAR + 8 if grouped else ROW
        bars, x = [], 0.0
        for index, value in enumerate(values):
            width = AREA * min(float(value), peak) / peak if peak else 0
            if grouped:
                top = y + 4 + index * SUB_BAR
                bars.append({"x": _num(LABEL_WIDTH), "y": _num(top), "width": _num(width), "height": SUB_BAR - 2,
                             "series": index, "name": series[index], "value": value,
                             "text_x": _num(LABEL_WIDTH + width + 4), "text_y": _num(top + SUB_BAR - 3)})
            else:
                bars.append({"x": _num(LABEL_WIDTH + x), "y": _num(y + 5), "width": _num(width), "height": ROW - 10,
                             "series": index, "name": series[index], "value": value})
                x += width
        total = sum(values) if not grouped else None
        out.append({"label": label, "values": values, "total": total, "bars": bars,
                    "label_y": _num(y + height / 2 + 4), "text_x": _num(LABEL_WIDTH + x + 4),
                    "text_y": _num(y + ROW / 2 + 4)})
        y += height
    legend = len(series) > 1
    return Chart(id=chart_id, title=title, rows=out, width=WIDTH, height=y + (LEGEND if legend else 0) + 4,
                 percent=percent, stacked=stacked,
                 series=[{"name": name, "index": i, "x": LABEL_WIDTH + i * 110} for i, name in enumerate(series)]
                 if legend else [],
                 legend_y=_num(y + 16), table_series=list(series))
