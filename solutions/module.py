"""The one interface every layer, activation and model in this course shares.

A module maps an input ``x`` to an output ``y = forward(x)``. Given the upstream
gradient ``dL/dy``, ``backward`` returns ``dL/dx`` and stores ``dL/dθ`` for each
parameter ``θ`` as the attribute ``d<name>`` (``W`` -> ``dW``), as CS231n's layers do.
A module is in training mode (``training = True``) until ``eval()``; layers that behave
differently at test time (Dropout, BatchNorm1d) read ``self.training``, as torch's do.
"""


class Module:
    """Base class: ``param_names`` lists the attributes that hold parameters."""

    param_names: tuple = ()
    training: bool = True

    def train(self, mode=True):
        """Training mode (``mode=False``: eval mode), for this module and, when it holds
        ``layers``, every layer in it, as ``nn.Module.train``; returns the module."""
        self.training = bool(mode)
        for layer in getattr(self, "layers", ()):
            layer.train(mode)
        return self

    def eval(self):
        """Eval mode: ``train(False)``."""
        return self.train(False)

    def forward(self, x):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """The parameter arrays, in ``param_names`` order (optimizers update them in place)."""
        return [getattr(self, name) for name in self.param_names]

    def gradients(self):
        """The gradient arrays from the last ``backward``, in the same order."""
        return [getattr(self, "d" + name) for name in self.param_names]
