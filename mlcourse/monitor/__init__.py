"""Stage 4 of the lifecycle, Monitor: watch the model in production, and close the loop.

1. :mod:`.drift`: per-feature data-drift tests and reports, with evidently's
   conventions (PSI, KS, chi-square, Z, Jensen-Shannon, Wasserstein);
2. :mod:`.service`: what the running service did, from its prediction log
   (:mod:`mlcourse.deploy.prediction_log`): latency, errors, quality once the
   labels arrive, alerts and a dashboard;
3. :mod:`.retraining`: when to retrain (a policy table), backtests of
   retraining policies, and the feedback loop back to Data and Train.

:mod:`.thresholds` holds what the service's alerts and the retraining
policies share: a condition ``metric op number``, parsed and checked one way;
:mod:`.experiments`, the lesson experiments behind the choice of drift tests.

Monitoring sits on top of the other stages: it reads what deployment
(:mod:`mlcourse.deploy`) logged, refits the models of :mod:`mlcourse.train`
on data from :mod:`mlcourse.data`, and is imported by none of them.
Importing the package loads nothing heavy.
"""
