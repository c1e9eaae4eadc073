"""The autograder behind ``mlcourse grade``: rebuilt, isolated, never fooled.

Grading one submission is a pipeline of small steps, one module each:

1. :mod:`.discover`: find the notebooks; learner id from the folder, lesson
   from the notebook's metadata, sha256 of the file;
2. :mod:`.rebuild`: start from the lesson's trusted learner template and take
   from the submission only its answer cells and the cells it added;
3. :mod:`.sandbox` (grader side), :mod:`.zygote` (fork server),
   :mod:`.isolation` (namespaces, mounts, limits, capabilities),
   :mod:`.keeper` and :mod:`.runner` (the child's side): run the cells in a
   fresh, isolated, resource-limited process forked from a server that has
   the heavy libraries loaded already, or from its shared checkpoint of the
   lesson's trusted cells (:mod:`.prefix`, :mod:`.checkpoint`), so each
   submission pays only for its own cells;
4. :mod:`.verdict`: make the inputs from a secret seed, ask the child for plain
   data only, judge it here with the same exercise definitions the check cells
   use; a failing cell zeroes only the exercises it holds, and the notebook is
   replayed without it, from the child's fork point before it when it has one;
5. :mod:`.results`: ``results.json`` (Gradescope's schema), ``feedback.md``,
   the SQLite gradebook, JUnit XML;
6. :mod:`.batch`: many submissions in parallel, a progress bar and a summary.

The pytest plugin (:mod:`mlcourse.pytest_plugin`) runs the same pipeline on one
notebook and reports one test per exercise.
"""
from __future__ import annotations
