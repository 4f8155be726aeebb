"""The data: vendored data sets and their manifest, suites of tasks, the trials' splits and
nested training subsets."""
