"""Adapters from other frameworks to the exact-task protocol (`mamltheory.simulate.tasks.ExactTasks`).

Each adapter lives in its own module and imports its framework only when that module is imported
(`import mamltheory` never imports torch): `mamltheory.adapters.torch.TorchTasks` needs the extra
`pip install '.[torch]'` in the repository's folder (docs/torch.md: the CPU-only wheel).
"""

from __future__ import annotations

import argparse
from typing import Any

from mamltheory.errors import InputError
from mamltheory.parsing import integer

# torch's intra-op threads in the torch commands. One: these networks' ops are tiny, so threads cost more in
# synchronisation than they give (benchmarks/bench_torch.py, docs/torch.md "Speed").
DEFAULT_TORCH_THREADS = 1
# An upper end far beyond any machine's cores; beyond it torch would only oversubscribe.
MAX_TORCH_THREADS = 1024


def add_threads_flag(parser: Any) -> None:
    """`--torch-threads N` of `estimate` and `simulate` (only with --torch)."""
    parser.add_argument("--torch-threads", dest="torch_threads", default=None, metavar="N",
                        help=f"--torch: torch's intra-op threads (default {DEFAULT_TORCH_THREADS}: faster for small "
                             "networks; see docs/torch.md)")


def torch_threads(args: argparse.Namespace) -> int | None:
    """The validated --torch-threads (the default with --torch, None without); checked before any work."""
    if args.torch_threads is not None and args.torch is None:
        raise InputError("--torch-threads: only with --torch", field="torch_threads")
    if args.torch is None:
        return None
    if args.torch_threads is None:
        return DEFAULT_TORCH_THREADS
    return integer("--torch-threads", args.torch_threads, 1, MAX_TORCH_THREADS)
