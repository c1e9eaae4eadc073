"""``mlcourse dashboard GRADED_DIR``: the instructor's view of a graded cohort, in the browser.

A local web page (FastAPI, HTML rendered on the server with Jinja2, plots as
inline SVG: no build step, no JavaScript framework) over the gradebook that
``mlcourse grade`` writes:

1. :mod:`.data`: read the gradebook once per change and work out what the
   pages show: per lesson and exercise the share passed / failed / error /
   not attempted, score distributions, failure messages grouped by known
   mistake, learners below a threshold, resubmission history, the review queue;
2. :mod:`.svg`: the plots;
3. :mod:`.app`: the pages, the review form (the one thing it writes: a review,
   in the gradebook's own transaction, then the learner's ``results.json`` and
   ``feedback.md`` again), the CSV exports, and the token that guards it when
   it is not bound to this machine alone.
"""
from __future__ import annotations
