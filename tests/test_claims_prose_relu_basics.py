"""The ReLU and Basics pages state their claims as the loaded model's verdicts say.

Each page is opened through AppTest on a model where a claim holds and on one where it
fails, and must show the matching sentence (the claim's holding or failing statement, with
its number), its card, and the page's own prose around it that follows the same verdict:

- the embedded default model (assets/default-run): every ReLU claim holds, the embedding is
  sparse (98.7%), float32 is off (0.58 on train);
- the published model (../shared/reference, skipped when absent): the embedding is not
  sparse (92.7%; frequency 31, the harmonic 2 x 41, holds 5.5%);
- a hand-built Clock with a loud decoy frequency nothing reads (tests/claim_models.py): its
  key frequency is the decoy, so the products at it carry nothing, keeping them alone is not
  enough, the seed's edits along b remove the frequencies it does use, and W_E is a third
  off-key;
- a hand-built Pizza, whose loss (about 0.3) float32 computes to within 10%.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from claim_models import checkpoint, wave_model
from page_testing import app_run, open_page

from lens.paths import DEFAULT_RUN

P, FREQS = 13, [2, 5]
HAND_BUILT = {
    "decoy_clock": dict(scale=3.0, mlp="product", attention="split", decoy=4),
    "pizza": dict(scale=3.0),
}
RELU_CLAIMS = ("relu-harmonics-unneeded", "relu-products-essential", "relu-products-sufficient")


@contextmanager
def loaded(path: Path | None):
    """``LENS_CHECKPOINT`` set to ``path`` (None: unset, the embedded default) meanwhile."""
    old = os.environ.pop("LENS_CHECKPOINT", None)
    if path is not None:
        os.environ["LENS_CHECKPOINT"] = str(path)
    try:
        yield
    finally:
        os.environ.pop("LENS_CHECKPOINT", None)
        if old is not None:
            os.environ["LENS_CHECKPOINT"] = old


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """The hand-built models as run directories, so the app can load them."""
    from lens.checkpoint import save_run

    out = {}
    for name, kw in HAND_BUILT.items():
        ck = checkpoint(wave_model(P, FREQS, **kw), name)
        out[name] = save_run(tmp_path_factory.mktemp(name) / name, ck.weights, ck.split)
    return out


def measured(path: Path | None, claim_id: str):
    """The claim on the run the app caches for ``path`` (None: the default model)."""
    from lens.claims import CLAIMS, evaluate

    return evaluate(CLAIMS[claim_id], app_run(path or DEFAULT_RUN))


def page_at(path: Path | None, page: str | None):
    with loaded(path):
        at = open_page(page)
    assert not at.exception, at.exception
    return at


def texts(at) -> list[str]:
    return [m.value for m in at.markdown]


def prose(at) -> str:
    return " ".join(" ".join(t.split()) for t in texts(at))


def assert_stated(at, result, holds: bool) -> None:
    """The claim's sentence for this verdict is on the page, whole, with its card."""
    assert result.holds is holds, (result.id, result.value, result.threshold)
    from ui.theme import math_names

    # as the page writes it: its weight names typeset as math (ui.claims.say)
    assert math_names(result.statement) in texts(at), (result.id, result.statement)
    cards = [c.value for c in at.caption if f"**`{result.id}`**" in c.value]
    assert len(cards) == 1, (result.id, [c.value for c in at.caption])
    assert (":green-badge[holds]" if holds else ":orange-badge[fails]") in cards[0]
    assert result.method in cards[0]


# ---------------------------------------------------------------- ReLU


@pytest.fixture(scope="module")
def relu_default():
    return page_at(None, "pages/relu.py")


def test_relu_on_the_default_model_states_that_the_products_are_the_signal(relu_default):
    at = relu_default
    for claim_id in (*RELU_CLAIMS, "float32-loss"):
        assert_stated(at, measured(None, claim_id), holds=True)
    essential = measured(None, "relu-products-essential")
    assert essential.statement.startswith("The ReLU's products are the signal")
    assert essential.value > 5  # 5.11: worse than ln 113 = 4.73
    assert essential.details["chance_loss"] == pytest.approx(math.log(113))
    assert essential.details["worse_than_chance"] is True
    text = prose(at)
    assert "supports the seed's reading" in text
    assert "the ReLU does multiply, as a mixer" in text
    assert "worse than a uniform guess over the answers (ln p = 4.73)" in text
    assert "does not contradict" not in text and "It does not multiply" not in text
    assert "factor of two" not in text


def test_relu_on_a_decoy_model_says_where_the_claims_fail(saved):
    at = page_at(saved["decoy_clock"], "pages/relu.py")
    for claim_id in RELU_CLAIMS:
        assert_stated(at, measured(saved["decoy_clock"], claim_id), holds=False)
    essential = measured(saved["decoy_clock"], "relu-products-essential")
    assert essential.statement.startswith("Removing the (±f, ±f) product components")
    assert essential.details["worse_than_chance"] is False  # 0.005, far below ln 13
    text = prose(at)
    assert "even the seed's own test finds" in text
    assert "does not contradict the seed's reading" in text
    assert "the ReLU does multiply" not in text and "supports the seed's reading" not in text
    assert "The ReLU's products are the signal" not in text


def test_relu_on_a_soft_model_says_float32_would_do(saved):
    at = page_at(saved["pizza"], "pages/relu.py")
    result = measured(saved["pizza"], "float32-loss")
    assert_stated(at, result, holds=False)
    assert "within 10% for this model" in result.statement


# ---------------------------------------------------------------- Basics


def test_basics_on_the_default_model_states_a_sparse_embedding():
    at = page_at(None, None)
    sparse = measured(None, "embedding-sparse")
    assert_stated(at, sparse, holds=True)
    assert sparse.statement.startswith("The embedding is nearly pure key frequencies: 98.7%")
    f32 = measured(None, "float32-loss")
    assert_stated(at, f32, holds=True)
    assert "0.58 times its float64 value" in f32.statement
    text = prose(at)
    assert "shows the key frequencies and little else" in text
    assert "factor of two" not in text and "all the same" not in text


def test_basics_on_the_published_model_names_the_harmonic_it_holds(reference_path):
    at = page_at(reference_path, None)
    sparse = measured(reference_path, "embedding-sparse")
    assert_stated(at, sparse, holds=False)
    assert sparse.details["strongest_other"]["frequency"] == 31
    assert sparse.details["strongest_other"]["harmonic_of"] == 41
    assert "92.7%" in sparse.statement and "frequency 31 (the harmonic 2 × 41) holds 5.5%" in sparse.statement
    text = prose(at)
    assert "a clear bar at **31**, the harmonic 2 × 41" in text
    assert "nearly pure" not in text and "little else" not in text
    assert_stated(at, measured(reference_path, "float32-loss"), holds=True)
    assert "0.52 times its float64 value" in measured(reference_path, "float32-loss").statement


def test_basics_on_hand_built_models_says_where_the_claims_fail(saved):
    at = page_at(saved["decoy_clock"], None)
    sparse = measured(saved["decoy_clock"], "embedding-sparse")
    assert_stated(at, sparse, holds=False)
    other = sparse.details["strongest_other"]["frequency"]
    assert other in FREQS  # the decoy (4) is the key frequency; the real waves are "other"
    assert f"a clear bar at **{other}**" in prose(at)

    at = page_at(saved["pizza"], None)
    assert_stated(at, measured(saved["pizza"], "embedding-sparse"), holds=True)
    assert_stated(at, measured(saved["pizza"], "float32-loss"), holds=False)
    assert "computed in float64 all the same" in prose(at)
