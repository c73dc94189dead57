"""Experiment configurations (TOML, validated by ``training.config``) and their recorded results."""
