"""Exercises of lesson 02, Train.

``probes.py`` is what the grading child runs; ``checks.py`` holds the
definitions, references and verdicts (the answer key: never loaded there).
"""
