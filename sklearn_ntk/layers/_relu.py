"""Rectified linear unit."""

from dataclasses import dataclass

import numpy as np

from ._base import Layer
from ._arccos_features import draw_relu_arccos, relu_arccos_features
from ._features import draw_relu, relu_features


def relu_kernels(rho, k0, k1):
    r"""Write :math:`\kappa_0(\rho)` into ``k0`` and :math:`\kappa_1(\rho)` into ``k1``.

    :math:`\kappa_0(t) = 1 - \arccos(t)/\pi` and
    :math:`\kappa_1(t) = t\,\kappa_0(t) + \sqrt{1 - t^2}/\pi`: one arccos and no
    temporaries. ``rho`` must already lie in [-1, 1]; it is overwritten.
    """
    np.multiply(rho, rho, out=k1)
    np.subtract(1.0, k1, out=k1)
    np.sqrt(k1, out=k1)
    k1 *= 1.0 / np.pi
    np.arccos(rho, out=k0)
    k0 *= -1.0 / np.pi
    k0 += 1.0
    rho *= k0
    k1 += rho


def _root_and_inverse(norm):
    root = np.sqrt(norm)
    inv = np.zeros_like(root)
    np.divide(1.0, root, out=inv, where=root > 0)
    return root, inv


def _banded_partner(norms, band):
    """``out[b, i, dh, j, dw] = norms[b, i + dh - b_h, j + dw - b_w]``, zero outside."""
    bh, bw = band
    n_pairs, height, width = norms.shape
    padded = np.zeros((n_pairs, height + 2 * bh, width + 2 * bw))
    padded[:, bh:bh + height, bw:bw + width] = norms
    windows = np.lib.stride_tricks.sliding_window_view(padded, (2 * bh + 1, 2 * bw + 1),
                                                       axis=(1, 2))
    return windows.transpose(0, 1, 3, 2, 4)


@dataclass(frozen=True)
class ReLU(Layer):
    r"""Rectified linear unit :math:`\phi(z) = \max(z, 0)`, applied position-wise.

    For a centred Gaussian pair :math:`(u, v)` with variances :math:`N_p, N'_q` and
    correlation :math:`\rho_{pq} = \Sigma_{pq} / \sqrt{N_p N'_q}` (Cho & Saul 2009),

    .. math::

        E[\phi(u)\phi(v)] = \tfrac12\sqrt{N_p N'_q}\,\kappa_1(\rho_{pq}),\qquad
        E[\phi'(u)\phi'(v)] = \tfrac12\,\kappa_0(\rho_{pq}),

    with :math:`\kappa_0(t) = 1 - \arccos(t)/\pi` and
    :math:`\kappa_1(t) = (\sqrt{1-t^2} + t(\pi - \arccos t))/\pi`. Hence

    .. math::

        \Sigma'_{pq} = \tfrac12\sqrt{N_p N'_q}\,\kappa_1(\rho_{pq}),\qquad
        \Theta'_{pq} = \tfrac12\,\Theta_{pq}\,\kappa_0(\rho_{pq}),

    where :math:`N_p = \Sigma_{pp}(x, x)` and :math:`N'_q = \Sigma_{qq}(y, y)` are the
    position variances of the two inputs. Correlations are clipped to [-1, 1]; a zero-variance
    position has correlation 0 (and covariance 0); a position of an image against the same
    position of the same image has correlation exactly 1 (rounding near 1 would otherwise
    cost about 1e-8 through the square root and arccos). The factor 1/2 is cancelled by the
    weight variance 2 of the next linear layer.
    """

    needs_norms = True

    def out_shape(self, shape):
        return shape

    def draw_features(self, rng, spec, config):
        """Polynomial fits and sketches (:func:`~sklearn_ntk.layers._features.draw_relu`),
        or arc-cosine directions when ``config.arccos`` is set
        (:mod:`~sklearn_ntk.layers._arccos_features`)."""
        if config.arccos is not None:
            params, out = draw_relu_arccos(rng, spec, config.arccos)
            return {"arccos": params}, out
        return draw_relu(rng, spec, config)

    def features(self, ctx, state, params):
        """Feature rule: PolySketch of the kappa1 / kappa0 polynomials and a TensorSRHT (see
        :func:`~sklearn_ntk.layers._features.relu_features`), or arc-cosine random features
        and a TensorSRHT (:func:`~sklearn_ntk.layers._arccos_features.relu_arccos_features`)."""
        if "arccos" in params:
            return relu_arccos_features(ctx, state, params["arccos"])
        return relu_features(ctx, state, params)

    def kernel(self, state):
        if state.norms_x is None or state.norms_y is None:
            raise ValueError("ReLU.kernel needs the position variances norms_x, norms_y.")
        nx = state.norms_x[:, :, None, :, None]
        if state.band is not None:
            ny = _banded_partner(state.norms_y, state.band)
        else:
            ny = state.norms_y[:, None, :, None, :]
        root_x, inv_x = _root_and_inverse(nx)
        root_y, inv_y = _root_and_inverse(ny)
        rho = state.sigma * inv_x
        rho *= inv_y
        same = np.flatnonzero(state.self_pair)
        if same.size and state.band is not None:
            bh, bw = state.band
            rho[same, :, bh, :, bw] = nx[same, :, 0, :, 0] > 0
        elif same.size:
            h, w = state.spatial_shape
            rows = np.arange(h)[None, :, None]
            cols = np.arange(w)[None, None, :]
            idx = same[:, None, None]
            rho[idx, rows, rows, cols, cols] = nx[idx, rows, 0, cols, 0] > 0
        np.clip(rho, -1.0, 1.0, out=rho)
        k0 = np.empty_like(rho)
        k1 = np.empty_like(rho)
        relu_kernels(rho, k0, k1)
        k1 *= 0.5 * root_x
        k1 *= root_y
        theta = None
        if state.ntk and state.theta is not None:
            k0 *= 0.5
            theta = state.theta * k0
        return state.replace(sigma=k1, theta=theta)
