"""Checking a pack before it is served: its scenarios and coverage, and that the engine can take
every rule. Above evaluation: it runs the real evaluation path and the real engine compiler."""
