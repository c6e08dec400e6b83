-- allegro-feed store, PostgreSQL, version 2: the status outbox, one more terminal status
-- after FAILED (the replay's outcome), and creation intents (no duplicate offer when
-- Allegro's search lags behind a POST).

-- The status outbox. recorded_at: when the store took the status (the store's clock);
-- published_at: when RabbitMQ confirmed its publication, NULL until then. Statuses written
-- before this version are taken as published: the code that wrote them published right
-- after recording, and publishing a whole history again would flood the consumers.
ALTER TABLE statuses ADD COLUMN recorded_at TIMESTAMPTZ;
ALTER TABLE statuses ADD COLUMN published_at TIMESTAMPTZ;
UPDATE statuses SET recorded_at = at, published_at = at;

-- The delivery attempt chain of a terminal status: 0 for the event's first outcome, n for
-- the outcome of the n-th replay; a new chain starts only after a FAILED status.
ALTER TABLE statuses ADD COLUMN chain INTEGER NOT NULL DEFAULT 0;
DROP INDEX statuses_one_terminal;
CREATE UNIQUE INDEX statuses_one_terminal ON statuses (event_id, chain) WHERE terminal;
-- What the outbox sweep reads: unpublished statuses of readable events, oldest first.
CREATE INDEX statuses_unpublished ON statuses (recorded_at, id)
    WHERE published_at IS NULL AND event_id IS NOT NULL;

-- A POST /sale/product-offers that may have created an offer not yet in the registry:
-- written (and committed) before every POST, removed when the offer is saved.
CREATE TABLE create_intents (
    account      TEXT        NOT NULL,
    sku          TEXT        NOT NULL,
    attempts     INTEGER     NOT NULL,          -- POSTs sent since the intent was first written
    attempted_at TIMESTAMPTZ NOT NULL,          -- the latest POST
    PRIMARY KEY (account, sku)
);
