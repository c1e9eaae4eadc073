"""Exercises of lesson 04, Monitor.

``probes.py`` is what the grading child runs; ``checks.py`` holds the
definitions, references and verdicts (the answer key: never loaded there).
"""
