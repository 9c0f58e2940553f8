"""Parameter entries shared by several numpydoc docstrings (one wording, one place)."""

#: The ``random_state``, ``max_memory`` and ``verbose`` entries of the feature maps' docstrings.
RUN_PARAMS_DOC = r"""    random_state : int, RandomState instance or None, default=None
        Seeds every random draw (made in ``fit``, on the host): the same seed gives the same
        features, up to floating-point rounding, on every backend and for any batch size.
    max_memory : int, default=None
        Bytes of intermediate arrays per transform batch; ``None`` means 256 MiB, or
        scikit-learn's ``working_memory`` when that is smaller. ``transform`` writes the
        batches into one preallocated output, so it holds at most the output plus this,
        or plus one row's intermediates when a single row needs more than the budget
        (a batch has at least one row). The features do not depend on it.
    verbose : int, default=0
        Report progress over the transform batches (a ``tqdm`` bar when installed, plain
        lines otherwise).
"""

#: The ``depth``, ``bias`` and ``kind`` entries of the fully connected NTK maps.
FC_NETWORK_PARAMS_DOC = r"""    depth : int, default=1
        Number of hidden ReLU layers ``L``.
    bias : float, default=0.0
        Bias standard deviation :math:`\beta \ge 0` of the network.
    kind : {"ntk", "nngp"}, default="ntk"
        Which kernel the features approximate: the NTK or the NNGP kernel of the network.
"""
