"""Keras models across the judge/worker line: the contents of a `.keras` archive, rebuilt safely.

A model crosses as what a `.keras` archive holds — its configuration (JSON),
its compile configuration and its weights — with the weights as plain
arrays. The judge rebuilds it with `safe_mode=True` after checking that
every object the configuration names is one of Keras's own (built-in
layers, activations, losses, optimisers). The HDF5 weights file of an
archive is never parsed on the judge's side: arrays are decoded by
`workshop.grading.wire` like every other value.
"""

from __future__ import annotations

import json

MAX_CONFIG = 4 * 2**20  # characters of JSON
MAX_SIZE = 1_000_000  # units, filters, vocabulary...: no lesson's model comes close
_SIZE_KEYS = {"units", "filters", "input_dim", "output_dim", "batch_shape", "kernel_size"}
_FORBIDDEN_CLASSES = {"Lambda", "TFSMLayer", "__lambda__", "function"}


class ModelRefused(ValueError):
    """A model the judge will not rebuild: custom code, or not a model at all."""


def to_payload(model) -> dict:
    """The worker's side: what a `.keras` archive would hold, as plain data."""
    import keras

    config = keras.saving.serialize_keras_object(model)
    compiled = None
    if getattr(model, "compiled", False):
        try:
            compiled = json.dumps(model.get_compile_config())
        except Exception:  # a custom loss or metric: the judge refuses it below
            compiled = json.dumps({"__unserialisable__": True})
    return {
        "config": json.dumps(config),
        "compile": compiled,
        "weights": [w for w in model.get_weights()],
        "built": bool(model.built),
    }


def _check_config(node, path: str = "model") -> None:
    """Refuse anything that is not one of Keras's own objects."""
    if isinstance(node, dict):
        module = node.get("module")
        name = node.get("class_name")
        registered = node.get("registered_name")
        if name is not None:
            if not isinstance(name, str) or name in _FORBIDDEN_CLASSES:
                raise ModelRefused(
                    f"{path} uses {name!r}: grading rebuilds only built-in Keras layers; "
                    "use built-in layers here (no Lambda layers or your own classes)"
                )
            if module is not None and not (
                isinstance(module, str) and (module == "keras" or module.startswith("keras."))
            ):
                raise ModelRefused(
                    f"{path} uses {name!r} from {module!r}: use built-in Keras layers, "
                    "activations and losses here (your own classes cannot be graded)"
                )
            if registered not in (None, name) and not (
                isinstance(registered, str) and registered.startswith("keras")
            ):
                raise ModelRefused(
                    f"{path} uses the registered object {registered!r}: use built-in layers here"
                )
        if node.get("__unserialisable__"):
            raise ModelRefused(
                "the model is compiled with a loss, metric or optimiser of your own: "
                "use Keras's built-in ones here (e.g. loss='mse')"
            )
        for key, value in node.items():
            if key in _SIZE_KEYS:
                sizes = value if isinstance(value, list) else [value]
                if any(isinstance(n, int) and abs(n) > MAX_SIZE for n in sizes):
                    raise ModelRefused(
                        f"{path}.{key} is {value}: far larger than any model in this workshop"
                    )
            _check_config(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _check_config(value, f"{path}[{i}]")


def from_payload(payload: dict):
    """The judge's side: rebuild the model from built-in Keras objects only."""
    config_text = payload.get("config")
    if not isinstance(config_text, str) or len(config_text) > MAX_CONFIG:
        raise ModelRefused("the model's configuration is missing or too large")
    try:
        config = json.loads(config_text)
        compiled = json.loads(payload["compile"]) if payload.get("compile") else None
    except (ValueError, TypeError) as exc:
        raise ModelRefused(f"the model's configuration is not JSON: {exc}") from None
    weights = payload.get("weights")
    if not isinstance(weights, list):
        raise ModelRefused("the model's weights are missing")
    _check_config(config)
    if compiled is not None:
        _check_config(compiled, "compile")
    import keras
    import numpy as np

    if not all(type(w) is np.ndarray for w in weights):
        raise ModelRefused("the model's weights must be arrays")
    try:
        model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:
        raise ModelRefused(
            f"the model could not be rebuilt from built-in Keras layers: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(model, keras.Model):
        raise ModelRefused(f"expected a keras.Model, got a {type(model).__name__}")
    try:
        if weights:
            model.set_weights(weights)
        if compiled is not None:
            model.compile_from_config(compiled)
        # The judge evaluates and trains on a handful of rows: compiling a function
        # for each model it rebuilds (half a second on TensorFlow) costs more than
        # running its steps one operation at a time. (A recompile turns this off.)
        model.run_eagerly = True
    except Exception as exc:
        raise ModelRefused(
            f"the model's weights or compile settings do not fit it: {type(exc).__name__}: {exc}"
        ) from None
    return model
