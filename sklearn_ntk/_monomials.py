r"""Exact features of the polynomial kernels :math:`\langle u, v\rangle^j` by weighted monomials.

For :math:`u \in \mathbb{R}^d` and a multi-index :math:`\alpha` with :math:`|\alpha| = j`,
the multinomial theorem gives

.. math::

    \langle u, v\rangle^j = \sum_{|\alpha| = j} \frac{j!}{\alpha!}\, u^\alpha v^\alpha
    = \langle M_j(u), M_j(v)\rangle,\qquad M_j(u)_\alpha = \sqrt{j!/\alpha!}\; u^\alpha,

with :math:`\binom{d + j - 1}{j}` coordinates. When that count is small (a 3x3 patch of a
grey-scale image has :math:`d = 9`: 9, 45, 165 and 495 monomials of degrees 1 to 4), these
exact features are cheaper than a PolySketch of the same powers and carry no sketching noise.
Each monomial of degree ``j`` is one of degree ``j - 1`` times one coordinate, so the plan
drawn once on the host is, per degree, a ``parent`` and a ``variable`` index per monomial
and its weight :math:`\sqrt{j!/\alpha!}`; applying it is one gather and one product per
degree, written against the array API.
"""

import math

import numpy as np

from ._backend import to_device

__all__ = ["count_monomials", "monomial_plan", "monomial_powers"]


def count_monomials(n_in, degree):
    """Number of monomials of degrees 1 to ``degree`` in ``n_in`` variables."""
    return sum(math.comb(n_in + j - 1, j) for j in range(1, degree + 1))


def monomial_plan(n_in, degree):
    r"""Index plan of :func:`monomial_powers`, one dict per degree ``j = 1..degree``.

    Monomials of degree ``j`` are the non-decreasing index tuples of length ``j``; monomial
    ``k`` is ``parent[k]`` (of degree ``j - 1``) times coordinate ``variable[k]``, and
    ``weight[k]`` is :math:`\sqrt{j!/\alpha!}`.
    """
    plan = [{"parent": None, "variable": np.arange(n_in), "weight": np.ones(n_in)}]
    tuples = [(i,) for i in range(n_in)]
    for j in range(2, degree + 1):
        parent, variable, longer = [], [], []
        for k, mono in enumerate(tuples):
            for i in range(mono[-1], n_in):
                parent.append(k)
                variable.append(i)
                longer.append(mono + (i,))
        weight = [math.sqrt(math.factorial(j) / math.prod(
            math.factorial(mono.count(i)) for i in set(mono))) for mono in longer]
        plan.append({"parent": np.asarray(parent), "variable": np.asarray(variable),
                     "weight": np.asarray(weight)})
        tuples = longer
    return plan


def monomial_powers(xp, U, plan, device=None):
    r"""Features :math:`M_j(u)` of every row ``u`` of ``U``, for ``j = 1..len(plan)``.

    Returns a list of real arrays of shape ``(n_rows, binom(d + j - 1, j))`` with
    :math:`\langle M_j(u), M_j(v)\rangle = \langle u, v\rangle^j` up to rounding.
    """
    powers, raw = [], None
    for level in plan:
        variable = to_device(xp, level["variable"], device)
        column = xp.take(U, variable, axis=-1)
        if raw is not None:
            column = xp.take(raw, to_device(xp, level["parent"], device), axis=-1) * column
        raw = column  # the unweighted monomials u^alpha, the next degree's parents
        powers.append(raw * to_device(xp, level["weight"], device, U.dtype))
    return powers
