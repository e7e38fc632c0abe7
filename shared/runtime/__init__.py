"""What every leadflow service needs once: settings, logging, metrics, db, inbox/outbox, DLQ, the batch loop."""
