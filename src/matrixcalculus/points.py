"""Random points for numerical checks: small distinct sizes, domains, draws that honor them.

Points honor domains as the corpus oracle does (`positive`, `prob`, `binary`, `spd`,
`invertible`, `unit`, `prob-rows`, `onehot-rows`); symmetric variables are drawn
symmetric, declared spd and simplex ones from their domain (declared_domains).  Symbolic
dimensions get small distinct sizes (n=3, m=4, k=2, p=5, others from 6, 7, 3...) so that a
transposed answer shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import MatrixCalculusError
from .ir.nodes import Node, walk
from .language.dims import dim_factors, factor_names, is_product
from .ops import row
from .variables import VariableInfo, declaration

DOMAINS = ("positive", "prob", "binary", "spd", "invertible", "unit", "prob-rows", "onehot-rows")
PREFERRED_SIZES = {"n": 3, "m": 4, "k": 2, "p": 5}
OTHER_SIZES = (6, 7, 3, 4, 5, 2, 8, 9)


def dimension_sizes(variables: Mapping[str, VariableInfo],
                    free_dims: tuple[str, ...] = ()) -> dict[str, int]:
    """Small, distinct sizes for the symbolic dimensions (n=3, m=4, k=2, p=5, others 6, 7...),
    those of the variables and free_dims (carried by no variable)."""
    names: list[str] = []
    for info in variables.values():  # a product dimension m*p: its factors' sizes
        names += [f for f in factor_names(info.shape) if f not in names]
    names += [d for d in free_dims if d not in names]
    sizes = {d: PREFERRED_SIZES[d] for d in names if d in PREFERRED_SIZES}
    used = set(sizes.values())
    for d in names:
        if d in sizes:
            continue
        free = [s for s in OTHER_SIZES if s not in used]
        sizes[d] = free[0] if free else OTHER_SIZES[len(sizes) % len(OTHER_SIZES)]
        used.add(sizes[d])
    return sizes


def dim_size(d: str | int, sizes: Mapping[str, int]) -> int:
    """A dimension's size; a product dimension m*p's is its factors' product."""
    if isinstance(d, int):
        return d
    if d in sizes or not is_product(d):
        return sizes[d]
    return int(np.prod([dim_size(f, sizes) for f in dim_factors(d)]))


def concrete_shape(info: VariableInfo, sizes: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(dim_size(d, sizes) for d in info.shape)


def parse_domains(domains: Mapping[str, str] | None,
                  variables: Mapping[str, VariableInfo]) -> dict[str, str]:
    """Validated {variable: domain}, over the domains the declarations give (spd, simplex:
    declared_domains); raises MatrixCalculusError on a bad name or domain."""
    out: dict[str, str] = declared_domains(variables)
    for name, dom in (domains or {}).items():
        dom_s = str(dom).strip().lower()
        if dom_s not in DOMAINS:
            raise MatrixCalculusError(f"unknown domain {dom!r} for {name}: choose one of "
                                      f"{', '.join(DOMAINS)}")
        if name not in variables:
            known = ", ".join(variables) or "none"
            raise MatrixCalculusError(f"a domain is given for {name}, which is not a variable "
                                      f"of the expression (its variables: {known})")
        info = variables[name]
        if dom_s in ("spd", "invertible"):
            square = len(info.shape) == 2 and info.shape[0] == info.shape[1]
            if not square:
                raise MatrixCalculusError(f"domain {dom_s} needs a square matrix, but {name} is "
                                          f"{declaration(info)}")
        out[name] = dom_s
    return out


def declared_domains(variables: Mapping[str, VariableInfo]) -> dict[str, str]:
    """The domain each declared spd or simplex variable is drawn from: spd(n) spd,
    simplex(n) a probability vector (prob), simplex(n, c) probability rows (prob-rows)."""
    out = {}
    for name, info in variables.items():
        if info.fact == "spd":
            out[name] = "spd"
        elif info.fact == "simplex":
            out[name] = "prob" if len(info.shape) == 1 else "prob-rows"
    return out


def parse_domain_option(text: str) -> tuple[str, str]:
    """CLI form 'S=spd' (or 'S: spd') -> ('S', 'spd')."""
    for sep in ("=", ":"):
        if sep in text:
            name, _, dom = text.partition(sep)
            name, dom = name.strip(), dom.strip().lower()
            if name and dom:
                if dom not in DOMAINS:
                    raise MatrixCalculusError(f"unknown domain {dom!r} for {name}: choose one "
                                              f"of {', '.join(DOMAINS)}")
                return name, dom
    raise MatrixCalculusError(f"a domain is written NAME=DOMAIN (e.g. S=spd), got {text!r}")


# ------------------------------------------------------------------ random points
def _draw(kind: str, shape: tuple[int, ...], domain: str | None,
          rng: np.random.Generator) -> np.ndarray:
    if domain is None:
        a = rng.standard_normal(shape)
    elif domain == "positive":
        a = rng.uniform(0.5, 2.0, shape)
    elif domain == "prob":
        if shape == ():
            a = rng.uniform(0.1, 0.9)
        else:
            a = rng.uniform(0.2, 1.0, shape)
            a = a / a.sum(axis=0, keepdims=True)
    elif domain == "unit":                # asin, acos: inside (-1, 1)
        a = rng.uniform(-0.9, 0.9, shape)
    elif domain == "prob-rows":           # each row a probability vector (a vector: one)
        a = rng.uniform(0.2, 1.0, shape)
        a = a / a.sum(axis=-1, keepdims=True) if shape else a
    elif domain == "onehot-rows":         # class labels: each row one-hot
        c = shape[-1] if shape else 1
        a = np.eye(c)[rng.integers(0, c, shape[:-1])] if shape else np.asarray(1.0)
    elif domain == "binary":
        a = rng.integers(0, 2, shape).astype(np.float64)
    elif domain == "spd":
        n = shape[0]
        g = rng.standard_normal(shape)
        a = g @ g.T / n + 0.5 * np.eye(n)
    elif domain == "invertible":
        n = shape[0]
        a = 2.0 * np.eye(n) + 0.5 * rng.standard_normal(shape) / np.sqrt(n)
    else:  # pragma: no cover - parse_domains rejects these
        raise MatrixCalculusError(f"unknown domain {domain!r}")
    a = np.asarray(a, dtype=np.float64)
    if kind == "symmetric":
        if domain in ("binary", "invertible", "prob"):
            a = np.triu(a) + np.triu(a, 1).T     # mirror: keeps the entries' domain
        else:
            a = (a + a.T) / 2
    return a


def draw_inputs(variables: Mapping[str, VariableInfo], sizes: Mapping[str, int],
                domains: Mapping[str, str], rng: np.random.Generator,
                free_dims: tuple[str, ...] = ()) -> dict[str, Any]:
    """One random point: an array for every variable (sorted by name for stable draws),
    and the size of each of free_dims (the dimensions no variable carries)."""
    out = {}
    for name in sorted(variables):
        info = variables[name]
        out[name] = _draw(info.kind, concrete_shape(info, sizes), domains.get(name), rng)
    return {**{name: out[name] for name in variables},
            **{d: np.int64(sizes[d]) for d in free_dims if d not in variables}}


def spd_arguments(ir: Node) -> dict[str, str]:
    """{S: "spd"} for each symmetric variable that is the argument of a function defined
    on SPD matrices (logm, sqrtm: their rows' domain), the default check() draws from."""
    return {n.args[0].name: "spd" for n in walk(ir) if n.op == "prim"
            and row(n.name).domain == "spd" and n.args[0].op == "var" and n.args[0].symmetric}
