"""Batch refactor jobs: a reviewable manifest of units, one worktree and branch per unit,
verified, recorded on disk so a crash loses nothing, reported, and applied only on request.

manifest.py (the work list), plan.py (making one), discover.py (an agent proposes it),
state.py (the run directory), attempts.py (one attempt's record), unit.py (one unit: agent,
verify, commit), executor_local.py and executor_ray.py (where units run), runner.py (the
driver), report.py, apply.py (apply and clean).
"""
