"""deploy/grafana: the apply dashboard loads (Grafana's dashboard model, as a JSON schema: no
Grafana is packaged where CI runs) and graphs only metrics apply writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema

from gordon_migrate.observe import metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "gordon-migrate-apply.json"
SCHEMA = ROOT / "tests" / "data" / "grafana-dashboard.schema.json"
METRIC = re.compile(r"\bgordon_[a-z_]+")


def load() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def test_the_dashboard_matches_grafanas_model() -> None:
    jsonschema.validate(load(), json.loads(SCHEMA.read_text()))


def test_panels_have_unique_ids_and_do_not_overlap() -> None:
    panels = load()["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_every_expression_names_only_metrics_apply_writes() -> None:
    dashboard = load()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    named = {name for expr in exprs for name in METRIC.findall(expr)}
    assert named, "no metric graphed"
    assert named <= set(metrics.NAMES), named - set(metrics.NAMES)
    # Every metric apply writes has a panel.
    assert set(metrics.NAMES) <= named, set(metrics.NAMES) - named
