"""irsjax.figures: series a run did not compute (all NaN) get no legend entry and no panel; long legends go
below their panel; a log axis never draws y <= 0."""
import numpy as np

from irsjax import figures


def _results():
    nan = float("nan")
    mc = lambda m, panel, name: {"mean": m, "ci_low": [v * 0.9 for v in m], "ci_high": [v * 1.1 for v in m],  # noqa: E731
                                 "kind": "mean", "panel": panel, "analytical": False, "description": name}
    return {"scenario": "demo", "seed": 0, "samples": 10,
            "x": {"name": "N", "values": [16, 32, 48], "label": "N"},
            "panels": {"sop": {"ylabel": "SOP", "yscale": "log"}, "ao": {"ylabel": "AO iterations"}},
            "series": {"a": mc([0.1, 0.01, 0.0], "sop", "computed"),
                       "b": mc([nan, nan, nan], "sop", "second configuration (not set)"),
                       "c": mc([nan, nan, nan], "ao", "AO iterations (not run)")}}


def test_series_without_data_get_no_legend_and_no_panel():
    fig = figures.draw(_results())
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 1  # the 'ao' panel has only NaN series
    assert [t.get_text() for t in visible[0].get_legend().get_texts()] == ["computed"]
    assert figures.has_data(_results()["series"]["a"]) and not figures.has_data(_results()["series"]["b"])


def test_log_axis_masks_non_positive_values():
    ax = [a for a in figures.draw(_results()).axes if a.get_visible()][0]
    y = np.asarray(ax.get_lines()[0].get_ydata(), float)
    assert np.isnan(y[2]) and np.all(y[:2] > 0)  # the 0 at N = 48 is not drawn at the bottom of the axis


def test_long_legends_go_below_the_panel():
    res = _results()
    res["series"]["a"]["description"] = "a very long series name, first configuration (M, N), gradient way"
    leg = [a for a in figures.draw(res).axes if a.get_visible()][0].get_legend()
    assert leg._loc == 9  # 'upper center', anchored below the axes
    res["series"]["a"]["description"] = "short"
    leg = [a for a in figures.draw(res).axes if a.get_visible()][0].get_legend()
    assert leg._loc == 0  # 'best', inside


def test_a_phrase_every_legend_entry_shares_goes_to_the_panel_title():
    res = _results()
    res["series"]["a"]["description"] = "MM-SOP, first configuration (M, N)"
    res["series"]["b"] = dict(res["series"]["a"], description="MM-SINR, first configuration (M, N)")
    ax = [a for a in figures.draw(res).axes if a.get_visible()][0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["MM-SOP", "MM-SINR"]
    assert ax.get_title() == "first configuration (M, N)"
    res["series"]["b"]["description"] = "MM-SINR, second configuration (M_b, N_b)"  # mixed: names kept whole
    ax = [a for a in figures.draw(res).axes if a.get_visible()][0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "MM-SOP, first configuration (M, N)", "MM-SINR, second configuration (M_b, N_b)"]
    assert ax.get_title() == ""
