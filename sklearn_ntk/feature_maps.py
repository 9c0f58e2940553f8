"""Feature maps whose inner products approximate the fully-connected ReLU NTK."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._backend import _is_numpy, to_device
from ._base import BaseFeatureMap, featurise_with_bias, lone_column_weight, max_abs_rows, \
    polysketch_bytes, rademacher, renamed_attribute, rows_per_batch, store_params
from ._arccos import ntk_on_sphere
from ._docstrings import FC_NETWORK_PARAMS_DOC, RUN_PARAMS_DOC
from ._polyfit import fit_dot_product_polynomial
from ._validation import MAX_BIAS, check_bias_value
from ._sketches import allocate_widths, draw_polysketch_blocks, draw_srht, \
    polysketch_blocks, polysketch_leaves, prepare_polysketch_blocks, srht
from .layers._arccos_features import ArccosRule
from .layers._features import FeatureContext
from .layers._ops import _Params
from .layers._serial import FeatureNetwork
from .layers.presets import fc


# NTKSketch warns when the polynomial's worst error exceeds this share of K_L(1): a bias that
# size changes the kernel, not just its fine detail (degree 8 stays below it up to depth 10).
_MAX_RELATIVE_FIT_ERROR = 0.25


def default_sketch_dim(n_components):
    """Internal PolySketch width of NTKSketch when ``sketch_dim`` is None.

    A quarter of ``n_components`` (at least ``min(n_components, 64)``). The cost of the tree
    above the leaves grows with this width, the error much less: at 4,096 components
    (degree 8, depths 1-3, relative error of the Gram matrix on n=300, d=16) widths
    4,096 / 2,048 / 1,024 gave errors 0.033-0.034 / 0.036-0.038 / 0.037-0.043, and transform
    times (d=384) about in the ratio 2.5 : 1.3 : 1.
    """
    return max(min(n_components, 64), n_components // 4)


class _VectorNetwork:
    """The layer loop's ``fc`` preset run on vectors: one position whose channels are the
    input features.

    The preset's first dense layer scales its input by :math:`\\sqrt{2/d}`, so rows are
    multiplied by :math:`\\sqrt{d/2}` first and the readout vectors approximate
    ``ntk_kernel(X, depth=depth, bias=bias)`` (or its NNGP). ``options`` go to
    :class:`~sklearn_ntk.layers._serial.FeatureNetwork` (``degree``, ``sketch_dim``,
    ``kind``, ``arccos``).
    """

    def __init__(self, depth, bias, n_features, rng, **options):
        self.network = FeatureNetwork(fc(depth, float(bias)), (1, 1, n_features), rng,
                                      **options)
        self.input_scale = math.sqrt(n_features / 2.0)

    def features(self, xp, X, device):
        """Readout vectors of the rows of ``X``, and the batch's cache of device parameters."""
        params = _Params(xp, X.dtype, device)
        images = xp.reshape(X * self.input_scale, (X.shape[0], 1, 1, X.shape[1]))
        return self.network.features(FeatureContext(xp, params), images), params


class NTKSketch(BaseFeatureMap):
    __doc__ = r"""Polynomial sketch of the fully connected ReLU NTK (Zandieh et al. 2021).

    The depth-``L`` NTK of two inputs is :math:`\Theta^{(L)}(x, y) = \|x\|\|y\| K_L(t)` with
    :math:`t = \langle x, y\rangle / \|x\|\|y\|`. ``fit`` approximates :math:`K_L` on
    :math:`[-1, 1]` by :math:`\sum_{j=0}^q c_j t^j` with :math:`c_j \ge 0` and
    :math:`\sum_j c_j = K_L(1)` (so :math:`\Theta(x, x)` is unbiased), and draws one
    PolySketch tree whose root outputs, for each power ``j`` with :math:`c_j > 0`, a block
    :math:`S_j(\hat x) \in \mathbb{C}^{m_j}` with :math:`E\,\mathrm{Re}\langle S_j(\hat x),
    S_j(\hat y)\rangle = t^j`. The features are

    .. math::

        \varphi(x) = \big[\sqrt{c_0}\,\|x\|,\ W\big],\quad
        W = \|x\|\ \big(\sqrt{c_j}\, S_j(\hat x)\big)_j \text{ as } [\mathrm{Re}, \mathrm{Im}]
        \text{ pairs},

    so that :math:`E\langle\varphi(x), \varphi(y)\rangle = \|x\|\|y\|\sum_j c_j t^j`. The
    block widths are proportional to :math:`c_j` (at least one each); their summed variance
    is then the same as that of one SRHT applied to the concatenation of all powers (the
    paper's final step), without the cost of that SRHT, whose length is ``degree`` times the
    sketch width. The degree-1 term :math:`c_1\langle x, y\rangle` needs no sketch: with
    ``exact_linear=True`` it is output exactly as :math:`\sqrt{c_1}\,x` (``n_features``
    columns) and removed from the sketched sum, which removes its share of the variance.
    When the columns left for ``W`` are odd in number, the last column is a Rademacher
    projection of the others; every real column then carries the same weight and the estimate
    stays unbiased. With fewer column pairs than powers, every column is a Rademacher
    projection of one-sample blocks (with ``n_components=1`` that column also carries the
    constant term).

    Only the bias-free NTK has this form. With ``bias > 0`` the map sketches the network
    layer by layer instead, through the layer core of :mod:`sklearn_ntk.layers` (each ReLU's
    kappa polynomials of degree ``degree``, TensorSRHT products, blocks rescaled to their
    exact norms, a ratio estimator); that path is much slower per row, and
    :class:`NTKRandomFeatures` is the fast map for a bias.

    Parameters
    ----------
    n_components : int, default=1024
        Number of output features (exactly). Any value >= 1 gives an unbiased estimate; a
        handful of columns gives a very noisy one.
    depth : int, default=1
        Number of hidden ReLU layers ``L``.
    degree : int, default=8
        Degree ``q`` of the polynomial approximation of :math:`K_L`. One polynomial stands
        for the whole depth-``L`` network here, and :math:`K_L` has a kink at
        :math:`t = 1` that sharpens with depth, so it needs a higher degree than one ReLU's
        :math:`\kappa` functions (which :class:`CNTKSketch` fits, layer by layer, with
        degree 4); the PolySketch tree has :math:`2^{\lceil \log_2 q \rceil}` leaves, so its
        cost grows about linearly with ``q`` (a power of two is the cheapest). Degree 8
        keeps ``fit_error_`` below a quarter of :math:`K_L(1)` up to depth 10 (a warning
        says when it does not); see the benchmark page for the speed of each degree.
    sketch_dim : int, default=None
        Complex width ``m`` of the internal sketches that the final projection combines
        into ``n_components`` features: here the PolySketch nodes below the root, one
        set per row (in :class:`CNTKSketch` the same quantity is per pixel). ``None``
        means ``max(min(n_components, 64), n_components // 4)``. Unused for
        ``degree <= 2`` (the root then samples the input's spectra directly).
    exact_linear : bool or "auto", default="auto"
        Output the degree-1 term exactly (see above). ``"auto"`` does so when
        ``n_features <= n_components // 4``, so that most columns remain for the sketch.
        Ignored with a bias.
    bias : float, default=0.0
        Bias standard deviation :math:`\beta` of every layer; the features then approximate
        ``ntk_kernel(X, depth=depth, bias=bias)`` through the layer-wise path (``sketch_dim``
        then means the per-layer width and defaults to ``n_components``).
""" + RUN_PARAMS_DOC + r"""
    Attributes
    ----------
    polynomial_coef_ : array of shape (degree + 1,)
        Non-negative polynomial coefficients :math:`c_j` (float64, in the array namespace and
        on the device of the data passed to ``fit``). Called ``coef_`` before 0.2 (that name
        still works, with a FutureWarning, until 0.3; on the estimators ``coef_`` is the
        ridge weights).
    exact_linear_ : bool
        Whether the degree-1 term is output exactly.
    fit_error_ : float
        Maximum of :math:`|\sum_j c_j t^j - K_L(t)|` over :math:`[-1, 1]`; it bounds the bias
        of the approximation relative to :math:`\|x\|\|y\|`.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Only when ``X`` has string feature names.

    References
    ----------
    A. Zandieh, I. Han, H. Avron, N. Shoham, C. Kim, J. Shin. *Scaling Neural Tangent Kernels via
    Sketching and Random Features*. NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_ntk import NTKSketch, ntk_kernel
    >>> X = np.random.RandomState(0).randn(5, 3)
    >>> Z = NTKSketch(n_components=2048, depth=2, random_state=0).fit_transform(X)

    ``Z Z^T`` approximates the exact kernel, here to a few percent in Frobenius norm:

    >>> K = ntk_kernel(X, depth=2)
    >>> print(Z.shape, bool(np.linalg.norm(Z @ Z.T - K) <= 0.1 * np.linalg.norm(K)))
    (5, 2048) True
    """

    _parameter_constraints = {
        **BaseFeatureMap._parameter_constraints,
        "depth": [Interval(Integral, 1, None, closed="left")],
        "degree": [Interval(Integral, 1, None, closed="left")],
        "sketch_dim": [Interval(Integral, 1, None, closed="left"), None],
        "exact_linear": ["boolean", StrOptions({"auto"})],
        "bias": [Interval(Real, 0, MAX_BIAS, closed="both")],
        "verbose": ["verbose"],
    }
    _namespace_attribute = "polynomial_coef_"
    coef_ = renamed_attribute("coef_", "polynomial_coef_")
    _fills_output = True

    def __init__(self, n_components=1024, *, depth=1, degree=8, sketch_dim=None,
                 exact_linear="auto", bias=0.0, random_state=None, max_memory=None,
                 verbose=0):
        store_params(self, locals())

    def _param_bytes(self, n_features):
        m = self._internal_width() if self.sketch_dim is None else self.sketch_dim
        return polysketch_bytes(n_features, m, self.degree) + 16 * self.n_components

    def _internal_width(self):
        return default_sketch_dim(self.n_components) if self.sketch_dim is None \
            else self.sketch_dim

    def _fit_params(self, rng, n_features):
        check_bias_value(self.bias, "bias", depth=self.depth)
        self._layered = None
        if self.bias > 0:
            return self._fit_layered(rng, n_features)
        coef, self.fit_error_ = fit_dot_product_polynomial(
            "ntk", self.degree, depth=self.depth, lower=-1.0)
        diagonal = float(ntk_on_sphere(np.array(1.0), self.depth))
        if self.fit_error_ > _MAX_RELATIVE_FIT_ERROR * diagonal:
            warnings.warn(
                f"NTKSketch: the degree-{self.degree} polynomial misses the depth-{self.depth} "
                f"NTK by up to {self.fit_error_:.3g}, {self.fit_error_ / diagonal:.0%} of its "
                f"diagonal value {diagonal:.3g}; the features approximate a different kernel. "
                "Raise degree (or use NTKRandomFeatures, which has no polynomial bias).",
                UserWarning, stacklevel=3)
        self._coef = tuple(float(c) for c in coef)
        exact_linear = self.exact_linear
        if exact_linear == "auto":
            exact_linear = n_features <= self.n_components // 4
        if exact_linear and n_features + 3 > self.n_components:
            raise ValueError(
                f"exact_linear=True needs n_components >= n_features + 3 = {n_features + 3}, "
                f"got n_components={self.n_components}.")
        self.exact_linear_ = bool(exact_linear)
        self._sketch_dim = self._internal_width()
        # Sketch only the degrees with a non-zero coefficient (and not an exact linear term).
        first = 2 if self.exact_linear_ else 1
        self._degrees = [j for j in range(first, self.degree + 1) if self._coef[j] > 0]
        # With a single output column the constant term joins the sketched column.
        self._constant_in_lone = self.n_components == 1
        n_real = (self.n_components - (0 if self._constant_in_lone else 1)
                  - (n_features if self.exact_linear_ else 0))
        self._n_real = n_real
        self._n_complex = n_real // 2
        # direct: block j has m_j complex columns, m_j proportional to c_j (one odd column is a
        # Rademacher projection of the others); mixed: too few columns for one per degree, so
        # every column is a Rademacher projection of one-sample blocks.
        self._mixed = len(self._degrees) > self._n_complex
        widths = [1] * len(self._degrees) if self._mixed else allocate_widths(
            [self._coef[j] for j in self._degrees], self._n_complex) if self._degrees else []
        self._widths = dict(zip(self._degrees, widths))
        self._polysketch = draw_polysketch_blocks(
            rng, n_features, self._sketch_dim, max(self._degrees, default=1), self._widths)
        n_sketch = 2 * sum(widths)
        self._lone = None
        if self._mixed:
            n_in = n_sketch + self._constant_in_lone
            self._lone = {"matrix": rademacher(rng, (n_in, n_real)) / math.sqrt(n_real)}
        elif n_real % 2:
            self._lone = {"signs": rademacher(rng, n_sketch)}
        self._prepared = {}
        return self.n_components

    def _fit_layered(self, rng, n_features):
        r"""With a bias: the layer-wise sketch of ``[Dense(b), ReLU()] * L + [Dense(b)]``.

        The one-shot polynomial needs :math:`\Theta(x, y) = \|x\|\|y\| K_L(t)`, which a
        bias breaks; the layer core sketches every layer instead (PolySketch of each ReLU's
        kappa polynomials of degree ``degree``, TensorSRHT products, blocks rescaled to their
        exact norms: a ratio estimator; on few input features the first ReLU uses the exact
        monomials of its polynomial instead, see :class:`CNTKSketch`), on one "pixel" whose
        channels are the features. Its
        dense layers scale the input by :math:`\sqrt{2/d}`, so rows are multiplied by
        :math:`\sqrt{d/2}` first and the features approximate ``ntk_kernel(X, bias=bias)``.
        ``sketch_dim`` defaults to ``n_components`` here (at 4,096 components, depth 1-3 and
        bias 0.5 on Gaussian rows the error was 0.089 / 0.078 at depths 1 / 3, against
        0.104 / 0.084 at half the width). This path is much slower per row than the
        bias-free one; :class:`NTKRandomFeatures` is the fast map for a bias.
        """
        width = max(self.n_components, 16) if self.sketch_dim is None else self.sketch_dim
        vector_network = _VectorNetwork(self.depth, self.bias, n_features, rng,
                                        degree=self.degree, sketch_dim=width)
        network = vector_network.network
        n_out = network.n_out
        n_complex = self.n_components // 2
        self._layered = {
            "network": vector_network,
            "final": draw_srht(rng, n_out, n_complex) if n_complex else None,
            "n_complex": n_complex,
            "lone": rademacher(rng, n_out) if self.n_components % 2 else None,
        }
        self._sketch_dim = width
        self.exact_linear_ = False
        fits = [p for p in network.params if p is not None and "a" in p]
        self._coef = tuple(float(c) for c in fits[0]["a"]) if fits else (1.0,)
        self.fit_error_ = float(max((max(e) for e in network.fit_errors), default=0.0))
        self._prepared = {}
        return self.n_components

    def _layered_features(self, xp, X, device):
        layered = self._layered
        pooled, params = layered["network"].features(xp, X, device)
        n_complex, lone = layered["n_complex"], layered["lone"]
        weight = 1.0 if lone is None else lone_column_weight(n_complex)
        columns = []
        if n_complex:
            W = srht(xp, pooled, layered["final"], device) * math.sqrt(weight)
            columns += [xp.real(W), xp.imag(W)]
        if lone is not None:
            column = xp.sum(pooled * params.get(lone), axis=-1, keepdims=True)
            columns.append(column * math.sqrt(1.0 - weight))
        return xp.concat([xp.astype(c, X.dtype) for c in columns], axis=1)

    def _namespace_array(self):
        return np.asarray(self._coef)

    def _bytes_per_row(self, itemsize):
        if self._layered is not None:
            return int(1.5 * itemsize * self._layered["network"].network.entries_per_image
                       + 4 * itemsize * self.n_components)
        # The output row and copies of the input get half of max_memory; the tree's spectra,
        # computed chunk by chunk (see _transform_batch), get the other half.
        return 2 * itemsize * (self.n_components + 4 * self.n_features_in_)

    def _spectra_bytes_per_row(self):
        """Bytes of complex spectra per row in one pass through the tree (complex128)."""
        leaves = polysketch_leaves(max(self._degrees, default=1))
        width = max(self._sketch_dim if leaves > 2 else 0, self.n_features_in_)
        return 16 * (3 * leaves * width + 2 * self.n_components)

    def _device_params(self, xp, device, dtype):
        """The tree's parameters in ``xp`` on ``device``, moved once per fit and dtype."""
        key = (xp.__name__, str(device), str(dtype))
        if key not in self._prepared:
            prepared = prepare_polysketch_blocks(xp, self._polysketch, device, dtype)
            if self._lone is not None:
                name = "matrix" if self._mixed else "signs"
                prepared["lone"] = to_device(xp, self._lone[name], device, dtype=dtype)
            self._prepared[key] = prepared
        return self._prepared[key]

    def _transform_batch(self, xp, X, device, out=None):
        if self._layered is not None or (out is not None and not _is_numpy(xp)):
            Z = featurise_with_bias(xp, X, lambda A: self._layered_features(xp, A, device)) \
                if self._layered is not None \
                else self._transform_batch(xp, X, device)
            if out is not None:
                out[...] = Z
            return Z
        # The tree runs on chunks of rows: NumPy chunks small enough for the spectra to stay
        # in cache (larger ones run slower), other namespaces chunks of max_memory.
        params = self._device_params(xp, device, X.dtype)
        step = rows_per_batch(2 * self._spectra_bytes_per_row(), self.max_memory)
        if _is_numpy(xp):
            return self._features(np, np.asarray(X), None, params, min(step, self._chunk_rows()),
                                  out=out)
        n = X.shape[0]
        if n <= step:
            return self._features(xp, X, device, params, n)
        out = xp.empty((n, self.n_components), dtype=X.dtype, device=device)
        for start in range(0, n, step):
            stop = min(start + step, n)
            out[start:stop, ...] = self._features(xp, X[start:stop, ...], device, params, step)
        return out

    def _features(self, xp, X, device, params, step, out=None):
        # norms of x / max|x_j| cannot overflow or underflow (see max_abs_rows)
        scale = max_abs_rows(xp, X)
        scaled = X / scale
        inner = xp.linalg.vector_norm(scaled, axis=1, keepdims=True)
        norms = inner * scale
        unit = scaled / xp.where(inner > 0, inner, xp.ones_like(inner))
        n = X.shape[0]
        head = [] if self._constant_in_lone else [math.sqrt(self._coef[0]) * norms]
        if self.exact_linear_:
            head.append(math.sqrt(self._coef[1]) * X)
        if not self._degrees or self._mixed:
            if not self._degrees:  # a constant polynomial (degree 1, exact linear): no sketch
                rest = xp.zeros((n, self._n_real), dtype=X.dtype, device=device)
            else:
                rest = self._mixed_columns(xp, unit, norms, params)
            Z = xp.concat(head + [rest], axis=1)
            if out is not None:
                out[...] = Z
            return Z
        weight = 1.0 if self._lone is None else lone_column_weight(self._n_complex)
        factors = {j: math.sqrt(self._coef[j] * weight / m) for j, m in self._widths.items()}
        if xp is np:
            return self._numpy_columns(X, head, unit, norms, params, factors, step, out)
        blocks = polysketch_blocks(xp, unit, params)
        W = xp.concat([b * (norms * factors[j]) for j, b in zip(self._degrees, blocks)], axis=1)
        # interleaved [Re, Im] pairs: the layout of a complex array viewed as real
        sketch = xp.reshape(xp.stack([xp.real(W), xp.imag(W)], axis=-1), (n, 2 * W.shape[1]))
        columns = head + [sketch]
        if self._lone is not None:
            lone = (sketch @ params["lone"]) * math.sqrt((1.0 - weight) / weight)
            columns.append(lone[:, None])
        return xp.concat(columns, axis=1)

    def _numpy_columns(self, X, head, unit, norms, params, factors, step, out=None):
        """NumPy: the blocks are multiplied straight into the (complex view of the) output.

        Rows go through the tree in chunks of :meth:`_chunk_rows`, small enough for the
        spectra of a chunk to stay in cache (larger batches run slower, not faster). ``out``
        (C-contiguous rows of the transform's output) is filled instead of a new array.
        """
        n = X.shape[0]
        Z = np.empty((n, self.n_components), dtype=X.dtype) if out is None else out
        start = 0
        for column in head:
            Z[:, start:start + column.shape[1]] = column
            start += column.shape[1]
        n_sketch = 2 * sum(self._widths.values())
        real = Z[:, start:start + n_sketch]
        W = real.view(np.complex64 if X.dtype == np.float32 else np.complex128)
        offsets = np.cumsum([0] + [self._widths[j] for j in self._degrees])
        for first in range(0, n, step):
            rows = slice(first, min(first + step, n))

            def write(k, a, b, rows=rows):
                out = W[rows, offsets[k]:offsets[k + 1]]
                np.multiply(a, b, out=out)
                out *= norms[rows] * factors[self._degrees[k]]

            polysketch_blocks(np, unit[rows], params, write=write)
        if self._lone is not None:
            weight = lone_column_weight(self._n_complex)
            Z[:, -1] = (real @ params["lone"]) * math.sqrt((1.0 - weight) / weight)
        return Z

    def _chunk_rows(self):
        """NumPy rows per pass through the tree: about 8 MiB of spectra (16 to 256 rows)."""
        return int(min(256, max(16, (8 << 20) // self._spectra_bytes_per_row())))

    def _mixed_columns(self, xp, unit, norms, params):
        """Too few columns for one per degree: a Rademacher projection of one-sample blocks."""
        blocks = polysketch_blocks(xp, unit, params)
        W = xp.concat([b * math.sqrt(self._coef[j]) for j, b in zip(self._degrees, blocks)],
                      axis=1) * norms
        parts = [xp.real(W), xp.imag(W)]
        if self._constant_in_lone:
            parts.insert(0, math.sqrt(self._coef[0]) * norms)
        return xp.concat(parts, axis=1) @ params["lone"]


class NTKRandomFeatures(BaseFeatureMap):
    __doc__ = r"""Random features of the ReLU NTK (or NNGP) of any depth and bias (Zandieh et al. 2021).

    With :math:`\Phi_1(z) = \sqrt{2/m_1}\,\mathrm{ReLU}(W^T z)` (order-1 arc-cosine features,
    :math:`E\langle\Phi_1(z),\Phi_1(z')\rangle = \|z\|\|z'\|\kappa_1(\rho)`) and
    :math:`\Phi_0(z) = \sqrt{2/m_0}\,1[W'^T z > 0]` (order 0, :math:`\approx\kappa_0(\rho)`), start
    from :math:`\nu = \psi = [\beta, x]` and for each layer

    .. math::

        a = \Phi_0(\nu),\quad \nu \leftarrow [\beta, \Phi_1(\nu)],\quad
        \psi \leftarrow [\nu,\ \mathrm{TensorSRHT}(\psi, a)].

    Then :math:`E\langle\nu(x),\nu(y)\rangle = \Sigma^{(L)}(x, y)` (NNGP) and
    :math:`\langle\psi(x),\psi(y)\rangle \approx \Theta^{(L)}(x, y)` (NTK); the complex
    TensorSRHT block is output as its real and imaginary parts. The ``bias`` column is left out
    when :math:`\beta = 0`.

    The recursion is the layer loop of :mod:`sklearn_ntk.layers` on the ``fc`` preset, with
    the random-feature rule of the ReLU (:math:`m_1^{-1/2}\mathrm{ReLU}(W_1^T g)` and a
    TensorSRHT of the NTK features with :math:`m_0^{-1/2}\,1[W_0^T g > 0]`) in place of the
    polynomial sketch that :class:`NTKSketch` and :class:`CNTKSketch` use. The output
    columns are :math:`\beta` (with a bias), then :math:`\Phi_1` (:math:`m_1` columns),
    then the TensorSRHT block as interleaved real and imaginary parts
    (:math:`\mathrm{Re}\,T_1, \mathrm{Im}\,T_1, \mathrm{Re}\,T_2, \dots`).

    Parameters
    ----------
    n_components : int, default=1024
        Number of output features (exactly). Below ``3`` (``4`` with a bias) the two blocks do
        not fit side by side; they are then built with width 1 and compressed by an unbiased
        Rademacher projection (very noisy, but still an estimate of the right kernel).
""" + FC_NETWORK_PARAMS_DOC + r"""    sketch_components : int, default=None
        Complex width :math:`m_s` of the TensorSRHT block (``kind="ntk"``); it fills
        :math:`2 m_s` output columns, the order-1 features the rest:
        :math:`m_1 = n_{components} - 2 m_s - [\beta > 0]`. ``None`` means
        ``n_components // 4`` (half of the columns to each part).
    arccos_order0_components : int, default=None
        Width :math:`m_0` of the order-0 features of each layer; ``None`` means :math:`m_1`.
    leverage_sampling : bool, default=False
        Draw the order-1 directions from the leverage-score distribution
        :math:`p(w) \propto \|w\|^2 N(w; 0, I)` (exactly: uniform direction, radius
        :math:`\chi_{d+2}`) with importance weights; this is the variant with the spectral
        approximation guarantee.
    exact_norms : bool, default=True
        At every layer, rescale each row's order-1 block and TensorSRHT block to their exact
        norms, known from the layer before (:math:`\kappa_0(1) = \kappa_1(1) = 1`); at the
        output :math:`\|\Phi_1\|^2 = \Sigma^{(L-1)}(x, x) = \|x\|^2 + L\beta^2` and
        :math:`\|T\|^2 = \Theta^{(L)}(x, x) - \Sigma^{(L)}(x, x) = L\|x\|^2 +
        \tfrac{L(L+1)}{2}\beta^2`. The diagonal :math:`\Theta^{(L)}(x, x)` is then exact and
        the norm noise of every row is gone (the relative Frobenius error of
        :math:`ZZ^T` drops by about a fifth at depth 3, see ``benchmarks/RESULTS.md``). It is
        a ratio estimator: off-diagonal entries get a bias of order ``1 / n_components``
        (tested to shrink with width). ``False`` keeps every entry exactly unbiased at
        depth 1. Ignored when the blocks are compressed (``n_components < 3``, or ``4`` with a
        bias).
""" + RUN_PARAMS_DOC + r"""
    Attributes
    ----------
    n_arccos_components_ : int
        :math:`m_1`.
    n_sketch_components_ : int
        :math:`m_s` (0 for ``kind="nngp"``).
    input_weights_ : array of shape (n_features + [bias > 0], `n_arccos_components_`)
        Order-1 directions :math:`W` of the first layer (drawn on the host, float64, in the
        array namespace and on the device of the data passed to ``fit``); with a bias, the
        first row is that of the bias coordinate.
    n_features_in_ : int

    References
    ----------
    A. Zandieh et al. *Scaling Neural Tangent Kernels via Sketching and Random Features*,
    NeurIPS 2021; I. Han et al. *Random Features for the Neural Tangent Kernel*, 2021.
    """

    _parameter_constraints = {
        **BaseFeatureMap._parameter_constraints,
        "depth": [Interval(Integral, 1, None, closed="left")],
        "bias": [Interval(Real, 0, MAX_BIAS, closed="both")],
        "kind": [StrOptions({"ntk", "nngp"})],
        "sketch_components": [Interval(Integral, 1, None, closed="left"), None],
        "arccos_order0_components": [Interval(Integral, 1, None, closed="left"), None],
        "leverage_sampling": ["boolean"],
        "exact_norms": ["boolean"],
        "verbose": ["verbose"],
    }
    _namespace_attribute = "input_weights_"

    _memory_advice = "Use a smaller n_components or arccos_order0_components."

    def __init__(self, n_components=1024, *, depth=1, bias=0.0, kind="ntk",
                 sketch_components=None, arccos_order0_components=None,
                 leverage_sampling=False, exact_norms=True, random_state=None,
                 max_memory=None, verbose=0):
        store_params(self, locals())

    def _param_bytes(self, n_features):
        # per layer: the weights W1 (width x m1) and W0 (width x m0), signs and indices
        m1, ms = self._split_components()
        m0 = self.arccos_order0_components or m1
        width = max(n_features, m1) + 2
        return 8 * self.depth * (width * (m1 + m0) + 2 * width + 4 * (m0 + ms))

    def _split_components(self):
        has_bias = self.bias > 0
        if self.kind == "nngp":
            # one column with a bias: [beta, Phi_1] is compressed (see _fit_params)
            return max(1, self.n_components - has_bias), 0
        if self.n_components < 3 + has_bias:
            # Too few columns for the two blocks: build minimal blocks and compress them
            # (see _fit_params); sketch_components cannot be honoured here.
            if self.sketch_components is not None:
                raise ValueError(
                    f"sketch_components={self.sketch_components} does not fit in "
                    f"n_components={self.n_components}: at least {3 + has_bias} columns "
                    "are needed to output the blocks separately.")
            return 1, 1
        ms = self.sketch_components
        if ms is None:
            ms = max(1, self.n_components // 4)
        m1 = self.n_components - has_bias - 2 * ms
        if m1 < 1:
            raise ValueError(
                f"sketch_components={ms} leaves no order-1 features: 2 * sketch_components "
                f"must be at most n_components - {1 + has_bias} = "
                f"{self.n_components - 1 - has_bias}.")
        return m1, ms

    def _fit_params(self, rng, n_features):
        check_bias_value(self.bias, "bias", depth=self.depth)
        m1, ms = self._split_components()
        m0 = self.arccos_order0_components or m1
        self.n_arccos_components_, self.n_sketch_components_ = m1, ms
        width = m1 + (self.bias > 0) + (2 * ms if self.kind == "ntk" else 0)
        # Unbiased compression when the blocks do not fit: each column (g . u) / sqrt(n)
        # with Rademacher g; exact norms are then pointless (the projection changes them).
        compress = width > self.n_components
        rule = ArccosRule(m1, m0, max(ms, 1), bool(self.leverage_sampling),
                          bool(self.exact_norms) and not compress)
        self._network = _VectorNetwork(self.depth, self.bias, n_features, rng, degree=1,
                                       sketch_dim=1, kind=self.kind, arccos=rule)
        self._compress = None
        if compress:
            self._compress = rademacher(rng, (width, self.n_components)) / math.sqrt(
                self.n_components)
        return self.n_components

    def _namespace_array(self):
        first_relu = next(p for p in self._network.network.params
                          if p is not None and "arccos" in p)
        return first_relu["arccos"]["W1"]

    def _bytes_per_row(self, itemsize):
        return itemsize * (int(1.5 * self._network.network.entries_per_image)
                           + 4 * self.n_components)

    def _transform_batch(self, xp, X, device):
        if self.bias == 0:
            # bias-free features are positively homogeneous: featurise x / max|x_j| and
            # scale back, so huge (or tiny) rows neither overflow nor underflow
            scale = max_abs_rows(xp, X)
            return self._features(xp, X / scale, device) * scale
        return featurise_with_bias(xp, X, lambda A: self._features(xp, A, device))

    def _features(self, xp, X, device):
        out, params = self._network.features(xp, X, device)
        if self._compress is not None:
            out = out @ params.get(self._compress)
        return out
