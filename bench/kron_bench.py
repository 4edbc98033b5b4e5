"""Kronecker products applied as products (issue 15): the MF Hessian's vec form
`kron(2*V'*V, eye(n))*vec(dU)` is `2*dU*V'*V`, and our generated code never forms the
(nk)^2 matrix: against the dense np.kron product and the Hessian-vector product d.hvp()."""

from __future__ import annotations

import numpy as np
from harness import OURS, Config, Method, Section, Target, at_most, code_block, fmt_ratio, ratio
from problems import nbytes, sweep

import matrixcalculus as mc

EXPR = "kron(2*V'*V, eye(n))*vec(dU)"
VARS = {"V": "matrix(n,k)", "dU": "matrix(n,k)"}
DENSE_BYTES = 2e9            # the dense kron only where (nk)^2 doubles fit in this


def kron_vec(cfg: Config) -> list[Section]:
    points = [(100, 10)] if cfg.quick else [(200, 20), (500, 20), (1000, 50), (2000, 50)]
    e = mc.expression(EXPR, vars=VARS)
    hvp = mc.derivative("norm2(R - U*V')^2", "U", vars={"R": "matrix(n,n)", "U": "matrix(n,k)",
                                                       "V": "matrix(n,k)"}, order=2).hvp()
    sec = Section(f"10. A Kronecker product applied as a product: `{EXPR}` (the MF Hessian's "
                  "vec form times vec(dU))", "10 kron applied")
    n0, k0 = points[-1]
    sec.add(f"Generated NumPy code (sizes n = {n0}, k = {k0}); it computes 2*dU*(V'*V) "
            "without the (nk) x (nk) matrix:\n\n" + code_block(e.code("numpy", {"n": n0, "k": k0})))
    sec.add("dense: `np.kron(2*V.T@V, np.eye(n)) @ vec(dU)` (only where (nk)^2 doubles fit in "
            f"{DENSE_BYTES / 1e9:.0f} GB); HVP: our `d.hvp()` of `norm2(R - U*V')^2` wrt U "
            "(the same product, as a matrix, vec'd); limit: `dU @ (V.T @ V)`.")

    def build(p):
        n, k = p
        rng = np.random.default_rng(5)
        V, dU, U = (rng.standard_normal((n, k)) for _ in range(3))
        R = rng.standard_normal((n, n))
        f = e.compiled("numpy", {"n": n, "k": k})
        h = hvp.compiled("numpy", {"n": n, "k": k})
        hargs = {"R": R, "U": U, "V": V, "dU": dU}
        args = {"V": V, "dU": dU}
        ms = [Method(OURS, lambda: f(**e.keywords(args)), "numpy"),
              Method("HVP (ours)", lambda: h(**hvp.keywords(hargs))
                     .reshape(-1, order="F"), "numpy")]
        if (n * k) ** 2 * 8 <= DENSE_BYTES:
            ms.append(Method("dense np.kron", lambda: np.kron(2 * V.T @ V, np.eye(n))
                             @ dU.reshape(-1, order="F"), "numpy"))
        ms.append(Method("limit", lambda: dU @ (V.T @ V), "numpy", check=False))
        return ms, nbytes(V, dU, dU)

    sw = sweep(sec, cfg, points, lambda p: f"n={p[0]}, k={p[1]}", build, "limit",
               size=lambda p: p[0] * p[1] * p[1], grow=1)
    c = sw.results[-1]
    peak, io = c[OURS].peak, sw.inputs_out[-1]
    sec.targets.append(Target(sec.name, "ours' peak memory <= 4 x (inputs + output): "
                              "the (nk)^2 matrix is never formed",
                              fmt_ratio(None if peak is None else peak / io),
                              at_most(None if peak is None else peak / io, 4.0),
                              f"at {sw.labels[-1]}; dense would be "
                              f"{8 * (n0 * k0) ** 2 / 1e9:.0f} GB"))
    r = ratio(c[OURS], c["HVP (ours)"])
    sec.targets.append(Target(sec.name, "ours within 2x of the HVP", fmt_ratio(r),
                              at_most(r, 2.0), f"at {sw.labels[-1]}"))
    return [sec]


PROBLEMS = [kron_vec]
