"""Hydra sweeper ``hydra/sweeper=arbkit_optuna``: Optuna (TPE, NSGA-II, random) with ask/tell over arbkit jobs."""
