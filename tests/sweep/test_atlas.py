"""The sweep atlas on synthetic results.csv files: files and figures written, the wins table, the Summary's numbers."""

import csv

import numpy as np
import pytest

from neuralinv.common.errors import InputError
from neuralinv.sweep import atlas
from neuralinv.sweep.columns import current_column
from reporting.images import assert_drawn

MODELS = {"2fc": 1, "3fc": 2}  # name -> hidden layers


def row(trial_id, n, rr, model, seed, *, steps=1000, status="ok", error="", node="node-a", radius=None, **metrics):
    """One results.csv row; metrics fill the measurement columns (empty when absent)."""
    r = {c: "" for c in atlas.COLUMNS}
    r.update(
        trial_id=trial_id,
        n=n,
        center="identity",
        radius=radius if radius is not None else rr / n,
        relative_radius=rr if rr is not None else "",
        model=model,
        depth=MODELS[model],
        width=8 * n * n,
        lr=1e-3,
        steps=steps,
        batch_size=128,
        schedule="cosine",
        seed=seed,
        status=status,
        error=error,
        node=node,
    )
    if status == "ok":
        r.update(metrics)
    return r


def synthetic(rng, *, ns=(2, 3), radii=(0.1, 0.5, 1.0), steps=(1000,), seeds=(0, 1, 2), relative=True):
    """A sweep where the networks are always slower than every classical method (so they never win on time), Taylor-1
    grows like the radius squared and the network's error is roughly flat: it beats Taylor-1 at large radii only."""
    rows = []
    for n in ns:
        for rr in radii:
            for model, depth in MODELS.items():
                for s in steps:
                    tid = f"n{n}-r{rr:g}-{model}-s{s}"
                    for seed in seeds:
                        noise = float(rng.uniform(0.9, 1.1))
                        t1 = 2e-3 * rr**2
                        rows.append(
                            row(
                                tid,
                                n,
                                rr if relative else None,
                                model,
                                seed,
                                steps=s,
                                radius=None if relative else rr / n,
                                node="node-a" if seed % 2 == 0 else "node-b",
                                mae=2e-4 * noise * (1000 / s) ** 0.5 / depth,
                                max_error=2e-3 * noise,
                                taylor1_mae=t1,
                                taylor2_mae=t1 * rr / 10,
                                ns1_mae=t1**2 * 100,
                                net_seconds_per_10k=0.05 * depth * noise,
                                taylor1_seconds_per_10k=0.004 * n,
                                taylor2_seconds_per_10k=0.008 * n,
                                ns1_seconds_per_10k=0.009 * n,
                                exact_seconds_per_10k=0.01 * n,
                                train_seconds=10.0 * noise,
                                final_loss=1e-3 * noise,
                            )
                        )
    return rows


def write_csv(path, rows, columns=None):
    """rows (keyed by today's columns or the old ns1_* names) as a results.csv with today's columns."""
    columns = columns or atlas.COLUMNS
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows({current_column(k): v for k, v in row.items()} for row in rows)


def test_old_column_names_read_as_todays(tmp_path):
    """A results.csv of an older version (ns1_mae, ns1_seconds_per_10k) reads as one with today's names."""
    rows = synthetic(np.random.default_rng(5), seeds=(0,))
    write_csv(tmp_path / "new.csv", rows)
    old = [c.replace("taylor1+ns1_", "ns1_") for c in atlas.COLUMNS]
    assert "ns1_mae" in old and "taylor1+ns1_mae" not in old
    with open(tmp_path / "old.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=old, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    assert atlas.read(tmp_path / "old.csv") == atlas.read(tmp_path / "new.csv")
    assert atlas.read(tmp_path / "new.csv")[0]["taylor1+ns1_mae"] == rows[0]["ns1_mae"]


def constructed(tid, n, rr, model, *, net, t1, t2, ns1, exact=1.0):
    """Three seeds whose medians are exactly the given (MAE, seconds) pairs (seed spread 0.9x, 1x, 1.1x)."""
    out = []
    for seed, k in zip((0, 1, 2), (0.9, 1.0, 1.1)):
        out.append(
            row(
                tid,
                n,
                rr,
                model,
                seed,
                mae=net[0] * k,
                max_error=net[0] * 10,
                taylor1_mae=t1[0] * k,
                taylor2_mae=t2[0] * k,
                ns1_mae=ns1[0] * k,
                net_seconds_per_10k=net[1] * k,
                taylor1_seconds_per_10k=t1[1] * k,
                taylor2_seconds_per_10k=t2[1] * k,
                ns1_seconds_per_10k=ns1[1] * k,
                exact_seconds_per_10k=exact * k,
                train_seconds=5.0,
                final_loss=1e-4,
            )
        )
    return out


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The synthetic sweep, one failed run, and two constructed trials at n = 4: "win" (the net is more accurate than
    Taylor-1 and faster than it) and "slow" (more accurate than Taylor-1 but slower than every classical method).
    The atlas is written once: (directory, rows, atlas.md's text)."""
    tmp_path = tmp_path_factory.mktemp("sweep")
    rows = synthetic(np.random.default_rng(0))
    rows.append(
        row("n3-r1-3fc-s1000", 3, 1.0, "3fc", 3, status="failed", error="CUDA out of memory\ntrace", node="node-b")
    )
    rows += constructed(
        "win", 4, 0.5, "2fc", net=(1e-5, 0.002), t1=(4e-5, 0.003), t2=(1e-6, 0.004), ns1=(1e-7, 0.005), exact=0.001
    )
    rows += constructed("slow", 4, 0.5, "3fc", net=(1e-5, 0.02), t1=(4e-5, 0.003), t2=(1e-6, 0.004), ns1=(1e-7, 0.005))
    write_csv(tmp_path / "results.csv", rows)
    md_path, html_path = atlas.write(tmp_path)
    assert (md_path, html_path) == (tmp_path / "atlas.md", tmp_path / "atlas.html")
    return tmp_path, rows, md_path.read_text()


def section(md, title):
    start = md.index(f"## {title}")
    end = md.find("\n## ", start + 1)
    return md[start : end if end > 0 else len(md)]


def test_files_written_and_figures_referenced(sweep):
    out, _, md = sweep
    page = (out / "atlas.html").read_text()
    for name in (atlas.HEATMAP, atlas.RADIUS_FIGURE, atlas.TIME_FIGURE):
        assert_drawn(out / name, min_width=800)  # 8.5 inches at 110 dpi: decoded, drawn, not blank
        assert f"]({name})" in md
    assert "data:image/png;base64," in page and 'src="atlas_' not in page  # embedded, nothing fetched
    assert "one step count" not in md and "same number of steps (1,000)" in md  # a single step count is said so
    assert not (out / atlas.STEPS_FIGURE).exists()
    # slopes fitted from the CSV: Taylor-1's MAE is 2e-3 rr^2, Taylor-2's 2e-4 rr^3, NS1's 4e-4 rr^4
    assert "is 2.00 (Taylor-1), 3.00 (Taylor-2), 4.00 (NS1), " in md
    for title in atlas.TITLES.values():
        assert f"## {title}" in md
    assert md.index("## Summary") < md.index(f"## {atlas.TITLES['heatmap']}")


def test_wins_table(sweep):
    out, _, md = sweep
    found = atlas.wins(atlas.trials(atlas.read(out / "results.csv")))
    assert [w["trial"].trial_id for w in found] == ["win"]
    w = found[0]
    assert (
        w["against"]["taylor1"]["wins"]
        and not w["against"]["taylor2"]["wins"]
        and not w["against"]["taylor1+ns1"]["wins"]
    )
    assert w["against"]["taylor1"]["mae_ratio"] == pytest.approx(0.25)
    assert w["against"]["taylor1"]["time_ratio"] == pytest.approx(2 / 3)
    assert w["best_within"] is None  # every classical method is slower than this net
    assert w["exact_no_slower"]  # but the exact inverse is faster
    wins = section(md, atlas.TITLES["wins"])
    lines = [line for line in wins.splitlines() if line.startswith("| 4 ")]
    assert len(lines) == 1 and "| 2fc |" in lines[0]  # "slow" (3fc) is more accurate but slower: no row
    assert "**yes**: MAE 0.25x, time 0.67x" in lines[0]
    assert "Nowhere" not in wins


def test_win_needs_lower_mae_and_no_more_time(tmp_path):
    rows = (
        constructed(
            "equal-time", 2, 0.1, "2fc", net=(1e-5, 0.003), t1=(4e-5, 0.003), t2=(1e-6, 0.001), ns1=(1e-7, 0.001)
        )  # equal time counts
        + constructed(
            "less-accurate", 2, 0.5, "2fc", net=(5e-5, 0.001), t1=(4e-5, 0.003), t2=(6e-5, 0.004), ns1=(1e-7, 0.005)
        )  # beats Taylor-2 only
        + constructed("slower", 2, 1.0, "2fc", net=(1e-9, 0.01), t1=(4e-5, 0.003), t2=(1e-6, 0.004), ns1=(1e-7, 0.005))
    )
    write_csv(tmp_path / "results.csv", rows)
    found = {w["trial"].trial_id: w for w in atlas.wins(atlas.trials(atlas.read(tmp_path / "results.csv")))}
    assert set(found) == {"equal-time", "less-accurate"}
    assert [m for m, c in found["equal-time"]["against"].items() if c["wins"]] == ["taylor1"]
    assert [m for m, c in found["less-accurate"]["against"].items() if c["wins"]] == ["taylor2"]
    assert found["equal-time"]["best_within"] == ("taylor1+ns1", pytest.approx(1e-7), pytest.approx(0.001))
    md = atlas.build(tmp_path).markdown()
    assert (
        "of 3 successful trials, a network beats Taylor-1 in 1 trial (2fc: n = 2 at relative radius 0.1); "
        "Taylor-2 in 1 trial (2fc: n = 2 at relative radius 0.5); NS1 in 0 trials."
    ) in section(md, "Summary")


def test_nowhere_sentence_when_no_network_wins(tmp_path):
    write_csv(tmp_path / "results.csv", synthetic(np.random.default_rng(1), ns=(2,), radii=(0.5, 1.0), seeds=(0, 1)))
    md, _ = atlas.write(tmp_path)
    text = md.read_text()
    assert "**Nowhere:** no network beats any classical method" in section(text, atlas.TITLES["wins"])
    assert "nowhere: no network is both more accurate" in section(text, "Summary")


def test_summary_numbers_match_csv(sweep):
    _, rows, md = sweep
    summary = section(md, "Summary")
    trials = len({r["trial_id"] for r in rows})
    failed = sum(r["status"] != "ok" for r in rows)
    assert f"{trials} trials x seeds = {len(rows)} runs (seeds 0, 1, 2, 3)" in summary
    assert f"{len(rows) - failed} runs ok, {failed} failed" in summary
    assert "1 x `CUDA out of memory`" in summary  # grouped by the error's first line
    nodes = {name: sum(r["node"] == name for r in rows) for name in ("node-a", "node-b")}
    assert f"`node-a` ({nodes['node-a']} runs)" in summary and f"`node-b` ({nodes['node-b']} runs)" in summary
    # Taylor-1 MAE is 2e-3 rr^2: at rr = 1 and 0.5 every net is better, at rr = 0.1 none (net ~2e-4 / depth); plus n = 4
    assert "more accurate than Taylor-1 in 10 of 14 (n, relative radius, model) cells" in summary
    assert (
        f"of {trials} successful trials, a network beats Taylor-1 in 1 trial (2fc: n = 4 at relative radius 0.5); "
        "Taylor-2 in 0 trials; NS1 in 0 trials; so no network beats Taylor-2 or NS1"
    ) in summary
    # the exact inverse (0.01 n s) is faster than every synthetic net (0.05 depth s), slower than "slow"'s 0.02 s;
    # every trial has a successful seed (the failed run is one seed of four)
    assert f"at least as fast as the network in {trials - 1} of {trials} successful trials" in summary


def test_failed_rows_only(tmp_path):
    rows = [row(f"t{i}", 2, 0.5, "2fc", seed, status="failed", error="boom") for i in range(2) for seed in (0, 1)]
    write_csv(tmp_path / "results.csv", rows)
    md, page = atlas.write(tmp_path)
    text = md.read_text()
    assert "0 runs ok, 4 failed" in text and "4 x `boom`" in text and "No run succeeded" in text
    assert text.count(atlas.NOTHING) == 3  # steps, radius and time: nothing to plot
    assert (tmp_path / atlas.HEATMAP).is_file() and f"]({atlas.HEATMAP})" in text
    assert not any((tmp_path / name).exists() for name in (atlas.STEPS_FIGURE, atlas.RADIUS_FIGURE, atlas.TIME_FIGURE))


def test_single_n_single_radius_and_absolute_radii(tmp_path):
    write_csv(tmp_path / "results.csv", synthetic(np.random.default_rng(2), ns=(3,), radii=(0.5,), seeds=(0,)))
    text = atlas.write(tmp_path)[0].read_text()
    assert "single n and a single relative radius" in text and not (tmp_path / atlas.RADIUS_FIGURE).exists()

    write_csv(tmp_path / "results.csv", synthetic(np.random.default_rng(3), ns=(2, 3), radii=(0.5,), seeds=(0,)))
    text = atlas.write(tmp_path)[0].read_text()
    assert "single relative radius, 0.5; the figure shows MAE against n" in text

    write_csv(
        tmp_path / "results.csv",
        synthetic(np.random.default_rng(4), relative=False, ns=(2,), seeds=(0,), steps=(500, 2000)),
    )
    text = atlas.write(tmp_path)[0].read_text()
    assert "results.csv gives no relative radius for any trial" in text and "| radius c |" in text
    assert f"]({atlas.STEPS_FIGURE})" in text
    assert_drawn(tmp_path / atlas.STEPS_FIGURE, min_width=800)


def test_bad_input(tmp_path):
    with pytest.raises(InputError, match="no results.csv"):
        atlas.write(tmp_path)
    write_csv(
        tmp_path / "results.csv",
        synthetic(np.random.default_rng(5), seeds=(0,)),
        columns=[c for c in atlas.COLUMNS if c not in ("taylor1+ns1_mae", "node")],
    )
    with pytest.raises(InputError, match="missing column\\(s\\) taylor1\\+ns1_mae, node") as err:
        atlas.write(tmp_path)
    assert "\n" not in str(err.value)
    rows = synthetic(np.random.default_rng(5), seeds=(0,))
    rows[0]["mae"] = "abc"
    write_csv(tmp_path / "results.csv", rows)
    with pytest.raises(InputError, match="line 2, column mae: 'abc' is not a number"):
        atlas.write(tmp_path)
