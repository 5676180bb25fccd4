"""Peer rule engines on the shipped pack's rules: zen-engine (GoRules JDM) and Rego (regorus,
rego-cpp), each run on rules generated from the pack itself (``jdm.py``, ``rego.py``), checked to
agree with ours on every case before any is timed (``suite.py``). ``python -m bench.peers``."""
