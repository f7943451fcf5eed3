"""Schema-driven verification through schemathesis: the phases, its events turned into findings, the one
adapter to its internals, and Hypothesis held to the run's seed."""
