# -*- coding: utf-8 -*-
# Copyright: (c) 2026, flinkops.cookbook contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Inline SVG charts for the HTML reports: checkpoint durations and state size over the retained
history, backpressure per vertex, and the failures of a restart loop on a time axis. Self-contained (no script, no external file, no font), so a
report stays one file that opens anywhere. Documentation: the .yml file of each filter beside this one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.flinkops.cookbook.plugins.module_utils.flink_diagnostics import format_ms as _ms

WIDTH = 640
HEIGHT = 200
LEFT = 64      # room for the value axis labels
RIGHT = 16
TOP = 28       # room for the title
BOTTOM = 36    # room for the checkpoint ids
MIN_BAR = 3    # px: the lowest bar drawn, whatever its duration
COLOURS = {"COMPLETED": "#2da44e", "FAILED": "#cf222e", "IN_PROGRESS": "#8c959f"}
# Flink's backpressure levels (the web UI's): OK up to 10 %, LOW up to 50 %, HIGH above.
LEVEL_LOW = 0.10
LEVEL_HIGH = 0.50


def _bytes(value):
    """As ansible.builtin.human_readable writes it (the reports' text uses that): 1024-based, two decimals."""
    if value is None:
        return "n/a"
    size = float(value)
    for unit in ("Bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return ("%d %s" % (size, unit)) if unit == "Bytes" else ("%.2f %s" % (size, unit))
        size /= 1024.0
    return "%d Bytes" % value  # not reached


def _num(value):
    return ("%.1f" % value).rstrip("0").rstrip(".")


def _svg(title, chart_class, body, height=HEIGHT, desc=""):
    """One chart: a title the browser shows as a heading and screen readers read, then ``body``."""
    return "".join([
        '<svg xmlns="http://www.w3.org/2000/svg" class=%s role="img" width="%d" height="%d" viewBox="0 0 %d %d" '
        'font-family="sans-serif" font-size="11">' % (quoteattr("chart " + chart_class), WIDTH, height, WIDTH, height),
        "<title>%s</title>" % escape(title),
        "<desc>%s</desc>" % escape(desc) if desc else "",
        '<text x="%d" y="16" font-size="13" font-weight="bold">%s</text>' % (LEFT, escape(title)),
        body, "</svg>"])


def _empty(title, chart_class, reason):
    return _svg(title, chart_class + " empty", '<text x="%d" y="%d" fill="#555">%s</text>'
                % (LEFT, TOP + 30, escape(reason)), height=TOP + 50, desc=reason)


def _value_axis(top_value, fmt):
    """The left axis: a baseline, the top value and zero, with a light grid line at the top."""
    plot_bottom = HEIGHT - BOTTOM
    return "".join([
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>' % (LEFT, TOP, LEFT, plot_bottom),
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>' % (LEFT, plot_bottom, WIDTH - RIGHT, plot_bottom),
        '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eee"/>' % (LEFT, TOP, WIDTH - RIGHT, TOP),
        '<text x="%d" y="%d" text-anchor="end">%s</text>' % (LEFT - 4, TOP + 4, escape(fmt(top_value))),
        '<text x="%d" y="%d" text-anchor="end">%s</text>' % (LEFT - 4, plot_bottom + 4, escape(fmt(0))),
    ])


def _y(value, top_value):
    plot = HEIGHT - BOTTOM - TOP
    return HEIGHT - BOTTOM - (plot * value / top_value if top_value else 0)


def _off_scale(references, top_value, fmt):
    """One note above the plot for the reference values too high for the scale."""
    above = ["%s %s" % (label, fmt(value)) for label, value in references if value and value > top_value]
    if not above:
        return ""
    return ('<text class="off-scale" x="%d" y="%d" text-anchor="end" fill="#555">%s above the scale</text>'
            % (WIDTH - RIGHT, TOP - 2, escape(", ".join(above))))


def _reference_line(label, value, top_value, colour, fmt):
    """A dashed horizontal line (the interval, the timeout) where it fits the scale."""
    if value is None or value <= 0 or value > top_value:
        return ""
    y = _y(value, top_value)
    return ('<line class="reference" x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s" stroke-dasharray="4 3"/>'
            '<text x="%d" y="%s" text-anchor="end" fill="%s" stroke="#fff" stroke-width="3" paint-order="stroke">'
            '%s %s</text>'
            % (LEFT, _num(y), WIDTH - RIGHT, _num(y), colour, WIDTH - RIGHT, _num(y - 3), colour, escape(label),
               escape(fmt(value))))


def checkpoint_durations_svg(history, interval_ms=None, timeout_ms=None, title="Checkpoint duration"):
    """A bar per retained checkpoint, oldest first, its height the end-to-end duration and its colour
    the status; the interval and the timeout as dashed lines where they fit the scale."""
    points = [h for h in (history or []) if h.get("id") is not None]
    if not points:
        return _empty(title, "checkpoint-durations", "No checkpoint in the history Flink retains.")
    durations = [h.get("end_to_end_duration") or 0 for h in points]
    # Scaled to the longest checkpoint; the interval and the timeout join the scale only when close
    # to it, so 100 ms checkpoints under a 10 min timeout stay visible (the line is named instead).
    top_value = max(durations) or 1
    for reference in (interval_ms, timeout_ms):
        if reference and reference <= 1.5 * top_value:
            top_value = max(top_value, reference)
    top_value *= 1.1
    plot_width = WIDTH - LEFT - RIGHT
    slot = plot_width / float(len(points))
    bar_width = max(1.0, min(slot * 0.8, 40.0))
    parts = [_value_axis(top_value, _ms)]
    for index, (point, duration) in enumerate(zip(points, durations)):
        status = point.get("status") or "UNKNOWN"
        x = LEFT + slot * index + (slot - bar_width) / 2
        # at least MIN_BAR px high, so a checkpoint that failed in 1 ms beside 100 ms ones is seen
        y = min(_y(duration, top_value), HEIGHT - BOTTOM - MIN_BAR)
        label = "#%s %s, %s%s" % (point["id"], status, _ms(point.get("end_to_end_duration")),
                                  (", state " + _bytes(point["state_size"])) if point.get("state_size") else "")
        parts.append('<rect class=%s data-id="%s" data-status=%s data-value="%s" x="%s" y="%s" width="%s" '
                     'height="%s" fill="%s"><title>%s</title></rect>'
                     % (quoteattr("bar " + status.lower()), point["id"], quoteattr(status), duration, _num(x),
                        _num(y), _num(bar_width), _num(HEIGHT - BOTTOM - y), COLOURS.get(status, "#8c959f"),
                        escape(label)))
    for index in sorted(set([0, len(points) - 1])):
        parts.append('<text x="%s" y="%d" text-anchor="middle">#%s</text>'
                     % (_num(LEFT + slot * index + slot / 2), HEIGHT - BOTTOM + 14, points[index]["id"]))
    parts.append(_reference_line("interval", interval_ms, top_value, "#0969da", _ms))
    parts.append(_reference_line("timeout", timeout_ms, top_value, "#cf222e", _ms))
    parts.append(_off_scale((("interval", interval_ms), ("timeout", timeout_ms)), top_value, _ms))
    legend = [(s, c) for s, c in sorted(COLOURS.items()) if any(p.get("status") == s for p in points)]
    for index, (status, colour) in enumerate(legend):
        x = LEFT + 110 * index
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>'
                     % (x, HEIGHT - 14, colour, x + 14, HEIGHT - 5, status.lower().replace("_", " ")))
    desc = "%d checkpoints, %d failed; longest %s" % (
        len(points), sum(1 for p in points if p.get("status") == "FAILED"), _ms(max(durations)))
    return _svg(title, "checkpoint-durations", "".join(parts), desc=desc)


def state_size_svg(history, title="State size"):
    """The state size of each retained completed checkpoint, oldest first, as a line with a point each."""
    points = [h for h in (history or []) if h.get("status") == "COMPLETED" and h.get("state_size") is not None]
    if not points:
        return _empty(title, "state-size", "No completed checkpoint with a state size in the retained history.")
    sizes = [h["state_size"] for h in points]
    top_value = (max(sizes) or 1) * 1.1
    plot_width = WIDTH - LEFT - RIGHT
    step = plot_width / float(max(1, len(points) - 1)) if len(points) > 1 else 0
    coords = [(LEFT + (step * i if len(points) > 1 else plot_width / 2.0), _y(size, top_value))
              for i, size in enumerate(sizes)]
    parts = [_value_axis(top_value, _bytes)]
    if len(coords) > 1:
        parts.append('<polyline fill="none" stroke="#0969da" stroke-width="2" points="%s"/>'
                     % " ".join("%s,%s" % (_num(x), _num(y)) for x, y in coords))
    for point, (x, y) in zip(points, coords):
        parts.append('<circle class="point" data-id="%s" data-value="%s" cx="%s" cy="%s" r="3" fill="#0969da">'
                     '<title>#%s: %s</title></circle>'
                     % (point["id"], point["state_size"], _num(x), _num(y), point["id"],
                        escape(_bytes(point["state_size"]))))
    for index in sorted(set([0, len(points) - 1])):
        parts.append('<text x="%s" y="%d" text-anchor="middle">#%s</text>'
                     % (_num(coords[index][0]), HEIGHT - BOTTOM + 14, points[index]["id"]))
    desc = "%s to %s over %d completed checkpoints" % (_bytes(sizes[0]), _bytes(sizes[-1]), len(sizes))
    return _svg(title, "state-size", "".join(parts), desc=desc)


def backpressure_svg(backpressure, title="Backpressure per vertex"):
    """Per vertex, the highest backpressured, busy and idle ratio of its subtasks as three bars, with
    Flink's LOW (10 %) and HIGH (50 %) backpressure levels as dashed lines."""
    vertices = (backpressure or {}).get("vertices") or []
    if not vertices:
        return _empty(title, "backpressure", "Backpressure not read (the job is not RUNNING).")
    series = (("max_ratio", "backpressured", "#cf222e"), ("max_busy_ratio", "busy", "#bf8700"),
              ("max_idle_ratio", "idle", "#8c959f"))
    label_width = 200
    row = 3 * 10 + 12
    height = TOP + row * len(vertices) + 30
    x0 = label_width
    plot_width = WIDTH - RIGHT - x0
    parts = []
    for level, name in ((LEVEL_LOW, "low"), (LEVEL_HIGH, "high")):
        x = x0 + plot_width * level
        parts.append('<line class="reference" x1="%s" y1="%d" x2="%s" y2="%d" stroke="#555" stroke-dasharray="4 3"/>'
                     '<text x="%s" y="%d" text-anchor="middle" fill="#555">%s %d %%</text>'
                     % (_num(x), TOP, _num(x), height - 26, _num(x), height - 14, name, int(level * 100)))
    for index, vertex in enumerate(vertices):
        top = TOP + row * index
        name = vertex.get("name") or vertex.get("id") or "?"
        short = name if len(name) <= 32 else name[:31] + "\u2026"
        parts.append('<text x="%d" y="%d" text-anchor="end"><title>%s</title>%s</text>'
                     % (x0 - 6, top + 18, escape(name), escape(short)))
        parts.append('<text x="%d" y="%d" text-anchor="end" fill="#555">%s</text>'
                     % (x0 - 6, top + 30, escape("level " + str(vertex.get("level") or "unknown"))))
        for offset, (key, label, colour) in enumerate(series):
            ratio = vertex.get(key)
            width = plot_width * min(max(ratio or 0, 0), 1)
            parts.append('<rect class=%s data-vertex=%s data-value="%s" x="%d" y="%d" width="%s" height="9" '
                         'fill="%s"><title>%s %s: %s</title></rect>'
                         % (quoteattr("bar " + label), quoteattr(name), "" if ratio is None else ratio, x0,
                            top + 6 + offset * 10, _num(width), colour, escape(short), label,
                            "n/a" if ratio is None else "%d %%" % round(ratio * 100)))
    parts.append('<text x="%d" y="%d" text-anchor="end" fill="#555">100 %%</text>' % (WIDTH - RIGHT, height - 14))
    for index, (_key, label, colour) in enumerate(series):
        x = x0 + 150 * index
        parts.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s (max)</text>'
                     % (x, height - 10, colour, x + 14, height - 1, label))
    desc = "; ".join("%s: %s" % (v.get("name"), v.get("level")) for v in vertices)
    return _svg(title, "backpressure", "".join(parts), height=height + 4, desc=desc)


def _clock(epoch_ms):
    return time.strftime("%H:%M:%S", time.gmtime(epoch_ms / 1000.0)) + " UTC"


def failure_timeline_svg(exceptions, window_start_ms, window_end_ms, title="Failures in the window"):
    """Each failure of ``exceptions`` within the window as a red mark on a time axis from
    ``window_start_ms`` to ``window_end_ms``; a tooltip names the exception, the task and the time."""
    start, end = int(window_start_ms), int(window_end_ms)
    if end <= start:
        end = start + 1
    inside = sorted((e for e in (exceptions or []) if e.get("timestamp") is not None
                     and start <= e["timestamp"] <= end), key=lambda e: e["timestamp"])
    height = 110
    axis_y = 70
    plot_width = WIDTH - LEFT - RIGHT
    parts = ['<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>' % (LEFT, axis_y, WIDTH - RIGHT, axis_y),
             '<text x="%d" y="%d" text-anchor="start">%s</text>' % (LEFT, axis_y + 18, escape(_clock(start))),
             '<text x="%d" y="%d" text-anchor="end">%s</text>' % (WIDTH - RIGHT, axis_y + 18, escape(_clock(end)))]
    for exc in inside:
        x = LEFT + plot_width * (exc["timestamp"] - start) / float(end - start)
        label = "%s %s%s" % (_clock(exc["timestamp"]), exc.get("name") or "exception",
                             (" in " + exc["task"]) if exc.get("task") else "")
        parts.append('<line class="failure" data-timestamp="%d" x1="%s" y1="%d" x2="%s" y2="%d" stroke="#cf222e" '
                     'stroke-width="3"><title>%s</title></line>'
                     % (exc["timestamp"], _num(x), axis_y - 30, _num(x), axis_y, escape(label)))
    summary = "%d failure%s from %s to %s" % (len(inside), "" if len(inside) == 1 else "s", _clock(start), _clock(end))
    parts.append('<text x="%d" y="%d" fill="#555">%s</text>' % (LEFT, height - 4, escape(summary)))
    return _svg(title, "failure-timeline", "".join(parts), height=height, desc=summary)


class FilterModule(object):
    def filters(self):
        return {
            "checkpoint_durations_svg": checkpoint_durations_svg,
            "state_size_svg": state_size_svg,
            "backpressure_svg": backpressure_svg,
            "failure_timeline_svg": failure_timeline_svg,
        }
