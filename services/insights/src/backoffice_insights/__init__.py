"""Insights: a read model of every event (cycle times, bottlenecks, SLA, spend)."""
