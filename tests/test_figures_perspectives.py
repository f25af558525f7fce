"""Figures for guidance, spectra and the copy check: traces, axes and the data they carry."""
import numpy as np
import pytest

from explainer.lessons import figures
from explainer.core import guidance, spectral
from explainer.core import particles as sp


def test_guidance_field_figure():
    mix = guidance.three_classes()
    pts = sp.field_points(4.0)
    field = guidance.guided_score(mix, pts, 1, 3.0, 0.5)
    density = guidance.sharpened_density_grid(mix, 1, 3.0, 0.5, extent=4.0)
    data, labels = guidance.sample(mix, 90, seed=0)
    ends = np.zeros((7, 2))
    fig = figures.guidance_field_figure(pts, field, density, ends, data, labels, mix.names, 1, extent=4.0,
                                        title="T")
    names = [t.name for t in fig.data]
    assert names[0] == "sharpened density" and "guided score" in names
    assert "data of class B (asked for)" in names and "data of class A" in names
    assert names[-1] == "7 guided particles (end)" and len(fig.data[-1].x) == 7
    per_class = {t.name: len(t.x) for t in fig.data if t.name and t.name.startswith("data of class")}
    assert sum(per_class.values()) == 90
    assert list(fig.layout.xaxis.range) == [-4.0, 4.0] and fig.layout.title.text == "T"


def test_guidance_sweep_figure_axes_and_marks():
    fig = figures.guidance_sweep_figure([0, 1, 3], [3.0, 2.0, 1.0], [0.3, 0.8, 0.99], current=3.0,
                                        diversity_ref=2.0, extra={"name": "target", "y": [3, 2.2, 1.5]})
    div, extra, conf = fig.data
    assert list(div.y) == [3.0, 2.0, 1.0] and extra.name == "target" and extra.line.dash == "dot"
    assert conf.yaxis == "y2" and list(conf.y) == pytest.approx([30.0, 80.0, 99.0])
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.yaxis2.side == "right"
    shapes = fig.layout.shapes
    assert any(s.x0 == 3.0 and s.x1 == 3.0 for s in shapes) and any(s.y0 == 2.0 and s.y1 == 2.0 for s in shapes)
    assert len(figures.guidance_sweep_figure([1, 2], [1, 1], [0.5, 0.5]).data) == 2


def test_spectra_over_steps_figure():
    rng = np.random.default_rng(0)
    freqs, spectra = spectral.radial_power_spectra(rng.standard_normal((5, 28, 28)))
    fig = figures.spectra_over_steps_figure(freqs, spectra, [f"step {k}" for k in range(5)], spectra[-1], title="S")
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert len(fig.data) == 6 and fig.data[-1].name == "final image" and fig.data[-1].line.dash == "dash"
    assert [t.showlegend for t in fig.data[:5]] == [True, False, False, False, True]
    assert fig.data[0].line.color != fig.data[4].line.color  # dark to bright
    np.testing.assert_allclose(fig.data[2].y, spectra[2])
    with pytest.raises(ValueError):
        figures.spectra_over_steps_figure(freqs, spectra, ["one label"])


def test_settle_and_nearest_distance_figures():
    fig = figures.settle_figure(np.array([0.1, 0.2]), np.array([3, 7]), 9)
    assert list(fig.data[0].y) == [3, 7] and fig.layout.xaxis.type == "log"
    assert list(fig.layout.yaxis.range) == [-0.5, 9.5]
    ref = np.linspace(3, 15, 500)
    fig = figures.nearest_distance_figure(ref, np.array([9.0, 11.0]), ["a", "b"])
    bars, marks = fig.data
    assert bars.type == "bar" and np.sum(np.asarray(bars.y) * np.asarray(bars.width)) == pytest.approx(1.0)
    assert list(marks.x) == [9.0, 11.0] and list(marks.text) == ["a", "b"]
    assert fig.layout.shapes[0].x0 == pytest.approx(np.median(ref))
