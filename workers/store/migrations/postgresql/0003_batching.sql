-- allegro-feed store, PostgreSQL, version 3: the stock/price fast path's batching
-- (workers/batching). Only its own tables; times are Unix epoch seconds (DOUBLE PRECISION)
-- of the batcher's clock, JSON is JSONB.

-- The change of one SKU's stock or price waiting to be sent in a batch command. The row
-- stays after its change was claimed into a command: sent_version and inflight keep order.
CREATE TABLE batch_pending (
    account      TEXT             NOT NULL,
    sku          TEXT             NOT NULL,
    kind         TEXT             NOT NULL,     -- stock | price
    value        JSONB            NOT NULL,     -- {available, unit} | {amount, currency}
    version      BIGINT           NOT NULL,     -- the version whose value this is
    events       JSONB            NOT NULL,     -- [[event_id, version], ...]; [] = none
    first_at     DOUBLE PRECISION,              -- first pending event staged (window opens)
    last_at      DOUBLE PRECISION,              -- latest pending event staged
    sent_version BIGINT           NOT NULL DEFAULT 0, -- newest version claimed into a command
    inflight     TEXT,                          -- journal entry carrying it, until DONE
    offer_id     TEXT,
    PRIMARY KEY (account, sku, kind)
);
CREATE INDEX batch_pending_due ON batch_pending (account, first_at) WHERE first_at IS NOT NULL;
CREATE INDEX batch_pending_inflight ON batch_pending (account, sku) WHERE inflight IS NOT NULL;

-- Every event staged once (a redelivered event is a duplicate).
CREATE TABLE batch_staged (
    event_id  TEXT             PRIMARY KEY,
    account   TEXT             NOT NULL,
    staged_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX batch_staged_age ON batch_staged (staged_at);

-- The journal of batch commands, written before the PUT with the id it is sent under.
CREATE TABLE batch_commands (
    command_id  TEXT             PRIMARY KEY,   -- the UUID of the PUT
    account     TEXT             NOT NULL,
    kind        TEXT             NOT NULL,      -- quantity | price | publication | settle
    value       JSONB,                          -- 5 | {amount, currency} | "END" | ...
    offer_ids   JSONB            NOT NULL,
    event_ids   JSONB            NOT NULL,
    items       JSONB            NOT NULL,      -- per offer: its SKU, value, events
    state       TEXT             NOT NULL,      -- NEW | SENT | DONE
    parent      TEXT,                           -- the quantity command an ACTIVATE follows
    attempts    INTEGER          NOT NULL DEFAULT 0, -- PUTs made
    polls       INTEGER          NOT NULL DEFAULT 0, -- report polls made
    next_at     DOUBLE PRECISION NOT NULL,      -- look at it again from then on
    owner       TEXT,                           -- the batcher working on it
    lease_until DOUBLE PRECISION,
    trace_id    TEXT,                           -- Allegro's Trace-Id of the PUT
    error       TEXT,                           -- the last failure, for operators
    created_at  DOUBLE PRECISION NOT NULL,
    sent_at     DOUBLE PRECISION,
    done_at     DOUBLE PRECISION
);
CREATE INDEX batch_commands_open ON batch_commands (account, next_at) WHERE state <> 'DONE';
CREATE INDEX batch_commands_done ON batch_commands (done_at) WHERE state = 'DONE';
