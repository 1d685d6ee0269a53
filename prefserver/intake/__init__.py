"""Update-notice intake from the 市町村CS (domain.md §6): receipt, the inbox, checks, holds and apply.

- `envelope`: the §6.1 envelope, the receipt check (E001) and the format checks of steps 4–9;
- `receive`: credentials and the receipt of a batch (steps 1–3, then the inbox);
- `process`: the batch processor (steps 10–22, holds, apply, push outbox);
- `bulk`: the set-based writes of a batch (versions through prefserver.versions / furyo.versions).
"""
