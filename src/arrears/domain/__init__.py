"""The pure-Python domain core: money, schedules, ledger, waterfall, delinquency, charges.

No I/O and no framework: every rule of collections lives here once, and the batch
engine is tested against it to the cent.
"""
