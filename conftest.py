"""Root pytest configuration, shared by the unit tests and nbval.

nbval's kernels inherit this process's environment, so pointing
``MLCOURSE_HOME`` at a fresh temporary folder here keeps every notebook's
output independent of the learner's own progress and run history.
"""
import os
import tempfile

os.environ["MLCOURSE_HOME"] = tempfile.mkdtemp(prefix="mlcourse-test-home-")
