"""Adapters from other frameworks to the exact-task protocol (`mamltheory.simulate.tasks.ExactTasks`).

Each adapter lives in its own module and imports its framework only when that module is imported
(`import mamltheory` never imports torch): `mamltheory.adapters.torch.TorchTasks` needs the extra
`pip install 'mamltheory[torch]'`.
"""
