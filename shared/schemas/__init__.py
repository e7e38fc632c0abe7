"""Public contract: topic names, the envelope, and the v1 payload models."""

from shared.schemas import events, topics
from shared.schemas.envelope import Envelope, make_envelope

__all__ = ["Envelope", "events", "make_envelope", "topics"]
