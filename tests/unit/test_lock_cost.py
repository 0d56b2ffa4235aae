"""The lock-hold model (rehearse/cost.py): sizes per kind of work, the range around the central
estimate, the budget comparison, the units printed, the pinned throughput's round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from gordon_migrate.core.errors import ConfigError
from gordon_migrate.rehearse import cost
from gordon_migrate.rehearse.model import MODES

MB = 2**20
THROUGHPUT = cost.Throughput(
    rewrite_bps=50 * MB, scan_bps=500 * MB, server_major=18, measured_at="2026-12-06T00:00:00Z"
)


def test_a_rewrite_counts_the_indexes_a_scan_does_not() -> None:
    assert cost.sized("rewrite", heap=100, indexes=30, toast=7) == 137
    assert cost.sized("scan", heap=100, indexes=30, toast=7) == 107


def test_the_prediction_is_a_range_around_the_central_estimate() -> None:
    rewrite = cost.predict("rewrite", 100 * MB, THROUGHPUT)
    assert rewrite.central_s == pytest.approx(2.0)
    assert (rewrite.low_s, rewrite.high_s) == pytest.approx((1.0, 4.0))
    scan = cost.predict("scan", 100 * MB, THROUGHPUT)
    assert scan.central_s == pytest.approx(0.2)
    assert rewrite.shown == "1.0 s..4.0 s (central 2.0 s)"
    assert scan.shown == "100 ms..400 ms (central 200 ms)"


def test_the_budget_is_compared_with_the_central_estimate() -> None:
    rewrite = cost.predict("rewrite", 100 * MB, THROUGHPUT)  # 2 s, up to 4 s
    assert rewrite.over(1000)
    assert not rewrite.over(2000)
    assert not rewrite.over(3000), "the range's top is shown, not gated on"


def test_blocking_modes_start_at_share() -> None:
    assert [m for m in MODES if cost.blocking(m)] == [
        "SHARE",
        "SHARE ROW EXCLUSIVE",
        "EXCLUSIVE",
        "ACCESS EXCLUSIVE",
    ]
    assert not cost.blocking("AccessExclusiveLock"), "pg_locks' spelling is converted first"


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (2048, "2.0 kB"),
        (150 * 1024, "150 kB"),
        (int(12.5 * MB), "12.5 MB"),
        (3 * 1024 * MB, "3.0 GB"),
        (2048 * 1024 * MB, "2048 GB"),
    ],
)
def test_bytes_are_shown_in_human_units(n: int, shown: str) -> None:
    assert cost.format_bytes(n) == shown


@pytest.mark.parametrize(
    ("s", "shown"),
    [(0.04, "40 ms"), (1.5, "1.5 s"), (12.4, "12 s"), (192, "3.2 min"), (5040, "1.4 h")],
)
def test_seconds_are_shown_in_human_units(s: float, shown: str) -> None:
    assert cost.format_seconds(s) == shown


def test_the_pinned_throughput_round_trips(tmp_path: Path) -> None:
    path = tmp_path / cost.FILE
    path.write_text(cost.render(THROUGHPUT), encoding="utf-8")
    assert cost.load(path) == THROUGHPUT
    with_build = cost.Throughput(
        rewrite_bps=1, scan_bps=2, server_major=18, measured_at="2026-12-06T00:00:00Z", build_bps=3
    )
    path.write_text(cost.render(with_build), encoding="utf-8")
    assert cost.load(path) == with_build
    assert cost.load(tmp_path / "missing.json") is None
    path.write_text('{"fixture": "something else"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a measured throughput"):
        cost.load(path)


def test_the_bundled_throughput_was_measured() -> None:
    found = cost.load()
    assert found is not None
    assert found.rewrite_bps > 0 and found.scan_bps > 0
    assert found.build_bps is not None and found.build_bps > 0
    assert found.server_major >= 15


def test_an_index_build_has_a_throughput_of_its_own() -> None:
    """A build reads what a scan reads, then sorts the keys and writes the index; a file
    measured before builds were predicts it as a scan."""
    assert cost.sized("build", heap=100, indexes=30, toast=7) == 107
    with_build = cost.Throughput(
        rewrite_bps=50 * MB,
        scan_bps=500 * MB,
        server_major=18,
        measured_at="2026-12-06T00:00:00Z",
        build_bps=100 * MB,
    )
    assert cost.predict("build", 100 * MB, with_build).central_s == pytest.approx(1.0)
    assert cost.predict("build", 100 * MB, THROUGHPUT).central_s == pytest.approx(0.2)
