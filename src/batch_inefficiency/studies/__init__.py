"""The studies, one sub-package each, and what they share (the rate search). The registry
(:mod:`batch_inefficiency.studies.registry`) lists every study's config section, outputs,
claims and report section; docs/design.md §4 says how to add one."""
