"""The pure scheduling engine: a Problem in, a Plan out (OR-Tools routing), plus the dispatcher's tools.

Entry points: ``optimizer.io`` (JSON), ``optimizer.solver.solve`` / ``solve_partitioned``,
``optimizer.validate.validate``, ``optimizer.suggest.suggest``, ``optimizer.replan.replan``,
``optimizer.explain.explain``, ``optimizer.diff.diff``. Imports nothing else of Dispatch.
"""
