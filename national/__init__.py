"""The simulated national server (機構 / 全国サーバ): a separate system with its own storage.

It never imports the prefecture's Django apps. Run it with `python national/server.py`; docs/national.md
describes the protocol, the PKI and the fault switches.
"""
