"""Command-line options built from the estimators' own parameter constraints.

``skdec cluster`` offers every hyperparameter of :class:`skdec.DECClusterer`
and of its autoencoder components as an option, with the choices, types and
defaults that the classes declare: nothing is copied by hand, so the command
line cannot drift from the estimator.
"""

from __future__ import annotations

import argparse
import inspect
import re
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._autoencoders import (
    ContrastiveEncoder,
    ConvAutoencoder,
    MLPAutoencoder,
    StackedAutoencoder,
)
from ._dec import DECClusterer
from ._inputs import UsageError

__all__ = [
    "UsageError",
    "add_class_options",
    "add_estimator_options",
    "class_params",
    "estimator_params",
    "param_docs",
]

#: the autoencoder components the command line can build, by name
AUTOENCODERS = {
    "mlp": MLPAutoencoder,
    "stacked": StackedAutoencoder,
    "conv": ConvAutoencoder,
    "contrastive": ContrastiveEncoder,
}

# DECClusterer parameters that have options of their own (or none): the
# cluster count, seed and output are the command's; the components are built
# from their own options; an init array cannot be typed
_OWN_OPTIONS = {
    "n_clusters",
    "random_state",
    "verbose",
    "autoencoder",
    "augment",
    "image_shape",
}

# shorter names kept from earlier versions of the command line
ALIASES = {
    "autoencoder__hidden_dims": "--hidden-dims",
    "autoencoder__epochs": "--pretrain-epochs",
}


_SECTION = re.compile(r"^[A-Z][A-Za-z ]+$")
_ROLES = re.compile(r":[a-z]+:`~?([^`]+)`")


def _plain(text: str) -> str:
    """numpydoc text as a help line: roles and literals unmarked, ``%``
    escaped for argparse."""
    text = _ROLES.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("``", "").replace("%", "%%")


def param_docs(obj) -> dict:
    """``{parameter: first sentence of its description}`` from the
    numpydoc ``Parameters`` section of ``obj``'s docstring."""
    lines = inspect.cleandoc(obj.__doc__ or "").splitlines()
    docs, names, text, inside = {}, [], [], False

    def flush():
        sentence = " ".join(text).strip()
        match = re.search(r"(?<!e\.g)(?<!i\.e)\.(\s|$)", sentence)
        if match:
            sentence = sentence[: match.start() + 1]
        for name in names:
            if sentence:
                docs.setdefault(name, _plain(sentence))

    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and set(lines[i + 1].strip()) == {"-"}
        if _SECTION.match(line) and underline:
            if inside:
                break
            inside = line == "Parameters"
            continue
        if not inside or set(line.strip()) == {"-"} or not line.strip():
            continue
        if not line.startswith(" "):
            flush()
            names = [n.strip() for n in line.split(" :")[0].split(",")]
            text = []
        else:
            text.append(line.strip())
    if inside:
        flush()
    return docs


def _number(kind) -> str:
    return "an integer" if kind is Integral else "a number"


def _describe(constraint) -> str:
    if isinstance(constraint, StrOptions):
        return " | ".join(sorted(constraint.options))
    if isinstance(constraint, Interval):
        bounds = []
        if constraint.left is not None:
            sign = ">=" if constraint.closed in ("left", "both") else ">"
            bounds.append(f"{sign} {constraint.left:g}")
        if constraint.right is not None:
            sign = "<=" if constraint.closed in ("right", "both") else "<"
            bounds.append(f"{sign} {constraint.right:g}")
        return f"{_number(constraint.type)} {' and '.join(bounds)}".strip()
    if constraint in (Integral, int):
        return "an integer"
    if constraint in (Real, float):
        return "a number"
    if constraint == "array-like":
        return "comma-separated ints"
    if constraint is None:
        return "none"
    if constraint == "boolean":
        return "true | false"
    if constraint is str:
        return "text"
    return str(constraint)


def _parse(text: str, constraint):
    """``text`` as a value satisfying ``constraint``; raises ValueError."""
    if isinstance(constraint, StrOptions):
        if text in constraint.options:
            return text
    elif isinstance(constraint, Interval):
        value = int(text) if constraint.type is Integral else float(text)
        if constraint.is_satisfied_by(value):
            return value
    elif constraint in (Integral, int):
        return int(text)
    elif constraint in (Real, float):
        return float(text)
    elif constraint == "array-like":
        return tuple(int(v) for v in text.split(","))
    elif constraint is None:
        if text.lower() == "none":
            return None
    elif constraint == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
    elif constraint is str:
        return text
    raise ValueError(text)


def converter(name: str, constraints: list):
    """An argparse ``type`` accepting what ``constraints`` accept."""
    usable = [c for c in constraints if _typable(c)]

    def convert(text):
        for constraint in usable:
            try:
                return _parse(text, constraint)
            except ValueError:
                continue
        allowed = ", or ".join(_describe(c) for c in usable)
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r} for {name}: expected {allowed}"
        )

    convert.__name__ = name  # argparse names the type in its messages
    return convert


def _typable(constraint) -> bool:
    # a type constraint (n_jobs: [Integral, None]) is typed as its numbers
    return (
        isinstance(constraint, StrOptions | Interval)
        or constraint in ("array-like", "boolean", None)
        or constraint in (str, Integral, int, Real, float)
    )


def _defaults(cls) -> dict:
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if name != "self"
    }


def _shown(default):
    return ",".join(map(str, default)) if isinstance(default, tuple) else default


def _add(
    group, dest: str, constraints: list, default, flags: list[str], also="", doc=""
):
    # a sequence is typed as comma-separated ints only where the default is one
    # (an init array cannot be typed)
    if not isinstance(default, tuple):
        constraints = [c for c in constraints if c != "array-like"]
    if not any(_typable(c) for c in constraints):
        return
    shown = _shown(default)
    allowed = ", or ".join(_describe(c) for c in constraints if _typable(c))
    group.add_argument(
        *flags,
        dest=dest,
        type=converter(flags[0], constraints),
        default=argparse.SUPPRESS,  # absent unless given (None is a value)
        metavar="VALUE",
        help=f"{doc + ' ' if doc else ''}({allowed}; default {shown}{also})",
    )


def add_estimator_options(parser: argparse.ArgumentParser) -> None:
    """Add an option per hyperparameter of DECClusterer and its components.

    ``DECClusterer(lr=...)`` is ``--lr``; the autoencoder's parameters are
    ``--autoencoder-<name>`` (``autoencoder__<name>`` in sklearn's nested
    notation), applied to the component chosen with ``--autoencoder``.
    """
    group = parser.add_argument_group(
        "DEC parameters", "DECClusterer's hyperparameters (see its documentation)"
    )
    defaults = _defaults(DECClusterer)
    docs = param_docs(DECClusterer)
    for name, constraints in DECClusterer._parameter_constraints.items():
        if name in _OWN_OPTIONS:
            continue
        flag = "--" + name.replace("_", "-")
        doc = docs.get(name, "")
        _add(group, f"dec__{name}", constraints, defaults[name], [flag], doc=doc)
    ae = parser.add_argument_group(
        "autoencoder", "the network and its pretraining (one component's options)"
    )
    ae.add_argument(
        "--autoencoder",
        choices=sorted(AUTOENCODERS) + ["auto"],
        default="auto",
        help="auto (default): contrastive for a folder of images whose mean "
        "image looks the same turned and mirrored (subjects with no up or "
        "mirror side, such as galaxies), else mlp; mlp: fully connected, end "
        "to end; stacked: the DEC paper's layer-wise pretraining; conv: "
        "convolutional, for images; contrastive: a small convolutional "
        "encoder trained to ignore turns, mirror images, size and brightness "
        "(SimCLR), for images",
    )
    defaults = {kind: _defaults(cls) for kind, cls in AUTOENCODERS.items()}
    docs = {kind: param_docs(cls) for kind, cls in AUTOENCODERS.items()}
    seen = set()
    for kind, cls in AUTOENCODERS.items():
        for name, constraints in cls._parameter_constraints.items():
            if name in seen:
                continue
            seen.add(name)
            key = f"autoencoder__{name}"
            flags = ["--autoencoder-" + name.replace("_", "-")]
            if key in ALIASES:
                flags.append(ALIASES[key])
            default = defaults[kind][name]
            others = [
                f"; {other} {_shown(d[name])}"
                for other, d in defaults.items()
                if other != kind and name in d and d[name] != default
            ]
            doc = next((d[name] for d in docs.values() if name in d), "")
            _add(ae, key, constraints, default, flags, "".join(others), doc=doc)


def estimator_params(args) -> dict:
    """DECClusterer keyword arguments from the parsed options that were given
    (the autoencoder component built from its own)."""
    given = vars(args)
    params = {k[len("dec__") :]: v for k, v in given.items() if k.startswith("dec__")}
    kind = "mlp" if args.autoencoder == "auto" else args.autoencoder
    cls = AUTOENCODERS[kind]
    own = {
        k[len("autoencoder__") :]: v
        for k, v in given.items()
        if k.startswith("autoencoder__")
    }
    foreign = sorted(set(own) - set(_defaults(cls)))
    if foreign:
        names = ", ".join("--autoencoder-" + n.replace("_", "-") for n in foreign)
        raise UsageError(f"{names} do not apply to --autoencoder {kind}.")
    if own or kind != "mlp":
        params["autoencoder"] = cls(**own)
    return params


def add_class_options(
    parser, cls, prefix: str, *, title: str, skip=(), flag_prefix="--", group=None
) -> None:
    """Add an option per hyperparameter of ``cls`` (any estimator with
    ``_parameter_constraints``) but those in ``skip``: ``<flag_prefix><name>``
    (``--<name>`` by default), stored as ``<prefix>__<name>`` and absent
    unless given (see :func:`class_params`), in ``group`` or a new group.
    """
    if group is None:
        group = parser.add_argument_group(title, f"{cls.__name__}'s hyperparameters")
    defaults = _defaults(cls)
    docs = param_docs(cls)
    for name, constraints in cls._parameter_constraints.items():
        if name in skip:
            continue
        flag = flag_prefix + name.replace("_", "-")
        doc = docs.get(name, "")
        _add(group, f"{prefix}__{name}", constraints, defaults[name], [flag], doc=doc)


def class_params(args, prefix: str) -> dict:
    """The keyword arguments given as options added by :func:`add_class_options`."""
    start = f"{prefix}__"
    return {k[len(start) :]: v for k, v in vars(args).items() if k.startswith(start)}
