"""The paper's protocol: training runs on the fixed rate grid, per-task metrics, the tables
and the statistics of claims C1 to C4."""
