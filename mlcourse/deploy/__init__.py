"""Stage 3 of the lifecycle, Deploy: a trained model becomes a service.

1. :mod:`.onnx`: export a scikit-learn model to ONNX and run it with
   onnxruntime, without unpickling anything;
2. :mod:`.registry`: a file-based model registry: immutable versions with
   metadata and hashes, aliases (``production``, ``candidate``), promotion
   and rollback;
3. :mod:`.prediction_log`: the SQLite log of every prediction and the labels
   that arrive later, which monitoring (:mod:`mlcourse.monitor`) reads;
4. :mod:`.rollout`: canary routing, automatic rollback, following an alias
   while serving;
5. :mod:`.app`: the model service, the FastAPI app over it, and ``mlcourse serve``.

Importing the package loads nothing heavy: each module imports numpy,
onnxruntime, FastAPI... only when it needs them.
"""
