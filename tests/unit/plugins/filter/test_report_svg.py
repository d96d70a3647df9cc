"""The report charts: each filter's SVG parses, has a shape per data point with the data's values
and status, scales and escapes correctly, and says so when there is nothing to draw."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.flinkops.cookbook.plugins.filter.report_svg import (
    FilterModule, backpressure_svg, checkpoint_durations_svg, failure_timeline_svg, state_size_svg)

NS = {"svg": "http://www.w3.org/2000/svg"}


def parse(svg):
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def bars(root, cls=None):
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect")
            if "bar" in r.get("class", "").split() and (cls is None or cls in r.get("class", "").split())]


def texts(root):
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def point(cid, status="COMPLETED", duration=100, size=1000):
    return {"id": cid, "status": status, "end_to_end_duration": duration, "state_size": size,
            "trigger_timestamp": 1000 * cid}


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"checkpoint_durations_svg", "state_size_svg", "backpressure_svg",
                                             "failure_timeline_svg"}


def test_a_bar_per_checkpoint_oldest_first_coloured_by_status_and_scaled_to_the_duration():
    history = [point(1, duration=100), point(2, "FAILED", duration=300), point(3, duration=200),
               point(4, "IN_PROGRESS", duration=50)]
    root = parse(checkpoint_durations_svg(history, interval_ms=10000, timeout_ms=600000))
    found = bars(root)
    assert [(b.get("data-id"), b.get("data-status")) for b in found] == [
        ("1", "COMPLETED"), ("2", "FAILED"), ("3", "COMPLETED"), ("4", "IN_PROGRESS")]
    assert [b.get("fill") for b in found] == ["#2da44e", "#cf222e", "#2da44e", "#8c959f"]
    heights = [float(b.get("height")) for b in found]
    assert heights[1] == pytest.approx(3 * heights[0], rel=0.01)
    assert heights[2] == pytest.approx(2 * heights[0], rel=0.01)
    xs = [float(b.get("x")) for b in found]
    assert xs == sorted(xs), "oldest on the left"
    tooltip = "".join(found[1].itertext())
    assert tooltip == "#2 FAILED, 300 ms, state 1000 Bytes"
    assert "#1" in texts(root) and "#4" in texts(root)
    legend = texts(root)
    assert "completed" in legend and "failed" in legend and "in progress" in legend


def test_an_interval_and_timeout_far_above_the_checkpoints_are_named_not_drawn():
    # a 100 ms checkpoint against a 10 min timeout: scaling to the timeout would flatten every bar
    root = parse(checkpoint_durations_svg([point(1), point(2)], interval_ms=60000, timeout_ms=600000))
    assert not [line for line in root.iter("{http://www.w3.org/2000/svg}line") if line.get("class") == "reference"]
    off = [t for t in texts(root) if "above the scale" in t]
    assert off == ["interval 1.0 min, timeout 10.0 min above the scale"], "one note, not two over each other"
    assert float(bars(root)[0].get("height")) > 100, "the bars use the height of the plot"


def test_an_interval_and_timeout_within_reach_are_dashed_lines_at_their_value():
    root = parse(checkpoint_durations_svg([point(1, duration=800), point(2, duration=1000)],
                                          interval_ms=500, timeout_ms=1200))
    lines = [line for line in root.iter("{http://www.w3.org/2000/svg}line") if line.get("class") == "reference"]
    assert len(lines) == 2 and all(line.get("stroke-dasharray") for line in lines)
    interval_y, timeout_y = (float(line.get("y1")) for line in lines)
    bottom = 200 - 36
    top_bar = bars(root)[1]
    bar_top = float(top_bar.get("y"))
    # y grows downwards: the timeout (1200) above the 1000 ms bar, the interval (500) below it
    assert timeout_y < bar_top < interval_y < bottom
    assert (bottom - interval_y) == pytest.approx((bottom - bar_top) / 2, rel=0.02)
    assert "interval 500 ms" in texts(root) and "timeout 1.2 s" in texts(root)


def test_a_checkpoint_that_failed_at_once_is_still_a_visible_bar():
    root = parse(checkpoint_durations_svg([point(1, duration=1000), point(2, "FAILED", duration=1)]))
    assert float(bars(root)[1].get("height")) >= 3


@pytest.mark.parametrize("history", [[], None, [{"status": "COMPLETED"}]])
def test_no_checkpoint_gives_a_chart_that_says_so(history):
    root = parse(checkpoint_durations_svg(history))
    assert "empty" in root.get("class") and not bars(root)
    assert "No checkpoint in the history Flink retains." in texts(root)


def test_state_size_is_a_line_through_the_completed_checkpoints_only():
    history = [point(1, size=1000), point(2, "FAILED", size=0), point(3, size=3000), point(4, size=2048)]
    root = parse(state_size_svg(history))
    circles = list(root.iter("{http://www.w3.org/2000/svg}circle"))
    assert [c.get("data-id") for c in circles] == ["1", "3", "4"]
    ys = [float(c.get("cy")) for c in circles]
    assert ys[1] < ys[2] < ys[0], "the largest state is the highest point"
    polyline = root.find("svg:polyline", NS)
    assert len(polyline.get("points").split()) == 3
    assert "".join(circles[2].itertext()) == "#4: 2.00 KB", "as ansible.builtin.human_readable, like the text"
    assert "1000 Bytes to 2.00 KB over 3 completed checkpoints" == root.find("svg:desc", NS).text


def test_state_size_without_a_completed_checkpoint_says_so():
    root = parse(state_size_svg([point(1, "FAILED", size=None)]))
    assert "empty" in root.get("class")
    assert "No completed checkpoint with a state size in the retained history." in texts(root)


def test_backpressure_has_three_bars_per_vertex_scaled_to_the_ratio_with_the_levels():
    data = {"level": "high", "vertices": [
        {"name": "Source: orders", "level": "high", "max_ratio": 0.8, "max_busy_ratio": 0.2, "max_idle_ratio": 0.0},
        {"name": "Sink", "level": "ok", "max_ratio": 0.0, "max_busy_ratio": 1.0, "max_idle_ratio": None}]}
    root = parse(backpressure_svg(data))
    found = bars(root)
    assert [(b.get("data-vertex"), b.get("class")) for b in found] == [
        ("Source: orders", "bar backpressured"), ("Source: orders", "bar busy"), ("Source: orders", "bar idle"),
        ("Sink", "bar backpressured"), ("Sink", "bar busy"), ("Sink", "bar idle")]
    widths = [float(b.get("width")) for b in found]
    full = widths[4]
    assert widths[0] == pytest.approx(0.8 * full, rel=0.01) and widths[1] == pytest.approx(0.2 * full, rel=0.01)
    assert widths[5] == 0 and "".join(found[5].itertext()) == "Sink idle: n/a"
    assert "low 10 %" in texts(root) and "high 50 %" in texts(root)
    assert "level high" in texts(root) and "level ok" in texts(root)


def test_a_ratio_above_one_is_clipped_and_a_long_name_is_shortened_with_the_whole_name_kept():
    name = "Source: orders -> Map -> Filter -> Enrich with the customer table -> Sink: out"
    root = parse(backpressure_svg({"vertices": [{"name": name, "level": "low", "max_ratio": 1.7}]}))
    assert float(bars(root)[0].get("width")) == pytest.approx(640 - 16 - 200)
    label = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if t.find("svg:title", NS) is not None][0]
    assert label.find("svg:title", NS).text == name
    assert len("".join(label.itertext()).replace(name, "")) == 32


def test_markup_in_names_and_statuses_is_escaped():
    evil = '<script>alert("x")</script> & "quotes"'
    svg = backpressure_svg({"vertices": [{"name": evil, "level": "low", "max_ratio": 0.3}]})
    assert "<script>" not in svg
    root = parse(svg)
    assert bars(root)[0].get("data-vertex") == evil
    svg = checkpoint_durations_svg([point(1, status='X"<b>')])
    assert "<b>" not in svg and bars(parse(svg))[0].get("data-status") == 'X"<b>'


def test_backpressure_not_read_says_so():
    for value in (None, {}, {"level": "unknown", "vertices": []}):
        root = parse(backpressure_svg(value))
        assert "Backpressure not read (the job is not RUNNING)." in texts(root)


def test_failures_within_the_window_are_marks_at_their_time_and_the_others_are_left_out():
    start = 1_700_000_000_000
    exceptions = [{"timestamp": start + 60_000, "name": "java.lang.RuntimeException", "task": "Map (1/2)"},
                  {"timestamp": start + 240_000, "name": "java.io.IOException", "task": None},
                  {"timestamp": start - 1, "name": "too old"}, {"timestamp": None, "name": "no time"}]
    root = parse(failure_timeline_svg(exceptions, start, start + 300_000))
    marks = [line for line in root.iter("{http://www.w3.org/2000/svg}line") if line.get("class") == "failure"]
    assert [int(m.get("data-timestamp")) for m in marks] == [start + 60_000, start + 240_000]
    xs = [float(m.get("x1")) for m in marks]
    left, width = 64, 640 - 64 - 16
    assert xs[0] == pytest.approx(left + width * 0.2, abs=0.1) and xs[1] == pytest.approx(left + width * 0.8, abs=0.1)
    assert "".join(marks[0].itertext()) == "22:14:20 UTC java.lang.RuntimeException in Map (1/2)"
    assert "2 failures from 22:13:20 UTC to 22:18:20 UTC" in texts(root)


def test_a_window_without_failures_is_an_empty_axis_that_says_so():
    root = parse(failure_timeline_svg([], 0, 300_000))
    assert "0 failures from 00:00:00 UTC to 00:05:00 UTC" in texts(root)
