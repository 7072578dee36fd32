"""Deep models: shapes, parameter counts, masking, input encoding."""

import numpy as np
import pytest
import torch

from utils.models import build_model, count_parameters
from utils.models.inputs import encode, luminosity_distance_mpc, peak_time
from utils.training import CNN_PROFILES, TRANSFORMER_PROFILES, deep_settings

torch.set_num_threads(1)
VARIANTS = [("cnn", "starter"), ("cnn_attn", "starter"), ("transformer", "starter"),
            ("cnn", "tuned"), ("cnn_attn", "tuned"), ("transformer", "tuned")]


def settings_for(model: str, variant: str, **overrides) -> dict:
    profiles = TRANSFORMER_PROFILES if model == "transformer" else CNN_PROFILES
    return deep_settings(profiles, "default", variant, model=model, **overrides)


def random_batch(layout: str, size: int = 4, length: int = 16, n_extra: int = 0, seed: int = 0) -> dict:
    """Observations in the first `observed` steps of each row, zero padding after them."""
    g = torch.Generator().manual_seed(seed)
    shape = (size, 6, length) if layout == "band" else (size, length)
    observed = torch.randint(3, length - 2, shape[:-1], generator=g)
    mask = torch.arange(length) < observed.unsqueeze(-1)
    time = torch.sort(torch.rand(shape, generator=g) * 300, dim=-1).values
    batch = {
        "flux": torch.randn(shape, generator=g) * 20 * mask,
        "flux_err": torch.where(mask, torch.rand(shape, generator=g) + 0.5, 1.0),
        "time": time * mask, "mask": mask,
        "band": (torch.arange(6)[None, :, None].expand(shape) if layout == "band"
                 else torch.randint(0, 6, shape, generator=g)),
        "z": torch.rand(size, generator=g), "ebv": torch.rand(size, generator=g) * 0.1,
    }
    if n_extra:
        batch["extra"] = torch.randn(size, n_extra, generator=g)
    return batch


@pytest.mark.parametrize("model,variant", VARIANTS)
def test_output_shapes(model, variant):
    settings = settings_for(model, variant, aux_weight=0.5)
    network = build_model(settings, n_extra=3).eval()
    out = network(random_batch(settings["layout"], n_extra=3))
    assert out["logit"].shape == (4,)
    assert out["aux_logits"].shape == (4, 5)
    assert torch.isfinite(out["logit"]).all()


@pytest.mark.parametrize("model,variant,expected", [
    ("cnn", "starter", 545_000), ("cnn_attn", "starter", 545_000), ("transformer", "starter", 175_000)])
def test_starter_designs_keep_their_parameter_budget(model, variant, expected):
    count = count_parameters(build_model(settings_for(model, variant)))
    assert abs(count - expected) / expected < 0.03, count


def test_the_variant_is_named_apart_from_the_random_seed():
    with pytest.raises(ValueError, match=r"unknown variant 'seed'; choose one of \('tuned', 'starter'\)"):
        settings_for("cnn", "seed")


# Small: under 100K parameters, and under a fifth of the starter design it replaced (~545K CNN, ~175K
# Transformer), for about 2,400 training light curves (93.5K, 87.6K and 21.1K when written).
SMALL = 100_000


@pytest.mark.parametrize("model", ["cnn", "cnn_attn", "transformer"])
def test_tuned_designs_are_small(model):
    tuned = count_parameters(build_model(settings_for(model, "tuned")))
    starter = count_parameters(build_model(settings_for(model, "starter")))
    assert tuned < SMALL and tuned < starter / 5, (tuned, starter)


@pytest.mark.parametrize("model,variant", VARIANTS)
def test_padded_steps_change_nothing(model, variant):
    settings = settings_for(model, variant)
    network = build_model(settings).eval()
    batch = random_batch(settings["layout"])
    with torch.no_grad():
        reference = network(batch)["logit"]
        # garbage where nothing is observed
        noisy = dict(batch)
        for key in ("flux", "flux_err", "time"):
            noisy[key] = torch.where(batch["mask"], batch[key], torch.full_like(batch[key], 123.0))
        assert torch.allclose(network(noisy)["logit"], reference, atol=1e-5)
        # more padding at the end
        longer = {key: (torch.cat([value, torch.zeros_like(value)], dim=-1) if value.dim() > 1 else value)
                  for key, value in batch.items()}
        longer["flux_err"] = torch.where(longer["mask"], longer["flux_err"], 1.0)
        assert torch.allclose(network(longer)["logit"], reference, atol=1e-5)


def test_a_band_without_observations_is_handled():
    for model, variant in VARIANTS:
        settings = settings_for(model, variant)
        batch = random_batch(settings["layout"])
        batch["mask"][0] = False
        with torch.no_grad():
            assert torch.isfinite(build_model(settings).eval()(batch)["logit"]).all()


def test_luminosity_distance_matches_flat_lcdm():
    # astropy FlatLambdaCDM(H0=70, Om0=0.3): 460.0 Mpc at z=0.1, 6607.7 Mpc at z=1
    distance = luminosity_distance_mpc(torch.tensor([0.1, 1.0]), steps=256)
    assert np.allclose(distance.numpy(), [460.0, 6607.7], rtol=2e-3)


def test_encoding_uses_rest_frame_time_since_peak():
    batch = {"flux": torch.tensor([[1.0, 10.0, 2.0, 0.0]]), "flux_err": torch.tensor([[1.0, 1.0, 1.0, 1.0]]),
             "time": torch.tensor([[0.0, 20.0, 60.0, 0.0]]), "mask": torch.tensor([[True, True, True, False]]),
             "z": torch.tensor([1.0]), "ebv": torch.tensor([0.0])}
    assert peak_time(batch["time"], batch["flux"], batch["flux_err"], batch["mask"]).item() == 20.0
    _, time, objects = encode(batch, flux_scaling="asinh", rest_frame=True, time_reference="peak")
    assert torch.allclose(time, torch.tensor([[-10.0, 0.0, 20.0, 0.0]]))
    assert objects.shape == (1, 5)
    _, time, objects = encode(batch, flux_scaling="normalised", rest_frame=False, time_reference="first")
    assert torch.allclose(time, batch["time"]) and objects.shape == (1, 2)
