"""The recommender simulator: a vectorised, exact-evaluation world in which off-policy supervised
learners (``ctr``, ``next_item``, ``ips``) and on-policy learners (``onpolicy``, ``self_sup``) are
trained stage after stage. Entry point: ``recsys_sim.learner.make_learner``.

Modules (bottom up): ``config`` (knobs), ``clicks`` (click model), ``env`` (world, segments),
``policy`` (policy model, Plackett-Luce), ``sampler`` (fast exact slates), ``rollouts`` (logged
interactions), ``defects`` (recommender defect metrics), ``learners`` (losses, stage loop),
``learner`` (the ``Learner`` protocol).
"""
