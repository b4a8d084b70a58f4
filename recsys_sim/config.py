"""Every knob of the recommender simulator, with defaults sized for a 2-core CPU.

``RecsysConfig.from_dict(d)`` builds it from the ``recsys:`` section of a suite config through the
suite's parser (``forgetbench.config.parse``) and raises ``ForgetbenchError`` naming the first bad
field as ``recsys.<field>`` (unknown name with a did-you-mean, wrong type, out-of-range value); the
suite's ``load_config`` checks the section this way, so a YAML error names its line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from forgetbench.config.parse import build_dataclass, field_error

METHODS = ("ctr", "next_item", "ips", "onpolicy", "self_sup", "onpolicy_pg", "onpolicy_pos", "offpolicy_pos")
SEGMENTS = ("cohort_a", "cohort_b", "cohort_c", "cohort_a_rotated", "cohort_b_rotated", "cohort_c_rotated",
            "cohort_d")
OBD_SEGMENTS = ("men", "women")      # world: obd — the Open Bandit Dataset's campaigns
WORLDS = ("synthetic", "obd")


def _default_lr() -> dict[str, float]:
    return {m: 0.03 for m in METHODS}


@dataclass
class RecsysConfig:
    # --- world -----------------------------------------------------------------------------
    world: str = "synthetic"         # "synthetic" (env.py) | "obd": calibrated on the Open Bandit
                                     # Dataset (obd_env.py; stages from OBD_SEGMENTS, slate_size 3)
    obd_cross_campaign_logit: float = -2.0   # obd: log-odds offset of an item of another campaign
    n_categories: int = 8            # C; the last `new_categories` appear with cohort B
    new_categories: int = 2
    items_per_category: int = 25     # N = C * items_per_category
    dim: int = 16                    # latent dimension of the true item embeddings and the policy
    item_noise: float = 0.6          # e_i = mu_c + item_noise * xi / sqrt(dim)
    item_bias_std: float = 0.5       # quality / popularity bias b_i ~ N(0, std^2)
    utility_scale: float = 4.0       # u_ui = scale * <t_u, e_i> + b_i, t_u = sum_c p_uc mu_c
    users_per_cohort: int = 1000
    heldout_users: int = 0           # > 0: each segment is EVALUATED on this many other users of its
                                     # cohort, never in a training log (synthetic world); 0: on the
                                     # training users (old runs)
    interest_concentration: float = 0.5   # Dirichlet total mass alpha (small = few strong tastes)
    cohort_b_new_share: float = 0.7  # share of cohort B's Dirichlet base measure on new categories
    cohort_c_concentration: float = 5.0   # cohort C: broad tastes, Dirichlet(this * uniform over all)
    feature_noise: float = 0.3       # x_u = p_u + feature_noise * eps (observed features)
    rotation_shift: int = 1          # rotated interests: roll over the base categories by this
    rotation_strength: float = 1.0   # p' = (1 - s) p + s roll(p)
    rotate_features: bool = False    # False: concept drift (same features, new tastes)
    popularity_feedback: float = 0.0  # dynamics (recsys_sim.dynamics): utility gain per unit of excess
                                     # exposure share after each round (rich get richer); 0 = off
    boredom: float = 0.0             # dynamics: utility a training user loses for an item per showing
    # --- click model -----------------------------------------------------------------------
    slate_size: int = 5              # K
    position_bias: float = 1.0       # b_p = -position_bias * log2(1 + p), p = 0..K-1
    no_click_utility: float = 3.0    # u_0
    # --- logging policy of the off-policy learners ------------------------------------------
    logging_policy: str = "epsilon"  # "epsilon" | "boltzmann"
    logging_epsilon: float = 0.1     # epsilon-greedy: whole slate uniform with prob. epsilon
    logging_temperature: float = 1.0  # boltzmann: Plackett-Luce on scores / temperature
    # --- training budget (equal for every learner) ------------------------------------------
    rounds_per_stage: int = 10       # the deployed (logging) policy is refreshed every round
    interactions_per_stage: int = 20480   # interaction = one user shown one slate
    epochs_per_round: int = 1
    batch_size: int = 512            # interactions per gradient step
    learning_rates: dict[str, float] = field(default_factory=_default_lr)
    # --- learner knobs ------------------------------------------------------------------------
    group_size: int = 8              # onpolicy G: slates per user (count as G interactions)
    onpolicy_reward: str = "sampled"  # "sampled" (one click draw) | "exact" (slate CTR)
    clip_eps: float = 0.2            # PPO/GRPO ratio clip (only active after the first step)
    kl_coef: float = 0.0             # onpolicy: + kl_coef * KL(pi || pi_stage_start)
    entropy_bonus: float = 0.0       # onpolicy: - entropy_bonus * H(pi)
    ips_cap: float = 10.0            # importance weight cap
    ppo_epochs: int = 4              # onpolicy_pg / _pos, offpolicy_pos: passes over each round (x epochs_per_round)
    equal_steps: bool = False        # True: EVERY learner makes epochs_per_round * ppo_epochs passes over
                                     # each round (same optimizer steps); False (old runs): only the
                                     # PPO-style learners do, the others epochs_per_round
    offpolicy_estimator: str = "ips"  # offpolicy_pos: "ips" (mean of weighted terms) | "snips" (self-normalised)
    offpolicy_topk: bool = True      # offpolicy_pos: the top-K correction lambda_K = K (1 - pi)^(K-1)
    baseline_steps: int = 50         # their learned click baseline: full-batch Adam steps per round
    baseline_lr: float = 0.05
    # --- base policy (shared by every method of a seed) ---------------------------------------
    warmup_interactions: int = 2000  # uniform-random slates to cohort A; 0 = random init
    warmup_steps: int = 20
    warmup_lr: float = 0.03
    init_std: float = 0.1
    user_hidden: int = 0             # policy user tower: 0 = linear, else a tanh MLP of this width
    policy_dim: int = 0              # interference knob: the policy's embedding dimension; 0 = dim.
                                     # Below the world's rank (n_categories) no policy fits every
                                     # cohort's tastes at once, so learning one can cost another
    replay_rounds: int = 0           # replay window: each round also trains on the previous this
                                     # many rounds' logs, across stages (recsys_sim.replay)
    # --- evaluation / defects -----------------------------------------------------------------
    oracle_catalogue: str = "current"   # "current": a row's oracle uses the catalogue of that row (old
                                     # runs; a segment whose items are not out yet is scored on what
                                     # exists); "own": the catalogue once the segment's items exist
                                     # (base and pre-stage rows then show what users lack)
    random_slates: int = 64          # slates per user for the random-policy CTR estimate
    minor_interest: float = 0.1      # a minor interest: not the top category, share >= this
    calibration_alpha: float = 0.01
    max_pair_users: int = 500        # homogenisation: users used for the pairwise Jaccard
    num_threads: int = 1             # torch intra-op threads set by the learner (process-wide);
                                     # 0 = leave torch's setting. Small tensors: 1 is fastest.
    stages: list[str] = field(default_factory=lambda: ["cohort_a", "cohort_b", "cohort_c"])

    @property
    def n_items(self) -> int:
        return self.n_categories * self.items_per_category

    @property
    def base_categories(self) -> int:
        return self.n_categories - self.new_categories

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, prefix: str = "recsys.") -> "RecsysConfig":
        """Typed and validated; a string for a non-string field (a CLI override such as
        ``--recsys.kl_coef 0.1``) is converted as the CLI's values are."""
        d = dict(d or {})
        cfg = build_dataclass(cls, d, prefix, {prefix + k for k, v in d.items() if isinstance(v, str)})
        if "learning_rates" in d:
            cfg.learning_rates = {**_default_lr(), **cfg.learning_rates}
        cfg.validate(prefix)
        return cfg

    def validate(self, prefix: str = "recsys.") -> None:
        def bad(name: str, why: str) -> None:
            raise field_error(prefix + name, f"config field '{prefix}{name}' {why} (got {getattr(self, name)!r})")

        for name in ("n_categories", "items_per_category", "dim", "users_per_cohort", "slate_size",
                     "rounds_per_stage", "interactions_per_stage", "epochs_per_round", "batch_size",
                     "group_size", "warmup_steps", "random_slates", "max_pair_users", "ppo_epochs",
                     "baseline_steps"):
            if getattr(self, name) < 1:
                bad(name, "must be >= 1")
        if not 0 <= self.new_categories < self.n_categories:
            bad("new_categories", "must be in [0, n_categories)")
        if self.base_categories * self.items_per_category < self.slate_size:
            bad("slate_size", "must not exceed the base catalogue size")
        for name in ("logging_epsilon", "rotation_strength", "cohort_b_new_share", "minor_interest",
                     "calibration_alpha"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                bad(name, "must be in [0, 1]")
        for name in ("item_noise", "item_bias_std", "feature_noise", "position_bias", "kl_coef",
                     "entropy_bonus", "clip_eps", "init_std", "warmup_interactions", "user_hidden",
                     "num_threads", "heldout_users", "policy_dim", "replay_rounds", "popularity_feedback",
                     "boredom"):
            if getattr(self, name) < 0:
                bad(name, "must be >= 0")
        for name in ("interest_concentration", "cohort_c_concentration", "logging_temperature", "ips_cap", "utility_scale",
                     "warmup_lr", "baseline_lr"):
            if getattr(self, name) <= 0:
                bad(name, "must be > 0")
        if self.logging_policy not in ("epsilon", "boltzmann"):
            bad("logging_policy", "must be 'epsilon' or 'boltzmann'")
        if self.oracle_catalogue not in ("current", "own"):
            bad("oracle_catalogue", "must be 'current' or 'own'")
        if self.offpolicy_estimator not in ("ips", "snips"):
            bad("offpolicy_estimator", "must be 'ips' or 'snips'")
        if self.onpolicy_reward not in ("sampled", "exact"):
            bad("onpolicy_reward", "must be 'sampled' or 'exact'")
        per_round = self.interactions_per_stage // self.rounds_per_stage
        if per_round < self.group_size or per_round % self.group_size:
            bad("interactions_per_stage", "/ rounds_per_stage must be a positive multiple of group_size")
        if self.batch_size % self.group_size:
            bad("batch_size", "must be a multiple of group_size")
        if set(self.learning_rates) - set(METHODS) or any(v <= 0 for v in self.learning_rates.values()):
            bad("learning_rates", f"must map methods {METHODS} to positive numbers")
        if self.world not in WORLDS:
            bad("world", f"must be one of {WORLDS}")
        known = OBD_SEGMENTS if self.world == "obd" else SEGMENTS
        if not self.stages or any(s.split("@")[0] not in known for s in self.stages):
            bad("stages", f"must be a non-empty list of segments from {known} (world {self.world!r})")
        if self.world == "obd" and (self.popularity_feedback or self.boredom):
            bad("popularity_feedback" if self.popularity_feedback else "boredom", "must be 0 in the OBD world")
        if self.world == "obd" and self.heldout_users:
            bad("heldout_users", "must be 0 in the OBD world (its users are the logged contexts)")
        if self.world == "obd" and self.slate_size != 3:
            bad("slate_size", "must be 3 in the OBD world (its slates have 3 positions)")

