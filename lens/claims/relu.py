"""The ReLU: are its a-wave x b-wave products the signal, and are its harmonics needed?

Every loss is the float64 test loss on the checkpoint's own split, with the edited post-ReLU
activations read out through W_out and W_U (:mod:`lens.ablation`).
"""

from __future__ import annotations

import math

from ..ablation import ablations, accuracies, losses, product_ablations
from ..analysis import key_frequencies
from ..run import Run
from .core import Claim, Measured, share

# "Far above the model's own": at least 1 nat (a mean probability of at most 1/e on the
# right answer: the model can no longer do the task) and 10x the model's own test loss
# (so a model that never did the task cannot pass by staying bad).
ESSENTIAL_FLOOR_NATS = 1.0
ESSENTIAL_FACTOR = 10.0
# "Close to the model's own": at most 10x its test loss (losses near 1e-7 move by factors
# of a few between runs of the same recipe; 10x is one order of magnitude).
SUFFICIENT_FACTOR = 10.0


def _product_ablation(run: Run, name: str) -> tuple[dict, dict]:
    """The model's own losses and accuracies, and one product ablation's."""
    own = {"loss": losses(run), "accuracy": accuracies(run)}
    return own, product_ablations(run, key_frequencies(run), names=[name])[name]


def products_removed(run: Run) -> Measured:
    """Test loss with the (+-f, +-f) components of the key frequencies removed from the
    post-ReLU activations' 2-D spectrum over (a, b) (:func:`lens.ablation.product_ablations`).
    ``details`` also says whether that loss is above ln p, a uniform guess's."""
    own, without = _product_ablation(run, "without_products")
    value = without["loss"]["test"]
    threshold = max(ESSENTIAL_FLOOR_NATS, ESSENTIAL_FACTOR * own["loss"]["test"])
    chance = math.log(run.p)  # a uniform guess over the p answers
    details = {
        "own": own,
        "without_products": without,
        "key_frequencies": key_frequencies(run),
        "chance_loss": chance,
        "worse_than_chance": bool(value > chance),
    }
    fields = {"own": own["loss"]["test"], "accuracy": without["accuracy"]["test"]}
    return Measured(value, details, fields, threshold=threshold)


def products_kept(run: Run) -> Measured:
    """Test loss keeping only the constant, the one-axis parts (fa = 0 or fb = 0) and the
    key-frequency products (+-f, +-f) of the post-ReLU activations."""
    own, only = _product_ablation(run, "only_products")
    details = {"own": own, "only_products": only, "key_frequencies": key_frequencies(run)}
    fields = {"own": own["loss"]["test"], "accuracy": only["accuracy"]["test"]}
    return Measured(only["loss"]["test"], details, fields, threshold=SUFFICIENT_FACTOR * own["loss"]["test"])


def harmonics_removed(run: Run) -> Measured:
    """The seed's two ablations (:func:`lens.ablation.ablations`): the sum and difference
    frequencies of the key frequencies removed along b, and every non-key frequency removed
    along b. The value is the larger of their test losses over the unedited one's."""
    abl = ablations(run, key_frequencies(run))
    own = abl["regular"]["test"]
    ratios = {k: share(abl[k]["test"], own) for k in ("without_sum_difference", "only_key_frequencies")}
    details = {"losses": abl, "ratio_to_own": ratios}
    fields = {
        "own": own,
        "sd_loss": abl["without_sum_difference"]["test"],
        "only_loss": abl["only_key_frequencies"]["test"],
    }
    return Measured(max(ratios.values()), details, fields)


CLAIMS = [
    Claim(
        id="relu-products-essential",
        section="relu",
        measure=products_removed,
        threshold=ESSENTIAL_FLOOR_NATS,
        direction="at_least",
        statement=(
            "The ReLU's products are the signal: removing the (±f, ±f) components at the key "
            "frequencies from its output raises the test loss from {own:.2g} to {value:.2f} and "
            "accuracy falls to {accuracy:.1%}."
        ),
        fails_statement=(
            "Removing the (±f, ±f) product components at the key frequencies from the ReLU's "
            "output leaves the test loss at {value:.2g} (the model's own: {own:.2g}; accuracy "
            "{accuracy:.1%}), below {threshold:.2g}: this model does not need them."
        ),
        method=(
            "2-D DFT over (a, b) of the post-ReLU activations, the (±f, ±f) bins of the key "
            "frequencies zeroed, read out through W_out and W_U; float64 test loss."
        ),
    ),
    Claim(
        id="relu-products-sufficient",
        section="relu",
        measure=products_kept,
        threshold=0.0,  # set per model: SUFFICIENT_FACTOR x its own test loss
        direction="at_most",
        statement=(
            "The products suffice: keeping only the constant, the one-axis parts and the "
            "(±f, ±f) products of the ReLU's output, the test loss is {value:.2g} (the model's "
            "own: {own:.2g})."
        ),
        fails_statement=(
            "Keeping only the constant, the one-axis parts and the (±f, ±f) products of the "
            "ReLU's output raises the test loss to {value:.2g} (the model's own: {own:.2g}, "
            "threshold {threshold:.2g}; accuracy {accuracy:.1%}): the model uses more than these."
        ),
        method=(
            "2-D DFT over (a, b) of the post-ReLU activations, keeping bins with fa = 0 or fb = 0 "
            "and the (±f, ±f) bins of the key frequencies; float64 test loss."
        ),
    ),
    Claim(
        id="relu-harmonics-unneeded",
        section="relu",
        measure=harmonics_removed,
        threshold=2.0,
        direction="at_most",
        statement=(
            "The ReLU's other frequencies are not needed: removing the sum and difference "
            "frequencies along b (test loss {sd_loss:.2g}) or every non-key frequency along b "
            "({only_loss:.2g}) leaves the loss within {threshold:g} times the model's own ({own:.2g})."
        ),
        fails_statement=(
            "Removing the sum and difference frequencies along b (test loss {sd_loss:.2g}) or "
            "every non-key frequency along b ({only_loss:.2g}) raises the loss {value:.3g} times "
            "over the model's own ({own:.2g}): the model needs them."
        ),
        method=(
            "The seed notebook's two ablations, frequencies zeroed along b only in the post-ReLU "
            "activations; worse of the two test losses over the unedited one (float64)."
        ),
    ),
]
