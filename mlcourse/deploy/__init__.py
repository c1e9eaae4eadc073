"""Stage 3 of the lifecycle, Deploy: a trained model becomes a service.

A stack of small modules, each using only those above it in this list and the
stages before (:mod:`mlcourse.data`, :mod:`mlcourse.train`):

1. :mod:`.onnx`: export a scikit-learn model to ONNX and run it with
   onnxruntime, without unpickling anything;
2. :mod:`.registry`: a file-based model registry: immutable versions with
   metadata and hashes, aliases (``production``, ``candidate``), promotion
   and rollback; a small query API (:func:`~.registry.registry_root`,
   :func:`~.registry.model_names`, :func:`~.registry.get_aliases`,
   :func:`~.registry.resolve_version`) for the modules above it;
3. :mod:`.service`: :class:`~.service.ModelService`, a model behind a check
   of every request against its feature schema, the piece every serving
   path shares;
4. :mod:`.prediction_log`: the SQLite log of every prediction and the labels
   that arrive later, which monitoring (:mod:`mlcourse.monitor`) reads;
5. :mod:`.rollout`: canary routing, automatic rollback, following an alias
   while serving (:class:`~.rollout.ModelRouter`);
6. :mod:`.default_model`: train and register the course's default model,
   ``fraud-detector`` (defined in :mod:`mlcourse.train.fraud_model`);
7. :mod:`.schemas`: the HTTP contract: request models built from the
   recorded feature schema, response models, the OpenAPI document;
8. :mod:`.prometheus`: the service's Prometheus metrics;
9. :mod:`.app`: the FastAPI app over all of it (:func:`~.app.create_app`);
10. :mod:`.server`: ``mlcourse serve``: start-up checks and fallbacks, uvicorn;
11. :mod:`.commands`: ``mlcourse registry``: the registry from the command line.

Importing the package loads nothing heavy: each module imports numpy,
onnxruntime, FastAPI... only when it needs them.
"""
