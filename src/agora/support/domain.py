"""The support service's rules. The recommendations' rules are in `recommending.py`.

Pure: the standard library, `agora.platform.kernel` and `agora.platform.errors` only (the import
contract forbids grpc, sqlalchemy, asyncpg, nats and the generated protos, even indirectly).
"""

from __future__ import annotations
