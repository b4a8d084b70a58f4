"""The recommender simulator: a vectorised, exact-evaluation world in which off-policy supervised
learners (``ctr``, ``next_item``, ``ips``) and on-policy learners (``onpolicy``, ``self_sup``) are
trained stage after stage. Entry point: ``recsys_sim.learner.make_learner``.

Modules (bottom up): ``config`` (knobs), ``clicks`` (click model), ``env`` (world, segments),
``policy`` (policy model, Plackett-Luce), ``sampler`` (fast exact slates), ``rollouts`` (logged
interactions), ``defects`` (recommender defect metrics), ``learners`` (losses, stage loop),
``learner`` (the ``Learner`` protocol). The world calibrated on the Open Bandit Dataset
(``world: obd``): ``obd_data`` (loader), ``obd_clicks`` (click model fitted on the random logs),
``obd_env`` (the world), ``obd_offline`` (IPS / SNIPS of learners trained on the real BTS logs).
"""
