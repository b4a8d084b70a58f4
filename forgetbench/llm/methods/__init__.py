"""The built-in training methods, one file each: its Params (a ``MethodParams`` subclass; the config
section named after the method), its ``train(stage)`` and its ``register_method`` call.

``forgetbench.plugins.methods`` imports every module here to discover them (when a config is read):
keep heavy imports (torch, TRL, datasets) inside the functions, and shared helpers outside this
package (``forgetbench.llm.rl_trainer``, ``own_samples``, ``teacher``, ``trainer_args``).
"""
