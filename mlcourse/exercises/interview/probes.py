"""The probes of lesson 06 (interview preparation): what the grading child runs.

Every answer here is a value (letters, an order, a STAR dict) judged as it
is, so each test uses :func:`mlcourse.exercises.probes.as_given` and this
module defines nothing of its own. It exists so that every lesson has the
same layout, and the grading child's fork server preloads it like the others.
"""
