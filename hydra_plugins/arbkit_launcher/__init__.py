"""Hydra launcher ``hydra/launcher=arbkit``: a multirun's jobs batched through arbkit's shared-book kernel."""
