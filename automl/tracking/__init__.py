"""Experiment tracking and review: W&B runs, the search timeline, and leaderboard views.

Everything here is imported lazily by the API and the CLI; importing :mod:`automl` loads none of it.
"""
