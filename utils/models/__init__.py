"""The deep models: per-band CNNs and Transformers over light curves, built from a flat settings dict.

    model = build_model(settings, n_extra=len(feature_names))
    out = model(batch)  # {"logit": (B,), "aux_logits": (B, 5) when settings["aux_weight"] > 0}

The auxiliary head predicts the SpecType group (utils.classes.CLASS_GROUPS, in that order). With
settings["gp_grid"], every model also reads batch["gp_grid"] (B, 12, T), the GP's mean and std per band on a
regular rest-frame grid, through a small CNN whose embedding joins the head's input (grid.py).

| model         | layout | class                    | starter size       |
|---------------|--------|--------------------------|--------------------|
| cnn           | band   | LightCurveCNN (mean+max) | ~545K parameters   |
| cnn_attn      | band   | LightCurveCNN (attention)| ~545K parameters   |
| transformer   | band   | LightCurveTransformer    | ~175K parameters   |
| transformer   | token  | TokenTransformer         | (new, small)       |
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Mapping

from torch import nn

from ..classes import CLASS_GROUPS
from .cnn import LightCurveCNN
from .transformer import LightCurveTransformer, TokenTransformer

# name -> {layout it reads: constructor(settings, n_extra, n_aux)}: a new network is one module and one line here.
NETWORKS: dict[str, dict[str, Callable[..., nn.Module]]] = {
    "cnn": {"band": partial(LightCurveCNN, pooling="mean_max")},
    "cnn_attn": {"band": partial(LightCurveCNN, pooling="attention")},
    "transformer": {"band": LightCurveTransformer, "token": TokenTransformer},
}
MODEL_NAMES = tuple(NETWORKS)


def build_model(settings: Mapping[str, Any], n_extra: int = 0) -> nn.Module:
    """The network that `settings` describes; `n_extra` physics features join the object vector."""
    model, layout = settings["model"], settings["layout"]
    if model not in NETWORKS:
        raise ValueError(f"unknown model {model!r}; choose one of {MODEL_NAMES}")
    if layout not in NETWORKS[model]:
        raise ValueError(f"model {model!r} reads the {' or '.join(NETWORKS[model])} layout, not {layout!r}")
    n_aux = len(CLASS_GROUPS) if settings.get("aux_weight", 0) > 0 else 0
    return NETWORKS[model][layout](settings, n_extra, n_aux)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["MODEL_NAMES", "NETWORKS", "LightCurveCNN", "LightCurveTransformer", "TokenTransformer",
           "build_model", "count_parameters"]
