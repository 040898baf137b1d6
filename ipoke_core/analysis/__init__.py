"""Analysis of what a model learned: Figure-5 correlation heatmaps, their structure score, baselines."""
