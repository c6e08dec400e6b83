"""The benchmark's pure helpers (bench/): statistics, targets, the table, event plans.

No benchmark runs here: ``make bench`` does that.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest

from bench.__main__ import _baseline_env, _selected
from bench.events import QUANTITY_MAX, quantity
from bench.procs import role_of
from bench.report import Figure, ScenarioResult, format_value, render_table, to_json
from bench.scenarios import _burst_events
from bench.stats import Target, busiest_window, median, parse_iso, percentile, ratio, spread

# --- statistics -----------------------------------------------------------------------------


def test_percentile_interpolates_between_closest_ranks_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 99) == pytest.approx(3.97)
    assert percentile([7.0], 99) == 7.0


def test_percentile_ignores_input_order() -> None:
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_no_values_and_q_out_of_range(values: list[float], q: float) -> None:
    with pytest.raises(ValueError):
        percentile(values, q)


def test_median_skips_missing_values() -> None:
    assert median([3.0, None, 1.0, 2.0]) == 2.0
    assert median([None, None]) is None
    assert median([1.0, 2.0]) == 1.5


def test_ratio_is_none_without_a_usable_denominator() -> None:
    assert ratio(1.0, 4.0) == 0.25
    assert ratio(None, 4.0) is None
    assert ratio(1.0, None) is None
    assert ratio(1.0, 0.0) is None


def test_busiest_window_counts_the_fullest_half_open_minute() -> None:
    times = [0.0, 10.0, 59.9, 60.0, 61.0, 62.0, 200.0]
    # [0, 60) holds 3; [10, 70) holds 5 (10, 59.9, 60, 61, 62).
    assert busiest_window(times, 60.0) == 5
    assert busiest_window(reversed(times), 60.0) == 5
    assert busiest_window([], 60.0) == 0
    assert busiest_window([5.0, 5.0, 5.0], 1.0) == 3


def test_busiest_window_excludes_an_event_exactly_a_window_later() -> None:
    assert busiest_window([0.0, 60.0], 60.0) == 1


def test_parse_iso_reads_allegros_millisecond_timestamps() -> None:
    assert parse_iso("1970-01-01T00:01:00.500Z") == pytest.approx(60.5)
    assert parse_iso("1970-01-01T01:00:00+01:00") == 0.0


def test_spread_lists_the_runs() -> None:
    assert spread([1.0, 22.25, 333.0, 1716.4]) == "1 / 22.2 / 333 / 1,716"


# --- targets --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "threshold", "value", "met"),
    [
        (">=", 0.1, 0.1, True),
        (">=", 0.1, 0.09, False),
        ("<=", 0.02, 0.02, True),
        ("<=", 0.02, 0.5, False),
        ("<", 1.0, 1.0, False),
        ("<", 1.0, 0.4, True),
        (">", 0.0, 0.1, True),
    ],
)
def test_target_judges_values(op: str, threshold: float, value: float, met: bool) -> None:
    assert Target(op, threshold).met(value) is met


def test_target_without_a_value_is_undecided_and_reads_as_in_the_issue() -> None:
    assert Target(">=", 0.9).met(None) is None
    assert Target(">=", 0.9).text() == "≥ 0.9"
    assert Target("<", 150).text() == "< 150"
    with pytest.raises(ValueError):
        Target("==", 1.0)


# --- the table and the JSON -----------------------------------------------------------------


def test_format_value_keeps_three_significant_digits_and_separates_thousands() -> None:
    assert format_value(None) == "n/a"
    assert format_value(2412.0, "msg/s") == "2,412 msg/s"
    assert format_value(2412.6) == "2,413"
    assert format_value(35.24, "ev/s") == "35.2 ev/s"
    assert format_value(0.01462) == "0.0146"
    assert format_value(0.0) == "0"


def _results() -> list[ScenarioResult]:
    ceiling = ScenarioResult("ceiling", "dramatiq bench.noop -p 2 -t 8", duration_s=12.0)
    ceiling.add(Figure("ceiling", "no-op messages/s", 2400.0, "msg/s", 3))
    burst = ScenarioResult("burst", "one run")
    burst.add(Figure("rpe", "requests per event", 0.998, "", 1, Target("<=", 0.02)))
    burst.add(Figure("rss", "peak RSS", 67.4, "MB", 1, Target("<", 150), group="memory"))
    burst.notes.append("burst: 10,000 events")
    failed = ScenarioResult("latency", "failed", error="RuntimeError('boom')")
    return [ceiling, burst, failed]


def test_render_table_shows_figures_runs_targets_and_verdicts() -> None:
    text = render_table(_results(), header=["allegro-feed benchmark"])
    lines = text.splitlines()
    assert lines[0] == "allegro-feed benchmark"
    ceiling = next(line for line in lines if "no-op messages/s" in line)
    assert ceiling.split()[:2] == ["1", "ceiling"]
    assert "2,400 msg/s" in ceiling
    assert "3 (median)" in ceiling
    burst = next(line for line in lines if "requests per event" in line)
    assert burst.split()[:2] == ["3", "burst"]
    assert "1 (single)" in burst
    assert "≤ 0.02" in burst
    assert burst.rstrip().endswith("MISSED")
    memory = next(line for line in lines if "peak RSS" in line)
    assert memory.split()[:2] == ["6", "memory"]
    assert lines.index(memory) > lines.index(burst)
    assert memory.rstrip().endswith("met")
    assert any("FAILED" in line and "latency" in line for line in lines)
    assert "    ERROR: RuntimeError('boom')" in lines
    assert "    burst: 10,000 events" in lines
    assert "- ceiling: dramatiq bench.noop -p 2 -t 8 [12 s]" in lines


def test_render_table_right_aligns_the_values() -> None:
    lines = render_table(_results()).splitlines()
    ceiling = next(line for line in lines if "no-op messages/s" in line)
    burst = next(line for line in lines if "requests per event" in line)
    value_end = ceiling.index("2,400 msg/s") + len("2,400 msg/s")
    assert burst.index("0.998") + len("0.998") == value_end


def test_to_json_is_serialisable_and_keeps_verdicts() -> None:
    document = to_json(_results(), {"duration_s": 1.0})
    again = json.loads(json.dumps(document))
    figures = {f["key"]: f for s in again["scenarios"] for f in s["figures"]}
    assert figures["rpe"]["met"] is False
    assert figures["rpe"]["target"] == "≤ 0.02"
    assert figures["rss"]["met"] is True
    assert figures["rss"]["group"] == "memory"
    assert figures["ceiling"]["met"] is None
    assert again["scenarios"][2]["error"] == "RuntimeError('boom')"


# --- event plans, CLI, processes ------------------------------------------------------------


def test_burst_events_raise_versions_per_sku_and_know_the_final_quantities() -> None:
    skus = ["A", "B", "C"]
    events, final, newest = _burst_events(skus, 10)
    assert len(events) == 10
    assert [e["sku"] for e in events[:4]] == ["A", "B", "C", "A"]
    for sku in skus:
        mine = [e for e in events if e["sku"] == sku]
        versions = [e["version"] for e in mine]
        assert versions == sorted(versions) and len(set(versions)) == len(versions)
        assert versions[0] == 2  # version 1 is the seeding upsert
        assert final[sku] == mine[-1]["stock"]["available"]
        assert mine[-1]["event_id"] in newest
        levels = [5] + [e["stock"]["available"] for e in mine]  # 5: the seeded level
        assert all(a != b for a, b in itertools.pairwise(levels))
    # Zero would end the offer; small levels repeat across offers (one value per command).
    assert all(1 <= e["stock"]["available"] <= QUANTITY_MAX for e in events)
    assert len(newest) == len(skus)
    assert len({e["event_id"] for e in events}) == 10


def test_only_throughput_brings_the_ceiling_along_and_names_are_checked() -> None:
    assert _selected(["throughput"]) == ["ceiling", "throughput"]
    assert _selected(["memory"]) == ["burst"]
    assert _selected(None)[0] == "ceiling"
    with pytest.raises(SystemExit):
        _selected(["nope"])


def test_role_of_tells_the_worker_processes_apart() -> None:
    supervisor = "/venv/bin/python -m workers.cli worker --processes 2 --threads 8"
    master = "/venv/bin/python -m dramatiq workers.entrypoint --processes 2 --threads 8"
    assert role_of(supervisor, "bash") == "supervisor"
    assert role_of("/venv/bin/python -m workers.ingest", supervisor) == "ingest bridge"
    assert role_of("/venv/bin/python -m workers.batching", supervisor) == "batcher"
    assert role_of(master, supervisor) == "dramatiq master"
    assert role_of(master, master) == "actor process"


def test_baseline_env_is_given_or_the_workers_batching_switch_or_none() -> None:
    assert _baseline_env(["A=1", "B=x=y"], skip=False) == {"A": "1", "B": "x=y"}
    assert _baseline_env(["A=1"], skip=True) is None
    from workers.settings import Settings

    default = _baseline_env(None, skip=False)
    if "batching" in Settings.model_fields:
        assert default == {"ALLEGRO_FEED_BATCHING": "false"}
    else:
        assert default is None


def test_quantity_always_changes_the_level_and_never_ends_the_offer() -> None:
    rng = random.Random(0)
    previous = 5
    for _ in range(500):
        level = quantity(rng, previous)
        assert level != previous
        assert 1 <= level <= QUANTITY_MAX
        previous = level
