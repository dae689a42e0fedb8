"""The p x p maps drawn as one image (ui/raster.py), and Basics' two maps read pixel by pixel."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from page_testing import chart_with, open_page
from PIL import Image

from ui.raster import IMAGE_PX, cells_data_url, hex_rgb, png_bytes, sinebow


def _image(url: str) -> np.ndarray:
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))).convert("RGB"))


def test_png_round_trips():
    rgb = np.random.default_rng(0).integers(0, 256, size=(7, 11, 3), dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(rgb))).convert("RGB"))
    np.testing.assert_array_equal(back, rgb)
    with pytest.raises(ValueError, match="RGB"):
        png_bytes(np.zeros((4, 4), dtype=np.uint8))


@pytest.mark.parametrize(("p", "cell"), [(7, round(IMAGE_PX / 7)), (113, 4), (1009, 1)])
def test_each_cell_is_a_square_of_pixels_about_image_px_across(p, cell):
    rgb = np.zeros((p, p, 3), dtype=np.uint8)
    rgb[1, 2] = (255, 0, 0)
    img = _image(cells_data_url(rgb))
    assert img.shape == (p * cell, p * cell, 3)
    np.testing.assert_array_equal(
        img[cell : 2 * cell, 2 * cell : 3 * cell], np.full((cell, cell, 3), (255, 0, 0))
    )
    assert img[:, : 2 * cell].max() == 0  # nothing leaks into the neighbouring cells


def test_sinebow_matches_d3():
    # d3.interpolateSinebow(0) is rgb(255, 64, 64); it is cyclic, so t = 1 is the same colour.
    np.testing.assert_array_equal(sinebow(np.array([0.0, 1.0])), [[255, 64, 64], [255, 64, 64]])
    np.testing.assert_array_equal(sinebow(np.array(0.5)), [0, 191, 191])


def _cells(chart) -> tuple[np.ndarray, int]:
    """The map's image and its pixels per cell (the image spans cells 0..p-1 on both axes)."""
    layer = chart.spec["layer"][0]
    img = _image(layer["data"]["values"][0]["url"])
    p = int(layer["encoding"]["x2"]["datum"] + 0.5)
    return img, img.shape[0] // p


def _legend(chart) -> dict:
    """The colour legend's {name: colour} (its invisible layer's scale)."""
    scale = chart.spec["layer"][1]["encoding"]["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"], strict=True))


def test_basics_maps_colour_every_pair_by_its_answer_and_its_split(env):
    from page_testing import app_run, charts

    run = app_run(env)
    p = run.p
    page = open_page(None)
    answers, k = _cells(chart_with(page, "c = (a + b) mod p"))
    (split_chart,) = [c for c in charts(page) if c.spec.get("layer") and "split" in str(c.spec["layer"][1])]
    split, k2 = _cells(split_chart)
    legend = _legend(split_chart)
    wrong = run.logits.argmax(axis=1) != run.labels
    assert ("model wrong" in legend) == bool(wrong.any())  # the legend names only what is drawn
    assert k == k2 == 4
    for a, b in np.random.default_rng(1).integers(0, p, size=(40, 2)):
        # a cell's colour is its answer's on the cyclic scale the legend draws...
        np.testing.assert_array_equal(answers[a * k + 1, b * k + 1], sinebow(((a + b) % p) / p))
        # ...and on the split map the legend's colour for its split (or for a wrong answer)
        n = a * p + b
        name = "model wrong" if wrong[n] else ("train" if run.train_mask[n] else "test")
        np.testing.assert_array_equal(split[a * k + 1, b * k + 1], hex_rgb(legend[name]))


@pytest.mark.parametrize("p", [7, 31])
def test_the_split_maps_hover_values_decode_to_every_pairs_split_and_answer(p):
    """What the tooltip reads, decoded the way its Vega expressions do: the split from the
    base-32 bits and the model's answer from the sparse object of its misses (a tiny
    untrained model misses many pairs, so both branches are read)."""
    from tiny_models import make_checkpoint

    from lens.run import run_model
    from ui.figures.basics import bits_base32, split_grid_spec

    run = run_model(make_checkpoint(p, seed=3), engine="numpy")
    params = {q["name"]: q["value"] for q in split_grid_spec(run)["params"]}
    bits, misses = params["train_bits"], params["model_wrong"]
    assert bits == bits_base32(run.train_mask) and len(bits) == -(-p * p // 5)
    answers = run.logits.argmax(axis=1)
    assert 0 < len(misses) < p * p
    for n in range(p * p):
        a, b = divmod(n, p)
        train = (int(bits[n // 5], 32) >> (n % 5)) & 1
        assert train == run.train_mask[n]
        says = misses.get(str(n), (a + b) % p)
        assert says == answers[n]
        assert (str(n) in misses) == (answers[n] != (a + b) % p)
