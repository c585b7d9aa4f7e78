"""mamltheory: the convergence theory of MAML, FO-MAML and HF-MAML, usable and checkable.

Theory: Fallah, Mokhtari, Ozdaglar, "On the Convergence Theory of Gradient-Based
Model-Agnostic Meta-Learning Algorithms" (shared/paper/maml-convergence-theory.md).
"""

__version__ = "0.1.0"
