"""Insurer adapters behind one small contract (base.py); `registry.insurer_for` picks one."""
